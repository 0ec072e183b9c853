//! Distance kernel benchmarks: every kernel at 384/768/1536 dims, the
//! runtime-dispatched version against the naive one-accumulator loop, then a
//! short table with the speedup ratios.
//!
//! Run: `cargo bench -p embedrank-core --bench distance -- --quick`.

use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use embedrank_core::distance::{self, naive};
use embedrank_core::hnsw::LevelRng;
use std::time::{Duration, Instant};

type Kernel = fn(&[f32], &[f32]) -> f32;

const DIMS: [usize; 3] = [384, 768, 1536];

/// (name, dispatched, naive)
fn kernels() -> [(&'static str, Kernel, Kernel); 4] {
    [
        ("l2_squared", distance::l2_squared, naive::l2_squared),
        ("dot", distance::dot, naive::dot),
        ("l1", distance::l1, naive::l1),
        ("cosine", distance::cosine_distance, naive::cosine_distance),
    ]
}

fn vectors(dims: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = LevelRng::new(dims as u64);
    let mut v = || (0..dims).map(|_| rng.next_f64() as f32 - 0.5).collect();
    (v(), v())
}

fn bench_kernels(c: &mut Criterion) {
    for (name, fast, slow) in kernels() {
        let mut group = c.benchmark_group(name);
        for dims in DIMS {
            let (a, b) = vectors(dims);
            group.throughput(Throughput::Elements(dims as u64));
            group.bench_with_input(BenchmarkId::new("dispatched", dims), &dims, |bn, _| {
                bn.iter(|| fast(black_box(&a), black_box(&b)))
            });
            group.bench_with_input(BenchmarkId::new("naive", dims), &dims, |bn, _| {
                bn.iter(|| slow(black_box(&a), black_box(&b)))
            });
        }
        group.finish();
    }
}

/// Nanoseconds per call, measured over ~50 ms after a short warm-up.
fn ns_per_call(f: Kernel, a: &[f32], b: &[f32]) -> f64 {
    let mut iters = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..iters {
            black_box(f(black_box(a), black_box(b)));
        }
        let e = t.elapsed();
        if e > Duration::from_millis(50) {
            return e.as_nanos() as f64 / iters as f64;
        }
        iters *= 2;
    }
}

fn summary() {
    println!(
        "\n== distance summary (kernel set: {}) ==",
        distance::kernel_set()
    );
    println!(
        "{:<11} {:>5} {:>14} {:>10} {:>8}",
        "kernel", "dims", "dispatched ns", "naive ns", "speedup"
    );
    for (name, fast, slow) in kernels() {
        for dims in DIMS {
            let (a, b) = vectors(dims);
            let f = ns_per_call(fast, &a, &b);
            let s = ns_per_call(slow, &a, &b);
            println!("{name:<11} {dims:>5} {f:>14.1} {s:>10.1} {:>7.1}x", s / f);
        }
    }
}

/// Scalar codes (a quantized index's elements): decoding to float4 then the float kernel, against
/// the fused code kernel that reads the codes in place (same result, bit for bit).
fn codes_summary() {
    use embedrank_core::distance::Metric;
    use embedrank_core::quantize::{Quantizer, Sq8};
    println!("\n== sq8 codes: decode + kernel vs fused ==");
    println!(
        "{:<6} {:>5} {:>12} {:>10} {:>8}",
        "metric", "dims", "decode ns", "fused ns", "speedup"
    );
    for metric in [Metric::L2, Metric::InnerProduct] {
        for dims in DIMS {
            let (a, b) = vectors(dims);
            let q = Sq8::train(&[a.clone(), b.clone()].concat(), dims, metric);
            let mut code = vec![0u8; q.code_len()];
            q.encode(&b, &mut code);
            let mut out = vec![0.0f32; dims];
            let mut scratch = Vec::new();
            let time = |f: &mut dyn FnMut() -> f32| {
                let mut iters = 1u64;
                loop {
                    let t = Instant::now();
                    for _ in 0..iters {
                        black_box(f());
                    }
                    let e = t.elapsed();
                    if e > Duration::from_millis(50) {
                        return e.as_nanos() as f64 / iters as f64;
                    }
                    iters *= 2;
                }
            };
            let d = time(&mut || {
                q.decode_into(black_box(&code), &mut out);
                metric.index_distance(black_box(&a), &out)
            });
            let f = time(&mut || q.index_distance(black_box(&a), black_box(&code), &mut scratch));
            println!(
                "{:<6} {dims:>5} {d:>12.1} {f:>10.1} {:>7.1}x",
                format!("{metric:?}"),
                d / f
            );
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .configure_from_args();
    bench_kernels(&mut c);
    c.final_summary();
    summary();
    codes_summary();
}
