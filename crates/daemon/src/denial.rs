//! Denial lines: each denial or audit becomes one readable line on the sandbox's stderr
//! (unless --quiet) and in varmord's log, rate-limited per sandbox.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use varmor_core::rules::RuleSet;
use varmor_kernel::enforcer::{Denial, Outcome};

/// Lines per second per sandbox; the rest are counted and summarised.
pub const LINES_PER_SEC: u32 = 20;

pub struct Sink {
    pub sandbox: u64,
    pub rules: Arc<RuleSet>,
    pub stderr: Option<Mutex<File>>,
    pub log: Arc<Mutex<Option<File>>>,
    pub count: AtomicU64,
    window: Mutex<(Instant, u32, u64)>,
    color: bool,
    /// Learning run: (what, object) pairs already sent; None otherwise.
    seen: Option<Mutex<HashSet<(String, String)>>>,
}

/// How a sandbox's lines reach its client.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineStyle {
    /// A learning run: every distinct line, unthrottled, none to varmord's log.
    pub learn: bool,
    /// The client's fd is a terminal that wants colour.
    pub color: bool,
}

/// Distinct lines one learning run may receive.
pub const LEARN_MAX_LINES: usize = 65_536;

impl Sink {
    pub fn new(
        sandbox: u64,
        rules: Arc<RuleSet>,
        stderr: Option<File>,
        log: Arc<Mutex<Option<File>>>,
        style: LineStyle,
    ) -> Sink {
        Sink {
            sandbox,
            rules,
            stderr: stderr.map(Mutex::new),
            log,
            count: AtomicU64::new(0),
            window: Mutex::new((Instant::now(), 0, 0)),
            seen: style.learn.then(|| Mutex::new(HashSet::new())),
            color: style.color,
        }
    }

    /// `varmor: denied open(read) /etc/shadow by cat[4242] — profile base, rule file[0] (profiles.d/base.yaml:7)`
    pub fn format(&self, d: &Denial) -> String {
        let verb = match d.outcome {
            Outcome::Denied => "denied",
            Outcome::WouldDeny => "would deny (complain mode)",
            Outcome::Audited => "audit",
        };
        let rule = d
            .origin
            .and_then(|o| self.rules.origin(o))
            .map(|o| {
                format!(
                    " — profile {}, rule {} ({}:{})",
                    o.profile, o.label, o.file, o.line
                )
            })
            .unwrap_or_else(|| format!(" — profile {}", self.rules.profile));
        format!(
            "varmor: {verb} {} {} by {}[{}]{rule}",
            d.what, d.object, d.comm, d.pid
        )
    }

    pub fn emit(&self, d: Denial) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Some(seen) = &self.seen {
            return self.emit_learning(seen, d);
        }
        let outcome = d.outcome;
        let mut line = self.format(&d);
        {
            let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
            if w.0.elapsed().as_secs() >= 1 {
                if w.2 > 0 {
                    line = format!("varmor: {} more lines suppressed\n{line}", w.2);
                }
                *w = (Instant::now(), 0, 0);
            }
            if w.1 >= LINES_PER_SEC {
                w.2 += 1;
                return;
            }
            w.1 += 1;
        }
        if let Some(f) = &self.stderr {
            let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
            // One write(2) per line, so a line never interleaves with the sandbox's output.
            let _ = f.write_all(format!("{}\n", self.paint(&line, outcome)).as_bytes());
        }
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = log.as_mut() {
            // A full disk must not stop enforcement: the write error is ignored.
            let _ = writeln!(f, "sandbox {}: {line}", self.sandbox);
        }
        if !self.journal(&d, &line) {
            log::info!("sandbox {}: {line}", self.sandbox);
        }
    }

    /// The denial as a structured journal entry (where stderr is the journal).
    fn journal(&self, d: &Denial, line: &str) -> bool {
        if !super::journal::enabled() {
            return false;
        }
        let o = d.origin.and_then(|o| self.rules.origin(o));
        let mut f = vec![
            ("MESSAGE", format!("sandbox {}: {line}", self.sandbox)),
            ("PRIORITY", "5".to_string()),
            ("SYSLOG_IDENTIFIER", "varmord".to_string()),
            ("VARMOR_SANDBOX", self.sandbox.to_string()),
            ("VARMOR_ACTION", d.what.clone()),
            ("VARMOR_PATH", d.object.clone()),
            ("VARMOR_PID", d.pid.to_string()),
            ("VARMOR_COMM", d.comm.clone()),
            ("VARMOR_OUTCOME", format!("{:?}", d.outcome).to_lowercase()),
            (
                "VARMOR_PROFILE",
                o.map_or_else(|| self.rules.profile.to_string(), |o| o.profile.to_string()),
            ),
        ];
        if let Some(o) = o {
            f.push(("VARMOR_RULE", o.label.to_string()));
            f.push(("VARMOR_RULE_FILE", format!("{}:{}", o.file, o.line)));
        }
        if let Some(uid) = super::journal::uid_of(d.pid) {
            f.push(("VARMOR_UID", uid.to_string()));
        }
        super::journal::send(&f)
    }
}

impl Sink {
    /// The line as the client's terminal shows it: the verb in colour when asked
    /// (red denied, yellow would-deny, cyan audit), unchanged otherwise.
    fn paint(&self, line: &str, outcome: Outcome) -> String {
        if !self.color {
            return line.to_string();
        }
        let code = match outcome {
            Outcome::Denied => "1;31",
            Outcome::WouldDeny => "1;33",
            Outcome::Audited => "36",
        };
        match line.rsplit_once("varmor: ") {
            Some((before, rest)) => format!("{before}\x1b[{code}mvarmor:\x1b[0m {rest}"),
            None => line.to_string(),
        }
    }

    /// A learning run: each distinct access once, to the client only, unthrottled.
    fn emit_learning(&self, seen: &Mutex<HashSet<(String, String)>>, d: Denial) {
        {
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.len() >= LEARN_MAX_LINES || !seen.insert((d.what.clone(), d.object.clone())) {
                return;
            }
        }
        if let Some(f) = &self.stderr {
            let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(f, "{}", self.format(&d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(color: bool) -> Sink {
        let style = LineStyle {
            learn: false,
            color,
        };
        Sink::new(
            1,
            Arc::new(RuleSet::empty("t")),
            None,
            Arc::default(),
            style,
        )
    }

    #[test]
    fn only_a_colour_terminal_gets_escapes() {
        let line = "varmor: denied open(read) /etc/shadow by cat[1] — profile t";
        assert_eq!(sink(false).paint(line, Outcome::Denied), line);
        let painted = sink(true).paint(line, Outcome::Denied);
        assert!(
            painted.starts_with("\x1b[1;31mvarmor:\x1b[0m denied"),
            "{painted:?}"
        );
        assert!(sink(true)
            .paint(line, Outcome::Audited)
            .starts_with("\x1b[36m"));
    }
}
