/* SPDX-License-Identifier: Apache-2.0 */
/* maps.bpf.h - the shared rule maps (layout: bpf/varmor.h), defined once for every object.
 *
 * Every map is pinned by name (LIBBPF_PIN_BY_NAME): an object opened with a pin
 * root path reuses the maps already pinned there, or creates and pins them, so
 * varmord's loader (crates/kernel/src/bpf/maps.rs), the cgroup programs, the LSM programs and
 * the test programs all read the same entries. Sizes are the whole machine's
 * budget, not one sandbox's; hash maps and tries allocate on demand.
 *
 * v_scratch is per object and not pinned: the per-CPU work area of one decision.
 */
#ifndef VARMOR_MAPS_H
#define VARMOR_MAPS_H

#include "varmor.h"

#define VARMOR_MAX_NS        16384
#define VARMOR_MAX_PATHS     262144
#define VARMOR_MAX_GLOBS     (VARMOR_MAX_NS * 4)
#define VARMOR_MAX_NET_ADDRS 65536
#define VARMOR_MAX_NET_RULES 65536
#define VARMOR_EVENTS_BYTES  (256 * 1024)
#define VARMOR_MAX_DYN       65536
#define VARMOR_MAX_DNS_ORIG  16384

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VARMOR_MAX_NS);
	__type(key, __u32);
	__type(value, struct varmor_ns);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VARMOR_MAX_PATHS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct varmor_exact_key);
	__type(value, struct varmor_path_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VARMOR_MAX_PATHS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct varmor_lpm_path_key);
	__type(value, struct varmor_path_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_prefix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VARMOR_MAX_PATHS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct varmor_lpm_path_key);
	__type(value, struct varmor_path_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_suffix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VARMOR_MAX_GLOBS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct varmor_idx_key);
	__type(value, struct varmor_glob);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_glob SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VARMOR_MAX_NET_ADDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct varmor_lpm_addr_key);
	__type(value, struct varmor_net_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_net_addr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VARMOR_MAX_NET_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct varmor_idx_key);
	__type(value, struct varmor_net_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_net_rule SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, VARMOR_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VARMOR_MAX_NS);
	__type(key, __u32);
	__type(value, struct varmor_dns);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_dns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VARMOR_MAX_DYN);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct varmor_dyn_key);
	__type(value, struct varmor_dyn_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_net_dyn SEC(".maps");

/* Keyed by socket cookie, not by namespace: it grants nothing (it only names the
 * address a reply is shown from), and the oldest entries make room for new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VARMOR_MAX_DNS_ORIG);
	__type(key, __u64);
	__type(value, struct varmor_dns_orig);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_dns_orig SEC(".maps");

/* Socket-local: freed with the socket, never iterated (bpf/varmor.h, struct varmor_sk). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct varmor_sk);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} v_sk_ns SEC(".maps");

/* A zeroed event in v_events with the fields every kind has (the task's pid and comm
 * included), or NULL when the ring is full: the caller adds its own fields and submits. */
static __always_inline struct varmor_event *varmor_event_new(__u32 ns, __u32 kind, __u32 perms, __u32 rule,
							      __u32 action)
{
	struct varmor_event *e = bpf_ringbuf_reserve(&v_events, sizeof(*e), 0);

	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->ns = ns;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->kind = kind;
	e->perms = perms;
	e->rule = rule;
	e->action = action;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* Kernel paths are at most 4096 bytes; the builder writes right-aligned into buf
 * and keeps VARMOR_NAME_SLACK spare bytes so every bounded copy stays inside. */
#define VARMOR_BUF_LEN    4096
#define VARMOR_BUF_MASK   (VARMOR_BUF_LEN - 1)
#define VARMOR_NAME_SLACK 256

/* Both key shapes over one buffer: &k is an LPM key (the trie reads its first
 * VARMOR_LPM_PATH_MAX path bytes), &k.ns an exact key (all VARMOR_PATH_MAX). */
struct varmor_path_keybuf {
	__u32 prefixlen;
	__u32 ns;
	__u8 path[VARMOR_PATH_MAX];
};

/* The integers of one glob match (bpf/path.bpf.h varmor_glob_step), kept in the scratch
 * map so that the verifier does not track them from one loop step to the next. */
struct varmor_glob_run {
	int plen, slen;
	int px, sx;
	int star_px, star_sx;
	int gs_px, gs_sx;
	int result; /* -1 running, 0 no match, 1 match */
	int pad;
};

struct varmor_scratch {
	struct varmor_path_keybuf fwd;  /* ns + first PATH_MAX bytes */
	struct varmor_path_keybuf rev;  /* ns + last PATH_MAX bytes, reversed */
	__u32 start;                    /* path = buf[start .. start+len] */
	__u32 len;                      /* length of the whole path */
	__u32 trunc;                    /* the builder gave up: head unknown */
	__u32 zero;                     /* never written: see varmor_opaque() */
	struct varmor_event ev;         /* event being assembled */
	struct varmor_glob_run glob;    /* the glob match running */
	__u8 buf[VARMOR_BUF_LEN + VARMOR_NAME_SLACK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct varmor_scratch);
} v_scratch SEC(".maps");

/* v, as a value the verifier cannot know: loop states started from constants would
 * be verified once per iteration instead of converging. */
static __always_inline __u32 varmor_opaque(const struct varmor_scratch *s, __u32 v)
{
	return v + s->zero;
}

static __always_inline struct varmor_scratch *varmor_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&v_scratch, &zero);
}

#endif /* VARMOR_MAPS_H */
