// SPDX-License-Identifier: Apache-2.0
/* file.bpf.c - file rules at the bpf-lsm hooks (backend bpf-lsm).
 *
 * Requests, in AppArmor's bits (a rule denies a request when it denies any bit of it):
 *   file_open      read: READ; write: WRITE (+ APPEND with O_APPEND)
 *   path_mknod     new path: WRITE | CREATE (open with O_CREAT, mknod, mkfifo, bind of a
 *                  unix socket: the kernel asks before it creates the name)
 *   path_mkdir     new path: WRITE | CREATE
 *   path_symlink   new path: WRITE | CREATE
 *   path_link      old path: READ | LINK; new path: WRITE | CREATE | LINK
 *   path_rename    old path: READ | RENAME | DELETE; new path: WRITE | CREATE | RENAME
 *   path_unlink    WRITE | DELETE (rmdir too: path_rmdir)
 *   path_truncate  WRITE | TRUNCATE (truncate(2); from 6.2 ftruncate and O_TRUNC ask
 *                  file_truncate instead: bpf/ftrunc.bpf.c)
 *   path_chmod     WRITE | CHMOD
 * Paths are built by bpf/dpath.bpf.h (names not yet created included) and matched by
 * bpf/path.bpf.h, the code tests/bpf_matcher.rs checks in this kernel against crates/core/src/matcher.rs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.bpf.h"

#define FMODE_READ  0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC  0x20
#define O_APPEND    02000

/* Check req on (mount, dir dentry, leaf or NULL). */
static __always_inline int check(struct vfsmount *mnt, struct dentry *dir, struct dentry *leaf, __u32 req)
{
	return varmor_path_hook(mnt, dir, leaf, req, VARMOR_EV_FILE);
}

static __always_inline int check_path(const struct path *p, __u32 req)
{
	return check(BPF_CORE_READ(p, mnt), BPF_CORE_READ(p, dentry), NULL, req);
}

SEC("lsm/file_open")
int BPF_PROG(varmor_file_open, struct file *file)
{
	__u32 mode = BPF_CORE_READ(file, f_mode), flags = BPF_CORE_READ(file, f_flags), req = 0;

	if (mode & FMODE_READ)
		req |= VARMOR_MAY_READ;
	if (mode & FMODE_WRITE)
		req |= VARMOR_MAY_WRITE | ((flags & O_APPEND) ? VARMOR_MAY_APPEND : 0);
	if (!req)
		return 0;
	return check_path(&file->f_path, req);
}

SEC("lsm/path_mknod")
int BPF_PROG(varmor_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode, unsigned int dev)
{
	return check(BPF_CORE_READ(dir, mnt), BPF_CORE_READ(dir, dentry), dentry, VARMOR_MAY_WRITE | VARMOR_MAY_CREATE);
}

SEC("lsm/path_mkdir")
int BPF_PROG(varmor_path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode)
{
	return check(BPF_CORE_READ(dir, mnt), BPF_CORE_READ(dir, dentry), dentry, VARMOR_MAY_WRITE | VARMOR_MAY_CREATE);
}

SEC("lsm/path_symlink")
int BPF_PROG(varmor_path_symlink, const struct path *dir, struct dentry *dentry, const char *old_name)
{
	return check(BPF_CORE_READ(dir, mnt), BPF_CORE_READ(dir, dentry), dentry, VARMOR_MAY_WRITE | VARMOR_MAY_CREATE);
}

SEC("lsm/path_link")
int BPF_PROG(varmor_path_link, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry)
{
	struct vfsmount *mnt = BPF_CORE_READ(new_dir, mnt);
	int r = check(mnt, old_dentry, NULL, VARMOR_MAY_READ | VARMOR_MAY_LINK);

	if (r)
		return r;
	return check(mnt, BPF_CORE_READ(new_dir, dentry), new_dentry,
		     VARMOR_MAY_WRITE | VARMOR_MAY_CREATE | VARMOR_MAY_LINK);
}

SEC("lsm/path_rename")
int BPF_PROG(varmor_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags)
{
	int r = check(BPF_CORE_READ(old_dir, mnt), BPF_CORE_READ(old_dir, dentry), old_dentry,
		      VARMOR_MAY_READ | VARMOR_MAY_RENAME | VARMOR_MAY_DELETE);

	if (r)
		return r;
	return check(BPF_CORE_READ(new_dir, mnt), BPF_CORE_READ(new_dir, dentry), new_dentry,
		     VARMOR_MAY_WRITE | VARMOR_MAY_CREATE | VARMOR_MAY_RENAME);
}

SEC("lsm/path_unlink")
int BPF_PROG(varmor_path_unlink, const struct path *dir, struct dentry *dentry)
{
	return check(BPF_CORE_READ(dir, mnt), BPF_CORE_READ(dir, dentry), dentry, VARMOR_MAY_WRITE | VARMOR_MAY_DELETE);
}

SEC("lsm/path_rmdir")
int BPF_PROG(varmor_path_rmdir, const struct path *dir, struct dentry *dentry)
{
	return check(BPF_CORE_READ(dir, mnt), BPF_CORE_READ(dir, dentry), dentry, VARMOR_MAY_WRITE | VARMOR_MAY_DELETE);
}

SEC("lsm/path_truncate")
int BPF_PROG(varmor_path_truncate, const struct path *path)
{
	return check_path(path, VARMOR_MAY_WRITE | VARMOR_MAY_TRUNCATE);
}

SEC("lsm/path_chmod")
int BPF_PROG(varmor_path_chmod, const struct path *path, umode_t mode)
{
	return check_path(path, VARMOR_MAY_WRITE | VARMOR_MAY_CHMOD);
}

char LICENSE[] SEC("license") = "GPL";
