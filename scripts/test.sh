#!/usr/bin/env bash
# The whole test suite (as root, on a fresh machine): deps, fmt, clippy, every test.
# Tests that need a usable BPF LSM skip with a printed reason; VARMOR_TEST_REQUIRE=bpf-lsm
# turns those skips into failures.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings"
cargo clippy --all-targets --quiet -- -D warnings
echo "==> cargo test"
# One test binary at a time: each starts its own varmord.
cargo test --quiet -- --test-threads=2
