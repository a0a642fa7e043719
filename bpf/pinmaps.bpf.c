// SPDX-License-Identifier: Apache-2.0
/* pinmaps.bpf.c - the maps of bpf/maps.bpf.h and nothing else.
 *
 * crates/kernel/src/bpf/maps.rs loads this object with a pin root path: libbpf creates and pins
 * every shared map there (or reuses the pinned ones), so varmord can populate rules
 * before, and independently of, any program being loaded or attached.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";
