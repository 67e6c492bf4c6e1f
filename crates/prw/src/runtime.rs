//! The tokio runtime the exporter's delivery tasks run on: the caller's, when it is a
//! multi-threaded one, or a small one on a thread of our own.

use std::sync::Mutex;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::oneshot;

/// Where the delivery tasks run.
#[derive(Debug)]
pub(crate) struct Runtime {
    handle: Handle,
    /// Set when the runtime is ours: sending stops it.
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl Runtime {
    /// The given handle.
    pub(crate) fn borrowed(handle: Handle) -> Runtime {
        Runtime { handle, stop: Mutex::new(None) }
    }

    /// The current runtime when it is multi-threaded; otherwise one of our own.
    ///
    /// A current-thread runtime (`#[tokio::main(flavor = "current_thread")]`, `#[tokio::test]`)
    /// is not borrowed: a blocking `provider.shutdown()` on its only thread would wait for
    /// delivery tasks that can then never run.
    pub(crate) fn current_or_own() -> std::io::Result<Runtime> {
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => Ok(Runtime::borrowed(h)),
            _ => Runtime::own(),
        }
    }

    /// A current-thread runtime driven by a thread named `prw-exporter`.
    pub(crate) fn own() -> std::io::Result<Runtime> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = rt.handle().clone();
        let (tx, rx) = oneshot::channel::<()>();
        std::thread::Builder::new().name("prw-exporter".into()).spawn(move || {
            // Returns when told to stop or when the exporter is dropped (the sender with it).
            let _ = rt.block_on(rx);
            // Dropping the runtime cancels whatever is left; shutdown() has counted it.
            drop(rt);
        })?;
        Ok(Runtime { handle, stop: Mutex::new(Some(tx)) })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Stops our own runtime (a borrowed one is left alone).
    pub(crate) fn stop(&self) {
        if let Some(tx) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(());
        }
    }

    #[cfg(test)]
    pub(crate) fn is_own(&self) -> bool {
        self.stop.lock().map(|s| s.is_some()).unwrap_or(false)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_runtime_we_start_our_own() {
        let rt = Runtime::current_or_own().unwrap();
        assert!(rt.is_own());
        let (tx, rx) = std::sync::mpsc::channel();
        rt.handle().spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            tx.send(std::thread::current().name().map(str::to_owned)).unwrap();
        });
        assert_eq!(rx.recv().unwrap().as_deref(), Some("prw-exporter"));
        rt.stop();
    }

    #[tokio::test]
    async fn a_current_thread_runtime_is_not_borrowed() {
        assert!(Runtime::current_or_own().unwrap().is_own());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_multi_thread_runtime_is_borrowed() {
        assert!(!Runtime::current_or_own().unwrap().is_own());
    }
}
