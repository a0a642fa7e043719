#!/usr/bin/env bash
# vm-test.sh [options] KERNEL -- CMD [ARGS...]
# Boots Debian's kernel KERNEL (6.1 or 6.12) under qemu on this machine's own root
# filesystem (9p, read-only, under a tmpfs overlay) and runs CMD in it as root. CMD's
# stdout/stderr come out on ours; our exit status is CMD's (124: timeout, 125: the VM or
# this runner failed, with one line saying what). See scripts/vm/README.md.
set -uo pipefail
# The whole script is one function, read before anything runs: editing this file while a
# VM is up does not derail the runner that booted it.
main() {

here=$(cd "$(dirname "$0")" && pwd)
vmdir=$here/vm
prog=vm-test

usage() {
  cat <<'EOF'
usage: scripts/vm-test.sh [options] KERNEL -- CMD [ARGS...]

Boots Debian's kernel KERNEL under qemu (TCG) with this machine's root filesystem
(read-only 9p + tmpfs overlay: every file is there, every write is thrown away) and runs
CMD as root in it. CMD's stdout/stderr stream to ours; the exit status is CMD's,
124 on timeout, 125 when the VM or the runner failed.

KERNEL:  6.1   Debian bookworm linux-image-6.1.0-*-amd64-unsigned (newest)
         6.12  Debian trixie  linux-image-6.12.*+deb13-amd64-unsigned (newest)
         (downloaded once into $VARMOR_VM_CACHE, default /var/cache/varmor-vm; never installed)

options:
  --lsm LIST       boot with lsm=LIST (default: the kernel's own list, bpf included)
  --cpus N         virtual CPUs (default 1)
  --mem MB         guest memory in MiB (default 2048)
  --timeout SECS   kill the VM after SECS seconds, boot included; exit 124 (default 1800)
  --env NAME=VAL   export NAME=VAL for CMD (repeatable)
  --cwd DIR        CMD's working directory (default: ours; must exist in the host's root
                   and not be under /tmp, /run or /dev, which the guest mounts afresh)
  --log FILE       also save the whole serial console log to FILE
  --verbose        also stream the serial console to stderr
  --systemd        boot systemd (/lib/systemd/systemd) as PID 1 instead of bash, and run
                   CMD from a unit of it (vm-test.service, pulled in by vm-test.target
                   after basic.target); the journal stays in guest RAM
  -h, --help       this text

environment:
  VARMOR_VM_CACHE  cache directory (kernels, initramfs, private apt state)
  VARMOR_VM_KVM=1  use KVM instead of TCG (off by default: it hangs on stock guests here)
  VARMOR_VM_APPEND extra kernel command line (e.g. "loglevel=7" to see the whole boot)

examples:
  scripts/vm-test.sh 6.12 -- cat /sys/kernel/security/lsm
  scripts/vm-test.sh 6.12 -- target/debug/varmord --probe
  scripts/vm-test.sh --lsm landlock,lockdown,yama,integrity,apparmor 6.1 -- target/debug/varmord --probe
  scripts/vm-test.sh --cpus 2 --env VARMOR_TEST_REQUIRE=bpf-lsm --log /tmp/vm.log 6.12 -- \
      cargo test --offline -- --test-threads=2
EOF
}

die() { echo "$prog: $*" >&2; exit 125; }

lsm="" cpus=1 mem=2048 timeout=1800 cwd=$PWD log="" verbose=0 init=bash
envs=()
kernel="" cmd=()
# Options go before `--`, on either side of KERNEL; everything after `--` is the command.
while [ $# -gt 0 ]; do
  case "$1" in
    --lsm|--cpus|--mem|--timeout|--env|--cwd|--log)
      [ $# -ge 2 ] || die "$1 needs a value (see --help)"
      opt=$1 val=$2; shift 2 ;;
    --lsm=*|--cpus=*|--mem=*|--timeout=*|--env=*|--cwd=*|--log=*)
      opt=${1%%=*} val=${1#*=}; shift ;;
    --verbose|-v) verbose=1; shift; continue ;;
    --systemd) init=systemd; shift; continue ;;
    -h|--help) usage; exit 0 ;;
    --) shift; cmd=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      if [ -z "$kernel" ]; then kernel=$1; shift; continue; fi
      cmd=("$@"); break ;; # no `--`: the command starts at the first word after KERNEL
  esac
  case "$opt" in
    --lsm) lsm=$val ;; --cpus) cpus=$val ;; --mem) mem=$val ;; --timeout) timeout=$val ;;
    --env) envs+=("$val") ;; --cwd) cwd=$val ;; --log) log=$val ;;
  esac
done
[ -n "$kernel" ] || { usage >&2; exit 125; }
[ ${#cmd[@]} -gt 0 ] || die "no command given (KERNEL -- CMD [ARGS...])"

case "$kernel" in 6.1|6.12) ;; *) die "unknown kernel '$kernel' (known: 6.1, 6.12)" ;; esac
[[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die "--cpus wants a positive number, not '$cpus'"
[[ "$mem" =~ ^[1-9][0-9]*$ ]] || die "--mem wants MiB, not '$mem'"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds, not '$timeout'"
[[ -z "$lsm" || "$lsm" =~ ^[a-z0-9_,]+$ ]] || die "--lsm wants a comma-separated list, not '$lsm'"
for e in "${envs[@]}"; do
  [[ "$e" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env wants NAME=VALUE, not '$e'"
done
cwd=$(cd "$cwd" 2>/dev/null && pwd -P) || die "--cwd: no such directory"
case "$cwd/" in /tmp/*|/run/*|/dev/*|/proc/*|/sys/*)
  die "--cwd $cwd: the guest mounts /tmp, /run, /dev, /proc and /sys afresh; use a directory elsewhere" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root (qemu shares / with the guest as root)"

# --- host tools ----------------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
if ! command -v busybox >/dev/null || ! busybox --list 2>/dev/null | grep -x switch_root >/dev/null \
   || ldd "$(command -v busybox)" >/dev/null 2>&1; then
  need+=(busybox-static)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "$prog: installing ${need[*]}" >&2
  (
    exec 9>/var/lib/apt/.vm-test-install.lock && flock 9
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
      apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
  ) || die "installing ${need[*]} failed"
fi

export VARMOR_VM_CACHE=${VARMOR_VM_CACHE:-/var/cache/varmor-vm}
kdir=$("$vmdir/fetch-kernel.sh" "$kernel") || die "download of kernel $kernel failed (see above)"
initrd=$("$vmdir/mkinitramfs.sh" "$kdir") || die "building the initramfs for kernel $kernel failed (see above)"

# --- the run directory: FIFOs for the console and the virtio ports, the guest's share -----
# A runner that was SIGKILLed could not remove its directory: sweep those whose runner is gone.
for d in /tmp/vm-test.??????; do
  [ -f "$d/runner.pid" ] && ! kill -0 "$(cat "$d/runner.pid")" 2>/dev/null && rm -rf "$d"
done
run=$(mktemp -d /tmp/vm-test.XXXXXX) || die "mktemp failed"
echo $$ >"$run/runner.pid"
qpid="" readers=() log_saved=0
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  trap '' INT TERM HUP # a second signal (timeout(1) signals its whole group too) must not cut this short
  if [ -n "$qpid" ]; then # interrupted: stop qemu (through timeout), KILL it if it lingers
    kill -TERM "$qpid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$qpid" 2>/dev/null; then
      [ -s "$run/qemu.pid" ] && kill -KILL "$(cat "$run/qemu.pid")" 2>/dev/null
      kill -KILL "$qpid" 2>/dev/null
    fi
    wait "$qpid" 2>/dev/null
  fi
  for p in "${readers[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$log" ] && [ "$log_saved" = 0 ] && cat "$run/console.log" >>"$log" 2>/dev/null
  rm -rf "$run"
}
trap cleanup EXIT
for sig in INT:130 TERM:143 HUP:129; do
  # shellcheck disable=SC2064
  trap "trap '' INT TERM HUP; echo '$prog: interrupted (SIG${sig%:*})' >&2; exit ${sig#*:}" "${sig%:*}"
done

mkdir "$run/share"
cp "$vmdir/stage2.sh" "$run/share/stage2.sh"
base_env=(PATH="$PATH" HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb
          VARMOR_VM_KERNEL="$kernel")
[ -n "${LANG:-}" ] && base_env+=(LANG="$LANG")
{
  printf 'VMTEST_CWD=%q\n' "$cwd"
  printf 'VMTEST_ENV=('; printf '%q ' "${base_env[@]}" "${envs[@]}"; printf ')\n'
  printf 'VMTEST_CMD=('; printf '%q ' "${cmd[@]}"; printf ')\n'
} >"$run/share/config.sh"
[[ "$kdir" =~ ^[A-Za-z0-9._/+-]+$ ]] || die "VARMOR_VM_CACHE: keep its path to letters, digits and ._/+- ($kdir)"
printf 'vmtest_hostname=%s\nvmtest_kdir=%s\nvmtest_init=%s\n' "vm-${kernel//./-}" "$kdir" "$init" \
  >"$run/share/stage1.env"
for f in con out err ctl; do mkfifo "$run/$f" || die "mkfifo failed"; done

if [ -n "$log" ]; then : >"$log" || die "--log $log: cannot write"; fi
# Each reader keeps draining its FIFO even once our own stdout/stderr is gone (`| head`):
# a FIFO nobody reads would stall the guest's writes, and with them the command.
{
  if [ "$verbose" = 1 ]; then tee -p "$run/console.log" >&2; else cat >"$run/console.log"; fi
} <"$run/con" &
readers+=($!)
{ cat || exec cat >/dev/null; } <"$run/out" 2>/dev/null &
readers+=($!)
{ cat >&2 || exec cat >/dev/null; } <"$run/err" &
readers+=($!)
while IFS= read -r line; do echo "$EPOCHREALTIME $line"; done <"$run/ctl" >"$run/ctl.log" &
readers+=($!)

append="console=ttyS0 quiet panic=-1"
[ -n "$lsm" ] && append+=" lsm=$lsm"
[ "$init" = systemd ] && append+=" systemd.unit=vm-test.target"
[ -n "${VARMOR_VM_APPEND:-}" ] && append+=" $VARMOR_VM_APPEND"
if [ "${VARMOR_VM_KVM:-0}" = 1 ]; then accel=(-accel kvm -cpu host); else accel=(-accel tcg -cpu "${VARMOR_VM_CPU:-max}"); fi
# The plain ELF boots through PVH, skipping the bzImage's decompression (seconds under TCG).
kernel_image=$kdir/vmlinuz
[ -f "$kdir/vmlinux" ] && kernel_image=$kdir/vmlinux
# shellcheck disable=SC2054 # qemu's own options are comma-separated
qemu=(
  qemu-system-x86_64 -nodefaults -no-user-config -machine pc "${accel[@]}"
  -smp "$cpus" -m "$mem" -display none -no-reboot -nic none -pidfile "$run/qemu.pid"
  -kernel "$kernel_image" -initrd "$initrd" -append "$append"
  -chardev "file,id=con,path=$run/con" -serial chardev:con
  -device virtio-serial-pci,id=vs
  -chardev "file,id=ctl,path=$run/ctl" -device virtserialport,bus=vs.0,chardev=ctl,name=vmtest.ctl
  -chardev "file,id=out,path=$run/out" -device virtserialport,bus=vs.0,chardev=out,name=vmtest.stdout
  -chardev "file,id=err,path=$run/err" -device virtserialport,bus=vs.0,chardev=err,name=vmtest.stderr
  -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap
  -virtfs "local,path=$run/share,mount_tag=vmtest,security_model=none"
)

t0=$EPOCHREALTIME
# If this script is SIGKILLed (no trap runs), the parent-death signals still take down
# timeout(1) and, through it, qemu.
pdeath=()
setpriv --help 2>/dev/null | grep -q -- --pdeathsig && pdeath=(setpriv --pdeathsig KILL)
"${pdeath[@]}" timeout -k 10 "$timeout" "${pdeath[@]}" "${qemu[@]}" </dev/null 2>"$run/qemu.err" &
qpid=$!
wait "$qpid"
qrc=$?
qpid=""
t1=$EPOCHREALTIME

# qemu has closed the FIFOs; a reader still stuck in open() (qemu died before opening its
# end) is released by a read-write open, then given a moment to finish its output.
for f in con out err ctl; do exec {fd}<>"$run/$f" && exec {fd}>&-; done
for p in "${readers[@]}"; do
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill "$p" 2>/dev/null
  wait "$p" 2>/dev/null
done
readers=()
[ -n "$log" ] && cat "$run/console.log" >>"$log"
log_saved=1
if [ "$verbose" = 1 ]; then
  awk -v t0="$t0" -v p="$prog" '{ t = $1; $1 = ""; printf "%s: +%.2fs%s\n", p, t - t0, $0 }' "$run/ctl.log" >&2
fi

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
ctlv() { awk -v k="$1" '$2 == k { $1 = ""; $2 = ""; sub(/^  /, ""); v = $0 } END { print v }' "$run/ctl.log"; }
ctlt() { awk -v k="$1" '$2 == k { t = $1 } END { print t }' "$run/ctl.log"; }

total=$(elapsed "$t0" "$t1")
t_start=$(ctlt start)
boot=$([ -n "$t_start" ] && elapsed "$t0" "$t_start" || echo "?")
guest_lsm=$(ctlv lsm)
shown_lsm=${guest_lsm:-${lsm:-default}}
status=$(ctlv exit)
[ -n "$status" ] || status=$(cat "$run/share/status" 2>/dev/null)
failure=$(ctlv fail)

tail_console() {
  if [ -s "$run/console.log" ]; then
    echo "$prog: --- last lines of the serial console ---" >&2
    tail -n 25 "$run/console.log" | tr -d '\r' >&2
    echo "$prog: ---" >&2
  fi
}

if [ "$qrc" = 124 ] || { [ "$qrc" = 137 ] && awk -v t="$total" -v l="$timeout" 'BEGIN { exit !(t >= l) }'; }; then
  echo "$prog: $kernel: timeout after ${timeout}s (command $([ -n "$t_start" ] && echo "had started" || echo "had not started yet"))" >&2
  echo "$prog: $kernel (lsm=$shown_lsm): exit 124 in ${total}s (boot ${boot}s)" >&2
  exit 124
fi
if [[ "$status" =~ ^[0-9]+$ ]]; then
  echo "$prog: $kernel (lsm=$shown_lsm): exit $status in ${total}s (boot ${boot}s)" >&2
  exit "$status"
fi
if [ -n "$failure" ]; then
  reason="boot failed: $failure"
elif [ "$qrc" != 0 ] && [ -z "$(ctlt stage1)" ] && [ ! -s "$run/console.log" ]; then
  reason="qemu failed (exit $qrc): $(tr '\n' ' ' <"$run/qemu.err")"
elif grep -q "Kernel panic" "$run/console.log" 2>/dev/null; then
  reason="kernel panic: $(grep -m1 "Kernel panic" "$run/console.log" | tr -d '\r')"
elif [ -z "$(ctlt stage1)" ]; then
  reason="the guest never reached the initramfs (kernel boot failed)"
elif [ "$init" = systemd ] && [ -n "$(ctlt systemd)" ] && [ -z "$(ctlt stage2)" ]; then
  reason="systemd did not start vm-test.service (see the console: --log or --verbose)"
elif [ -z "$(ctlt stage2)" ]; then
  reason="the initramfs did not hand over to stage 2"
else
  reason="the guest powered off without reporting an exit status"
fi
tail_console
[ -s "$run/qemu.err" ] && sed "s/^/$prog: qemu: /" "$run/qemu.err" >&2
echo "$prog: $kernel: $reason" >&2
echo "$prog: $kernel (lsm=$shown_lsm): exit 125 in ${total}s (boot ${boot}s)" >&2
exit 125
}
main "$@"
