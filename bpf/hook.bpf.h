/* SPDX-License-Identifier: Apache-2.0 */
/* hook.bpf.h - what every LSM hook of varmor shares: the current task's namespace and its
 * v_ns entry, the path check (build path, bpf/path.bpf.h lookup, verdict, event), and
 * event emission. Included by file/exec/caps/ptrace/mount/userns .bpf.c.
 */
#ifndef VARMOR_HOOK_H
#define VARMOR_HOOK_H

#include "path.bpf.h"
#include "dpath.bpf.h"

#define VARMOR_EPERM 1

static __always_inline __u32 varmor_task_ns(struct task_struct *t)
{
	return BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
}

/* The current task's namespace entry if it is sandboxed and has rules of kind ev. */
static __always_inline struct varmor_ns *varmor_current(__u32 *ns, __u32 ev)
{
	struct varmor_ns *nsv;

	*ns = varmor_task_ns(bpf_get_current_task_btf());
	nsv = bpf_map_lookup_elem(&v_ns, ns);
	if (!nsv || !(nsv->kinds & (1u << ev)))
		return NULL;
	return nsv;
}

static __always_inline void varmor_emit(__u32 ns, __u32 kind, __u32 perms, __u32 rule, __u32 action,
					const struct varmor_scratch *s)
{
	struct varmor_event *e = varmor_event_new(ns, kind, perms, rule, action);

	if (!e)
		return;
	if (s)
		__builtin_memcpy(e->path, s->fwd.path, VARMOR_PATH_MAX);
	bpf_ringbuf_submit(e, 0);
}

/* Deny (-EPERM) or audit `req` on the path now in this CPU's scratch; kind is
 * VARMOR_EV_FILE / _EXEC. A global function (bpf/path.bpf.h): one verification per program. */
VARMOR_GLOBAL int varmor_check_path(__u32 ns, const struct varmor_ns *nsv, __u32 req, __u32 kind)
{
	struct varmor_scratch *s = varmor_scratch();
	struct varmor_path_val v = {};

	if (!s || !nsv)
		return -VARMOR_EPERM; /* never: the caller has both */
	varmor_path_keys(ns);
	varmor_path_lookup(ns, nsv->n_glob, nsv->trunc_deny, nsv->trunc_rule, &v);
	if (v.deny & req) {
		int enforce = nsv->mode != VARMOR_MODE_COMPLAIN;

		varmor_emit(ns, kind, v.deny & req, v.deny_rule,
			    enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_WOULD_DENY, s);
		return enforce ? -VARMOR_EPERM : 0;
	}
	if (v.audit & req)
		varmor_emit(ns, kind, v.audit & req, v.audit_rule, VARMOR_ACTION_AUDIT, s);
	return 0;
}

/* Build the path of leaf (may be NULL) below (mount, dir) and decide req on it: 0 or
 * -EPERM. The builder stays inline: its arguments are kernel pointers, which a global
 * function cannot take on 6.1; the result is normalised because the verifier knows
 * nothing of a global function's return value (6.12 checks an LSM program's range). */
static __always_inline int varmor_path_hook(struct vfsmount *mnt, struct dentry *dir, struct dentry *leaf,
					    __u32 req, __u32 kind)
{
	struct varmor_scratch *s;
	struct varmor_ns *nsv;
	__u32 ns;

	nsv = varmor_current(&ns, kind);
	if (!nsv)
		return 0;
	s = varmor_scratch();
	if (!s)
		return -VARMOR_EPERM; /* fail closed */
	varmor_build_path(s, mnt, dir, leaf);
	return varmor_check_path(ns, nsv, req, kind) ? -VARMOR_EPERM : 0;
}

/* Deny or audit a hook without a path (caps, ptrace, mount, userns). */
static __always_inline int varmor_verdict(__u32 ns, const struct varmor_ns *nsv, __u32 kind, __u32 perms)
{
	int enforce = nsv->mode != VARMOR_MODE_COMPLAIN;

	varmor_emit(ns, kind, perms, VARMOR_NO_RULE, enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_WOULD_DENY,
		    NULL);
	return enforce ? -VARMOR_EPERM : 0;
}

#endif /* VARMOR_HOOK_H */
