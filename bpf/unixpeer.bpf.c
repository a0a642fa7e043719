// SPDX-License-Identifier: Apache-2.0
/* unixpeer.bpf.c - unix-socket rules on the peer's resolved name (backend bpf-lsm).
 *
 * lsm/unix_stream_connect and lsm/unix_may_send run after the kernel found the peer, so
 * they see the name the peer socket was bound at, whatever the caller wrote: a path
 * socket's bound path (struct unix_sock.path, built as bpf/dpath.bpf.h builds file paths;
 * a symlink, a relative path or a hard link to it reaches the same name) or an abstract
 * one's `@name`. The namespace's unix rules (bpf/varmor.h: their own key spaces in the
 * path maps) decide, as in bpf/unix.bpf.c, which also runs on this backend and checks
 * the address as written. An unbound peer (a socketpair) is never checked. A datagram
 * send (or a datagram connect, which this hook also sees) is refused when the rules deny
 * either direction, and reported as `send`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hook.bpf.h"

#define VARMOR_SUN_OFF 2
#define VARMOR_SUN_LEN 108
#define VARMOR_ABS_AT  (VARMOR_BUF_LEN - 128) /* where an abstract name is copied */

static __always_inline int peer_check(struct sock *other, __u32 dir)
{
	struct unix_sock *u = (struct unix_sock *)other;
	struct varmor_path_val v = {};
	struct varmor_scratch *s;
	struct varmor_ns *nsv;
	struct unix_address *addr;
	struct dentry *d;
	__u32 ns, kns, n_glob;
	int len, enforce;

	nsv = varmor_current(&ns, VARMOR_EV_UNIX);
	if (!nsv || !u)
		return 0;
	s = varmor_scratch();
	if (!s)
		return -VARMOR_EPERM; /* fail closed */
	d = BPF_CORE_READ(u, path.dentry);
	if (d) {
		varmor_build_path(s, BPF_CORE_READ(u, path.mnt), d, NULL);
		kns = VARMOR_UNIX_PATH_NS(ns);
		n_glob = nsv->n_unix_glob;
	} else {
		addr = BPF_CORE_READ(u, addr);
		if (!addr)
			return 0; /* unbound: a socketpair */
		len = BPF_CORE_READ(addr, len) - VARMOR_SUN_OFF;
		if (len <= 0)
			return 0;
		if (len > VARMOR_SUN_LEN)
			len = VARMOR_SUN_LEN;
		if (bpf_probe_read_kernel(&s->buf[VARMOR_ABS_AT], VARMOR_SUN_OFF + VARMOR_SUN_LEN,
					  &addr->name[0]))
			return -VARMOR_EPERM;
		if (s->buf[VARMOR_ABS_AT + VARMOR_SUN_OFF] != 0)
			return 0; /* a path name without a path: never */
		s->buf[VARMOR_ABS_AT + VARMOR_SUN_OFF] = '@';
		s->start = VARMOR_ABS_AT + VARMOR_SUN_OFF;
		s->len = len;
		s->trunc = 0;
		kns = VARMOR_UNIX_ABS_NS(ns);
		n_glob = nsv->n_abs_glob;
	}
	varmor_path_keys(kns);
	varmor_path_lookup(kns, n_glob, 0, VARMOR_NO_RULE, &v);
	if ((v.audit >> VARMOR_UNIX_ALLOW_SHIFT) & dir)
		return 0;
	enforce = nsv->mode != VARMOR_MODE_COMPLAIN;
	if (v.deny & dir) {
		varmor_emit(ns, VARMOR_EV_UNIX, dir == VARMOR_UNIX_CONNECT ? dir : VARMOR_UNIX_SEND,
			    v.deny_rule, enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_WOULD_DENY, s);
		return enforce ? -VARMOR_EPERM : 0;
	}
	if (v.audit & dir)
		varmor_emit(ns, VARMOR_EV_UNIX, dir == VARMOR_UNIX_CONNECT ? dir : VARMOR_UNIX_SEND,
			    v.audit_rule, VARMOR_ACTION_AUDIT, s);
	return 0;
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(varmor_unix_stream_connect, struct sock *sock, struct sock *other, struct sock *newsk)
{
	return peer_check(other, VARMOR_UNIX_CONNECT);
}

SEC("lsm/unix_may_send")
int BPF_PROG(varmor_unix_may_send, struct socket *sock, struct socket *other)
{
	return peer_check(BPF_CORE_READ(other, sk), VARMOR_UNIX_CONNECT | VARMOR_UNIX_SEND);
}

char LICENSE[] SEC("license") = "GPL";
