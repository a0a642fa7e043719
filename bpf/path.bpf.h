/* SPDX-License-Identifier: Apache-2.0 */
/* path.bpf.h - the in-kernel path matcher: one decision for one path, the same answer as
 * crates/core/src/matcher.rs PathIndex::lookup (the differential test runs both on the same cases).
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
 *
 * Verification cost: every loop is a bpf_loop callback (checked once per call site, not
 * once per iteration), and varmor_path_keys, varmor_path_lookup and varmor_glob_match
 * are global functions (VARMOR_GLOBAL), which the verifier checks once per program, on
 * their own, whatever the number of call sites; the glob step is so checked once, not
 * again for every state of the outer scan over the glob rules. A global function takes
 * scalars and pointers to structs only (which may be NULL: it checks), and finds this
 * CPU's scratch itself: kernel 6.1 refuses a pointer argument as a map key.
 */
#ifndef VARMOR_PATH_H
#define VARMOR_PATH_H

#include "maps.bpf.h"

#define VARMOR_GLOB_STEPS (1 << 16) /* step budget of one glob match; past it: match */
#define VARMOR_WALK_STEPS 2048      /* dentries + mount crossings of one path */

/* A global (non-static, never inlined) function: verified once per program, alone. */
#define VARMOR_GLOBAL __attribute__((noinline))

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

struct varmor_keys_run {
	struct varmor_scratch *s;
	__u32 n, start, last;
};

/* Bytes 8i .. 8i+7 of fwd and rev (unrolled: one callback per 8 bytes). */
static long varmor_keys_step(__u64 i, void *data)
{
	struct varmor_keys_run *k = data;
	struct varmor_scratch *s = k->s;
	__u32 b0 = (__u32)i * 8;

#pragma unroll
	for (__u32 j = 0; j < 8; j++) {
		__u32 b = b0 + j;

		if (b >= k->n)
			return 1;
		s->fwd.path[b & (VARMOR_PATH_MAX - 1)] = s->buf[(k->start + b) & VARMOR_BUF_MASK];
		s->rev.path[b & (VARMOR_PATH_MAX - 1)] = s->buf[(k->last - b) & VARMOR_BUF_MASK];
	}
	return 0;
}

/* Fill fwd/rev from buf[start .. start+len] of this CPU's scratch (the caller's: a
 * program does not change CPU); the path never wraps (it ends at or before
 * VARMOR_BUF_LEN), and indices are masked for the verifier. -1: no scratch. */
VARMOR_GLOBAL int varmor_path_keys(__u32 ns)
{
	struct varmor_scratch *s = varmor_scratch();
	struct varmor_keys_run k;
	__u32 len, nl;

	if (!s)
		return -1;
	len = s->len;
	nl = len < VARMOR_LPM_PATH_MAX ? len : VARMOR_LPM_PATH_MAX;
	k.s = s;
	k.n = len < VARMOR_PATH_MAX ? len : VARMOR_PATH_MAX;
	k.start = s->start;
	k.last = s->start + len - 1;
	s->fwd.ns = ns;
	s->rev.ns = ns;
	s->fwd.prefixlen = 32 + 8 * nl;
	s->rev.prefixlen = 32 + 8 * nl;
	__builtin_memset(s->fwd.path, 0, VARMOR_PATH_MAX);
	__builtin_memset(s->rev.path, 0, VARMOR_PATH_MAX);
	bpf_loop(VARMOR_PATH_MAX / 8, varmor_keys_step, &k, 0);
	return 0;
}

/* Glob matching: `*` and `?` never cross `/`, one `**` crosses anything. Iterative with
 * two restart points (the last `*`, the `**`), one step per bpf_loop iteration. The
 * step's integers live in the scratch map (s->glob, struct varmor_glob_run in maps.h),
 * not on the stack: the verifier tracks nothing stored in a map value, so the step's
 * entry state is the same on every pass and its check converges at once (kernels 6.7+
 * re-check a callback until it does; ranges kept on the stack took ~100 passes). */
struct varmor_glob_ctx {
	const struct varmor_glob *pat;
	struct varmor_scratch *s;
};

static long varmor_glob_step(__u64 idx, void *data)
{
	struct varmor_glob_ctx *c = data;
	const __u8 *pat = c->pat->pattern, *str = c->s->fwd.path;
	struct varmor_glob_run *g = &c->s->glob;
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

/* Does glob g match the path in the scratch's fwd key (shorter than PATH_MAX)? Out of
 * steps, no glob or no scratch: 1 (fail closed). */
VARMOR_GLOBAL int varmor_glob_match(const struct varmor_glob *g)
{
	struct varmor_scratch *s = varmor_scratch();
	struct varmor_glob_ctx c = { .pat = g, .s = s };
	struct varmor_glob_run *run;

	if (!g || !s)
		return 1;
	run = &s->glob;
	run->plen = g->len < VARMOR_GLOB_MAX ? g->len : VARMOR_GLOB_MAX;
	run->slen = s->len;
	run->px = 0;
	run->sx = 0;
	run->star_px = -1;
	run->star_sx = 0;
	run->gs_px = -1;
	run->gs_sx = 0;
	run->result = -1;
	bpf_loop(VARMOR_GLOB_STEPS, varmor_glob_step, &c, 0);
	return run->result != 0; /* out of steps: fail closed */
}

struct varmor_glob_scan {
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
	if (c->all || varmor_glob_match(g))
		varmor_verdict_add(c->acc, g->deny, g->audit, g->deny ? g->rule : VARMOR_NO_RULE,
				   g->audit ? g->rule : VARMOR_NO_RULE, VARMOR_GLOB);
	return 0;
}

static __always_inline void varmor_add_val(struct varmor_path_val *acc, const struct varmor_path_val *v)
{
	if (v)
		varmor_verdict_add(acc, v->deny, v->audit, v->deny_rule, v->audit_rule, v->flags);
}

/* The decision for the path in this CPU's scratch (keys filled by varmor_path_keys) in
 * key space ns with n_glob globs, into out. No scratch: everything denied (never: the
 * caller has it). A truncated path's head is unknown, so it matches every prefix rule
 * (trunc_deny, the first of them trunc_rule) as it matches every glob: fail closed. */
VARMOR_GLOBAL int varmor_path_lookup(__u32 ns, __u32 n_glob, __u32 trunc_deny, __u32 trunc_rule,
				     struct varmor_path_val *out)
{
	struct varmor_scratch *s = varmor_scratch();
	int long_path;

	if (!out)
		return -1;
	varmor_verdict_init(out);
	if (!s) {
		out->deny = ~0u;
		return -1;
	}
	long_path = s->len >= VARMOR_PATH_MAX || s->trunc;
	if (!long_path)
		varmor_add_val(out, bpf_map_lookup_elem(&v_exact, &s->fwd.ns));
	if (!s->trunc)
		varmor_add_val(out, bpf_map_lookup_elem(&v_prefix, &s->fwd));
	else
		varmor_verdict_add(out, trunc_deny, 0, trunc_rule, VARMOR_NO_RULE, VARMOR_PREFIX);
	varmor_add_val(out, bpf_map_lookup_elem(&v_suffix, &s->rev));
	if (n_glob) {
		struct varmor_glob_scan c = {
			.acc = out, .ns = ns, .n = n_glob, .all = long_path,
		};

		bpf_loop(VARMOR_GLOB_RULES, varmor_glob_one, &c, 0);
	}
	return 0;
}

#endif /* VARMOR_PATH_H */
