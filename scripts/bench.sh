#!/usr/bin/env bash
# Benchmarks side by side with bubblewrap, firejail and Landlock (as root; ~5-10 minutes).
# Writes results/bench.md, results/bench.json and results/bench.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --bench
id varmor-test >/dev/null 2>&1 || useradd --create-home --shell /bin/sh varmor-test
cargo build --release --quiet --bins --examples
exec python3 scripts/bench.py "$@"
