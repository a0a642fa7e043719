/* SPDX-License-Identifier: Apache-2.0 */
/* netmatch.bpf.h - the in-kernel network matcher: the same answer as crates/core/src/matcher.rs
 * reference_net (first deny rule and first audit rule, in profile order, covering a
 * direction, address and port).
 *
 * One LPM lookup in v_net_addr gives the bitmap of the namespace's rules whose
 * addresses cover the destination (entries are folded by crates/kernel/src/encode.rs: an entry holds
 * every rule whose CIDR contains it, any-address rules everywhere). IPv4 is looked up
 * as ::ffff:a.b.c.d, so an IPv4-mapped IPv6 destination meets the IPv4 rules; IPv6
 * rules never cover that range (as in the reference, where a mapped address is IPv4).
 * Then the set bits (at most VARMOR_NET_RULES, lowest = first in profile order) are
 * checked for direction and port in v_net_rule.
 */
#ifndef VARMOR_NETMATCH_H
#define VARMOR_NETMATCH_H

#include "maps.bpf.h"

static __always_inline void varmor_addr_v4(__u8 addr[16], __u32 ip4_be)
{
	__builtin_memset(addr, 0, 10);
	addr[10] = 0xff;
	addr[11] = 0xff;
	__builtin_memcpy(&addr[12], &ip4_be, 4);
}

static __always_inline int varmor_ports_cover(const struct varmor_net_rule *r, __u16 port)
{
	__u32 n = r->nports;

	if (n == 0)
		return 1;
	for (__u32 j = 0; j < VARMOR_NET_PORTS; j++) {
		if (j >= n)
			break;
		if (port >= r->ports[j].lo && port <= r->ports[j].hi)
			return 1;
	}
	return 0;
}

/* State of one rule scan, on the caller's stack (bpf_loop's context). */
struct varmor_net_scan {
	__u64 bits;
	__u32 ns;
	__u32 dir;
	__u16 port;
	__u32 allow_rule; /* first covering allow entry (allow-list mode), VARMOR_NO_RULE if none */
	struct varmor_net_verdict *out;
};

/* Rule i of the scan: bpf_loop's callback, so the verifier checks it once instead of
 * once per iteration (kernels 5.17+; every kernel varmor supports has it). */
static long varmor_net_rule_step(__u64 i, void *c)
{
	struct varmor_net_scan *s = c;
	struct varmor_idx_key k = { .ns = s->ns, .idx = (__u32)i };
	const struct varmor_net_rule *r;

	if (i >= 64 || !(s->bits >> i))
		return 1;
	if (!((s->bits >> i) & 1))
		return 0;
	r = bpf_map_lookup_elem(&v_net_rule, &k);
	if (!r || !(r->dirs & s->dir) || !varmor_ports_cover(r, s->port))
		return 0;
	if ((r->action & VARMOR_ACTION_DENY) && s->out->deny_rule == VARMOR_NO_RULE)
		s->out->deny_rule = r->rule;
	if ((r->action & VARMOR_ACTION_AUDIT) && s->out->audit_rule == VARMOR_NO_RULE)
		s->out->audit_rule = r->rule;
	if ((r->action & VARMOR_ACTION_ALLOW) && s->allow_rule == VARMOR_NO_RULE)
		s->allow_rule = r->rule;
	return s->out->deny_rule != VARMOR_NO_RULE && s->out->audit_rule != VARMOR_NO_RULE;
}

/* key->addr set by the caller; ns, direction and host-order port given. *allow (may be
 * NULL) gets the first covering allow entry's origin, VARMOR_NO_RULE when none. */
static __always_inline void varmor_net_lookup2(struct varmor_lpm_addr_key *key, __u32 ns, __u32 dir,
					       __u16 port, struct varmor_net_verdict *out, __u32 *allow)
{
	const struct varmor_net_addr *a;
	struct varmor_net_scan scan;

	out->deny_rule = VARMOR_NO_RULE;
	out->audit_rule = VARMOR_NO_RULE;
	if (allow)
		*allow = VARMOR_NO_RULE;
	key->prefixlen = 32 + 128;
	key->ns = ns;
	a = bpf_map_lookup_elem(&v_net_addr, key);
	if (!a)
		return;
	scan.bits = a->rules;
	scan.ns = ns;
	scan.dir = dir;
	scan.port = port;
	scan.out = out;
	scan.allow_rule = VARMOR_NO_RULE;
	bpf_loop(VARMOR_NET_RULES, varmor_net_rule_step, &scan, 0);
	if (allow)
		*allow = scan.allow_rule;
}

static __always_inline void varmor_net_lookup(struct varmor_lpm_addr_key *key, __u32 ns, __u32 dir,
					      __u16 port, struct varmor_net_verdict *out)
{
	varmor_net_lookup2(key, ns, dir, port, out, 0);
}

#endif /* VARMOR_NETMATCH_H */
