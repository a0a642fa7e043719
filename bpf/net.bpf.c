// SPDX-License-Identifier: Apache-2.0
/* net.bpf.c - network rules at the cgroup sock_addr hooks (both backends).
 *
 * Attached at the cgroup2 root by crates/kernel/src/bpf/net.rs: connect4/6 (TCP connect, connected
 * UDP, and TCP Fast Open's sendto(MSG_FASTOPEN), which runs the connect hook),
 * sendmsg4/6 (unconnected UDP sendto/sendmsg) and bind4/6; recvmsg4/6 and getpeername4/6
 * for the DNS redirect of allow-list mode (bpf/varmor.h, struct varmor_dns). Each program reads the
 * current task's mount-namespace inode; a task outside every sandbox costs one hash
 * lookup. Inside, bpf/netmatch.bpf.h decides; a deny returns 0 (the syscall fails with
 * EPERM) unless the namespace is in complain mode, and every deny or audit is sent to
 * v_events for varmord to turn into a readable line.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "netmatch.bpf.h"

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
	struct varmor_event *e = varmor_event_new(ns, VARMOR_EV_NET, dir, rule, action);

	if (!e)
		return;
	e->port = port;
	e->family = family;
	__builtin_memcpy(e->addr, key->addr, 16);
	bpf_ringbuf_submit(e, 0);
}

/* Does an address varmord answered for an allowed name cover key->addr:port now? */
static __always_inline __u32 dyn_allow(__u32 ns, const struct varmor_lpm_addr_key *key, __u16 port)
{
	struct varmor_dyn_key dk = { .ns = ns };
	struct varmor_dyn_val *d;

	__builtin_memcpy(dk.addr, key->addr, 16);
	d = bpf_map_lookup_elem(&v_net_dyn, &dk);
	if (!d || bpf_ktime_get_ns() > d->expires)
		return VARMOR_NO_RULE;
	if (d->nports == 0)
		return d->rule;
	for (__u32 j = 0; j < VARMOR_NET_PORTS; j++) {
		if (j >= d->nports)
			break;
		if (port >= d->ports[j].lo && port <= d->ports[j].hi)
			return d->rule;
	}
	return VARMOR_NO_RULE;
}

/* Allow-list mode: DNS to any address goes to the sandbox's resolver in varmord. The
 * socket's real destination is kept (by cookie) for recvmsg and getpeername. Returns 1
 * when rewritten, 0 when the namespace has no resolver (or the rewrite cannot be made). */
static __always_inline int redirect_dns(struct bpf_sock_addr *ctx, __u32 ns,
					const struct varmor_lpm_addr_key *key, int v6)
{
	struct varmor_dns_orig o = {};
	struct varmor_dns *d = bpf_map_lookup_elem(&v_dns, &ns);
	__u64 cookie;

	if (!d)
		return 0;
	if (v6 && !d->port6)
		return 0;
	if (!v6 && !d->port4)
		return 0;
	__builtin_memcpy(o.addr, key->addr, 16);
	o.port = (__u16)ctx->user_port;
	o.family = v6 ? AF_INET6 : AF_INET;
	cookie = bpf_get_socket_cookie(ctx);
	bpf_map_update_elem(&v_dns_orig, &cookie, &o, BPF_ANY);
	if (v6) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = 0;
		ctx->user_ip6[3] = bpf_htonl(1);
		ctx->user_port = d->port6;
	} else {
		ctx->user_ip4 = bpf_htonl(0x7f000001);
		ctx->user_port = d->port4;
	}
	return 1;
}

static __always_inline int decide(struct bpf_sock_addr *ctx, __u32 dir, int v6)
{
	struct varmor_lpm_addr_key key = {};
	struct varmor_net_verdict v;
	struct varmor_ns *nsv;
	__u32 ns = current_mnt_ns();
	__u32 allow, def;
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
	varmor_net_lookup2(&key, ns, dir, port, &v, &allow);
	def = nsv->net_default_rule;
	if (v.deny_rule == VARMOR_NO_RULE && def != VARMOR_NO_RULE && dir != VARMOR_NET_BIND) {
		if (port == VARMOR_DNS_PORT && redirect_dns(ctx, ns, &key, v6)) {
			/* An audit rule still sees where the program sent its DNS (key is
			 * the address before the rewrite): a learning run's draft keeps it. */
			if (v.audit_rule != VARMOR_NO_RULE)
				emit(ns, dir, v.audit_rule, VARMOR_ACTION_AUDIT, &key, port,
				     v6 ? AF_INET6 : AF_INET);
			return 1;
		}
		if (allow == VARMOR_NO_RULE && dyn_allow(ns, &key, port) == VARMOR_NO_RULE)
			v.deny_rule = def;
	}
	if (v.deny_rule != VARMOR_NO_RULE) {
		int enforce = nsv->mode != VARMOR_MODE_COMPLAIN;

		emit(ns, dir, v.deny_rule, enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_WOULD_DENY, &key, port,
		     v6 ? AF_INET6 : AF_INET);
		return enforce ? 0 : 1;
	}
	if (v.audit_rule != VARMOR_NO_RULE)
		emit(ns, dir, v.audit_rule, VARMOR_ACTION_AUDIT, &key, port, v6 ? AF_INET6 : AF_INET);
	return 1;
}

/* A DNS reply (recvmsg) or the peer (getpeername) of a redirected socket is shown as the
 * address the program sent to, so resolvers that check where the answer came from accept
 * it. Only the resolver's own address is rewritten: [::1]:port6, or on an IPv6 socket that
 * sent to an IPv4-mapped nameserver (udpv6_sendmsg hands that to udp_sendmsg, so sendmsg4
 * redirected it to 127.0.0.1:port4) the reply's ::ffff:127.0.0.1:port4. */
static __always_inline int restore_dns(struct bpf_sock_addr *ctx, int v6)
{
	__u32 ns = current_mnt_ns();
	struct varmor_dns_orig *o;
	struct varmor_dns *d;
	__u16 port = (__u16)ctx->user_port;
	__u64 cookie;
	int mapped = 0;

	d = bpf_map_lookup_elem(&v_dns, &ns);
	if (!d)
		return 1;
	if (v6) {
		if (ctx->user_ip6[0] || ctx->user_ip6[1])
			return 1;
		if (ctx->user_ip6[2] == bpf_htonl(0xffff) && ctx->user_ip6[3] == bpf_htonl(0x7f000001) &&
		    port == d->port4)
			mapped = 1;
		else if (ctx->user_ip6[2] || ctx->user_ip6[3] != bpf_htonl(1) || port != d->port6)
			return 1;
	} else if (ctx->user_ip4 != bpf_htonl(0x7f000001) || port != d->port4) {
		return 1;
	}
	cookie = bpf_get_socket_cookie(ctx);
	o = bpf_map_lookup_elem(&v_dns_orig, &cookie);
	if (!o)
		return 1;
	if (v6) {
		__u32 a[4];

		if (mapped && o->family != AF_INET)
			return 1;
		__builtin_memcpy(a, o->addr, 16);
		ctx->user_ip6[0] = a[0];
		ctx->user_ip6[1] = a[1];
		ctx->user_ip6[2] = a[2];
		ctx->user_ip6[3] = a[3];
	} else {
		__u32 a4;

		if (o->family != AF_INET)
			return 1;
		__builtin_memcpy(&a4, &o->addr[12], 4);
		ctx->user_ip4 = a4;
	}
	ctx->user_port = o->port;
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

SEC("cgroup/recvmsg4")
int varmor_recvmsg4(struct bpf_sock_addr *ctx)
{
	return restore_dns(ctx, 0);
}

SEC("cgroup/recvmsg6")
int varmor_recvmsg6(struct bpf_sock_addr *ctx)
{
	return restore_dns(ctx, 1);
}

SEC("cgroup/getpeername4")
int varmor_getpeername4(struct bpf_sock_addr *ctx)
{
	return restore_dns(ctx, 0);
}

SEC("cgroup/getpeername6")
int varmor_getpeername6(struct bpf_sock_addr *ctx)
{
	return restore_dns(ctx, 1);
}

/* Allow-list mode: only TCP (and MPTCP) stream and UDP (and UDP-Lite) datagram sockets may
 * be created. The others send where no sock_addr hook looks: an ICMP echo ("ping") socket's
 * sendto (ping_v4_sendmsg/ping_v6_sendmsg run no BPF hook), allowed unprivileged wherever
 * net.ipv4.ping_group_range is open (systemd opens it), is a channel to any host; raw
 * sockets (raw_sendmsg) and SCTP's sendmsg likewise. EPERM, no line (no address yet). */
#define V_SOCK_STREAM 1
#define V_SOCK_DGRAM 2
#define V_IPPROTO_TCP 6
#define V_IPPROTO_UDP 17
#define V_IPPROTO_UDPLITE 136
#define V_IPPROTO_MPTCP 262
SEC("cgroup/sock_create")
int varmor_sock_create(struct bpf_sock *sk)
{
	__u32 ns = current_mnt_ns();
	struct varmor_ns *nsv = bpf_map_lookup_elem(&v_ns, &ns);
	__u32 type, proto;

	if (!nsv || nsv->net_default_rule == VARMOR_NO_RULE || nsv->mode == VARMOR_MODE_COMPLAIN)
		return 1;
	type = sk->type;
	proto = sk->protocol;
	if (type == V_SOCK_STREAM && (proto == V_IPPROTO_TCP || proto == V_IPPROTO_MPTCP))
		return 1;
	if (type == V_SOCK_DGRAM && (proto == V_IPPROTO_UDP || proto == V_IPPROTO_UDPLITE))
		return 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
