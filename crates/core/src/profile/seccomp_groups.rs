//! Syscall groups with systemd's SystemCallFilter= meanings (`@mount`, `@privileged`, ...).
//! Members missing on the running architecture are left out when a group is expanded.

use libseccomp::ScmpSyscall;

const GROUPS: &[(&str, &[&str])] = &[
    (
        "aio",
        &[
            "io_cancel",
            "io_destroy",
            "io_getevents",
            "io_pgetevents",
            "io_setup",
            "io_submit",
            "io_uring_enter",
            "io_uring_register",
            "io_uring_setup",
        ],
    ),
    (
        "chown",
        &[
            "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
        ],
    ),
    (
        "clock",
        &[
            "adjtimex",
            "clock_adjtime",
            "clock_adjtime64",
            "clock_settime",
            "clock_settime64",
            "settimeofday",
        ],
    ),
    (
        "cpu-emulation",
        &[
            "modify_ldt",
            "subpage_prot",
            "switch_endian",
            "vm86",
            "vm86old",
        ],
    ),
    (
        "debug",
        &[
            "lookup_dcookie",
            "perf_event_open",
            "pidfd_getfd",
            "ptrace",
            "rtas",
            "s390_runtime_instr",
            "sys_debug_setcontext",
            "process_vm_readv",
            "process_vm_writev",
        ],
    ),
    ("keyring", &["add_key", "keyctl", "request_key"]),
    ("module", &["delete_module", "finit_module", "init_module"]),
    (
        "mount",
        &[
            "chroot",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "pivot_root",
            "umount",
            "umount2",
        ],
    ),
    (
        "network-io",
        &[
            "accept",
            "accept4",
            "bind",
            "connect",
            "getpeername",
            "getsockname",
            "getsockopt",
            "listen",
            "recv",
            "recvfrom",
            "recvmmsg",
            "recvmsg",
            "send",
            "sendmmsg",
            "sendmsg",
            "sendto",
            "setsockopt",
            "shutdown",
            "socket",
            "socketcall",
            "socketpair",
        ],
    ),
    (
        "obsolete",
        &[
            "_sysctl",
            "afs_syscall",
            "bdflush",
            "break",
            "create_module",
            "ftime",
            "get_kernel_syms",
            "getpmsg",
            "gtty",
            "idle",
            "lock",
            "mpx",
            "prof",
            "profil",
            "putpmsg",
            "query_module",
            "security",
            "sgetmask",
            "ssetmask",
            "stime",
            "stty",
            "sysfs",
            "tuxcall",
            "ulimit",
            "uselib",
            "ustat",
            "vserver",
        ],
    ),
    (
        "privileged",
        &[
            "acct",
            "bpf",
            "capset",
            "chroot",
            "fanotify_init",
            "fanotify_mark",
            "nfsservctl",
            "open_by_handle_at",
            "pivot_root",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "setfsuid",
            "setfsuid32",
            "setgroups",
            "setgroups32",
            "sethostname",
            "setresuid",
            "setresuid32",
            "setreuid",
            "setreuid32",
            "setuid",
            "setuid32",
            "vhangup",
            "chown",
            "chown32",
            "fchown",
            "fchown32",
            "fchownat",
            "lchown",
            "lchown32",
            "adjtimex",
            "clock_adjtime",
            "clock_adjtime64",
            "clock_settime",
            "clock_settime64",
            "settimeofday",
            "delete_module",
            "finit_module",
            "init_module",
            "ioperm",
            "iopl",
            "pciconfig_iobase",
            "pciconfig_read",
            "pciconfig_write",
            "kexec_file_load",
            "kexec_load",
            "reboot",
            "swapoff",
            "swapon",
            "_sysctl",
        ],
    ),
    (
        "raw-io",
        &[
            "ioperm",
            "iopl",
            "pciconfig_iobase",
            "pciconfig_read",
            "pciconfig_write",
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
        ],
    ),
    ("reboot", &["kexec_file_load", "kexec_load", "reboot"]),
    (
        "resources",
        &[
            "ioprio_set",
            "mbind",
            "migrate_pages",
            "move_pages",
            "nice",
            "sched_setaffinity",
            "sched_setattr",
            "sched_setparam",
            "sched_setscheduler",
            "set_mempolicy",
            "set_mempolicy_home_node",
            "setpriority",
            "setrlimit",
        ],
    ),
    (
        "setuid",
        &[
            "setgid",
            "setgid32",
            "setgroups",
            "setgroups32",
            "setregid",
            "setregid32",
            "setresgid",
            "setresgid32",
            "setresuid",
            "setresuid32",
            "setreuid",
            "setreuid32",
            "setuid",
            "setuid32",
        ],
    ),
    ("swap", &["swapoff", "swapon"]),
];

/// Members of `@name` that exist on this architecture, or None for an unknown group.
pub fn group(name: &str) -> Option<Vec<&'static str>> {
    GROUPS
        .iter()
        .find(|(g, _)| *g == name)
        .map(|(_, m)| m.iter().copied().filter(|s| is_syscall(s)).collect())
}

pub fn group_names() -> Vec<String> {
    GROUPS.iter().map(|(g, _)| format!("@{g}")).collect()
}

/// Is `name` a syscall of the native architecture (as libseccomp knows it)?
pub fn is_syscall(name: &str) -> bool {
    ScmpSyscall::from_name(name).is_ok()
}

/// Whether `name` is a system call on some architecture libseccomp knows (OCI files list
/// other architectures' calls, e.g. `arm_fadvise64_64`, in their shared allow lists).
pub fn is_syscall_anywhere(name: &str) -> bool {
    use libseccomp::ScmpArch as A;
    is_syscall(name)
        || [
            A::X86,
            A::X8664,
            A::X32,
            A::Arm,
            A::Aarch64,
            A::Mips,
            A::Mips64,
            A::Mips64N32,
            A::Ppc,
            A::Ppc64,
            A::Ppc64Le,
            A::S390,
            A::S390X,
            A::Riscv64,
        ]
        .into_iter()
        .any(|a| ScmpSyscall::from_name_by_arch(name, a).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn groups_resolve() {
        let m = group("mount").unwrap();
        assert!(m.contains(&"mount") && m.contains(&"umount2"));
        assert!(!group("obsolete").unwrap().contains(&"vserver") || is_syscall("vserver"));
        assert!(group("nope").is_none());
        assert!(is_syscall("keyctl") && !is_syscall("definitely_not_a_syscall"));
        assert!(is_syscall_anywhere("arm_fadvise64_64") && !is_syscall_anywhere("opne"));
    }
}
