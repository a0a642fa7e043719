// SPDX-License-Identifier: Apache-2.0
/* srcroute.bpf.c - source routes refused in sandboxes with network rules (both backends).
 *
 * The sock_addr hooks of bpf/net.bpf.c check a packet's final destination; an IPv6
 * routing header (IPV6_RTHDR, as a socket option or a sendmsg control message) or an
 * IPv4 source-route option (IP_OPTIONS, or an IP_RETOPTS control message) sends it to a
 * first hop no hook sees. Attached at the cgroup2 root with net.bpf.c (crates/kernel/src/bpf/net.rs):
 *   cgroup/setsockopt  IPPROTO_IPV6 routing, hop-by-hop and destination options (RFC 3542
 *                      and RFC 2292 names) and IPPROTO_IP IP_OPTIONS: EPERM and a line.
 *                      Every other option passes untouched.
 *   cgroup/sock_create tags each socket a confined task creates (v_sk_ns: its namespace).
 *   cgroup_skb/egress  drops a tagged socket's IPv6 packets that carry a routing header
 *                      and its IPv4 packets that carry options (IHL > 5): the control
 *                      message route, which runs no sockopt hook. sendmsg gets EPERM.
 * Confined means: the task's (egress: the socket creator's) mount namespace has v_ns
 * rules with a network rule kind. Complain mode reports and lets it through.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define V_SOL_IP 0
#define V_SOL_IPV6 41
#define V_IP_OPTIONS 4
#define V_NEXTHDR_HOP 0
#define V_NEXTHDR_ROUTING 43
#define V_NEXTHDR_DEST 60
/* Extension headers walked before giving up (each hop-by-hop/destination options). */
#define V_EXT_MAX 6
/* A setsockopt whose optval is larger than this shows the program only its first page;
 * optlen 0 tells the kernel to use the caller's buffer as it is (6.1 returns EFAULT for
 * a larger optlen left unchanged). The smallest PAGE_SIZE, so right on every arch. */
#define V_SOCKOPT_PAGE 4096

/* The namespace's rules if it has network rules. */
static __always_inline struct varmor_ns *net_confined(__u32 ns)
{
	struct varmor_ns *nsv = bpf_map_lookup_elem(&v_ns, &ns);

	if (!nsv || !(nsv->kinds & (1 << VARMOR_EV_NET)))
		return NULL;
	return nsv;
}

static __always_inline __u32 current_mnt_ns(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return t->nsproxy->mnt_ns->ns.inum;
}

/* The rule a line names: the allow list's origin, else the first network rule's. */
static __always_inline __u32 net_origin(__u32 ns, const struct varmor_ns *nsv)
{
	struct varmor_idx_key k = { .ns = ns, .idx = 0 };
	struct varmor_net_rule *r;

	if (nsv->net_default_rule != VARMOR_NO_RULE)
		return nsv->net_default_rule;
	r = bpf_map_lookup_elem(&v_net_rule, &k);
	return r ? r->rule : VARMOR_NO_RULE;
}

/* Sends the event; pid and comm from the current task through BTF (the pid/comm helpers
 * are not offered to sockopt and skb programs on every kernel: 6.1 has neither). At egress the current
 * task is the sender for a datagram's sendmsg, which is the route egress closes. */
static __always_inline void emit(__u32 ns, const struct varmor_ns *nsv, __u32 where, __u16 opt,
				 __u16 family, const __u8 *addr, __u32 action)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct varmor_event *e = bpf_ringbuf_reserve(&v_events, sizeof(*e), 0);

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ns = ns;
	e->pid = t->tgid;
	e->kind = VARMOR_EV_SRCROUTE;
	e->perms = where;
	e->rule = net_origin(ns, nsv);
	e->action = action;
	e->port = opt;
	e->family = family;
	if (addr)
		__builtin_memcpy(e->addr, addr, 16);
	/* Plain loads through the BTF pointer: bpf_probe_read_kernel_str is withheld under
	 * lockdown's confidentiality mode, which would keep the object from loading. */
	for (int i = 0; i < VARMOR_COMM_LEN; i++)
		e->comm[i] = t->comm[i];
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int is_source_route_opt(int level, int name)
{
	if (level == V_SOL_IP)
		return name == V_IP_OPTIONS;
	if (level != V_SOL_IPV6)
		return 0;
	switch (name) {
	case 3:  /* IPV6_2292HOPOPTS */
	case 4:  /* IPV6_2292DSTOPTS */
	case 5:  /* IPV6_2292RTHDR */
	case 6:  /* IPV6_2292PKTOPTIONS: sticky options as control messages */
	case 54: /* IPV6_HOPOPTS */
	case 55: /* IPV6_RTHDRDSTOPTS */
	case 57: /* IPV6_RTHDR */
	case 59: /* IPV6_DSTOPTS */
		return 1;
	}
	return 0;
}

SEC("cgroup/setsockopt")
int varmor_sr_setsockopt(struct bpf_sockopt *ctx)
{
	int level = ctx->level, name = ctx->optname;
	struct varmor_ns *nsv;
	__u32 ns;

	if (is_source_route_opt(level, name)) {
		ns = current_mnt_ns();
		nsv = net_confined(ns);
		if (nsv) {
			int enforce = nsv->mode != VARMOR_MODE_COMPLAIN;

			emit(ns, nsv, VARMOR_SRCROUTE_SETSOCKOPT, (__u16)name,
			     level == V_SOL_IP ? AF_INET : AF_INET6, 0,
			     enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_WOULD_DENY);
			if (enforce)
				return 0;
		}
	}
	if (ctx->optlen > V_SOCKOPT_PAGE)
		ctx->optlen = 0;
	return 1;
}

SEC("cgroup/sock_create")
int varmor_sr_sock_create(struct bpf_sock *sk)
{
	__u32 ns = current_mnt_ns();
	struct varmor_ns *nsv = net_confined(ns);
	struct varmor_sk *tag;

	if (!nsv)
		return 1;
	tag = bpf_sk_storage_get(&v_sk_ns, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (tag) {
		tag->ns = ns;
		tag->generation = nsv->generation;
	}
	return 1;
}

/* 1 when the packet at the skb's network header is source-routed; its destination (the
 * first hop) in addr, IPv4 as ::ffff:a.b.c.d. */
static __always_inline int source_routed(struct __sk_buff *skb, __u8 addr[16], __u16 *family)
{
	__u8 h[40];
	__u32 off = 40;
	__u8 next;

	if (bpf_skb_load_bytes(skb, 0, h, 20))
		return 0;
	if ((h[0] >> 4) == 4) {
		__builtin_memset(addr, 0, 10);
		addr[10] = 0xff;
		addr[11] = 0xff;
		__builtin_memcpy(&addr[12], &h[16], 4);
		*family = AF_INET;
		return (h[0] & 0xf) > 5;
	}
	if ((h[0] >> 4) != 6 || bpf_skb_load_bytes(skb, 0, h, 40))
		return 0;
	__builtin_memcpy(addr, &h[24], 16);
	*family = AF_INET6;
	next = h[6];
	for (int i = 0; i < V_EXT_MAX; i++) {
		__u8 ext[2];

		if (next == V_NEXTHDR_ROUTING)
			return 1;
		if (next != V_NEXTHDR_HOP && next != V_NEXTHDR_DEST)
			return 0;
		if (bpf_skb_load_bytes(skb, off, ext, 2))
			return 0;
		next = ext[0];
		off += ((__u32)ext[1] + 1) * 8;
	}
	/* Deeper than any real chain before a routing header: refuse rather than guess. */
	return 1;
}

SEC("cgroup_skb/egress")
int varmor_sr_egress(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct varmor_sk *tag;
	struct varmor_ns *nsv;
	__u8 addr[16];
	__u16 family = 0;
	int enforce;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	tag = bpf_sk_storage_get(&v_sk_ns, sk, 0, 0);
	if (!tag)
		return 1;
	nsv = net_confined(tag->ns);
	if (!nsv || nsv->generation != tag->generation)
		return 1;
	if (!source_routed(skb, addr, &family))
		return 1;
	enforce = nsv->mode != VARMOR_MODE_COMPLAIN;
	emit(tag->ns, nsv, VARMOR_SRCROUTE_PACKET, 0, family, addr,
	     enforce ? VARMOR_ACTION_DENY : VARMOR_ACTION_WOULD_DENY);
	return enforce ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
