// SPDX-License-Identifier: Apache-2.0
/* caps.bpf.c - capability rules at lsm/capable (backend bpf-lsm): a capability in the
 * namespace's caps_deny bitmap is refused even where a file capability or setuid
 * binary would grant it (the compat backend drops it from every set instead).
 * src/bpf/lsm.rs also loads this object to probe whether bpf-lsm works at all.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.h"

SEC("lsm/capable")
int BPF_PROG(varmor_capable, const struct cred *cred, struct user_namespace *uns, int cap, unsigned int opts)
{
	struct varmor_ns *nsv;
	__u32 ns;

	if (cap < 0 || cap > 63)
		return 0;
	nsv = varmor_current(&ns, VARMOR_EV_CAP);
	if (!nsv || !(nsv->caps_deny & (1ULL << cap)))
		return 0;
	return varmor_verdict(ns, nsv, VARMOR_EV_CAP, cap);
}

char LICENSE[] SEC("license") = "GPL";
