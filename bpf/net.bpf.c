// SPDX-License-Identifier: Apache-2.0
/* net.bpf.c - network rules at the cgroup sock_addr hooks (both backends).
 *
 * Attached at the cgroup2 root by src/bpf/net.rs: connect4/6 (TCP connect, connected
 * UDP, and TCP Fast Open's sendto(MSG_FASTOPEN), which runs the connect hook),
 * sendmsg4/6 (unconnected UDP sendto/sendmsg) and bind4/6. Each program reads the
 * current task's mount-namespace inode; a task outside every sandbox costs one hash
 * lookup. Inside, bpf/netmatch.h decides; a deny returns 0 (the syscall fails with
 * EPERM) unless the namespace is in complain mode, and every deny or audit is sent to
 * v_events for varmord to turn into a readable line.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "netmatch.h"

#define AF_INET 2
#define AF_INET6 10

static __always_inline __u32 current_mnt_ns(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return t->nsproxy->mnt_ns->ns.inum;
}

static __always_inline void emit(__u32 ns, __u32 dir, __u32 rule, __u32 action,
				 const struct varmor_lpm_addr_key *key, __u16 port, __u16 family)
{
	struct varmor_event *e = bpf_ringbuf_reserve(&v_events, sizeof(*e), 0);

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ns = ns;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->kind = VARMOR_EV_NET;
	e->perms = dir;
	e->rule = rule;
	e->action = action;
	e->port = port;
	e->family = family;
	__builtin_memcpy(e->addr, key->addr, 16);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int decide(struct bpf_sock_addr *ctx, __u32 dir, int v6)
{
	struct varmor_lpm_addr_key key = {};
	struct varmor_net_verdict v;
	struct varmor_ns *nsv;
	__u32 ns = current_mnt_ns();
	__u16 port;

	nsv = bpf_map_lookup_elem(&v_ns, &ns);
	if (!nsv)
		return 1;
	if (!(nsv->kinds & (1 << VARMOR_EV_NET)))
		return 1;
	if (v6) {
		__u32 a[4];

		a[0] = ctx->user_ip6[0];
		a[1] = ctx->user_ip6[1];
		a[2] = ctx->user_ip6[2];
		a[3] = ctx->user_ip6[3];
		__builtin_memcpy(key.addr, a, 16);
	} else {
		varmor_addr_v4(key.addr, ctx->user_ip4);
	}
	port = bpf_ntohs((__u16)ctx->user_port);
	varmor_net_lookup(&key, ns, dir, port, &v);
	if (v.deny_rule != VARMOR_NO_RULE) {
		int enforce = nsv->mode != VARMOR_MODE_COMPLAIN;

		emit(ns, dir, v.deny_rule, enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_AUDIT, &key, port,
		     v6 ? AF_INET6 : AF_INET);
		return enforce ? 0 : 1;
	}
	if (v.audit_rule != VARMOR_NO_RULE)
		emit(ns, dir, v.audit_rule, VARMOR_ACTION_AUDIT, &key, port, v6 ? AF_INET6 : AF_INET);
	return 1;
}

SEC("cgroup/connect4")
int varmor_connect4(struct bpf_sock_addr *ctx)
{
	return decide(ctx, VARMOR_NET_CONNECT, 0);
}

SEC("cgroup/connect6")
int varmor_connect6(struct bpf_sock_addr *ctx)
{
	return decide(ctx, VARMOR_NET_CONNECT, 1);
}

SEC("cgroup/sendmsg4")
int varmor_sendmsg4(struct bpf_sock_addr *ctx)
{
	return decide(ctx, VARMOR_NET_SEND, 0);
}

SEC("cgroup/sendmsg6")
int varmor_sendmsg6(struct bpf_sock_addr *ctx)
{
	return decide(ctx, VARMOR_NET_SEND, 1);
}

SEC("cgroup/bind4")
int varmor_bind4(struct bpf_sock_addr *ctx)
{
	return decide(ctx, VARMOR_NET_BIND, 0);
}

SEC("cgroup/bind6")
int varmor_bind6(struct bpf_sock_addr *ctx)
{
	return decide(ctx, VARMOR_NET_BIND, 1);
}

char LICENSE[] SEC("license") = "GPL";
