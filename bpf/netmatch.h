/* SPDX-License-Identifier: Apache-2.0 */
/* netmatch.h - the in-kernel network matcher: the same answer as src/matcher.rs
 * reference_net (first deny rule and first audit rule, in profile order, covering a
 * direction, address and port).
 *
 * One LPM lookup in v_net_addr gives the bitmap of the namespace's rules whose
 * addresses cover the destination (entries are folded by src/encode.rs: an entry holds
 * every rule whose CIDR contains it, any-address rules everywhere). IPv4 is looked up
 * as ::ffff:a.b.c.d, so an IPv4-mapped IPv6 destination meets the IPv4 rules; IPv6
 * rules never cover that range (as in the reference, where a mapped address is IPv4).
 * Then the set bits (at most VARMOR_NET_RULES, lowest = first in profile order) are
 * checked for direction and port in v_net_rule.
 */
#ifndef VARMOR_NETMATCH_H
#define VARMOR_NETMATCH_H

#include "maps.h"

struct varmor_net_verdict {
	__u32 deny_rule;  /* origin of the first covering deny rule, VARMOR_NO_RULE if none */
	__u32 audit_rule; /* origin of the first covering audit rule */
};

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

/* key->addr set by the caller; ns, direction and host-order port given. */
static __always_inline void varmor_net_lookup(struct varmor_lpm_addr_key *key, __u32 ns, __u32 dir,
					      __u16 port, struct varmor_net_verdict *out)
{
	const struct varmor_net_addr *a;
	__u64 bits;

	out->deny_rule = VARMOR_NO_RULE;
	out->audit_rule = VARMOR_NO_RULE;
	key->prefixlen = 32 + 128;
	key->ns = ns;
	a = bpf_map_lookup_elem(&v_net_addr, key);
	if (!a)
		return;
	bits = a->rules;
	for (__u32 i = 0; i < VARMOR_NET_RULES; i++) {
		struct varmor_idx_key k = { .ns = ns, .idx = i };
		const struct varmor_net_rule *r;

		if (!(bits >> i))
			break;
		if (!((bits >> i) & 1))
			continue;
		r = bpf_map_lookup_elem(&v_net_rule, &k);
		if (!r || !(r->dirs & dir) || !varmor_ports_cover(r, port))
			continue;
		if ((r->action & VARMOR_ACTION_DENY) && out->deny_rule == VARMOR_NO_RULE)
			out->deny_rule = r->rule;
		if ((r->action & VARMOR_ACTION_AUDIT) && out->audit_rule == VARMOR_NO_RULE)
			out->audit_rule = r->rule;
		if (out->deny_rule != VARMOR_NO_RULE && out->audit_rule != VARMOR_NO_RULE)
			break;
	}
}

#endif /* VARMOR_NETMATCH_H */
