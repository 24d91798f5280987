//! Work sent to the data thread from other threads (the admin API's): a closure that runs on
//! the data thread between two commands, with the whole `ServerState`, and whose result
//! travels back through a oneshot channel.
//!
//! This is how the architecture invariant "only the data thread touches `ServerState`" holds
//! for code that lives elsewhere: the admin thread never sees the state, it sends the function
//! to run. A job runs atomically with respect to commands, exactly like one command, so what
//! it reads or changes is consistent (the backup cut relies on this).

use std::cell::RefCell;
use std::rc::Rc;

use tokio::sync::{mpsc, oneshot};

use super::state::ServerState;

pub(super) type Job = Box<dyn FnOnce(&mut ServerState) + Send>;

/// The data thread has stopped (shutdown), so the work cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gone;

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server is shutting down")
    }
}

impl std::error::Error for Gone {}

/// A cloneable, thread-safe way to run work on the data thread.
#[derive(Clone, Debug)]
pub struct DataHandle {
    tx: mpsc::UnboundedSender<Job>,
}

impl DataHandle {
    /// A handle and the receiving end the data thread serves with [`serve`].
    pub(super) fn new() -> (DataHandle, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (DataHandle { tx }, rx)
    }

    /// Runs `f` on the data thread and returns its result.
    ///
    /// # Errors
    /// [`Gone`] once the data thread has stopped.
    pub async fn run<R, F>(&self, f: F) -> Result<R, Gone>
    where
        R: Send + 'static,
        F: FnOnce(&mut ServerState) -> R + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        self.tx
            .send(Box::new(move |st: &mut ServerState| {
                let _ = reply.send(f(st));
            }))
            .map_err(|_| Gone)?;
        result.await.map_err(|_| Gone)
    }
}

/// Runs the jobs sent through the handles, one at a time, each with the state borrowed only
/// for its duration. Ends when every handle is dropped.
pub(super) async fn serve(state: Rc<RefCell<ServerState>>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        job(&mut state.borrow_mut());
    }
}
