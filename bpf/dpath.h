/* SPDX-License-Identifier: Apache-2.0 */
/* dpath.h - builds the absolute path of a (mount, dentry) pair into scratch->buf.
 *
 * bpf_d_path() is refused in most LSM hooks and cannot name a dentry that is about
 * to be created (path_symlink, path_link's new name), so the hooks walk the dentry
 * chain themselves: names are written right to left, ending at VARMOR_BUF_LEN, and
 * a mount's root is crossed to its mountpoint in the parent mount until the top of
 * the mount namespace. The result is the path as seen from the namespace's root.
 * Reads go through bpf_probe_read_kernel (CO-RE), so the same code runs in LSM
 * programs and in SEC("syscall") programs, where bpf/matchtest.bpf.c checks it
 * against getcwd() on this kernel.
 */
#ifndef VARMOR_DPATH_H
#define VARMOR_DPATH_H

#include "maps.h"

struct varmor_walk {
	struct varmor_scratch *s;
	struct dentry *d;
	struct mount *mnt;
	__u32 pos; /* next free byte is buf[pos - 1] */
	int trunc;
};

static __always_inline struct mount *varmor_real_mount(struct vfsmount *m)
{
	return (struct mount *)((void *)m - bpf_core_field_offset(struct mount, mnt));
}

/* Prepend "/" + name; 1 when there is no room (the path is truncated). */
static __always_inline int varmor_prepend(struct varmor_walk *w, const unsigned char *name, __u32 nlen)
{
	__u32 pos = w->pos;

	if (nlen > 255 || pos < nlen + 1)
		return 1;
	pos -= nlen;
	bpf_probe_read_kernel(&w->s->buf[pos & VARMOR_BUF_MASK], nlen & 255, name);
	pos -= 1;
	w->s->buf[pos & VARMOR_BUF_MASK] = '/';
	w->pos = pos;
	return 0;
}

static long varmor_walk_step(__u64 idx, void *data)
{
	struct varmor_walk *w = data;
	struct dentry *d = w->d, *parent, *mnt_root;
	struct mount *mnt = w->mnt;
	struct qstr q;

	mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
	parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root || d == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt || !up)
			return 1; /* top of the namespace */
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		return 0;
	}
	q = BPF_CORE_READ(d, d_name);
	if (varmor_prepend(w, q.name, q.len)) {
		w->trunc = 1;
		return 1;
	}
	w->d = parent;
	return 0;
}

/* Path of leaf (may be NULL) below dir (mount + dentry) into s; s->len, s->start set. */
static __always_inline void varmor_build_path(struct varmor_scratch *s, struct vfsmount *vmnt,
					      struct dentry *dir, struct dentry *leaf)
{
	struct varmor_walk w = {
		.s = s, .d = dir, .mnt = varmor_real_mount(vmnt),
		.pos = varmor_opaque(s, VARMOR_BUF_LEN),
	};

	if (leaf) {
		struct qstr q = BPF_CORE_READ(leaf, d_name);

		w.trunc = varmor_prepend(&w, q.name, q.len);
	}
	if (!w.trunc) {
		long n = bpf_loop(VARMOR_WALK_STEPS, varmor_walk_step, &w, 0);

		if (n >= VARMOR_WALK_STEPS)
			w.trunc = 1;
	}
	if (w.pos == VARMOR_BUF_LEN) {
		s->buf[VARMOR_BUF_LEN - 1] = '/';
		w.pos = VARMOR_BUF_LEN - 1;
	}
	s->start = w.pos;
	s->len = VARMOR_BUF_LEN - w.pos;
	s->trunc = w.trunc;
}

static __always_inline void varmor_build_path_of(struct varmor_scratch *s, const struct path *p)
{
	varmor_build_path(s, BPF_CORE_READ(p, mnt), BPF_CORE_READ(p, dentry), NULL);
}

#endif /* VARMOR_DPATH_H */
