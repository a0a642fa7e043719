// SPDX-License-Identifier: Apache-2.0
/* mount.bpf.c - mount rules at lsm/sb_mount, move_mount, sb_umount (backend bpf-lsm).
 * v_ns.mount_deny holds the denied operations (crates/core/src/profile/mount.rs bits: mount 1,
 * umount 2, bind 4, remount 8, move 16); rules narrowed by source/target/fstype are
 * enforced as their whole operation (stricter), as crates/kernel/src/encode.rs documents.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.bpf.h"

#define MS_REMOUNT 32
#define MS_BIND    4096
#define MS_MOVE    8192

#define OP_MOUNT   1
#define OP_UMOUNT  2
#define OP_BIND    4
#define OP_REMOUNT 8
#define OP_MOVE    16

static __always_inline int check_op(__u32 op)
{
	struct varmor_ns *nsv;
	__u32 ns;

	nsv = varmor_current(&ns, VARMOR_EV_MOUNT);
	if (!nsv || !(nsv->mount_deny & op))
		return 0;
	return varmor_verdict(ns, nsv, VARMOR_EV_MOUNT, op);
}

SEC("lsm/sb_mount")
int BPF_PROG(varmor_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data)
{
	__u32 op = OP_MOUNT;

	if (flags & MS_REMOUNT)
		op = OP_REMOUNT;
	else if (flags & MS_BIND)
		op = OP_BIND;
	else if (flags & MS_MOVE)
		op = OP_MOVE;
	return check_op(op);
}

SEC("lsm/move_mount")
int BPF_PROG(varmor_move_mount, const struct path *from_path, const struct path *to_path)
{
	return check_op(OP_MOVE);
}

SEC("lsm/sb_umount")
int BPF_PROG(varmor_sb_umount, struct vfsmount *mnt, int flags)
{
	return check_op(OP_UMOUNT);
}

char LICENSE[] SEC("license") = "GPL";
