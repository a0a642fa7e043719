/* SPDX-License-Identifier: Apache-2.0 */
/* path.h - the in-kernel path matcher: one decision for one path, the same answer as
 * src/matcher.rs PathIndex::lookup (the differential test runs both on the same cases).
 *
 * Input: the path sits right-aligned in scratch->buf (buf[start .. start+len]),
 * written there by varmor_build_path() (LSM hooks) or copied in (bpf/matchtest.bpf.c).
 * varmor_path_keys() turns it into two keys: fwd = first bytes (exact hash key at
 * &fwd.ns, prefix trie key) and rev = last bytes reversed (suffix trie key).
 * varmor_path_lookup() then does at most 3 map lookups plus the bounded glob list:
 *   exact   v_exact   (only paths shorter than PATH_MAX: longer ones match no literal)
 *   prefix  v_prefix  longest-prefix match; entries are folded (union of all shorter
 *                     matching prefixes), so one answer is the union over all of them
 *   suffix  v_suffix  the same over reversed bytes
 *   glob    v_glob    at most VARMOR_GLOB_RULES entries; a path of PATH_MAX bytes or more
 *                     (or one the builder had to truncate) matches every glob (fail closed)
 * The cost does not depend on how many exact/prefix/suffix rules a namespace has.
 */
#ifndef VARMOR_PATH_H
#define VARMOR_PATH_H

#include "maps.h"

#define VARMOR_GLOB_STEPS (1 << 16) /* step budget of one glob match; past it: match */
#define VARMOR_WALK_STEPS 2048      /* dentries + mount crossings of one path */

static __always_inline void varmor_verdict_init(struct varmor_path_val *v)
{
	v->deny = 0;
	v->audit = 0;
	v->deny_rule = VARMOR_NO_RULE;
	v->audit_rule = VARMOR_NO_RULE;
	v->flags = 0;
	v->pad = 0;
}

static __always_inline void varmor_verdict_add(struct varmor_path_val *acc, __u32 deny, __u32 audit,
					       __u32 deny_rule, __u32 audit_rule, __u32 flags)
{
	acc->deny |= deny;
	acc->audit |= audit;
	if (deny_rule < acc->deny_rule)
		acc->deny_rule = deny_rule;
	if (audit_rule < acc->audit_rule)
		acc->audit_rule = audit_rule;
	acc->flags |= flags;
}

/* Fill fwd/rev from buf[start .. start+len]; the path never wraps (it ends at or
 * before VARMOR_BUF_LEN), and indices are masked for the verifier. */
static __always_inline void varmor_path_keys(struct varmor_scratch *s, __u32 ns)
{
	__u32 len = s->len, start = s->start;
	__u32 n = len < VARMOR_PATH_MAX ? len : VARMOR_PATH_MAX;
	__u32 nl = len < VARMOR_LPM_PATH_MAX ? len : VARMOR_LPM_PATH_MAX;
	__u32 last = start + len - 1;

	s->fwd.ns = ns;
	s->rev.ns = ns;
	s->fwd.prefixlen = 32 + 8 * nl;
	s->rev.prefixlen = 32 + 8 * nl;
	__builtin_memset(s->fwd.path, 0, VARMOR_PATH_MAX);
	__builtin_memset(s->rev.path, 0, VARMOR_PATH_MAX);
	for (__u32 i = 0; i < VARMOR_PATH_MAX; i++) {
		if (i >= n)
			break;
		s->fwd.path[i] = s->buf[(start + i) & VARMOR_BUF_MASK];
		s->rev.path[i] = s->buf[(last - i) & VARMOR_BUF_MASK];
	}
}

/* Glob matching: `*` and `?` never cross `/`, one `**` crosses anything. Iterative with
 * two restart points (the last `*`, the `**`), one step per bpf_loop iteration. */
struct varmor_glob_run {
	const __u8 *pat;
	const __u8 *str;
	int plen, slen;
	int px, sx;
	int star_px, star_sx;
	int gs_px, gs_sx;
	int result; /* -1 running, 0 no match, 1 match */
};

static long varmor_glob_step(__u64 idx, void *data)
{
	struct varmor_glob_run *g = data;
	const __u8 *pat = g->pat, *str = g->str;
	int px = g->px, sx = g->sx;

	if (px >= g->plen && sx >= g->slen) {
		g->result = 1;
		return 1;
	}
	if (px < g->plen) {
		__u8 c = pat[px & (VARMOR_GLOB_MAX - 1)];

		if (c == '*') {
			if (px + 1 < g->plen && pat[(px + 1) & (VARMOR_GLOB_MAX - 1)] == '*') {
				g->gs_px = px;
				g->gs_sx = sx + 1;
				g->star_px = -1;
				g->px = px + 2;
				return 0;
			}
			g->star_px = px;
			g->star_sx = sx + 1;
			g->px = px + 1;
			return 0;
		}
		if (sx < g->slen) {
			__u8 ch = str[sx & (VARMOR_PATH_MAX - 1)];

			if (c == ch || (c == '?' && ch != '/')) {
				g->px = px + 1;
				g->sx = sx + 1;
				return 0;
			}
		}
	}
	if (g->star_px >= 0 && g->star_sx <= g->slen &&
	    str[(g->star_sx - 1) & (VARMOR_PATH_MAX - 1)] != '/') {
		g->px = g->star_px;
		g->sx = g->star_sx;
		return 0;
	}
	if (g->gs_px >= 0 && g->gs_sx <= g->slen) {
		g->px = g->gs_px;
		g->sx = g->gs_sx;
		return 0;
	}
	g->result = 0;
	return 1;
}

/* Does glob g match the path in s->fwd (shorter than PATH_MAX)? */
static __always_inline int varmor_glob_match(const struct varmor_glob *g, struct varmor_scratch *s)
{
	struct varmor_glob_run run = {
		.pat = g->pattern,
		.str = s->fwd.path,
		.plen = g->len < VARMOR_GLOB_MAX ? g->len : VARMOR_GLOB_MAX,
		.slen = s->len,
		.px = varmor_opaque(s, 0),
		.sx = varmor_opaque(s, 0),
		.star_px = varmor_opaque(s, -1),
		.star_sx = varmor_opaque(s, 0),
		.gs_px = varmor_opaque(s, -1),
		.gs_sx = varmor_opaque(s, 0),
		.result = -1,
	};

	bpf_loop(VARMOR_GLOB_STEPS, varmor_glob_step, &run, 0);
	return run.result != 0; /* out of steps: fail closed */
}

struct varmor_glob_scan {
	struct varmor_scratch *s;
	struct varmor_path_val *acc;
	__u32 ns;
	__u32 n;
	int all;
};

static long varmor_glob_one(__u64 i, void *data)
{
	struct varmor_glob_scan *c = data;
	struct varmor_idx_key k = { .ns = c->ns, .idx = (__u32)i };
	const struct varmor_glob *g;

	if (i >= c->n)
		return 1;
	g = bpf_map_lookup_elem(&v_glob, &k);
	if (!g)
		return 0;
	if (c->all || varmor_glob_match(g, c->s))
		varmor_verdict_add(c->acc, g->deny, g->audit, g->deny ? g->rule : VARMOR_NO_RULE,
				   g->audit ? g->rule : VARMOR_NO_RULE, VARMOR_GLOB);
	return 0;
}

static __always_inline void varmor_add_val(struct varmor_path_val *acc, const struct varmor_path_val *v)
{
	if (v)
		varmor_verdict_add(acc, v->deny, v->audit, v->deny_rule, v->audit_rule, v->flags);
}

/* The decision for the path in s (keys filled by varmor_path_keys) in namespace ns. */
static __always_inline void varmor_path_lookup(struct varmor_scratch *s, __u32 ns, __u32 n_glob,
					       struct varmor_path_val *out)
{
	int long_path = s->len >= VARMOR_PATH_MAX || s->trunc;

	varmor_verdict_init(out);
	if (!long_path)
		varmor_add_val(out, bpf_map_lookup_elem(&v_exact, &s->fwd.ns));
	if (!s->trunc)
		varmor_add_val(out, bpf_map_lookup_elem(&v_prefix, &s->fwd));
	varmor_add_val(out, bpf_map_lookup_elem(&v_suffix, &s->rev));
	if (n_glob) {
		struct varmor_glob_scan c = {
			.s = s, .acc = out, .ns = ns, .n = n_glob, .all = long_path,
		};

		bpf_loop(VARMOR_GLOB_RULES, varmor_glob_one, &c, 0);
	}
}

#endif /* VARMOR_PATH_H */
