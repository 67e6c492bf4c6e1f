//! Driving exporter futures without a runtime dependency.
//!
//! By default the controller's own thread polls an export future to completion, parking
//! between wake-ups ([`block_on_timeout`]). An exporter whose futures need a particular
//! runtime (hyper needs tokio) can instead be driven on that runtime by giving the controller
//! a [`Spawn`] implementation, e.g. for tokio:
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//! use prw_sdk::Spawn;
//!
//! #[derive(Debug)]
//! struct TokioSpawner; // would hold a tokio::runtime::Handle
//! impl Spawn for TokioSpawner {
//!     fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
//!         // handle.spawn(future);
//!         # drop(future);
//!     }
//! }
//! ```

use std::fmt::Debug;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

/// Runs futures on someone else's executor (a tokio runtime, an async-std executor ...).
pub trait Spawn: Debug + Send + Sync + 'static {
    /// Starts `future` and returns at once; the executor polls it to completion.
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send + 'static>>);
}

struct ThreadWaker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Polls `future` on this thread until it completes or `deadline` passes (`None`; the
/// future is then dropped, which cancels it).
pub fn block_on_timeout<F: Future>(future: F, deadline: Instant) -> Option<F::Output> {
    let mut future = pin!(future);
    let state = Arc::new(ThreadWaker { thread: thread::current(), woken: AtomicBool::new(false) });
    let waker = Waker::from(state.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Some(out);
        }
        // Spurious unparks are possible: sleep until woken or out of time.
        while !state.woken.swap(false, Ordering::Acquire) {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            thread::park_timeout(deadline - now);
        }
    }
}

/// The result slot of a future running on a [`Spawn`]er, with a cancel switch so that a
/// timed-out export is dropped at its next poll rather than overlapping the next one.
struct Shared<T> {
    state: Mutex<SpawnState<T>>,
    done: Condvar,
}

struct SpawnState<T> {
    result: Option<T>,
    finished: bool,
    cancelled: bool,
    waker: Option<Waker>,
}

struct Cancellable<F: Future> {
    inner: Pin<Box<F>>,
    shared: Arc<Shared<F::Output>>,
}

impl<F: Future> Future for Cancellable<F> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut s = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            if s.cancelled {
                s.finished = true;
                self.shared.done.notify_all();
                return Poll::Ready(());
            }
            s.waker = Some(cx.waker().clone());
        }
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(out) => {
                let mut s = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
                s.result = Some(out);
                s.finished = true;
                self.shared.done.notify_all();
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs `future` on `spawner` and waits for it until `deadline`. On time-out the future is
/// cancelled, and this waits (briefly) until the executor has dropped it.
pub(crate) fn spawn_and_wait<F>(
    spawner: &dyn Spawn,
    future: F,
    deadline: Instant,
) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let shared = Arc::new(Shared {
        state: Mutex::new(SpawnState {
            result: None,
            finished: false,
            cancelled: false,
            waker: None,
        }),
        done: Condvar::new(),
    });
    spawner.spawn(Box::pin(Cancellable { inner: Box::pin(future), shared: shared.clone() }));
    let mut s = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if s.finished {
            return s.result.take();
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        s = shared.done.wait_timeout(s, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
    }
    s.cancelled = true;
    if let Some(w) = s.waker.take() {
        w.wake();
    }
    let grace = Instant::now() + std::time::Duration::from_secs(1);
    while !s.finished && Instant::now() < grace {
        s = shared
            .done
            .wait_timeout(s, grace.saturating_duration_since(Instant::now()))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Ready after `n` polls, waking itself from another thread each time.
    struct Later(u32);
    impl Future for Later {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.0 == 0 {
                return Poll::Ready(7);
            }
            self.0 -= 1;
            let w = cx.waker().clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(2));
                w.wake();
            });
            Poll::Pending
        }
    }

    #[test]
    fn block_on_drives_cross_thread_wakeups() {
        let out = block_on_timeout(Later(3), Instant::now() + Duration::from_secs(5));
        assert_eq!(out, Some(7));
    }

    #[test]
    fn block_on_times_out() {
        let never = std::future::pending::<()>();
        let start = Instant::now();
        assert_eq!(block_on_timeout(never, start + Duration::from_millis(30)), None);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[derive(Debug)]
    struct ThreadSpawner;
    impl Spawn for ThreadSpawner {
        fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
            thread::spawn(move || {
                block_on_timeout(future, Instant::now() + Duration::from_secs(10))
            });
        }
    }

    #[test]
    fn spawned_future_result_comes_back() {
        let out = spawn_and_wait(&ThreadSpawner, Later(2), Instant::now() + Duration::from_secs(5));
        assert_eq!(out, Some(7));
        let out = spawn_and_wait(
            &ThreadSpawner,
            std::future::pending::<u32>(),
            Instant::now() + Duration::from_millis(20),
        );
        assert_eq!(out, None);
    }
}
