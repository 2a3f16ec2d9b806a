//! The transcode queue: a few slots, shared fairly between uploaders.
//!
//! Transcodes are long, and a plain semaphore serves them first come, first
//! served: one uploader who queues ten slow videos holds every slot in turn
//! and everyone else waits behind them. Here each owner (the uploader) may
//! hold at most `per_owner` slots at once, a free slot goes to the earliest
//! waiting job whose owner is under that share, and each owner may have at
//! most `max_waiting` jobs waiting (more are refused at once, so the queue
//! is bounded). With two slots and a share of one, a slow job of one user
//! leaves the other slot to everyone else.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Settings of a [`FairQueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Jobs that run at once.
    pub slots: usize,
    /// Slots one owner may hold at once.
    pub per_owner: usize,
    /// Jobs one owner may have waiting; beyond it a job is refused.
    pub max_waiting: usize,
}

#[derive(Default)]
struct State {
    running: usize,
    holding: HashMap<String, usize>,
    waiting: VecDeque<(u64, String)>,
    next_ticket: u64,
}

impl State {
    fn waiting_of(&self, owner: &str) -> usize {
        self.waiting.iter().filter(|(_, o)| o == owner).count()
    }

    /// The ticket that the next free slot belongs to.
    fn next_eligible(&self, config: &QueueConfig) -> Option<u64> {
        if self.running >= config.slots {
            return None;
        }
        self.waiting
            .iter()
            .find(|(_, o)| self.holding.get(o).copied().unwrap_or(0) < config.per_owner)
            .map(|(t, _)| *t)
    }
}

/// A fair, bounded queue of slots (see the module header).
#[derive(Clone)]
pub struct FairQueue {
    config: QueueConfig,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

/// The owner already has `max_waiting` jobs waiting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{waiting} of this uploader's videos are already waiting to be processed")]
pub struct QueueFull {
    pub waiting: usize,
}

/// A held slot; dropping it frees the slot for the next eligible job.
pub struct Slot {
    queue: FairQueue,
    owner: String,
}

impl std::fmt::Debug for FairQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("FairQueue")
            .field("config", &self.config)
            .field("running", &s.running)
            .field("waiting", &s.waiting.len())
            .finish()
    }
}

impl FairQueue {
    pub fn new(config: QueueConfig) -> FairQueue {
        FairQueue {
            config: QueueConfig {
                slots: config.slots.max(1),
                per_owner: config.per_owner.max(1),
                max_waiting: config.max_waiting.max(1),
            },
            state: Arc::default(),
            changed: Arc::new(Notify::new()),
        }
    }

    pub fn config(&self) -> QueueConfig {
        self.config
    }

    /// Jobs waiting for a slot, of every owner.
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    /// Waits for a slot for `owner`'s job, or refuses at once when the owner
    /// already has `max_waiting` jobs waiting. Cancel-safe: a caller that
    /// goes away leaves the queue.
    pub async fn acquire(&self, owner: &str) -> Result<Slot, QueueFull> {
        let ticket = {
            let mut s = self.lock();
            let waiting = s.waiting_of(owner);
            if waiting >= self.config.max_waiting {
                return Err(QueueFull { waiting });
            }
            let t = s.next_ticket;
            s.next_ticket += 1;
            s.waiting.push_back((t, owner.to_string()));
            t
        };
        let mut leave = LeaveOnDrop {
            queue: self,
            ticket: Some(ticket),
        };
        loop {
            // Registered before the check, so a release between the check
            // and the wait still wakes this job.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut s = self.lock();
                if s.next_eligible(&self.config) == Some(ticket) {
                    s.waiting.retain(|(t, _)| *t != ticket);
                    s.running += 1;
                    *s.holding.entry(owner.to_string()).or_default() += 1;
                    leave.ticket = None;
                    drop(s);
                    // Another job may be eligible too (a slot freed earlier).
                    self.changed.notify_waiters();
                    return Ok(Slot {
                        queue: self.clone(),
                        owner: owner.to_string(),
                    });
                }
            }
            changed.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // No code panics while holding the lock; a poisoned one is still
        // consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes a cancelled job from the waiting line.
struct LeaveOnDrop<'a> {
    queue: &'a FairQueue,
    ticket: Option<u64>,
}

impl Drop for LeaveOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket {
            self.queue.lock().waiting.retain(|(w, _)| *w != t);
            self.queue.changed.notify_waiters();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut s = self.queue.lock();
            s.running -= 1;
            if let Some(n) = s.holding.get_mut(&self.owner) {
                *n -= 1;
                if *n == 0 {
                    s.holding.remove(&self.owner);
                }
            }
        }
        self.queue.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    fn queue(slots: usize, per_owner: usize, max_waiting: usize) -> FairQueue {
        FairQueue::new(QueueConfig {
            slots,
            per_owner,
            max_waiting,
        })
    }

    #[tokio::test]
    async fn one_owners_queued_jobs_do_not_hold_back_another_owner() {
        let q = queue(2, 1, 8);
        let a1 = q.acquire("alice").await.unwrap();
        // Alice's second job waits for her share, though a slot is free...
        let a2 = tokio::spawn({
            let q = q.clone();
            async move { q.acquire("alice").await }
        });
        tokio::task::yield_now().await;
        assert!(!a2.is_finished());
        // ...so Bob, who came later, gets that slot at once.
        let b1 = q.acquire("bob").now_or_never().expect("bob is not queued");
        let b1 = b1.unwrap();
        // Every slot is busy now: Carol waits, after Alice.
        let mut carol = Box::pin(q.acquire("carol"));
        assert!(carol.as_mut().now_or_never().is_none());
        // Alice's slow job ends: her next one runs, Carol still waits.
        drop(a1);
        let a2 = a2.await.unwrap().unwrap();
        assert!(carol.as_mut().now_or_never().is_none());
        drop(b1);
        // Bob's ended: Carol runs.
        assert!(carol.as_mut().await.is_ok());
        drop(a2);
    }

    #[tokio::test]
    async fn the_waiting_line_is_bounded_per_owner_and_cancel_safe() {
        let q = queue(1, 1, 2);
        let held = q.acquire("alice").await.unwrap();
        let mut w1 = Box::pin(q.acquire("alice"));
        let mut w2 = Box::pin(q.acquire("alice"));
        assert!(w1.as_mut().now_or_never().is_none());
        assert!(w2.as_mut().now_or_never().is_none());
        assert_eq!(q.waiting(), 2);
        // A third waiting job of hers is refused at once; others may queue.
        assert_eq!(
            q.acquire("alice").now_or_never().unwrap().err(),
            Some(QueueFull { waiting: 2 })
        );
        let mut bob = Box::pin(q.acquire("bob"));
        assert!(bob.as_mut().now_or_never().is_none());
        // A job that gives up leaves the line.
        drop(w1);
        assert_eq!(q.waiting(), 2);
        drop(held);
        // The slot goes to the earliest eligible job: Alice's remaining one.
        let s = w2.as_mut().await.unwrap();
        assert!(bob.as_mut().now_or_never().is_none());
        drop(s);
        assert!(bob.await.is_ok());
        assert_eq!(q.waiting(), 0);
    }
}
