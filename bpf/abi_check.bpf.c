// SPDX-License-Identifier: Apache-2.0
/* abi_check.bpf.c - compile-time size checks of bpf/varmor.h, mirrored in src/abi.rs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "varmor.h"

_Static_assert(sizeof(struct varmor_ns) == 48, "varmor_ns");
_Static_assert(sizeof(struct varmor_path_val) == 24, "varmor_path_val");
_Static_assert(sizeof(struct varmor_exact_key) == 260, "varmor_exact_key");
_Static_assert(sizeof(struct varmor_lpm_path_key) == 260, "varmor_lpm_path_key");
_Static_assert(sizeof(struct varmor_idx_key) == 8, "varmor_idx_key");
_Static_assert(sizeof(struct varmor_glob) == 144, "varmor_glob");
_Static_assert(sizeof(struct varmor_lpm_addr_key) == 24, "varmor_lpm_addr_key");
_Static_assert(sizeof(struct varmor_net_addr) == 8, "varmor_net_addr");
_Static_assert(sizeof(struct varmor_net_rule) == 88, "varmor_net_rule");
_Static_assert(sizeof(struct varmor_event) == 320, "varmor_event");

char LICENSE[] SEC("license") = "GPL";
