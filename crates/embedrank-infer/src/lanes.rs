//! Running a model's batches on several ORT sessions at once ("lanes").
//!
//! Dynamically quantized models run one sequence per ORT call (see [`crate::graph`]), and ORT's intra-op
//! threads barely help a single short sequence: with `embedrank.threads = 2` one session with two intra-op
//! threads was only 0–20% faster than one. Instead, a model loaded with N threads gets N sessions of one
//! intra-op thread each, and [`run_lanes`] runs independent batches on them side by side — each sequence
//! still alone in its ORT call, so results are identical to one thread, bit for bit.
//!
//! The lane threads are scoped to one call, created with every signal blocked, and never call Postgres:
//! they only pad inputs, run ORT and pool outputs. The calling (backend) thread hands out work through
//! an atomic counter, collects results, and polls `cancel` at least every [`POLL`]; on cancel or the first
//! error it tells the lanes to stop taking work and returns once the batches in flight (one per lane, tens
//! of milliseconds) have finished.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::error::InferError;
use crate::signals::SignalBlockGuard;

/// Longest the calling thread waits between two checks of `cancel`.
const POLL: Duration = Duration::from_millis(10);

/// Runs `work(lane, job)` for every job in `0..jobs` on `lanes` threads and returns the results in job
/// order. `cancel` is called only on the calling thread.
pub fn run_lanes<T: Send>(
    lanes: usize,
    jobs: usize,
    cancel: &dyn Fn() -> bool,
    work: &(dyn Fn(usize, usize) -> Result<T, InferError> + Sync),
) -> Result<Vec<T>, InferError> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut results: Vec<Option<T>> = (0..jobs).map(|_| None).collect();
    let mut failure = None;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Result<T, InferError>)>();
        {
            let _blocked = SignalBlockGuard::block_all();
            for lane in 0..lanes.min(jobs) {
                let (tx, next, stop) = (tx.clone(), &next, &stop);
                std::thread::Builder::new()
                    .name(format!("embedrank-lane-{lane}"))
                    .spawn_scoped(scope, move || {
                        while !stop.load(Ordering::Relaxed) {
                            let job = next.fetch_add(1, Ordering::Relaxed);
                            if job >= jobs || tx.send((job, work(lane, job))).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawning an inference lane thread");
            }
        }
        drop(tx);
        // `cancel` may also unwind instead of returning true (a Postgres ERROR raised by an interrupt
        // check becomes a Rust panic): the guard stops the lanes then too, so the scope's join waits
        // for the batches in flight only, not for all the remaining work.
        let _stop_on_exit = StopOnDrop(&stop);
        let mut done = 0;
        while done < jobs {
            if cancel() {
                failure = Some(InferError::Cancelled);
                break;
            }
            match rx.recv_timeout(POLL) {
                Ok((job, Ok(r))) => {
                    results[job] = Some(r);
                    done += 1;
                }
                Ok((_, Err(e))) => {
                    failure = Some(e);
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // Every lane exited early: only a panic does that, and the scope re-raises it.
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect())
}

/// Sets the flag when dropped, on return and on unwind alike.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn results_come_back_in_job_order_from_all_lanes() {
        let used = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let out = run_lanes(2, 50, &|| false, &|lane, job| {
            used[lane].fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(1));
            Ok(job * 10)
        })
        .unwrap();
        assert_eq!(out, (0..50).map(|j| j * 10).collect::<Vec<_>>());
        assert!(
            used.iter().all(|u| u.load(Ordering::Relaxed) > 0),
            "both lanes worked"
        );
    }

    #[test]
    fn lanes_run_with_signals_blocked_and_the_caller_keeps_its_mask() {
        let out = run_lanes(2, 4, &|| false, &|_, _| {
            Ok(crate::signals::is_blocked(libc::SIGINT))
        })
        .unwrap();
        assert!(out.iter().all(|&b| b));
        assert!(!crate::signals::is_blocked(libc::SIGINT));
    }

    #[test]
    fn cancel_stops_handing_out_work_and_errors_stop_the_run() {
        let ran = AtomicUsize::new(0);
        let polls = AtomicUsize::new(0);
        let r = run_lanes(
            2,
            1000,
            &|| polls.fetch_add(1, Ordering::Relaxed) > 3,
            &|_, _| {
                ran.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
                Ok(())
            },
        );
        assert!(matches!(r, Err(InferError::Cancelled)));
        assert!(
            ran.load(Ordering::Relaxed) < 100,
            "{} jobs ran after cancel",
            ran.load(Ordering::Relaxed)
        );

        let r = run_lanes(2, 100, &|| false, &|_, job| {
            if job == 7 {
                Err(InferError::Inference("boom".into()))
            } else {
                Ok(job)
            }
        });
        assert!(matches!(r, Err(InferError::Inference(m)) if m == "boom"));
    }

    #[test]
    fn a_cancel_check_that_unwinds_stops_the_lanes_too() {
        let ran = AtomicUsize::new(0);
        let polls = AtomicUsize::new(0);
        let started = std::time::Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_lanes(
                2,
                1000,
                &|| {
                    if polls.fetch_add(1, Ordering::Relaxed) > 3 {
                        panic!("canceling statement due to user request");
                    }
                    false
                },
                &|_, _| {
                    ran.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                    Ok(())
                },
            )
        }));
        assert!(r.is_err(), "the panic reaches the caller");
        assert!(
            ran.load(Ordering::Relaxed) < 100,
            "{} jobs ran",
            ran.load(Ordering::Relaxed)
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
