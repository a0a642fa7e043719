// SPDX-License-Identifier: Apache-2.0
/* unix.bpf.c - unix-socket rules at the cgroup sock_addr hooks (kernel 6.7+).
 *
 * Attached at the cgroup2 root by crates/kernel/src/bpf/unix.rs: connect_unix (stream and datagram
 * connect) and sendmsg_unix (a datagram sendto/sendmsg naming its peer). Each program
 * reads the current task's mount-namespace inode; a task outside every sandbox costs one
 * hash lookup. Inside, the address the program gave (struct sockaddr_un, read from the
 * kernel's copy) is matched with bpf/path.bpf.h against the namespace's unix rules:
 *   a path socket  `/run/user/1000/bus`   under VARMOR_UNIX_PATH_NS(ns)
 *   an abstract one `@name` (NUL -> '@')   under VARMOR_UNIX_ABS_NS(ns)
 * These hooks run before the kernel resolves the name, so what they match is the name
 * as written: a relative path, and an absolute one that is not a name's own spelling
 * (`//`, `.` or `..` components, /proc/... and /dev/fd/... magic links), is denied
 * outright when any path rule denies the direction (it cannot be matched), and a
 * symlink or hard link to a denied socket is not seen (README: what compat covers). A deny returns 0 (EPERM) unless the namespace
 * is in complain mode; every deny or audit goes to v_events as VARMOR_EV_UNIX.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "path.bpf.h"

#define VARMOR_SUN_OFF 2   /* offsetof(struct sockaddr_un, sun_path) */
#define VARMOR_SUN_LEN 108 /* sizeof(sun_path) */

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

static __always_inline void unix_emit(__u32 ns, __u32 dir, __u32 rule, __u32 action,
				      const struct varmor_scratch *s)
{
	struct varmor_event *e = varmor_event_new(ns, VARMOR_EV_UNIX, dir, rule, action);

	if (!e)
		return;
	e->family = 1; /* AF_UNIX */
	__builtin_memcpy(e->path, s->fwd.path, VARMOR_PATH_MAX);
	bpf_ringbuf_submit(e, 0);
}

/* Length of the path in buf[2 .. 2+max): up to its first NUL. */
static __always_inline __u32 sun_path_len(const struct varmor_scratch *s, __u32 max)
{
	__u32 n = 0;

	for (__u32 i = 0; i < VARMOR_SUN_LEN; i++) {
		if (i >= max || s->buf[VARMOR_SUN_OFF + i] == 0)
			break;
		n++;
	}
	return n;
}

/* Byte j of the path (0 past its end: what follows the name in the buffer is the
 * caller's and need not be zero). */
static __always_inline char sun_at(const struct varmor_scratch *s, __u32 j, __u32 len)
{
	return j < len ? s->buf[(VARMOR_SUN_OFF + j) & VARMOR_BUF_MASK] : 0;
}

/* An absolute name that is not the socket's own spelling, so a pattern cannot match it
 * as written: a `//`, a `.` or `..` component, or a way through procfs's magic links
 * (/proc/..., and /dev/fd/..., /dev/stdin... which the host links there: an O_PATH
 * descriptor of the socket, the cwd, the root). Refused as a relative name is. The
 * same test: unmatchable() in crates/core/src/profile/unix.rs. A global function, checked once by
 * the verifier (inlined, every exit of its loop would re-check the caller's rest).
 * Reads this CPU's scratch: the path at buf[2 .. 2+len). */
VARMOR_GLOBAL int varmor_unix_unmatchable(__u32 len)
{
	struct varmor_scratch *s = varmor_scratch();
	char b[8];

	if (!s)
		return 1;
	if (len > VARMOR_SUN_LEN)
		len = VARMOR_SUN_LEN;
	for (__u32 i = 0; i < 8; i++)
		b[i] = sun_at(s, i, len);
	if (b[0] == '/' && b[1] == 'p' && b[2] == 'r' && b[3] == 'o' && b[4] == 'c' && b[5] == '/')
		return 1; /* /proc/ */
	if (b[0] == '/' && b[1] == 'd' && b[2] == 'e' && b[3] == 'v' && b[4] == '/' &&
	    ((b[5] == 'f' && b[6] == 'd' && b[7] == '/') || (b[5] == 's' && b[6] == 't' && b[7] == 'd')))
		return 1; /* /dev/fd/, /dev/std{in,out,err} */
	for (__u32 i = 0; i < VARMOR_SUN_LEN; i++) {
		char c1, c2, c3;

		if (i >= len)
			break;
		if (sun_at(s, i, len) != '/')
			continue;
		c1 = sun_at(s, i + 1, len);
		c2 = sun_at(s, i + 2, len);
		c3 = sun_at(s, i + 3, len);
		if (c1 == '/')
			return 1;
		if (c1 == '.' && (c2 == '/' || c2 == 0))
			return 1;
		if (c1 == '.' && c2 == '.' && (c3 == '/' || c3 == 0))
			return 1;
	}
	return 0;
}

static __always_inline int verdict(__u32 ns, const struct varmor_ns *nsv, __u32 dir, __u32 rule,
				   __u32 action, struct varmor_scratch *s)
{
	int enforce = nsv->mode != VARMOR_MODE_COMPLAIN;

	if (action == VARMOR_ACTION_AUDIT) {
		unix_emit(ns, dir, rule, action, s);
		return 1;
	}
	unix_emit(ns, dir, rule, enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_WOULD_DENY, s);
	return enforce ? 0 : 1;
}

static __always_inline int decide(struct bpf_sock_addr *ctx, __u32 dir)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct bpf_sock_addr_kern *sa;
	struct varmor_path_val v = {};
	struct varmor_scratch *s;
	struct varmor_ns *nsv;
	__u32 ns = t->nsproxy->mnt_ns->ns.inum;
	__u32 alen, len, kns, allow;
	int abstract;

	nsv = bpf_map_lookup_elem(&v_ns, &ns);
	if (!nsv || !(nsv->kinds & (1 << VARMOR_EV_UNIX)))
		return 1;
	s = varmor_scratch();
	if (!s)
		return 0; /* fail closed */
	sa = bpf_cast_to_kern_ctx(ctx);
	alen = sa->uaddrlen;
	if (alen <= VARMOR_SUN_OFF)
		return 1; /* no name: the kernel refuses it (or autobinds) itself */
	alen -= VARMOR_SUN_OFF;
	if (alen > VARMOR_SUN_LEN)
		alen = VARMOR_SUN_LEN;
	__builtin_memset(s->fwd.path, 0, VARMOR_PATH_MAX);
	if (bpf_probe_read_kernel(s->buf, VARMOR_SUN_OFF + VARMOR_SUN_LEN, sa->uaddr))
		return 0;
	abstract = s->buf[VARMOR_SUN_OFF] == 0;
	if (abstract) {
		s->buf[VARMOR_SUN_OFF] = '@';
		len = alen;
		kns = VARMOR_UNIX_ABS_NS(ns);
	} else {
		len = sun_path_len(s, alen);
		kns = VARMOR_UNIX_PATH_NS(ns);
	}
	s->start = VARMOR_SUN_OFF;
	s->len = len;
	s->trunc = 0;
	if (!abstract && (s->buf[VARMOR_SUN_OFF] != '/' || varmor_unix_unmatchable(len))) {
		/* Relative: resolved against the caller's cwd, unknown here; or another
		 * spelling of a name (unmatchable()). */
		if (!(nsv->unix_rel_deny & dir))
			return 1;
		varmor_path_keys(kns);
		return verdict(ns, nsv, dir, nsv->unix_rel_rule, VARMOR_ACTION_DENY, s);
	}
	varmor_path_keys(kns);
	varmor_path_lookup(kns, abstract ? nsv->n_abs_glob : nsv->n_unix_glob, 0, VARMOR_NO_RULE, &v);
	allow = (v.audit >> VARMOR_UNIX_ALLOW_SHIFT) & dir;
	if (allow)
		return 1;
	if (v.deny & dir)
		return verdict(ns, nsv, dir, v.deny_rule, VARMOR_ACTION_DENY, s);
	if (v.audit & dir)
		return verdict(ns, nsv, dir, v.audit_rule, VARMOR_ACTION_AUDIT, s);
	return 1;
}

SEC("cgroup/connect_unix")
int varmor_connect_unix(struct bpf_sock_addr *ctx)
{
	return decide(ctx, VARMOR_UNIX_CONNECT);
}

SEC("cgroup/sendmsg_unix")
int varmor_sendmsg_unix(struct bpf_sock_addr *ctx)
{
	return decide(ctx, VARMOR_UNIX_SEND);
}

char LICENSE[] SEC("license") = "GPL";
