//! The threads that answer varmord's socket: a connection goes to a thread left waiting
//! by an earlier one when there is one, else to a new thread. Up to `KEEP` threads wait
//! between requests, so a launch does not pay for a thread's creation; a slow request
//! never holds up another (no connection waits for a busy thread).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// Threads kept waiting for the next connection.
pub const KEEP: usize = 4;

/// Runs `work` for each item given to `run`, on a waiting thread or a new one.
pub struct Handlers<T: Send + 'static> {
    tx: Sender<T>,
    rx: Arc<Mutex<Receiver<T>>>,
    /// Threads that are (or are about to be) waiting in `rx`, each owed at most one item.
    idle: Arc<AtomicUsize>,
    work: Arc<dyn Fn(T) + Send + Sync>,
}

impl<T: Send + 'static> Handlers<T> {
    pub fn new(work: impl Fn(T) + Send + Sync + 'static) -> Handlers<T> {
        let (tx, rx) = channel();
        Handlers {
            tx,
            rx: Arc::new(Mutex::new(rx)),
            idle: Arc::new(AtomicUsize::new(0)),
            work: Arc::new(work),
        }
    }

    /// Hands `item` to a waiting thread, or starts one for it.
    pub fn run(&self, item: T) -> std::io::Result<()> {
        // Claim one waiting thread: only then is the item sure to be taken at once.
        let claimed = self
            .idle
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if claimed {
            match self.tx.send(item) {
                Ok(()) => return Ok(()),
                Err(e) => return self.spawn(e.0),
            }
        }
        self.spawn(item)
    }

    fn spawn(&self, item: T) -> std::io::Result<()> {
        let (rx, idle, work) = (self.rx.clone(), self.idle.clone(), self.work.clone());
        std::thread::Builder::new()
            .name("varmord-conn".into())
            .stack_size(512 * 1024)
            .spawn(move || {
                work(item);
                loop {
                    // Wait for another item only while fewer than KEEP threads do.
                    let kept = idle
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                            (n < KEEP).then_some(n + 1)
                        })
                        .is_ok();
                    if !kept {
                        return;
                    }
                    let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match next {
                        Ok(t) => work(t),
                        Err(_) => return, // the dispatcher is gone
                    }
                }
            })
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;
    use std::time::Duration;

    #[test]
    fn a_slow_item_does_not_hold_up_the_next_and_threads_are_reused() {
        let (done_tx, done_rx) = sync_channel::<(u32, String)>(16);
        let (gate_tx, gate_rx) = sync_channel::<()>(0);
        let gate = Mutex::new(gate_rx);
        let h = Handlers::new(move |n: u32| {
            if n == 0 {
                // Blocks until the test opens the gate.
                let _ = gate.lock().unwrap().recv();
            }
            let name = std::thread::current().name().unwrap_or("").to_string();
            let _ = done_tx.send((n, name));
        });
        h.run(0).unwrap();
        h.run(1).unwrap();
        let (n, _) = done_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("item 1 answered");
        assert_eq!(n, 1, "item 1 ran while item 0 was blocked");
        // Item 1's thread now waits: the next item reuses it (no third thread needed).
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(h.idle.load(Ordering::SeqCst), 1);
        h.run(2).unwrap();
        let (n, _) = done_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("item 2 answered");
        assert_eq!(n, 2);
        gate_tx.send(()).unwrap();
        let (n, _) = done_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("item 0 answered");
        assert_eq!(n, 0);
    }

    #[test]
    fn no_more_than_keep_threads_wait() {
        let h = Handlers::new(|_: u32| std::thread::sleep(Duration::from_millis(20)));
        for i in 0..(KEEP as u32 + 4) {
            h.run(i).unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(h.idle.load(Ordering::SeqCst), KEEP);
    }
}
