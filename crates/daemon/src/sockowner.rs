//! Which process of a sandbox owns a loopback socket: the pid and comm a resolver denial
//! line names. The query's source port gives the socket's inode (/proc/net/{udp,tcp}[6]),
//! and the sandbox's processes (its cgroup's `cgroup.procs`) are searched for an fd on
//! that inode. Bounded: at most `MAX_PROCS` processes and `MAX_FDS` fds each are looked at;
//! not found (the process exited, or too many) gives None.

use std::path::Path;

const MAX_PROCS: usize = 256;
const MAX_FDS: usize = 4096;

/// Inode of the socket bound to local port `port` in the /proc/net table `table`.
fn inode_of(table: &str, port: u16) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/net/{table}")).ok()?;
    text.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let local = f.get(1)?;
        let p = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
        (p == port).then(|| f.get(9)?.parse().ok()).flatten()
    })
}

/// (pid, comm) of the process in `cgroup` with the socket whose local port is `port`.
pub fn owner(cgroup: &Path, port: u16, tcp: bool, v6: bool) -> Option<(i32, String)> {
    let table = match (tcp, v6) {
        (false, false) => "udp",
        (false, true) => "udp6",
        (true, false) => "tcp",
        (true, true) => "tcp6",
    };
    let inode = inode_of(table, port).filter(|&i| i != 0)?;
    let want = format!("socket:[{inode}]");
    let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).ok()?;
    for pid in procs
        .lines()
        .take(MAX_PROCS)
        .filter_map(|p| p.parse::<i32>().ok())
    {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let hit = fds
            .take(MAX_FDS)
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == want.as_str()));
        if hit {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            return Some((pid, comm.trim_end().to_string()));
        }
    }
    None
}
