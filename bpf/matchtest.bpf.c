// SPDX-License-Identifier: Apache-2.0
/* matchtest.bpf.c - runs the kernel's matching code on inputs given by user space,
 * with BPF_PROG_TEST_RUN (src/bpf/matchtest.rs):
 *   mt_path   the path matcher of bpf/path.h (the code the LSM hooks inline) on a path
 *             given as packet payload, against the pinned maps
 *   mt_net    the network matcher of bpf/netmatch.h (the code of bpf/net.bpf.c)
 *   mt_linear a vArmor-style linear scan of 64 pattern slots (the benchmark baseline)
 *   mt_cwd    the dentry walker of bpf/dpath.h on the caller's working directory
 * The matchers are socket filters, not SEC("syscall"): syscall programs are sleepable
 * and the kernel refuses LPM tries in sleepable programs. A socket filter's TEST_RUN
 * also takes a repeat count and reports the mean time per run (the benchmark).
 * Verdicts go to mt_result[0]. mt_cwd needs probe_read_kernel and the current task,
 * so it is a SEC("syscall") program; its answer goes to mt_cwd_result[0].
 * The input/output structs are mirrored by #[repr(C)] structs in src/bpf/matchtest.rs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "path.h"
#include "netmatch.h"
#include "dpath.h"

#define MT_PATH_IN 1024

/* Input of mt_path / mt_linear: the packet payload (after the 14-byte link header). */
struct mt_path_in {
	__u32 ns;
	__u32 len;
	__u8 path[MT_PATH_IN];
};

/* Input of mt_net. */
struct mt_net_in {
	__u32 ns;
	__u32 dir;
	__u32 family; /* 4: addr[0..4] is an IPv4 address; 6: addr is IPv6 */
	__u32 port;
	__u8 addr[16];
};

/* Output of the socket filters, in mt_result[0]. */
struct mt_out {
	__u32 status; /* 0 ok, 1 no scratch, 2 bad input, 3 no namespace */
	__u32 pad;
	struct varmor_path_val path;
	struct varmor_net_verdict net;
};

struct mt_cwd_out {
	__u32 start;
	__u32 len;
	__u32 trunc;
	__u32 status;
	__u8 path[VARMOR_BUF_LEN];
};

_Static_assert(sizeof(struct mt_path_in) == 1032, "mt_path_in");
_Static_assert(sizeof(struct mt_net_in) == 32, "mt_net_in");
_Static_assert(sizeof(struct mt_out) == 40, "mt_out");
_Static_assert(sizeof(struct mt_cwd_out) == 4112, "mt_cwd_out");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_out);
} mt_result SEC(".maps");

static __always_inline struct mt_out *mt_result_slot(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&mt_result, &zero);
}

/* Copy the path of the packet into scratch at buf[4096 - MT_PATH_IN ..] (never wrapping,
 * like a built path); returns the namespace or 0. */
static __always_inline __u32 mt_load_path(struct __sk_buff *skb, struct varmor_scratch *s, struct mt_out *o)
{
	struct { __u32 ns, len; } h;

	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)) || h.len == 0 || h.len > MT_PATH_IN ||
	    bpf_skb_load_bytes(skb, 8, &s->buf[VARMOR_BUF_LEN - MT_PATH_IN], h.len & (MT_PATH_IN - 1) ?: MT_PATH_IN)) {
		o->status = 2;
		return 0;
	}
	s->start = VARMOR_BUF_LEN - MT_PATH_IN;
	s->len = h.len;
	s->trunc = 0;
	return h.ns;
}

/* One decision, exactly as an LSM hook makes it after building the path. */
SEC("socket")
int mt_path(struct __sk_buff *skb)
{
	struct varmor_scratch *s = varmor_scratch();
	struct mt_out *o = mt_result_slot();
	struct varmor_ns *nsv;
	__u32 ns;

	if (!o)
		return 0;
	if (!s) {
		o->status = 1;
		return 0;
	}
	ns = mt_load_path(skb, s, o);
	if (!ns)
		return 0;
	varmor_verdict_init(&o->path);
	nsv = bpf_map_lookup_elem(&v_ns, &ns);
	if (!nsv) {
		o->status = 3;
		return 0;
	}
	varmor_path_keys(s, ns);
	varmor_path_lookup(s, ns, nsv->n_glob, &o->path);
	o->status = 0;
	return 0;
}

/* The steps of bpf/net.bpf.c: namespace, mapped address, lookup. */
SEC("socket")
int mt_net(struct __sk_buff *skb)
{
	struct mt_out *o = mt_result_slot();
	struct varmor_lpm_addr_key key = {};
	struct mt_net_in in;
	__u32 ip4;

	if (!o)
		return 0;
	if (bpf_skb_load_bytes(skb, 0, &in, sizeof(in))) {
		o->status = 2;
		return 0;
	}
	o->net.deny_rule = VARMOR_NO_RULE;
	o->net.audit_rule = VARMOR_NO_RULE;
	if (!bpf_map_lookup_elem(&v_ns, &in.ns)) {
		o->status = 3;
		return 0;
	}
	if (in.family == 4) {
		__builtin_memcpy(&ip4, in.addr, 4);
		varmor_addr_v4(key.addr, ip4);
	} else {
		__builtin_memcpy(key.addr, in.addr, 16);
	}
	varmor_net_lookup(&key, in.ns, in.dir, (__u16)in.port, &o->net);
	o->status = 0;
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_cwd_out);
} mt_cwd_result SEC(".maps");

SEC("syscall")
int mt_cwd(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct varmor_scratch *s = varmor_scratch();
	__u32 zero = 0;
	struct mt_cwd_out *o = bpf_map_lookup_elem(&mt_cwd_result, &zero);
	struct path pwd;

	if (!o)
		return 0;
	if (!s) {
		o->status = 1;
		return 0;
	}
	pwd = BPF_CORE_READ(t, fs, pwd);
	varmor_build_path_of(s, &pwd);
	bpf_probe_read_kernel(o->path, VARMOR_BUF_LEN, s->buf);
	o->start = s->start;
	o->len = s->len;
	o->trunc = s->trunc;
	o->status = 0;
	return 0;
}

/* vArmor-style baseline: 64 slots compared one by one, byte by byte. */
#define LIN_SLOTS 64
#define LIN_LEN 64

struct mt_lin_rule {
	__u32 flags; /* VARMOR_PRECISE | VARMOR_PREFIX, VARMOR_PREFIX, VARMOR_SUFFIX */
	__u32 len;
	__u32 deny;
	__u32 pad;
	__u8 pattern[LIN_LEN]; /* suffixes stored reversed */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LIN_SLOTS);
	__type(key, __u32);
	__type(value, struct mt_lin_rule);
} mt_lin SEC(".maps");

struct mt_lin_run {
	struct varmor_scratch *s;
	__u32 deny;
};

static long mt_lin_slot(__u64 i, void *data)
{
	struct mt_lin_run *r = data;
	struct varmor_scratch *s = r->s;
	__u32 k = (__u32)i;
	struct mt_lin_rule *rule = bpf_map_lookup_elem(&mt_lin, &k);
	const __u8 *subject;
	__u32 n;

	if (!rule || !rule->flags)
		return 0;
	n = rule->len;
	if (n > LIN_LEN || n > s->len)
		return 0;
	if ((rule->flags & VARMOR_PRECISE) && n != s->len)
		return 0;
	subject = (rule->flags & VARMOR_SUFFIX) ? s->rev.path : s->fwd.path;
	for (__u32 j = 0; j < LIN_LEN; j++) {
		if (j >= n) {
			r->deny |= rule->deny;
			return 0;
		}
		if (rule->pattern[j] != subject[j])
			return 0;
	}
	r->deny |= rule->deny;
	return 0;
}

SEC("socket")
int mt_linear(struct __sk_buff *skb)
{
	struct mt_lin_run r = {};
	struct mt_out *o = mt_result_slot();

	if (!o)
		return 0;
	r.s = varmor_scratch();
	if (!r.s) {
		o->status = 1;
		return 0;
	}
	if (!mt_load_path(skb, r.s, o))
		return 0;
	varmor_path_keys(r.s, 0);
	bpf_loop(LIN_SLOTS, mt_lin_slot, &r, 0);
	varmor_verdict_init(&o->path);
	o->path.deny = r.deny;
	o->status = 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
