// SPDX-License-Identifier: Apache-2.0
/* ftrunc.bpf.c - truncation through an open file at lsm/file_truncate (backend bpf-lsm).
 *
 * From Linux 6.2 the kernel asks file_truncate, not path_truncate, for ftruncate(2) and
 * for open(O_TRUNC): without this program a rule that denies truncate (and not write)
 * would stop truncate(2) by name only. An optional object (crates/kernel/src/bpf/lsm.rs): kernels
 * before 6.2 have no such hook and ask path_truncate for all three (bpf/file.bpf.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.bpf.h"

SEC("lsm/file_truncate")
int BPF_PROG(varmor_file_truncate, struct file *file)
{
	return varmor_path_hook(BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry), NULL,
				VARMOR_MAY_WRITE | VARMOR_MAY_TRUNCATE, VARMOR_EV_FILE);
}

char LICENSE[] SEC("license") = "GPL";
