//! The threads that answer every sandbox's fanotify permission events (compat): one epoll
//! set and a few threads shared by all sandboxes, instead of a thread per sandbox.
//!
//! Each sandbox's fd is armed one-shot: at most one thread answers a sandbox at a time (its
//! kernel queue is its own queue) and re-arms it after. Two threads answer; when every one
//! has been busy for `STUCK` a watchdog starts one more (up to `MAX_THREADS`), so one
//! sandbox whose answer is slow (a hung filesystem) never holds up another for long, and a
//! busy but healthy varmord does not grow threads (and their allocator arenas) it does not
//! need. Dropping a `Registration` waits for a running answer to end and makes sure no
//! other starts.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

/// Threads at most; past them, answers wait for a thread to come free.
pub const MAX_THREADS: usize = 64;
/// Threads started with the pool.
const FIRST_THREADS: usize = 2;
/// How long every thread may be busy before one more starts.
pub const STUCK: Duration = Duration::from_millis(50);

/// What a sandbox's fd is answered by: called when the fd is readable; false stops it.
pub type Handler = Box<dyn FnMut() -> bool + Send>;

/// The fd a registration watches, kept open for as long as it is registered.
pub type Watched = Arc<dyn AsFd + Send + Sync>;

struct Entry {
    fd: Watched,
    /// Held while the handler runs; `None` once deregistered.
    handler: Mutex<Option<Handler>>,
}

struct Inner {
    epoll: Epoll,
    entries: Mutex<HashMap<u64, Arc<Entry>>>,
    next: AtomicU64,
    /// Threads waiting in epoll_wait, and threads in all.
    idle: AtomicUsize,
    threads: AtomicUsize,
    /// Signalled (under `busy`) when the last waiting thread takes an event.
    busy: Mutex<()>,
    all_busy: Condvar,
    name: &'static str,
}

/// A pool of answering threads (`Pool::fanotify` for the one varmord uses).
#[derive(Clone)]
pub struct Pool(Arc<Inner>);

/// One fd answered by the pool until this is dropped.
pub struct Registration {
    pool: Arc<Inner>,
    key: u64,
    entry: Arc<Entry>,
}

fn armed(key: u64) -> EpollEvent {
    EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLONESHOT, key)
}

impl Pool {
    pub fn new(name: &'static str) -> std::io::Result<Pool> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        Ok(Pool(Arc::new(Inner {
            epoll,
            entries: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            idle: AtomicUsize::new(0),
            threads: AtomicUsize::new(0),
            busy: Mutex::new(()),
            all_busy: Condvar::new(),
            name,
        })))
    }

    /// The pool answering fanotify groups, made on first use.
    pub fn fanotify() -> std::io::Result<Pool> {
        static P: OnceLock<Pool> = OnceLock::new();
        if let Some(p) = P.get() {
            return Ok(p.clone());
        }
        let p = Pool::new("fan-pool")?;
        Ok(P.get_or_init(|| p).clone())
    }

    /// Answers `fd` with `handler` from now on.
    pub fn register(&self, fd: Watched, handler: Handler) -> std::io::Result<Registration> {
        let inner = &self.0;
        if inner.threads.load(Ordering::SeqCst) == 0 {
            for _ in 0..FIRST_THREADS {
                spawn(inner)?;
            }
            let me = inner.clone();
            std::thread::Builder::new()
                .name(format!("{}-watch", inner.name))
                .stack_size(64 * 1024)
                .spawn(move || watch(&me))?;
        }
        let key = inner.next.fetch_add(1, Ordering::SeqCst);
        let entry = Arc::new(Entry {
            fd,
            handler: Mutex::new(Some(handler)),
        });
        lock(&inner.entries).insert(key, entry.clone());
        if let Err(e) = inner.epoll.add(entry.fd.as_fd(), armed(key)) {
            lock(&inner.entries).remove(&key);
            return Err(e.into());
        }
        Ok(Registration {
            pool: inner.clone(),
            key,
            entry,
        })
    }

    #[cfg(test)]
    fn threads(&self) -> usize {
        self.0.threads.load(Ordering::SeqCst)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn spawn(inner: &Arc<Inner>) -> std::io::Result<()> {
    inner.threads.fetch_add(1, Ordering::SeqCst);
    let me = inner.clone();
    std::thread::Builder::new()
        .name(inner.name.into())
        .stack_size(256 * 1024)
        .spawn(move || run(&me))
        .map(drop)
        .inspect_err(|_| {
            inner.threads.fetch_sub(1, Ordering::SeqCst);
        })
}

fn run(inner: &Arc<Inner>) {
    let mut events = [EpollEvent::empty()];
    loop {
        inner.idle.fetch_add(1, Ordering::SeqCst);
        let n = inner.epoll.wait(&mut events, EpollTimeout::NONE);
        let idle = inner.idle.fetch_sub(1, Ordering::SeqCst) - 1;
        match n {
            Ok(1) => {}
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                log::error!("{}: epoll_wait: {e}", inner.name);
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
        }
        if idle == 0 {
            // Nobody left waiting: the watchdog starts counting.
            let _g = lock(&inner.busy);
            inner.all_busy.notify_one();
        }
        let key = events[0].data();
        let gone = events[0]
            .events()
            .intersects(EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR);
        let Some(entry) = lock(&inner.entries).get(&key).cloned() else {
            continue; // deregistered since
        };
        let mut handler = lock(&entry.handler);
        let Some(h) = handler.as_mut() else { continue };
        if !gone && h() {
            if let Err(e) = inner.epoll.modify(entry.fd.as_fd(), &mut armed(key)) {
                log::error!("{}: re-arming: {e}", inner.name);
            } else {
                continue;
            }
        }
        // Stopped: no process is left to ask, or the handler gave up.
        *handler = None;
        let _ = inner.epoll.delete(entry.fd.as_fd());
        drop(handler);
        lock(&inner.entries).remove(&key);
    }
}

/// Starts one more thread whenever every thread has been busy for `STUCK`.
fn watch(inner: &Arc<Inner>) {
    loop {
        let g = lock(&inner.busy);
        let g = inner
            .all_busy
            .wait_while(g, |_| inner.idle.load(Ordering::SeqCst) > 0)
            .unwrap_or_else(|p| p.into_inner());
        drop(g);
        std::thread::sleep(STUCK);
        if inner.idle.load(Ordering::SeqCst) == 0
            && inner.threads.load(Ordering::SeqCst) < MAX_THREADS
        {
            if let Err(e) = spawn(inner) {
                log::warn!("{}: no further answering thread: {e}", inner.name);
                std::thread::sleep(STUCK);
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Waits for an answer under way; none starts after (the handler is gone).
        let mut handler = lock(&self.entry.handler);
        if handler.take().is_some() {
            let _ = self.pool.epoll.delete(self.entry.fd.as_fd());
        }
        drop(handler);
        lock(&self.pool.entries).remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::OwnedFd;
    use std::sync::mpsc::{channel, sync_channel, Receiver};
    use std::time::Duration;

    fn pipe() -> (Arc<OwnedFd>, OwnedFd) {
        let (r, w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .unwrap();
        (Arc::new(r), w)
    }

    fn drain(fd: &OwnedFd) {
        let mut b = [0u8; 64];
        while nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(fd), &mut b).is_ok_and(|n| n > 0) {}
    }

    #[test]
    fn a_slow_answer_holds_up_no_other_fd() {
        let pool = Pool::new("test-pool").unwrap();
        let (gate_tx, gate_rx) = sync_channel::<()>(0);
        let (done_tx, done_rx) = channel::<&'static str>();
        let (a, aw) = pipe();
        let (b, bw) = pipe();
        let (ra, da) = (a.clone(), done_tx.clone());
        let _ra = pool
            .register(
                a.clone(),
                Box::new(move || {
                    drain(&ra);
                    let _ = gate_rx.recv(); // blocks until the test opens the gate
                    let _ = da.send("a");
                    true
                }),
            )
            .unwrap();
        let rb = b.clone();
        let _rb = pool
            .register(
                b.clone(),
                Box::new(move || {
                    drain(&rb);
                    let _ = done_tx.send("b");
                    true
                }),
            )
            .unwrap();
        nix::unistd::write(&aw, b"x").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        nix::unistd::write(&bw, b"x").unwrap();
        assert_eq!(
            done_rx.recv_timeout(Duration::from_secs(5)),
            Ok("b"),
            "b waited for a"
        );
        // And b is answered again (re-armed), still while a is stuck.
        nix::unistd::write(&bw, b"y").unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)), Ok("b"));
        gate_tx.send(()).unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)), Ok("a"));
        assert!(pool.threads() >= FIRST_THREADS && pool.threads() <= MAX_THREADS);
    }

    #[test]
    fn with_every_thread_stuck_a_further_thread_answers() {
        let pool = Pool::new("test-pool").unwrap();
        let (done_tx, done_rx) = channel::<usize>();
        let mut keep = Vec::new();
        let mut gates = Vec::new();
        // FIRST_THREADS handlers that block, then one more fd that must still be answered.
        for i in 0..=FIRST_THREADS {
            let (r, w) = pipe();
            let (gate_tx, gate_rx) = sync_channel::<()>(0);
            let (rr, tx) = (r.clone(), done_tx.clone());
            let reg = pool
                .register(
                    r.clone(),
                    Box::new(move || {
                        drain(&rr);
                        if i < FIRST_THREADS {
                            let _ = gate_rx.recv();
                        }
                        let _ = tx.send(i);
                        true
                    }),
                )
                .unwrap();
            nix::unistd::write(&w, b"x").unwrap();
            std::thread::sleep(Duration::from_millis(30));
            keep.push((reg, w));
            gates.push(gate_tx);
        }
        assert_eq!(
            done_rx.recv_timeout(Duration::from_secs(5)),
            Ok(FIRST_THREADS),
            "the last fd waited for the stuck ones"
        );
        assert!(pool.threads() > FIRST_THREADS);
        for g in gates.iter().take(FIRST_THREADS) {
            g.send(()).unwrap();
        }
        for _ in 0..FIRST_THREADS {
            done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
    }

    /// A pipe answered by `pool`: the handler drains it, says so on the channel and
    /// answers `keep`. The read end is returned too, so it outlives the registration.
    fn watched(pool: &Pool, keep: bool) -> (Registration, Arc<OwnedFd>, OwnedFd, Receiver<()>) {
        let (tx, rx) = channel::<()>();
        let (r, w) = pipe();
        let rr = r.clone();
        let reg = pool
            .register(
                r.clone(),
                Box::new(move || {
                    drain(&rr);
                    let _ = tx.send(());
                    keep
                }),
            )
            .unwrap();
        (reg, r, w, rx)
    }

    #[test]
    fn a_dropped_registration_is_never_answered_again() {
        let pool = Pool::new("test-pool").unwrap();
        let (reg, _r, w, rx) = watched(&pool, true);
        nix::unistd::write(&w, b"x").unwrap();
        rx.recv_timeout(Duration::from_secs(5))
            .expect("answered while registered");
        drop(reg);
        nix::unistd::write(&w, b"y").unwrap();
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "answered after drop"
        );
    }

    #[test]
    fn a_handler_that_gives_up_ends_it() {
        let pool = Pool::new("test-pool").unwrap();
        let (_reg, _r, w, rx) = watched(&pool, false);
        nix::unistd::write(&w, b"x").unwrap();
        rx.recv_timeout(Duration::from_secs(5))
            .expect("answered once");
        nix::unistd::write(&w, b"y").unwrap();
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "answered after giving up"
        );
        // The answering thread removes the entry just after the handler returns; on a
        // loaded machine that thread may not have run yet.
        let t = std::time::Instant::now();
        while !lock(&pool.0.entries).is_empty() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            lock(&pool.0.entries).is_empty(),
            "still registered after giving up"
        );
    }

    #[test]
    fn a_hangup_ends_it_unanswered() {
        let pool = Pool::new("test-pool").unwrap();
        let (_reg, _r, w, rx) = watched(&pool, true);
        drop(w); // no writer left: EPOLLHUP
        let t = std::time::Instant::now();
        while !lock(&pool.0.entries).is_empty() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            lock(&pool.0.entries).is_empty(),
            "still registered after a hangup"
        );
        assert!(rx.try_recv().is_err(), "the handler ran on a hangup");
    }
}
