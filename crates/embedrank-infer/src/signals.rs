//! Blocking signals around thread creation.
//!
//! A Postgres backend relies on signals (SIGINT for cancel, SIGTERM, SIGUSR1, SIGALRM for timeouts) being
//! delivered to its main thread. A new thread inherits the signal mask of the thread that creates it, so any
//! code that may spawn threads (ORT environment and session creation, rayon pool creation) runs inside a
//! [`SignalBlockGuard`]: all signals are blocked in the calling thread for the guard's lifetime, the spawned
//! threads start with everything blocked, and the previous mask is restored when the guard drops (also on panic).

use std::marker::PhantomData;
use std::mem::MaybeUninit;

/// Blocks all signals in the current thread until dropped, then restores the previous mask.
pub struct SignalBlockGuard {
    previous: libc::sigset_t,
    restore: bool,
    /// The mask is per thread: keep the guard on the thread that created it.
    _not_send: PhantomData<*const ()>,
}

impl SignalBlockGuard {
    /// Blocks every blockable signal in the calling thread (SIGKILL/SIGSTOP cannot be blocked).
    pub fn block_all() -> SignalBlockGuard {
        // SAFETY: sigfillset/pthread_sigmask only write into the provided, properly sized sigset_t values.
        unsafe {
            let mut all = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigfillset(all.as_mut_ptr());
            let mut previous = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(previous.as_mut_ptr());
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, all.as_ptr(), previous.as_mut_ptr());
            SignalBlockGuard {
                previous: previous.assume_init(),
                restore: rc == 0,
                _not_send: PhantomData,
            }
        }
    }
}

impl Drop for SignalBlockGuard {
    fn drop(&mut self) {
        if self.restore {
            // SAFETY: restores the mask saved by block_all on this same thread (the guard is !Send).
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut());
            }
        }
    }
}

/// Runs `f` with all signals blocked in the calling thread, restoring the mask afterwards.
pub fn with_signals_blocked<R>(f: impl FnOnce() -> R) -> R {
    let _guard = SignalBlockGuard::block_all();
    f()
}

/// Whether `signal` is blocked in the calling thread (used by tests).
pub fn is_blocked(signal: libc::c_int) -> bool {
    // SAFETY: queries the current mask into a local sigset_t.
    unsafe {
        let mut current = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(current.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), current.as_mut_ptr());
        libc::sigismember(current.as_ptr(), signal) == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_blocks_and_restores() {
        assert!(!is_blocked(libc::SIGUSR2));
        {
            let _g = SignalBlockGuard::block_all();
            assert!(is_blocked(libc::SIGUSR2));
            assert!(is_blocked(libc::SIGINT));
            let child =
                std::thread::spawn(|| is_blocked(libc::SIGINT) && is_blocked(libc::SIGTERM));
            assert!(
                child.join().unwrap(),
                "spawned thread must inherit the blocked mask"
            );
        }
        assert!(!is_blocked(libc::SIGUSR2));
    }
}
