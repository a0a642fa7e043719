//! `say!`: one line to stderr in one write(2).
//!
//! Rust's stderr is unbuffered and `eprintln!` writes each formatted piece on its own, so
//! a denial line that varmord writes to the same stderr (crates/daemon/src/denial.rs, one write
//! a line) could land inside one of ours. Formatting first and writing once keeps every
//! line whole (a pipe keeps writes of up to PIPE_BUF bytes together).

use std::fmt::Arguments;
use std::io::Write;

/// Writes `args` and a newline to stderr with a single write; errors are dropped, as
/// `eprintln!`'s would panic on a closed stderr, which is worse for a launcher.
pub fn line(args: Arguments<'_>) {
    let mut s = args.to_string();
    s.push('\n');
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

/// `eprintln!` that writes the whole line at once.
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => {
        $crate::say::line(format_args!($($t)*))
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_like_eprintln() {
        assert_eq!(format_args!("a {} {}", 1, "b").to_string(), "a 1 b");
        crate::say!("say! compiles with {} argument", 1);
    }
}
