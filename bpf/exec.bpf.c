// SPDX-License-Identifier: Apache-2.0
/* exec.bpf.c - exec rules at the bpf-lsm hooks (backend bpf-lsm).
 *
 * bprm_check_security sees every file the kernel is about to execute, including each
 * interpreter of a `#!` chain and binfmt_misc handlers, by the path of the file
 * itself (a symlink or a relative name resolves to the same file). mmap_file with
 * PROT_EXEC catches `ld.so /usr/bin/curl`, where the loader maps the binary itself.
 * A copy of a binary under another directory still meets suffix rules (any path
 * ending in /curl).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.bpf.h"

#define PROT_EXEC 0x4

static __always_inline int check_exec(struct file *file)
{
	return varmor_path_hook(BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry), NULL,
				VARMOR_MAY_EXEC, VARMOR_EV_EXEC);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(varmor_bprm_check, struct linux_binprm *bprm)
{
	return check_exec(BPF_CORE_READ(bprm, file));
}

SEC("lsm/mmap_file")
int BPF_PROG(varmor_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags)
{
	if (!file || !(prot & PROT_EXEC))
		return 0;
	return check_exec(file);
}

char LICENSE[] SEC("license") = "GPL";
