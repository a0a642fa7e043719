// SPDX-License-Identifier: Apache-2.0
/* matchtest.bpf.c - runs the kernel's matching code on inputs given by user space,
 * with BPF_PROG_TEST_RUN (crates/kernel/src/bpf/matchtest.rs):
 *   mt_path   the path matcher of bpf/path.bpf.h (the code the LSM hooks call) on a path
 *             given as packet payload, against the pinned maps
 *   mt_net    the network matcher of bpf/netmatch.bpf.h (the code of bpf/net.bpf.c)
 *   mt_linear a vArmor-style linear scan of 64 pattern slots (the benchmark baseline)
 *   mt_cwd    the dentry walker of bpf/dpath.bpf.h on the caller's working directory
 *   mt_bad_reads  the walker on unreadable pointers: each must give a truncated path
 * The matchers are socket filters, not SEC("syscall"): syscall programs are sleepable
 * and the kernel refuses LPM tries in sleepable programs. A socket filter's TEST_RUN
 * also takes a repeat count and reports the mean time per run (the benchmark).
 * Verdicts go to mt_result[0]. mt_cwd needs probe_read_kernel and the current task,
 * so it is a SEC("syscall") program; its answer goes to mt_cwd_result[0].
 * The input/output structs live in bpf/matchtest.h, which Rust gets through bindgen.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "path.bpf.h"
#include "netmatch.bpf.h"
#include "dpath.bpf.h"

#include "matchtest.h"

_Static_assert(MT_CWD_PATH == VARMOR_BUF_LEN, "mt_cwd_out holds the whole path buffer");
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
 * like a built path); returns the namespace or 0. The length is given to the helper as
 * ((len - 1) & mask) + 1, at least 1 to the verifier of 6.1 too (it does not learn
 * len != 0 from a branch, and refuses a zero-sized copy into a map value). */
static __always_inline __u32 mt_load_path(struct __sk_buff *skb, struct varmor_scratch *s, struct mt_out *o)
{
	struct { __u32 ns, len; } h;

	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)) || h.len == 0 || h.len > MT_PATH_IN ||
	    bpf_skb_load_bytes(skb, 8, &s->buf[VARMOR_BUF_LEN - MT_PATH_IN], ((h.len - 1) & (MT_PATH_IN - 1)) + 1)) {
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
	varmor_path_keys(ns);
	varmor_path_lookup(ns, nsv->n_glob, nsv->trunc_deny, nsv->trunc_rule, &o->path);
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

/* mt_bad_reads: the builder on pointers no kernel read can follow (an address in the
 * first user page), each of which must leave the path truncated (fail closed):
 *   trunc[0]  the directory dentry    (its d_parent / d_name cannot be read)
 *   trunc[1]  the leaf dentry         (its d_name cannot be read)
 *   trunc[2]  the mount               (its mnt_root cannot be read)
 * The good half of each case is the caller's working directory. */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_bad_out);
} mt_bad_result SEC(".maps");

#define MT_BAD_PTR 0x1000UL

SEC("syscall")
int mt_bad_reads(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct varmor_scratch *s = varmor_scratch();
	__u32 zero = 0;
	struct mt_bad_out *o = bpf_map_lookup_elem(&mt_bad_result, &zero);
	struct path pwd;

	if (!o)
		return 0;
	if (!s) {
		o->status = 1;
		return 0;
	}
	pwd = BPF_CORE_READ(t, fs, pwd);
	varmor_build_path(s, pwd.mnt, (struct dentry *)MT_BAD_PTR, NULL);
	o->trunc[0] = s->trunc;
	varmor_build_path(s, pwd.mnt, pwd.dentry, (struct dentry *)MT_BAD_PTR);
	o->trunc[1] = s->trunc;
	varmor_build_path(s, (struct vfsmount *)MT_BAD_PTR, pwd.dentry, NULL);
	o->trunc[2] = s->trunc;
	o->status = 0;
	return 0;
}

/* vArmor-style baseline: 64 slots compared one by one, byte by byte. */
#define LIN_SLOTS 64
#define LIN_LEN MT_LIN_LEN


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
	varmor_path_keys(0);
	bpf_loop(LIN_SLOTS, mt_lin_slot, &r, 0);
	varmor_verdict_init(&o->path);
	o->path.deny = r.deny;
	o->status = 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
