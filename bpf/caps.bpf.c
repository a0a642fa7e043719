// SPDX-License-Identifier: Apache-2.0
/* caps.bpf.c - capability rules at lsm/capable (backend bpf-lsm): a capability in the
 * namespace's caps_deny bitmap is refused even where a file capability or setuid
 * binary would grant it (the compat backend drops it from every set instead).
 * crates/kernel/src/bpf/lsm.rs also loads this object to probe whether bpf-lsm works at all.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.bpf.h"

#define CAP_OPT_NOAUDIT 0x2 /* a probe, not an operation: denied without a line */

SEC("lsm/capable")
int BPF_PROG(varmor_capable, const struct cred *cred, struct user_namespace *uns, int cap, unsigned int opts)
{
	struct task_struct *t;
	const struct cred *real;
	struct varmor_ns *nsv;
	__u64 eff = 0;
	__u32 ns;

	if (cap < 0 || cap > 63)
		return 0;
	nsv = varmor_current(&ns, VARMOR_EV_CAP);
	if (!nsv || !(nsv->caps_deny & (1ULL << cap)))
		return 0;
	/* The kernel acting with credentials it substituted (overlayfs works with its
	 * mounter's, for one) is not the sandbox using a privilege: a capability that the
	 * task's own credentials lack is not the sandbox's to use, so not ours to refuse. The
	 * task's own capability is refused whichever credentials carry it. cap_effective is
	 * read as 64 bits: one __u64 from 6.3, two __u32 (low word first) before. */
	t = bpf_get_current_task_btf();
	real = BPF_CORE_READ(t, real_cred);
	if (cred != real) {
		if (bpf_probe_read_kernel(&eff, sizeof(eff), &real->cap_effective))
			eff = ~0ULL; /* unreadable: refuse (fail closed) */
		if (!(eff & (1ULL << cap)))
			return 0;
	}
	if (opts & CAP_OPT_NOAUDIT)
		return nsv->mode != VARMOR_MODE_COMPLAIN ? -VARMOR_EPERM : 0;
	return varmor_verdict(ns, nsv, VARMOR_EV_CAP, cap);
}

char LICENSE[] SEC("license") = "GPL";
