// SPDX-License-Identifier: Apache-2.0
/* userns.bpf.c - lsm/userns_create (backend bpf-lsm): a task in a sandboxed mount
 * namespace may not create a user namespace (it would regain capabilities over a new
 * namespace tree). The compat backend gets the same from seccomp.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.bpf.h"

SEC("lsm/userns_create")
int BPF_PROG(varmor_userns_create, const struct cred *cred)
{
	__u32 ns = varmor_task_ns(bpf_get_current_task_btf());
	struct varmor_ns *nsv = bpf_map_lookup_elem(&v_ns, &ns);

	if (!nsv)
		return 0;
	return varmor_verdict(ns, nsv, VARMOR_EV_MOUNT, 0);
}

char LICENSE[] SEC("license") = "GPL";
