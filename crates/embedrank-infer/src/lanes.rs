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
//! an atomic counter and collects results. It asks [`Cancel::pending`] at least every [`POLL`]; when that
//! says yes (or on the first error) it tells the lanes to stop taking work and joins them once the batches
//! in flight (one per lane, tens of milliseconds) have finished — and only then asks [`Cancel::check`].
//! In Postgres that check processes the interrupt: a FATAL (`pg_terminate_backend`) exits the process,
//! and `exit()` runs ONNX Runtime's static destructors, so a lane still inside a session would run on
//! freed state (observed: `terminate called after throwing an instance of 'std::system_error'`, i.e.
//! SIGABRT, and "GetElementType is not implemented" errors from ORT kernels). With the lanes joined
//! first, nothing of ours is inside ORT when the process exits or the ERROR unwinds. If the check does
//! not stop the run (an interrupt that needed no error, e.g. a barrier), the lanes start again on the
//! jobs left.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::error::InferError;
use crate::signals::SignalBlockGuard;
use crate::traits::Cancel;

/// Longest the calling thread waits between two questions to [`Cancel::pending`].
const POLL: Duration = Duration::from_millis(10);

/// Runs `work(lane, job)` for every job in `0..jobs` on `lanes` threads and returns the results in job
/// order. `cancel` is asked only on the calling thread; [`Cancel::check`] only while no lane runs.
pub fn run_lanes<T: Send>(
    lanes: usize,
    jobs: usize,
    cancel: &dyn Cancel,
    work: &(dyn Fn(usize, usize) -> Result<T, InferError> + Sync),
) -> Result<Vec<T>, InferError> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<T>> = (0..jobs).map(|_| None).collect();
    let mut done = 0;
    let mut failure = None;
    let mut round = 0;
    while done < jobs && failure.is_none() {
        let (tx, rx) = mpsc::channel::<(usize, Result<T, InferError>)>();
        let stop = AtomicBool::new(false);
        let mut received = 0;
        let interrupted = std::thread::scope(|scope| {
            {
                let _blocked = SignalBlockGuard::block_all();
                for lane in 0..lanes.clamp(1, jobs.max(1)) {
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
            // On every way out of this closure (return or unwind) the lanes stop taking work, so the
            // scope's join waits for the batches in flight only.
            let _stop_on_exit = StopOnDrop(&stop);
            loop {
                if done == jobs {
                    return false;
                }
                // After a check that did not stop the run, let this round make progress before
                // asking again (a flag that stays set must not starve the lanes).
                if (round == 0 || received > 0) && cancel.pending() {
                    return true;
                }
                match rx.recv_timeout(POLL) {
                    Ok((job, Ok(r))) => {
                        results[job] = Some(r);
                        done += 1;
                        received += 1;
                    }
                    Ok((_, Err(e))) => {
                        failure = Some(e);
                        return false;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    // Every lane exited early: only a panic does that, and the scope re-raises it.
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        failure = Some(InferError::Inference(
                            "the inference lanes stopped before finishing".into(),
                        ));
                        return false;
                    }
                }
            }
        });
        // The lanes are joined: keep what the batches in flight produced.
        for (job, r) in rx.try_iter() {
            match r {
                Ok(r) => {
                    results[job] = Some(r);
                    done += 1;
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        if interrupted && failure.is_none() && cancel.check() {
            failure = Some(InferError::Cancelled);
        }
        round += 1;
    }
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

    /// A [`Cancel`] that says "pending" after `after` polls and records, at each check, how many lanes
    /// were inside `work`.
    struct Probe<'a> {
        polls: AtomicUsize,
        after: usize,
        active: &'a AtomicUsize,
        active_at_check: std::sync::Mutex<Vec<usize>>,
        stop: bool,
    }

    impl Cancel for Probe<'_> {
        fn pending(&self) -> bool {
            self.polls.fetch_add(1, Ordering::Relaxed) >= self.after
        }
        fn check(&self) -> bool {
            let active = self.active.load(Ordering::SeqCst);
            self.active_at_check.lock().unwrap().push(active);
            if self.stop {
                return true;
            }
            // Nothing to act on: the request is gone (as after a barrier).
            self.polls.store(0, Ordering::Relaxed);
            false
        }
    }

    fn tracked_work(active: &AtomicUsize, job: usize) -> Result<usize, InferError> {
        active.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(3));
        active.fetch_sub(1, Ordering::SeqCst);
        Ok(job)
    }

    #[test]
    fn the_check_runs_only_after_every_lane_has_stopped() {
        let active = AtomicUsize::new(0);
        let probe = Probe {
            polls: AtomicUsize::new(0),
            after: 3,
            active: &active,
            active_at_check: Default::default(),
            stop: true,
        };
        let r = run_lanes(2, 1000, &probe, &|_, job| tracked_work(&active, job));
        assert!(matches!(r, Err(InferError::Cancelled)));
        assert_eq!(*probe.active_at_check.lock().unwrap(), vec![0]);
    }

    #[test]
    fn a_check_that_does_not_stop_resumes_the_remaining_jobs() {
        let active = AtomicUsize::new(0);
        let probe = Probe {
            polls: AtomicUsize::new(0),
            after: 2,
            active: &active,
            active_at_check: Default::default(),
            stop: false,
        };
        let out = run_lanes(2, 200, &probe, &|_, job| tracked_work(&active, job)).unwrap();
        assert_eq!(
            out,
            (0..200).collect::<Vec<_>>(),
            "every job once, in order"
        );
        let checks = probe.active_at_check.lock().unwrap();
        assert!(checks.len() > 1, "several stops and restarts: {checks:?}");
        assert!(checks.iter().all(|&a| a == 0), "{checks:?}");
    }

    #[test]
    fn a_request_that_stays_pending_does_not_starve_the_lanes() {
        // `pending` always says yes and `check` never stops (interrupts held off, say): the run still ends.
        struct Stuck;
        impl Cancel for Stuck {
            fn pending(&self) -> bool {
                true
            }
            fn check(&self) -> bool {
                false
            }
        }
        let out = run_lanes(2, 20, &Stuck, &|_, job| Ok(job)).unwrap();
        assert_eq!(out, (0..20).collect::<Vec<_>>());
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
