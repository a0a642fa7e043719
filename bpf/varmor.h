/* SPDX-License-Identifier: Apache-2.0 */
/* varmor.h - the one ABI shared by the BPF programs and Rust (crates/core/src/abi.rs).
 *
 * Rust gets every struct and constant here from bindgen (crates/core/build.rs -> crates/core/src/abi.rs),
 * with field offsets checked at compile time: change it here only.
 *
 * Map layout (all maps pinned under the pin dir, readable with bpftool):
 *   v_ns        HASH     u32 mnt-ns inode     -> struct varmor_ns      (one lookup for any task)
 *   v_exact     HASH     varmor_exact_key     -> struct varmor_path_val (precise paths)
 *   v_prefix    LPM_TRIE varmor_lpm_path_key  -> struct varmor_path_val (dir prefixes, path bytes)
 *   v_suffix    LPM_TRIE varmor_lpm_path_key  -> struct varmor_path_val (name suffixes, reversed bytes)
 *   v_glob      HASH     varmor_idx_key       -> struct varmor_glob     (bounded list per ns)
 *   v_net_addr  LPM_TRIE varmor_lpm_addr_key  -> struct varmor_net_addr  (bitmap of rules)
 *   v_net_rule  HASH     varmor_idx_key       -> struct varmor_net_rule
 *   v_events    RINGBUF  struct varmor_event
 *   v_dns       HASH     u32 mnt-ns inode     -> struct varmor_dns     (the sandbox's resolver)
 *   v_net_dyn   HASH     varmor_dyn_key       -> struct varmor_dyn_val (addresses varmord answered)
 *   v_dns_orig  LRU_HASH u64 socket cookie    -> struct varmor_dns_orig (where DNS was sent)
 *   v_sk_ns     SK_STORAGE socket             -> struct varmor_sk      (the sandbox a socket was made in)
 * Every key starts with the namespace inode, so one sandbox's entries are
 * a contiguous, exactly-deletable set and never match another namespace.
 */
#ifndef VARMOR_H
#define VARMOR_H

#define VARMOR_ABI_VERSION 1

/* Sizes and bounds */
#define VARMOR_PATH_MAX      256 /* bytes of a path kept in map keys (LPM data max) */
#define VARMOR_GLOB_MAX      128 /* bytes of a glob pattern */
#define VARMOR_GLOB_RULES    32  /* glob (wildcard-in-the-middle) rules per namespace */
#define VARMOR_NET_RULES     64  /* network rules per namespace (bitmap width) */
#define VARMOR_NET_PORTS     16  /* port ranges per network rule */
#define VARMOR_COMM_LEN      16

/* Permission bits (AppArmor's numbering where AppArmor has one) */
#define VARMOR_MAY_EXEC      0x00000001
#define VARMOR_MAY_WRITE     0x00000002
#define VARMOR_MAY_READ      0x00000004
#define VARMOR_MAY_APPEND    0x00000008
#define VARMOR_MAY_CREATE    0x00000010
#define VARMOR_MAY_DELETE    0x00000020
#define VARMOR_MAY_RENAME    0x00000080
#define VARMOR_MAY_TRUNCATE  0x00000100
#define VARMOR_MAY_CHMOD     0x00001000
#define VARMOR_MAY_LINK      0x00040000

/* Pattern flags (vArmor's, plus GLOB for wildcards inside a pattern) */
#define VARMOR_PRECISE       0x00000001
#define VARMOR_GREEDY        0x00000002
#define VARMOR_PREFIX        0x00000004
#define VARMOR_SUFFIX        0x00000008
#define VARMOR_GLOB          0x00000010

/* Network rule flags (vArmor's numbering) */
#define VARMOR_NET_CIDR      0x00000020
#define VARMOR_NET_IPV4      0x00000040
#define VARMOR_NET_IPV6      0x00000080
#define VARMOR_NET_PORT      0x00000100
#define VARMOR_NET_SOCKET    0x00000200
#define VARMOR_NET_PORT_RANGE 0x00000400
#define VARMOR_NET_PORT_LIST 0x00000800
/* Network directions (varmor_net_rule.dirs) */
#define VARMOR_NET_CONNECT   0x1
#define VARMOR_NET_SEND      0x2
#define VARMOR_NET_BIND      0x4

/* Ptrace (varmor_ns.ptrace = perms << 32 | flags, as vArmor) */
#define VARMOR_PTRACE_TRACE  0x2
#define VARMOR_PTRACE_READ   0x4

/* Rule actions and namespace modes */
#define VARMOR_ACTION_DENY   0x1
#define VARMOR_ACTION_AUDIT  0x2
#define VARMOR_ACTION_WOULD_DENY 0x4 /* events only: a deny rule matched in complain mode */
#define VARMOR_ACTION_ALLOW  0x8 /* network allow-list entries (v_net_rule only) */
#define VARMOR_MODE_ENFORCE  0
#define VARMOR_MODE_COMPLAIN 1

/* Event kinds (varmor_event.kind) */
#define VARMOR_EV_FILE       1
#define VARMOR_EV_EXEC       2
#define VARMOR_EV_NET        3
#define VARMOR_EV_CAP        4
#define VARMOR_EV_PTRACE     5
#define VARMOR_EV_MOUNT      6
#define VARMOR_EV_UNIX       7
#define VARMOR_EV_SRCROUTE   8 /* a source route refused (bpf/srcroute.bpf.c) */

/* Source routes (bpf/srcroute.bpf.c), refused in every namespace with network rules: an
 * IPv6 routing header or IPv4 options send a packet through a first hop that no sock_addr
 * hook sees. VARMOR_EV_SRCROUTE events: perms says where it was refused; SETSOCKOPT: port
 * is the option name, family AF_INET (level IPPROTO_IP) or AF_INET6 (IPPROTO_IPV6);
 * PACKET: addr (as varmor_lpm_addr_key's) is the packet's destination, its first hop.
 * rule: the namespace's allow-list origin, else its first network rule's. */
#define VARMOR_SRCROUTE_SETSOCKOPT 0x1
#define VARMOR_SRCROUTE_PACKET     0x2

/* Unix-socket rules (bpf/unix.bpf.c; crates/core/src/profile/unix.rs). They live in the path maps
 * (v_exact, v_prefix, v_suffix, v_glob) under keys of their own: a path socket's rules
 * under VARMOR_UNIX_PATH_NS(ns), an abstract socket's (name written `@name`) under
 * VARMOR_UNIX_ABS_NS(ns). Namespace inodes are all >= 0xe0000000 (the kernel's
 * PROC_DYNAMIC_FIRST and the fixed init inodes), so neither space meets a real inode.
 * varmor_path_val.deny: VARMOR_UNIX_CONNECT | SEND denied; .audit: the audited ones, and
 * the allowed ones shifted by VARMOR_UNIX_ALLOW_SHIFT (an allow exempts from every deny). */
#define VARMOR_UNIX_CONNECT  0x1
#define VARMOR_UNIX_SEND     0x2
#define VARMOR_UNIX_ALLOW_SHIFT 8
#define VARMOR_UNIX_PATH_NS(ns) ((ns) & 0x7fffffffu)
#define VARMOR_UNIX_ABS_NS(ns)  ((ns) & 0x3fffffffu)

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* v_ns value: everything about a namespace that is one word */
struct varmor_ns {
	__u32 mode;        /* VARMOR_MODE_* */
	__u32 kinds;       /* bit per rule kind present (1 << VARMOR_EV_*) */
	__u64 generation;  /* varmord's sandbox id: never reused */
	__u64 caps_deny;   /* capability bitmap denied */
	__u64 ptrace;      /* perms << 32 | pattern flags (GREEDY all, PRECISE outside) */
	__u32 mount_deny;  /* non-zero: deny every mount/umount */
	__u32 n_glob;      /* entries in v_glob for this ns */
	__u32 n_net;       /* entries in v_net_rule for this ns */
	__u32 trunc_deny;  /* union of every prefix rule's deny bits: a path whose head the */
	__u32 trunc_rule;  /* builder could not reach matches them all (fail closed) */
	__u32 n_unix_glob; /* v_glob entries under VARMOR_UNIX_PATH_NS(ns) */
	__u32 n_abs_glob;  /* v_glob entries under VARMOR_UNIX_ABS_NS(ns) */
	__u32 unix_rel_deny; /* unix directions denied for a relative path (any path rule denies them) */
	__u32 unix_rel_rule; /* origin of the first such rule */
	__u32 net_default_rule; /* VARMOR_NO_RULE: connect/send allowed unless denied; else the
				 * allow-list mode's origin: what no allow entry, static
				 * (v_net_rule ALLOW) or answered (v_net_dyn), covers is denied */
};

/* The verdict a path lookup returns: the union of every matching rule's bits.
 * deny_rule / audit_rule: the smallest origin index (in the compiled rule set)
 * of a matching deny / audit rule, VARMOR_NO_RULE when there is none, so the
 * union of several entries keeps the first rule in profile order. */
#define VARMOR_NO_RULE       0xffffffffu
struct varmor_path_val {
	__u32 deny;        /* permissions denied */
	__u32 audit;       /* permissions audited */
	__u32 deny_rule;
	__u32 audit_rule;
	__u32 flags;       /* pattern flags of the entry */
	__u32 pad;
};

/* The verdict a network match returns (bpf/netmatch.bpf.h). */
struct varmor_net_verdict {
	__u32 deny_rule;  /* origin of the first covering deny rule, VARMOR_NO_RULE if none */
	__u32 audit_rule; /* origin of the first covering audit rule */
};

struct varmor_exact_key {
	__u32 ns;
	__u8 path[VARMOR_PATH_MAX];
};

/* LPM key: prefixlen counts bits from ns on (32 + 8 * bytes of path). The kernel's
 * LPM trie takes at most 256 data bytes, so 4 go to ns and 252 to the path: a prefix
 * or suffix literal longer than VARMOR_LPM_PATH_MAX is stored cut to its first
 * (suffix: last) 252 bytes, which can only match more paths (crates/kernel/src/encode.rs says so). */
#define VARMOR_LPM_PATH_MAX  252
struct varmor_lpm_path_key {
	__u32 prefixlen;
	__u32 ns;
	__u8 path[VARMOR_LPM_PATH_MAX];
};

struct varmor_idx_key {
	__u32 ns;
	__u32 idx;
};

struct varmor_glob {
	__u32 deny;
	__u32 audit;
	__u32 rule;
	__u32 len;
	__u8 pattern[VARMOR_GLOB_MAX];
};

/* LPM key over IPv6 addresses; IPv4 is stored and looked up as ::ffff:a.b.c.d
 * so an IPv4-mapped IPv6 destination meets the IPv4 rules. */
struct varmor_lpm_addr_key {
	__u32 prefixlen; /* 32 + address bits */
	__u32 ns;
	__u8 addr[16];
};

struct varmor_net_addr {
	__u64 rules; /* bit i: rule i of the namespace covers this address */
};

struct varmor_port_range {
	__u16 lo;
	__u16 hi;
};

struct varmor_net_rule {
	__u32 flags;   /* VARMOR_NET_* (vArmor encoding, for readers of dumps) */
	__u32 dirs;    /* VARMOR_NET_CONNECT | SEND | BIND */
	__u32 action;  /* VARMOR_ACTION_* */
	__u32 rule;    /* index in the compiled rule set */
	__u32 nports;  /* 0: every port */
	__u32 pad;
	struct varmor_port_range ports[VARMOR_NET_PORTS];
};

/* Allow-list mode (bpf/net.bpf.c; crates/daemon/src/resolver.rs). The sandbox's DNS (UDP and TCP
 * to port 53, any address) is rewritten to its resolver in varmord, 127.0.0.1:port4 (IPv6:
 * [::1]:port6; 0: none). Ports in network byte order. */
#define VARMOR_DNS_PORT 53
struct varmor_dns {
	__u16 port4;
	__u16 port6;
	__u32 pad;
};

/* An address varmord answered for an allowed name, until `expires` (bpf_ktime_get_ns,
 * CLOCK_MONOTONIC; varmord also deletes it then). nports 0: every port. */
struct varmor_dyn_key {
	__u32 ns;
	__u8 addr[16];
};

struct varmor_dyn_val {
	__u64 expires;
	__u32 rule;
	__u32 nports;
	struct varmor_port_range ports[VARMOR_NET_PORTS];
};

/* Where a socket's DNS really went, so recvmsg/getpeername show that address, not the
 * resolver's. addr as in varmor_lpm_addr_key; port in network byte order. */
struct varmor_dns_orig {
	__u8 addr[16];
	__u16 port;
	__u16 family;
	__u32 pad;
};

/* v_sk_ns value: the namespace (and its sandbox's generation) a socket was created in,
 * so that the egress program, which runs without a task to ask, knows it is confined. */
struct varmor_sk {
	__u32 ns;
	__u32 pad;
	__u64 generation;
};

struct varmor_event {
	__u32 ns;
	__u32 pid;
	__u32 kind;    /* VARMOR_EV_* */
	__u32 perms;   /* requested permissions / direction / capability */
	__u32 rule;
	__u32 action;  /* VARMOR_ACTION_*; DENY only when enforced */
	__u16 port;
	__u16 family;
	__u32 pad;
	__u8 addr[16];
	__u8 comm[VARMOR_COMM_LEN];
	__u8 path[VARMOR_PATH_MAX];
};

#endif /* VARMOR_H */
