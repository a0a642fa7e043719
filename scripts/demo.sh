#!/usr/bin/env bash
# The main job, end to end on a fresh machine (as root): install build deps, build, install
# varmor-run + varmord + profiles, start varmord, run curl confined by `nocurl` and show the
# denial, then stop varmord. Nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (varmord loads BPF programs): sudo $0" >&2; exit 1; }
./scripts/deps.sh
echo "==> building (release)"
cargo build --release --locked --quiet 2>/dev/null || cargo build --release --quiet
./scripts/install.sh target/release
echo "==> varmord --probe"
varmord --probe || true
sock=$(mktemp -d)/varmord.sock
RUST_LOG=warn varmord --socket "$sock" --backend auto &
vpid=$!
trap 'kill $vpid 2>/dev/null; wait $vpid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
python3 -m http.server 18080 --bind 127.0.0.1 >/dev/null 2>&1 &
hpid=$!
trap 'kill $vpid $hpid 2>/dev/null; wait $vpid 2>/dev/null || true' EXIT
sleep 0.5
echo
echo "==> outside the sandbox: curl http://127.0.0.1:18080/"
curl -sS -o /dev/null -w "HTTP %{http_code}\n" http://127.0.0.1:18080/
echo
echo "==> varmor-run --profile nocurl -- sh -c 'curl http://127.0.0.1:18080/'"
set +e
varmor-run --socket "$sock" --profile nocurl -- sh -c 'curl -sS -o /dev/null -w "HTTP %{http_code}\n" http://127.0.0.1:18080/'
echo "(exit status $?)"
echo
echo "==> varmor-run --profile base -- cat /etc/shadow"
varmor-run --socket "$sock" --profile base -- cat /etc/shadow
echo "(exit status $?)"
set -e
echo
echo "==> done; varmord stops now"
