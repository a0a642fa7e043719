#!/usr/bin/env bash
# Benchmarks side by side with bubblewrap, firejail and Landlock (as root; ~10-20 minutes).
# First the bpf-lsm backend in a 6.12 VM of the kernel matrix (launch and per-operation
# ratios; --no-vm leaves it out, --vm-only runs only it), then everything on this machine's
# backend. Writes results/bench.md, results/bench.json, results/bench.svg and, from the
# VM, results/bench-vm.json (shown in bench.md). `--live N` runs only varmord at scale:
# N live sandboxes on this machine (results/bench-live.json, shown in bench.md's next run;
# 10,000 take a few minutes and about 3 GB); `--live-vm N [BACKEND]` the same in a 6.12 VM
# (results/bench-live-vm.json; bpf-lsm unless told; an hour under TCG for 10,000), where
# varmord's open-file limit can be raised when this machine's cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
vm=1 host=1 live=0 live_vm=0
case "${1:-}" in
  --no-vm) vm=0 ;;
  --vm-only) host=0 ;;
  --live) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "usage: scripts/bench.sh --live N" >&2; exit 2; }; live=$2 vm=0 ;;
  --live-vm) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "usage: scripts/bench.sh --live-vm N [bpf-lsm|compat]" >&2; exit 2; }
    live_vm=$2 vm=0 host=0 ;;
  "") ;;
  *) echo "usage: scripts/bench.sh [--no-vm | --vm-only | --live N | --live-vm N [BACKEND]]" >&2; exit 2 ;;
esac
./scripts/deps.sh --bench
id varmor-test >/dev/null 2>&1 || useradd --create-home --shell /bin/sh varmor-test
cargo build --release --quiet --bins --examples
[ "$live" -gt 0 ] && exec python3 scripts/bench.py --live "$live"
if [ "$live_vm" -gt 0 ]; then
  backend=${3:-bpf-lsm}
  echo "==> bench: $live_vm live sandboxes ($backend) in a 6.12 VM (qemu TCG)"
  mkdir -p results target
  log=target/bench-live-vm.log
  # Memory for the sandboxes' processes and namespaces; the guest's init may raise limits.
  if scripts/vm-test.sh --cpus 2 --mem 8192 --timeout 5400 --log target/bench-live-vm.console --cwd "$PWD" 6.12 -- \
      python3 scripts/bench.py --live "$live_vm" "$backend" >"$log" 2>&1; then
    line=$(grep -a '^bench-live-json: ' "$log" | tail -1)
    printf '%s\n' "${line#bench-live-json: }" > results/bench-live-vm.json
    echo "==> bench: results/bench-live-vm.json"
    exit 0
  fi
  echo "==> bench: the VM leg failed (see $log)" >&2
  tail -20 "$log" >&2
  exit 1
fi
if [ "$vm" = 1 ]; then
  echo "==> bench: the bpf-lsm backend in a 6.12 VM (qemu TCG; a few minutes)"
  mkdir -p results target
  log=target/bench-vm.log
  if scripts/vm-test.sh --cpus 2 --mem 3072 --timeout 2400 --cwd "$PWD" 6.12 -- \
      python3 scripts/bench.py --vm bpf-lsm >"$log" 2>&1; then
    line=$(grep -a '^bench-json: ' "$log" | tail -1)
    printf '%s\n' "${line#bench-json: }" | python3 -c '
import json, sys, time
r = json.load(sys.stdin); r["date"] = time.strftime("%Y-%m-%d")
json.dump(r, open("results/bench-vm.json", "w"), indent=2)'
    echo "==> bench: results/bench-vm.json"
  else
    echo "==> bench: the VM leg failed (see $log); results/bench-vm.json left as it was" >&2
    tail -20 "$log" >&2
  fi
fi
[ "$host" = 1 ] && exec python3 scripts/bench.py
exit 0
