#!/usr/bin/env bash
# Benchmarks side by side with bubblewrap, firejail and Landlock (as root; ~10-20 minutes).
# First the bpf-lsm backend in a 6.12 VM of the kernel matrix (launch and per-operation
# ratios; --no-vm leaves it out, --vm-only runs only it), then everything on this machine's
# backend. Writes results/bench.md, results/bench.json, results/bench.svg and, from the
# VM, results/bench-vm.json (shown in bench.md).
set -euo pipefail
cd "$(dirname "$0")/.."
vm=1 host=1
case "${1:-}" in
  --no-vm) vm=0 ;;
  --vm-only) host=0 ;;
  "") ;;
  *) echo "usage: scripts/bench.sh [--no-vm | --vm-only]" >&2; exit 2 ;;
esac
./scripts/deps.sh --bench
id varmor-test >/dev/null 2>&1 || useradd --create-home --shell /bin/sh varmor-test
cargo build --release --quiet --bins --examples
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
