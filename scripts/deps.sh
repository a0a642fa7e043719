#!/usr/bin/env bash
# Installs the system packages varmor-run needs to build and test (Debian/Ubuntu), once.
set -euo pipefail
need=(clang libelf-dev zlib1g-dev pkg-config bpftool libseccomp-dev curl python3 util-linux iproute2 libcap2-bin zsh fish desktop-file-utils qemu-system-x86 busybox-static cpio kmod xz-utils strace)
# The package (scripts/package.sh): its checks, and the AppArmor profile parse (tests/systemd.rs).
need+=(apparmor lintian systemd)
# The workload suite (tests/workloads.rs): builds, venv + pip, a browser, and a cargo the
# unprivileged test user can run (root's rustup toolchain lives in /root).
need+=(make gcc git python3-venv firefox-esr cargo)
# tests/escape_unix.rs: a second client for host sockets.
need+=(socat)
# The unix-socket tests (tests/confine_unix.rs): host services a sandbox must not reach.
need+=(tmux openssh-client dbus-daemon dbus-bin)
# npm: Debian's package, unless a node install (nodesource) already brings its own.
command -v npm >/dev/null || need+=(npm)
[ "${1:-}" = "--bench" ] && need+=(hyperfine bubblewrap firejail)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "error: cargo not found; install Rust (https://rustup.rs) first" >&2; exit 1
fi
# bpffs and securityfs are not mounted at boot everywhere.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security || true
