#!/usr/bin/env bash
# vm-systemd.sh [options] [KERNEL]
# The Debian package under a real systemd: boots Debian's kernel KERNEL (default 6.12) in
# qemu with systemd as PID 1 (scripts/vm-test.sh --systemd: this machine's root, read-only
# 9p under a tmpfs overlay), installs target/debian/varmor-run_*.deb there with dpkg -i and
# runs scripts/vm/systemd-checks.sh as root: socket activation by an unprivileged user's
# first varmor-run, a nocurl denial in the terminal and in the journal, a restart under a
# running sandbox, `systemctl stop` ending every sandbox, purge leaving nothing behind, and
# `systemd-analyze security varmord`. One PASS/FAIL line per check.
# Exit status: 0 when every check passed, 1 when one failed, 125 when the VM could not run.
set -uo pipefail
# One function, read whole before it runs: editing this file during a run does not derail it.
main() {
cd "$(dirname "$0")/.." || exit 125
prog=vm-systemd

usage() {
  cat <<'EOF'
usage: scripts/vm-systemd.sh [options] [KERNEL]

KERNEL: 6.12 (default) or 6.1, as for scripts/vm-test.sh.

options:
  --deb FILE      install this package (default: build it with scripts/package.sh)
  --no-build      package target/release as it is (scripts/package.sh --no-build)
  --lsm LIST      boot with lsm=LIST, e.g. Ubuntu's landlock,lockdown,yama,integrity,apparmor
                  (no bpf: varmord runs the compat backend)
  --timeout SECS  kill the VM after SECS seconds (default 900)
  --log FILE      also save the guest's serial console (systemd's boot) to FILE
  --verbose       stream the serial console to stderr too
  -h, --help      this text

Run it as root. Under TCG the whole run takes 4 to 8 minutes, most of it the boot,
dpkg -i and apt-get purge (varmord itself starts in a few seconds).
EOF
}
die() { echo "$prog: $*" >&2; exit 125; }

kernel=6.12 deb="" build=() timeout=900 vmopts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) [ $# -ge 2 ] || die "--deb needs a file"; deb=$2; shift 2 ;;
    --deb=*) deb=${1#*=}; shift ;;
    --no-build) build=(--no-build); shift ;;
    --timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout=$2; shift 2 ;;
    --timeout=*) timeout=${1#*=}; shift ;;
    --lsm) [ $# -ge 2 ] || die "--lsm needs a list"; vmopts+=(--lsm "$2"); shift 2 ;;
    --lsm=*) vmopts+=(--lsm "${1#*=}"); shift ;;
    --log) [ $# -ge 2 ] || die "--log needs a file"; vmopts+=(--log "$2"); shift 2 ;;
    --log=*) vmopts+=(--log "${1#*=}"); shift ;;
    --verbose|-v) vmopts+=(--verbose); shift ;;
    -h|--help) usage; exit 0 ;;
    6.1|6.12) kernel=$1; shift ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "must run as root (scripts/vm-test.sh needs it)"

t0=$SECONDS
if [ -z "$deb" ]; then
  echo "==> scripts/package.sh ${build[*]}"
  scripts/package.sh "${build[@]}" >target/vm-systemd-package.log 2>&1 \
    || { tail -n 20 target/vm-systemd-package.log >&2; die "scripts/package.sh failed (target/vm-systemd-package.log)"; }
  deb=$(ls -t target/debian/varmor-run_*.deb 2>/dev/null | head -n1)
fi
[ -f "$deb" ] || die "no package: $deb"
deb=$(cd "$(dirname "$deb")" && pwd -P)/$(basename "$deb")
case "$deb" in /tmp/*|/run/*|/dev/*) die "$deb: the guest mounts /tmp, /run and /dev afresh; put the package elsewhere" ;; esac
echo "==> $deb in a $kernel guest with systemd as PID 1"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# systemd's default start timeout is 90 s; varmord's start under TCG can take longer
# (on a real machine: about a second). Masked: apparmor.service (it would compile the
# host's AppArmor profiles for minutes under TCG), the timers (apt-daily could take dpkg's
# lock in the middle of the install) and timesyncd (no network here).
masks="apparmor.service timers.target systemd-timesyncd.service"
VARMOR_VM_APPEND="systemd.default_timeout_start_sec=600 systemd.mask=${masks// / systemd.mask=} ${VARMOR_VM_APPEND:-}" \
  scripts/vm-test.sh --systemd --cpus 1 --mem 2048 --timeout "$timeout" --cwd "$PWD" "${vmopts[@]}" \
  "$kernel" -- /bin/bash scripts/vm/systemd-checks.sh "$deb" | tee "$out"
rc=${PIPESTATUS[0]}

passes=$(grep -c '^PASS ' "$out")
fails=$(grep -c '^FAIL ' "$out")
started=$(grep -c '^== ' "$out")
if [ "$rc" = 124 ] || [ "$rc" = 125 ]; then
  if [ "$started" = 0 ]; then
    echo "$prog: the VM could not run the checks (vm-test exit $rc) after $((SECONDS - t0))s" >&2
    exit 125
  fi
  echo "FAIL vm: the guest $([ "$rc" = 124 ] && echo "timed out (--timeout $timeout)" || echo "failed") during the checks"
  fails=$((fails + 1))
fi
echo "$prog: $kernel: $passes passed, $fails failed in $((SECONDS - t0))s"
[ "$fails" = 0 ] && [ "$rc" = 0 ] && [ "$passes" -gt 0 ] && exit 0
exit 1
}
main "$@"
