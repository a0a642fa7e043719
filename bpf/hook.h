/* SPDX-License-Identifier: Apache-2.0 */
/* hook.h - what every LSM hook of varmor shares: the current task's namespace and its
 * v_ns entry, the path check (build path, bpf/path.h lookup, verdict, event), and
 * event emission. Included by file/exec/caps/ptrace/mount/userns .bpf.c.
 */
#ifndef VARMOR_HOOK_H
#define VARMOR_HOOK_H

#include "path.h"
#include "dpath.h"

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
	struct varmor_event *e = bpf_ringbuf_reserve(&v_events, sizeof(*e), 0);

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ns = ns;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->kind = kind;
	e->perms = perms;
	e->rule = rule;
	e->action = action;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (s)
		__builtin_memcpy(e->path, s->fwd.path, VARMOR_PATH_MAX);
	bpf_ringbuf_submit(e, 0);
}

/* Deny (-EPERM) or audit `req` on the path now in s; kind is VARMOR_EV_FILE / _EXEC. */
static __always_inline int varmor_check_path(struct varmor_scratch *s, __u32 ns, const struct varmor_ns *nsv,
					     __u32 req, __u32 kind)
{
	struct varmor_path_val v;

	varmor_path_keys(s, ns);
	varmor_path_lookup(s, ns, nsv->n_glob, &v);
	if (v.deny & req) {
		int enforce = nsv->mode != VARMOR_MODE_COMPLAIN;

		varmor_emit(ns, kind, v.deny & req, v.deny_rule,
			    enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_AUDIT, s);
		return enforce ? -VARMOR_EPERM : 0;
	}
	if (v.audit & req)
		varmor_emit(ns, kind, v.audit & req, v.audit_rule, VARMOR_ACTION_AUDIT, s);
	return 0;
}

/* Deny or audit a hook without a path (caps, ptrace, mount, userns). */
static __always_inline int varmor_verdict(__u32 ns, const struct varmor_ns *nsv, __u32 kind, __u32 perms)
{
	int enforce = nsv->mode != VARMOR_MODE_COMPLAIN;

	varmor_emit(ns, kind, perms, VARMOR_NO_RULE, enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_AUDIT, NULL);
	return enforce ? -VARMOR_EPERM : 0;
}

#endif /* VARMOR_HOOK_H */
