//! How a run stops early: the context raises the signal and never resumes
//! the handler; the runner sees it and drops the handler's future.

use tokio::sync::watch;

/// Why the handler of a run must not go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The run gave up its claim to wait (a sleep, an event, a child task);
    /// it comes back later and replays to the same point.
    Suspended,
    /// The server refused a call as the claim is no longer held (it
    /// expired, or the task was canceled): nothing more may be written.
    ClaimLost,
}

/// Shared by a run's context (which raises it) and its runner (which waits for it).
#[derive(Debug)]
pub(crate) struct StopSignal {
    sender: watch::Sender<Option<Stop>>,
}

impl Default for StopSignal {
    fn default() -> Self {
        Self { sender: watch::Sender::new(None) }
    }
}

impl StopSignal {
    /// Raises the signal (the first reason wins).
    pub(crate) fn raise(&self, why: Stop) {
        self.sender.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(why);
            true
        });
    }

    /// Why the run stopped, if it did.
    pub(crate) fn reason(&self) -> Option<Stop> {
        *self.sender.borrow()
    }

    /// Resolves once the signal is raised.
    pub(crate) async fn raised(&self) -> Stop {
        let mut receiver = self.sender.subscribe();
        loop {
            if let Some(why) = *receiver.borrow_and_update() {
                return why;
            }
            // The sender lives in `self`, so `changed` cannot fail here.
            if receiver.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_is_kept_and_waiters_see_it() {
        let signal = StopSignal::default();
        assert_eq!(signal.reason(), None);
        let waiter = async { signal.raised().await };
        let raise = async {
            tokio::task::yield_now().await;
            signal.raise(Stop::Suspended);
            signal.raise(Stop::ClaimLost);
        };
        let (seen, ()) = tokio::join!(waiter, raise);
        assert_eq!(seen, Stop::Suspended);
        assert_eq!(signal.reason(), Some(Stop::Suspended));
    }
}
