// SPDX-License-Identifier: Apache-2.0
/* ptrace.bpf.c - ptrace rules at lsm/ptrace_access_check (backend bpf-lsm).
 * v_ns.ptrace = perms << 32 | flags (vArmor's): GREEDY denies tracing/reading any
 * task, PRECISE only tasks outside the sandbox's mount namespace.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.bpf.h"

#define PTRACE_MODE_READ   0x01
#define PTRACE_MODE_ATTACH 0x02

SEC("lsm/ptrace_access_check")
int BPF_PROG(varmor_ptrace, struct task_struct *child, unsigned int mode)
{
	struct varmor_ns *nsv;
	__u32 ns, perms, flags, req;

	nsv = varmor_current(&ns, VARMOR_EV_PTRACE);
	if (!nsv)
		return 0;
	perms = nsv->ptrace >> 32;
	flags = (__u32)nsv->ptrace;
	req = (mode & PTRACE_MODE_ATTACH) ? VARMOR_PTRACE_TRACE : VARMOR_PTRACE_READ;
	if (!(perms & req))
		return 0;
	if (flags & VARMOR_GREEDY)
		return varmor_verdict(ns, nsv, VARMOR_EV_PTRACE, req);
	if ((flags & VARMOR_PRECISE) && varmor_task_ns(child) != ns)
		return varmor_verdict(ns, nsv, VARMOR_EV_PTRACE, req);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
