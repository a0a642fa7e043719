/* SPDX-License-Identifier: Apache-2.0 */
/* matchtest.h - inputs and outputs of the matcher test programs (bpf/matchtest.bpf.c),
 * shared with Rust like varmor.h: crates/kernel/build.rs generates crates/kernel/src/bpf/matchtest.rs's types from
 * it with bindgen. Types only: no BPF code here. */
#ifndef VARMOR_MATCHTEST_H
#define VARMOR_MATCHTEST_H

#include "varmor.h"

#define MT_CWD_PATH 4096 /* VARMOR_BUF_LEN: the path builder's whole buffer */
#define MT_LIN_LEN 64    /* pattern bytes of one linear-scan slot */

#define MT_PATH_IN 1024

/* Input of mt_path / mt_linear: the packet payload (after the 14-byte link header). */
struct mt_path_in {
	__u32 ns;
	__u32 len;
	__u8 path[MT_PATH_IN];
};

/* Input of mt_net. */
struct mt_net_in {
	__u32 ns;
	__u32 dir;
	__u32 family; /* 4: addr[0..4] is an IPv4 address; 6: addr is IPv6 */
	__u32 port;
	__u8 addr[16];
};

/* Output of the socket filters, in mt_result[0]. */
struct mt_out {
	__u32 status; /* 0 ok, 1 no scratch, 2 bad input, 3 no namespace */
	__u32 pad;
	struct varmor_path_val path;
	struct varmor_net_verdict net;
};

struct mt_cwd_out {
	__u32 start;
	__u32 len;
	__u32 trunc;
	__u32 status;
	__u8 path[MT_CWD_PATH];
};

/* mt_bad_reads' output: which kinds of failed kernel read left the path truncated. */
struct mt_bad_out {
	__u32 trunc[3];
	__u32 status;
};

/* One slot of the vArmor-style linear scan the benchmark compares with. */
struct mt_lin_rule {
	__u32 flags; /* VARMOR_PRECISE | VARMOR_PREFIX, VARMOR_PREFIX, VARMOR_SUFFIX */
	__u32 len;
	__u32 deny;
	__u32 pad;
	__u8 pattern[MT_LIN_LEN]; /* suffixes stored reversed */
};

#endif /* VARMOR_MATCHTEST_H */
