//! Reads denial/audit events from the pinned v_events ring buffer.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use libbpf_rs::{MapHandle, RingBuffer, RingBufferBuilder};

use super::{bpf_err, BpfError};
use varmor_core::abi::{self, Pod};

/// A reader of v_events. Events that do not have the ABI's size are dropped.
pub struct Events {
    _map: MapHandle,
    rb: RingBuffer<'static>,
    queue: Rc<RefCell<VecDeque<abi::Event>>>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("queued", &self.queue.borrow().len())
            .finish()
    }
}

impl Events {
    /// Opens `<pin_dir>/v_events` (pinned by `Maps::open`).
    pub fn open(pin_dir: &Path) -> Result<Events, BpfError> {
        let p = pin_dir.join(super::names::map::V_EVENTS);
        let map =
            MapHandle::from_pinned_path(&p).map_err(bpf_err(format!("opening {}", p.display())))?;
        let queue: Rc<RefCell<VecDeque<abi::Event>>> = Rc::default();
        let q = queue.clone();
        let mut b = RingBufferBuilder::new();
        b.add(&map, move |data: &[u8]| {
            if let Some(ev) = abi::Event::from_bytes(data) {
                q.borrow_mut().push_back(ev);
            }
            0
        })
        .map_err(bpf_err("setting up the v_events reader"))?;
        let rb = b.build().map_err(bpf_err("mapping v_events"))?;
        Ok(Events {
            _map: map,
            rb,
            queue,
        })
    }

    /// Waits up to `timeout` for events and hands each to `f`; returns how many.
    pub fn poll(
        &mut self,
        timeout: Duration,
        mut f: impl FnMut(&abi::Event),
    ) -> Result<usize, BpfError> {
        self.rb.poll(timeout).map_err(bpf_err("polling v_events"))?;
        let mut n = 0;
        while let Some(ev) = self.queue.borrow_mut().pop_front() {
            f(&ev);
            n += 1;
        }
        Ok(n)
    }

    /// The ring buffer's fd, for an event loop (readable when events are waiting).
    pub fn epoll_fd(&self) -> i32 {
        self.rb.epoll_fd()
    }
}

/// The NUL-terminated text of an event's `comm` or `path` field.
pub fn event_text(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
}
