//! Benchmark workload (not installed): times one operation in a loop and prints ns/op.
//!
//!   oploop open FILE N            open(O_RDONLY)+close
//!   oploop exec N                 fork + execve /bin/true + wait
//!   oploop connect N              TCP connect to a loopback listener it opens itself
//!   oploop syscall N              getppid(2): the cost a seccomp filter adds to a syscall
//!   oploop create DIR N           create (O_CREAT|O_EXCL) + close + unlink a file in DIR
//!   oploop rename DIR N           rename a file in DIR to another name and back (per rename)
//!   oploop landlock open FILE N   the open loop under a Landlock domain that handles every
//!                                 filesystem right and grants them beneath / (Landlock alone)

use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Instant;

use landlock::{
    Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, ABI,
};

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| usage())
}

fn usage() -> ! {
    eprintln!("usage: oploop open FILE N | exec N | connect N | syscall N | create DIR N | rename DIR N | landlock open FILE N");
    std::process::exit(2)
}

fn time(n: u64, mut f: impl FnMut()) {
    for _ in 0..n.min(1000) / 10 {
        f(); // warm caches (and the compat backend's ignore marks)
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!("{:.1}", t.elapsed().as_nanos() as f64 / n as f64);
}

fn open_loop(file: &str, n: u64) {
    let c = std::ffi::CString::new(file).unwrap_or_else(|_| usage());
    time(n, || {
        // SAFETY: c is a valid NUL-terminated path; the fd is closed right away.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        assert!(fd >= 0, "open {file}: {}", std::io::Error::last_os_error());
        // SAFETY: fd was just returned by open.
        unsafe { libc::close(fd) };
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("open") => open_loop(
            &args.get(1).cloned().unwrap_or_else(|| usage()),
            arg(&args, 2),
        ),
        Some("syscall") => time(arg(&args, 1), || {
            // SAFETY: getppid has no preconditions; the raw syscall avoids any libc caching.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }),
        Some("exec") => time(arg(&args, 1), || {
            assert!(
                Command::new("/bin/true")
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false),
                "exec /bin/true failed"
            );
        }),
        Some("connect") => {
            // Connect and accept in one thread: a loopback handshake completes inside
            // connect(2), so no accept thread can fall behind and overflow the backlog.
            let l = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
            let addr = l.local_addr().unwrap();
            time(arg(&args, 1), || {
                let s = TcpStream::connect(addr).expect("connect");
                drop(l.accept().expect("accept"));
                // Close with a reset: no TIME_WAIT sockets pile up between runs.
                let linger = libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                };
                // SAFETY: a valid socket fd and a correctly sized, initialised option value.
                unsafe {
                    libc::setsockopt(
                        std::os::fd::AsRawFd::as_raw_fd(&s),
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        (&linger as *const libc::linger).cast(),
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    )
                };
                drop(s)
            });
        }
        Some("landlock") if args.get(1).map(String::as_str) == Some("open") => {
            let all = AccessFs::from_all(ABI::V5);
            let status = Ruleset::default()
                .handle_access(all)
                .and_then(|r| r.create())
                .and_then(|r| r.add_rule(PathBeneath::new(PathFd::new("/").expect("open /"), all)))
                .and_then(|r| r.restrict_self())
                .expect("landlock");
            eprintln!("landlock: {:?}", status.ruleset);
            open_loop(
                &args.get(2).cloned().unwrap_or_else(|| usage()),
                arg(&args, 3),
            );
        }
        Some("create") => {
            let f = std::path::Path::new(&args.get(1).cloned().unwrap_or_else(|| usage()))
                .join(format!(".oploop-{}", std::process::id()));
            time(arg(&args, 2), || {
                drop(std::fs::File::create_new(&f).expect("create"));
                std::fs::remove_file(&f).expect("unlink");
            });
        }
        Some("rename") => {
            let dir = std::path::Path::new(&args.get(1).cloned().unwrap_or_else(|| usage()))
                .to_path_buf();
            let (a, b) = (
                dir.join(format!(".oploop-a-{}", std::process::id())),
                dir.join(format!(".oploop-b-{}", std::process::id())),
            );
            std::fs::write(&a, "x").expect("create");
            let mut flip = false;
            time(arg(&args, 2), || {
                let (from, to) = if flip { (&b, &a) } else { (&a, &b) };
                std::fs::rename(from, to).expect("rename");
                flip = !flip;
            });
            let _ = std::fs::remove_file(&a);
            let _ = std::fs::remove_file(&b);
        }
        _ => usage(),
    }
}
