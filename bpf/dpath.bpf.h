/* SPDX-License-Identifier: Apache-2.0 */
/* dpath.bpf.h - builds the absolute path of a (mount, dentry) pair into scratch->buf.
 *
 * bpf_d_path() is refused in most LSM hooks and cannot name a dentry that is about
 * to be created (path_symlink, path_link's new name), so the hooks walk the dentry
 * chain themselves: names are written right to left, ending at VARMOR_BUF_LEN, and
 * a mount's root is crossed to its mountpoint in the parent mount until the top of
 * the mount namespace. The result is the path as seen from the namespace's root.
 * Reads go through bpf_probe_read_kernel (CO-RE), so the same code runs in LSM
 * programs and in SEC("syscall") programs, where bpf/matchtest.bpf.c checks it
 * against getcwd() on this kernel.
 *
 * Fail closed: a path that cannot be built in full (no room left, more than
 * VARMOR_WALK_STEPS steps, or any kernel read that fails: a pointer, a name, its
 * bytes) is marked truncated, keeping only the tail built so far; bpf/path.bpf.h then
 * skips the exact and prefix lookups (the head is unknown), looks the tail up among
 * the suffixes and counts every glob rule as matching.
 *
 * Verification: one walk step is a bpf_loop callback, checked once per call site
 * (kernels 6.7+ re-check it until its entry state converges), not once per step.
 */
#ifndef VARMOR_DPATH_H
#define VARMOR_DPATH_H

#include "maps.bpf.h"

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

/* Prepend "/" + name; 1 when there is no room or the name cannot be read (the path
 * is truncated: the bytes in the buffer would not be the name). */
static __always_inline int varmor_prepend(struct varmor_walk *w, const unsigned char *name, __u32 nlen)
{
	__u32 pos = w->pos;

	if (nlen > 255 || pos < nlen + 1)
		return 1;
	pos -= nlen;
	if (bpf_probe_read_kernel(&w->s->buf[pos & VARMOR_BUF_MASK], nlen & 255, name))
		return 1;
	pos -= 1;
	w->s->buf[pos & VARMOR_BUF_MASK] = '/';
	w->pos = pos;
	return 0;
}

/* Prepend the name of dentry d; 1 as varmor_prepend, or when d_name cannot be read. */
static __always_inline int varmor_prepend_dentry(struct varmor_walk *w, struct dentry *d)
{
	struct qstr q;

	if (bpf_core_read(&q, sizeof(q), &d->d_name))
		return 1;
	return varmor_prepend(w, q.name, q.len);
}

static long varmor_walk_step(__u64 idx, void *data)
{
	struct varmor_walk *w = data;
	struct dentry *d = w->d, *parent, *mnt_root;
	struct mount *mnt = w->mnt;

	if (bpf_core_read(&mnt_root, sizeof(mnt_root), &mnt->mnt.mnt_root) ||
	    bpf_core_read(&parent, sizeof(parent), &d->d_parent))
		goto truncated;
	if (d == mnt_root || d == parent) {
		struct mount *up;
		struct dentry *mp;

		if (bpf_core_read(&up, sizeof(up), &mnt->mnt_parent))
			goto truncated;
		if (up == mnt || !up)
			return 1; /* top of the namespace */
		if (bpf_core_read(&mp, sizeof(mp), &mnt->mnt_mountpoint))
			goto truncated;
		w->d = mp;
		w->mnt = up;
		return 0;
	}
	if (varmor_prepend_dentry(w, d))
		goto truncated;
	w->d = parent;
	return 0;
truncated:
	w->trunc = 1;
	return 1;
}

/* Path of leaf (may be NULL) below dir (mount + dentry) into s; s->len, s->start set. */
static __always_inline void varmor_build_path(struct varmor_scratch *s, struct vfsmount *vmnt,
					      struct dentry *dir, struct dentry *leaf)
{
	struct varmor_walk w = {
		.s = s, .d = dir, .mnt = varmor_real_mount(vmnt),
		.pos = varmor_opaque(s, VARMOR_BUF_LEN),
	};

	if (leaf)
		w.trunc = varmor_prepend_dentry(&w, leaf);
	if (!w.trunc) {
		long n = bpf_loop(VARMOR_WALK_STEPS, varmor_walk_step, &w, 0);

		if (n < 0 || n >= VARMOR_WALK_STEPS)
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
