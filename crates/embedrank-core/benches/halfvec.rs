//! halfvec's per-element work: widening binary16 to float4 (every halfvec distance widens both
//! operands first) and narrowing float4 to binary16 (every halfvec built from float4). The `half`
//! crate's slice conversion — F16C instructions where the CPU has them, detected at run time —
//! against converting one value at a time, with the ratio printed at the end.
//!
//! Run: `cargo bench -p embedrank-core --bench halfvec`.

use embedrank_core::halfvec::{f16, narrow, widen_into};
use embedrank_core::hnsw::LevelRng;
use std::hint::black_box;
use std::time::Instant;

fn per_call_ns(iters: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iters / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn main() {
    println!(
        "F16C on this CPU: {}",
        std::arch::is_x86_feature_detected!("f16c")
    );
    println!(
        "| dims | widen: slice (ns) | widen: one by one (ns) | ratio | narrow: one by one (ns) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for dims in [384usize, 768, 1536, 4000] {
        let mut rng = LevelRng::new(dims as u64);
        let xs: Vec<f32> = (0..dims)
            .map(|_| (rng.next_f64() as f32 - 0.5) * 8.0)
            .collect();
        let hs: Vec<f16> = xs.iter().map(|&x| narrow(x)).collect();
        let mut out = vec![0.0f32; dims];
        let iters = 200_000_000 / dims as u32;
        let slice = per_call_ns(iters, || widen_into(black_box(&hs), black_box(&mut out)));
        let scalar = per_call_ns(iters, || {
            for (o, h) in out.iter_mut().zip(black_box(&hs)) {
                *o = h.to_f32();
            }
            black_box(&out);
        });
        let mut back = vec![f16::ZERO; dims];
        let narrowing = per_call_ns(iters, || {
            for (o, &x) in back.iter_mut().zip(black_box(&xs)) {
                *o = narrow(x);
            }
            black_box(&back);
        });
        println!(
            "| {dims} | {slice:.0} | {scalar:.0} | {:.2}× | {narrowing:.0} |",
            scalar / slice
        );
    }
}
