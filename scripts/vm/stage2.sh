#!/bin/bash
# Stage 2, PID 1 of the vm-test guest: the host's bash, started by stage 1 (scripts/vm/init)
# with switch_root once the overlay root and the API filesystems are in place. Runs the
# command of /run/vm-test/config.sh in its directory, with exactly the environment given
# there, stdin /dev/null and stdout/stderr on the virtio ports vmtest.stdout/vmtest.stderr;
# reports its exit status (line `exit N` on the ctl port and /run/vm-test/status) and
# powers off. Only bash builtins up to the command: each program started from the 9p root
# costs time under TCG.
set -u
ctl=${VMTEST_CTL:-}
say() { [ -n "$ctl" ] && echo "$*" >"$ctl"; }
off() {
  [ -x /bin/busybox ] && /bin/busybox poweroff -f
  echo o >/proc/sysrq-trigger
  sleep 30
  exit 1 # PID 1 exiting panics the kernel; qemu runs with -no-reboot, so it ends anyway
}
fail() {
  echo "VMTEST-FAIL: $*" >/dev/console
  say "fail $*"
  off
}
uptime_s() { local up _; read -r up _ </proc/uptime; echo "$up"; }
say "stage2 $(uptime_s)"

# shellcheck source=/dev/null
. /run/vm-test/config.sh || fail "stage2: reading /run/vm-test/config.sh"

port() { # the /dev node of the virtio-serial port named $1
  local p name
  for p in /sys/class/virtio-ports/*; do
    read -r name <"$p/name" 2>/dev/null && [ "$name" = "$1" ] && { echo "/dev/${p##*/}"; return 0; }
  done
  return 1
}
out=$(port vmtest.stdout) || fail "stage2: no virtio port vmtest.stdout"
err=$(port vmtest.stderr) || fail "stage2: no virtio port vmtest.stderr"

cd "$VMTEST_CWD" || fail "stage2: cwd $VMTEST_CWD does not exist in the guest"
lsm=""
read -r lsm </sys/kernel/security/lsm 2>/dev/null
say "lsm $lsm"
say "start $(uptime_s)"
env -i "${VMTEST_ENV[@]}" "${VMTEST_CMD[@]}" </dev/null >"$out" 2>"$err" &
pid=$!
# As PID 1, bash also reaps the orphans re-parented to it while it waits.
wait "$pid"
rc=$?
say "end $(uptime_s)"
echo "$rc" >/run/vm-test/status
say "exit $rc"
off
