#!/bin/bash
# systemd-checks.sh DEB — run by scripts/vm-systemd.sh inside a guest booted with
# `scripts/vm-test.sh --systemd` (systemd is PID 1), as root. Installs the package DEB
# into the guest's tmpfs overlay and checks, one PASS/FAIL line each:
#   install   dpkg -i: the postinst enables and starts varmord.socket
#   socket    `systemctl enable --now varmord.socket`; varmord itself is not running yet
#   first     the first varmor-run of an unprivileged user starts varmord through the socket
#   deny      `varmor-run --profile nocurl -- curl --version` is denied, with a line in the
#             terminal and an entry in `journalctl -u varmord VARMOR_PROFILE=nocurl`
#   restart   `systemctl restart varmord` while a sandbox keeps reading a file its profile
#             denies: no read gets through (whether the sandbox survives is reported)
#   stop      `systemctl stop varmord.socket varmord` ends every sandbox (their sleeps are gone)
#   purge     `apt-get purge varmor-run` (varmord and a sandbox running) leaves nothing
#             running, pinned (/sys/fs/bpf/varmor*), mounted, loaded or on disk
# and reports `systemd-analyze security varmord` (INFO lines, and its score).
# Exit status: 0 when every check passed, 1 otherwise.
set -u
deb=${1:?usage: systemd-checks.sh DEB}
user=varmor-sd
dir=/srv/varmor-sd
passes=0 fails=0
t0=$SECONDS
pass() { echo "PASS $*"; passes=$((passes + 1)); }
# The first failure shows the units' state and varmord's journal at once: a later check
# may hang until the guest's timeout, and nothing after it would be printed.
fail() {
  echo "FAIL $*"; fails=$((fails + 1))
  [ "$fails" = 1 ] || return 0
  echo "== the units and varmord's journal at the first failure"
  systemctl status --no-pager varmord.socket varmord.service 2>&1 | indent
  journalctl -u varmord -u varmord.socket --no-pager -o short-monotonic -n 80 2>&1 | indent
}
info() { echo "INFO $*"; }
step() { echo "== [+$((SECONDS - t0))s] $*"; }
indent() { sed 's/^/   | /'; }
# What a sandbox printed on its stderr, without the shell's own notice that it was KILLed.
said() { local t; t=$(grep -hv 'Killed .*( cd / ' "$@" | tr '\n' ' ' | cut -c1-300); echo "${t:-nothing}"; }
# check NAME COND-RESULT(0/1) MESSAGE
check() { if [ "$2" = 0 ]; then pass "$1: $3"; else fail "$1: $3"; fi; }
# Under TCG varmord's start (its canaries, loading and verifying the BPF programs) takes
# tens of seconds: the launcher waits that long for its first answer.
slow=(env VARMOR_ANSWER_TIMEOUT=600)
as_user() { # as_user CMD...: as $user, no PAM session, a clean environment, from /
  (cd / && env -i HOME=/home/$user USER=$user LOGNAME=$user PATH=/usr/bin:/bin LANG=C.UTF-8 \
    /usr/bin/setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@")
}
wait_for() { # wait_for SECS CMD...: until CMD succeeds, at most SECS seconds
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.5; done
}
varmord_pids() { pgrep -x varmord; }
no_varmord() { ! pgrep -x varmord >/dev/null; }
sandbox_cgroups() { ls -d /sys/fs/cgroup/varmor/sb-* 2>/dev/null; }
unit_state() { systemctl show -p ActiveState --value "$1" 2>/dev/null; }
mounts() { awk '{ print $5, $(NF - 2) }' /proc/self/mountinfo | sort; }
bpf_progs() { command -v bpftool >/dev/null && bpftool prog show 2>/dev/null | awk '/^[0-9]+:/ { for (i = 1; i < NF; i++) if ($i == "name") print $(i + 1) }' | sort -u; }

step "guest: $(uname -r), PID 1 $(cat /proc/1/comm), $(systemctl --version | head -n1)"
state=$(systemctl is-system-running 2>/dev/null)
info "systemctl is-system-running: $state"
systemctl --failed --no-legend --plain 2>/dev/null | sed 's/^/INFO failed unit: /'
info "LSMs: $(cat /sys/kernel/security/lsm)"
[ -f "$deb" ] || { fail "install: no package at $deb"; exit 1; }

# --- the machine before: what purge must leave as it was ----------------------------------
# A Docker-built host has policy-rc.d refusing every service start (exit 101): not so on a
# real Debian. The man-db trigger would index every man page under TCG for minutes.
rm -f /usr/sbin/policy-rc.d /var/lib/man-db/auto-update
# The host's own install (scripts/install.sh, run by demo.sh, puts varmord and varmor-run
# in /usr/local) shows through this root, and /usr/local comes first in root's PATH: in
# the guest's overlay only the package's binaries are left.
rm -f /usr/local/bin/varmor-run /usr/local/bin/varmord /usr/local/sbin/varmord
# install.sh also puts units in /etc/systemd/system, which would hide the package's (and
# start /usr/local/bin/varmord, just removed).
rm -f /etc/systemd/system/varmord.service /etc/systemd/system/varmord.socket
systemctl daemon-reload
mounts >/tmp/mounts.before
ls -A /sys/fs/bpf >/tmp/bpffs.before
bpf_progs >/tmp/progs.before

# --- install ----------------------------------------------------------------------------------
step "dpkg -i $deb"
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" 2>&1 | indent
rc=${PIPESTATUS[0]}
check install "$rc" "dpkg -i exit $rc"
en=$(systemctl is-enabled varmord.socket 2>&1)
st=$(unit_state varmord.socket)
[ "$en" = enabled ] && [ "$st" = active ]
check install $? "after the postinst varmord.socket is $en, $st"

step "systemctl enable --now varmord.socket"
systemctl enable --now varmord.socket 2>&1 | indent
rc=${PIPESTATUS[0]}
st=$(unit_state varmord.socket) svc=$(unit_state varmord.service)
[ "$rc" = 0 ] && [ "$st" = active ] && [ "$svc" = inactive ] && no_varmord
check socket $? "enable --now exit $rc; varmord.socket $st, varmord.service $svc, varmord processes: $(varmord_pids | tr '\n' ' ')"
ls -l /run/varmor/varmord.sock 2>&1 | sed 's/^/INFO /'

useradd -m -s /bin/bash "$user" || fail "useradd $user"
uid=$(id -u "$user") gid=$(id -g "$user")
mkdir -p "$dir" && echo secret >"$dir/secret" && echo ok >"$dir/ok" && chmod 644 "$dir"/*
info "user $user uid $uid"

# --- (a) the first varmor-run starts varmord through the socket ------------------------------
step "first varmor-run as $user"
ts=$SECONDS
out=$(as_user "${slow[@]}" varmor-run --profile base -- cat "$dir/ok" 2>/tmp/first.err)
rc=$?
took=$((SECONDS - ts))
indent </tmp/first.err
svc=$(unit_state varmord.service)
main=$(systemctl show -p MainPID --value varmord.service)
trig=$(systemctl show -p TriggeredBy --value varmord.service)
[ "$rc" = 0 ] && [ "$out" = ok ] && [ "$svc" = active ] && [ "${main:-0}" != 0 ]
check first $? "exit $rc in ${took}s, output '$out'; varmord.service $svc, MainPID $main (parent $(ps -o ppid= -p "${main:-1}" | tr -d ' ')), TriggeredBy $trig"
journalctl -u varmord --no-pager -o cat -n 20 2>/dev/null | indent
ts=$SECONDS
out=$(as_user varmor-run --profile base -- cat "$dir/ok" 2>&1)
rc=$?
[ "$rc" = 0 ] && [ "$out" = ok ]
check first $? "a second launch, with the launcher's default 10 s answer timeout: exit $rc in $((SECONDS - ts))s"

# --- (b) nocurl: a line in the terminal, an entry in the journal -----------------------------
step "varmor-run --profile nocurl -- curl --version as $user"
out=$(as_user varmor-run --profile nocurl -- curl --version 2>&1)
rc=$?
echo "$out" | indent
# Two writers share the terminal: varmord's line can land inside the launcher's own
# message, which it writes in pieces ("varmor-run: " ... "curl: cannot execute: ...").
line=$(grep -o -m1 'varmor: denied .*' <<<"$out")
if [ -n "$line" ] && ! grep -q '^varmor: denied' <<<"$out"; then
  info "deny: the denial line did not start a line of its own: $(grep -m1 'varmor: denied' <<<"$out")"
fi
[ "$rc" != 0 ] && [ -n "$line" ] && grep -q curl <<<"$line" && ! grep -q '^curl [0-9]' <<<"$out"
check deny $? "exit $rc; terminal line: ${line:-none}"
entries() { journalctl -u varmord VARMOR_PROFILE=nocurl -o export --no-pager 2>/dev/null | tr -d '\0'; }
has_entry() { entries | grep -aq '^VARMOR_PATH=.*curl'; }
wait_for 20 has_entry
j=$(entries)
n=$(grep -ac '^VARMOR_PROFILE=' <<<"$j")
fields=$(grep -aE '^(MESSAGE|VARMOR_[A-Z_]+|_SYSTEMD_UNIT|PRIORITY)=' <<<"$j" | head -n 12 | tr '\n' ' ')
grep -aq "^VARMOR_UID=$uid\$" <<<"$j" && grep -aq '^_SYSTEMD_UNIT=varmord.service$' <<<"$j"
check deny $? "journalctl -u varmord VARMOR_PROFILE=nocurl: $n entries; $fields"

# --- (e) systemd-analyze security ------------------------------------------------------------
step "systemd-analyze security varmord"
sa=$(systemd-analyze security --no-pager varmord 2>&1)
grep -v '✓' <<<"$sa" | grep -v '^ *$' | sed 's/^/INFO /'
score=$(grep -o 'Overall exposure level for varmord.service: .*' <<<"$sa")
info "systemd-analyze security score: ${score:-none}"

# The checks below need a varmord that answers: without one each would wait minutes.
reachable() { as_user env VARMOR_ANSWER_TIMEOUT=120 varmor-run --quiet --profile base -- true 2>/dev/null; }
if ! reachable; then
  fail "varmord: no launch gets an answer (varmord.service $(unit_state varmord.service), varmord.socket $(unit_state varmord.socket)); restart and stop are not tried"
else
# --- restart under a running sandbox ---------------------------------------------------------
step "systemctl restart varmord while a sandbox reads a denied file"
cat >"$dir/deny.yaml" <<'EOF'
description: vm-systemd restart check - the secret is denied, ok is not
file:
  - deny: [read]
    paths: [/srv/varmor-sd/secret]
EOF
chmod 644 "$dir/deny.yaml"
loop='i=0; while [ $i -lt 3000 ]; do if cat /srv/varmor-sd/secret >/dev/null 2>&1; then echo LEAK; else echo DENIED; fi; i=$((i + 1)); done; echo DONE'
as_user varmor-run --quiet --profile "$dir/deny.yaml" -- /bin/sh -c "$loop" >/tmp/loop.out 2>/tmp/loop.err &
lpid=$!
denied() { [ "$(grep -c DENIED /tmp/loop.out)" -ge 5 ]; }
if wait_for 60 denied; then
  before=$(wc -l </tmp/loop.out)
  ts=$SECONDS
  systemctl restart varmord 2>&1 | indent
  rrc=${PIPESTATUS[0]}
  rtook=$((SECONDS - ts))
  sleep 5
  alive=no; kill -0 "$lpid" 2>/dev/null && alive=yes
  after=$(wc -l </tmp/loop.out)
  leaks=$(grep -c LEAK /tmp/loop.out)
  [ "$leaks" = 0 ]
  check restart $? "restart exit $rrc in ${rtook}s; reads of the denied file before it: $before, all denied; reads that got through: $leaks; lines after: $after; varmord.service $(unit_state varmord.service)"
  info "restart: the sandbox $([ "$alive" = yes ] && echo "survived the restart" || echo "did not survive the restart (varmord ends its sandboxes when it stops; a restart that keeps them is not built)")"
  info "restart: the sandbox's stderr: $(said /tmp/loop.err)"
  [ "$alive" = yes ] && { kill "$lpid" 2>/dev/null; pkill -u "$user" -x sh; }
else
  fail "restart: the sandbox never started reading ($(said /tmp/loop.err))"
  kill "$lpid" 2>/dev/null
fi
wait "$lpid" 2>/dev/null
info "restart: launcher exit $?"
svc_active() { [ "$(unit_state varmord.service)" = active ]; }
wait_for 300 svc_active || info "varmord.service after the restart: $(unit_state varmord.service)"

# --- (c) stop ends every sandbox --------------------------------------------------------------
step "systemctl stop varmord.socket varmord with two sandboxes running"
as_user "${slow[@]}" varmor-run --profile base -- sleep 1000 >/tmp/s1.out 2>/tmp/s1.err &
s1=$!
as_user "${slow[@]}" varmor-run --profile nocurl -- sleep 1001 >/tmp/s2.out 2>/tmp/s2.err &
s2=$!
two() { [ "$(pgrep -u "$user" -x sleep | wc -l)" = 2 ]; }
if wait_for 300 two; then
  sleeps=$(pgrep -u "$user" -x sleep | tr '\n' ' ')
  info "sleeps $sleeps; sandbox cgroups: $(sandbox_cgroups | tr '\n' ' ')"
  ts=$SECONDS
  systemctl stop varmord.socket varmord 2>&1 | indent
  rc=${PIPESTATUS[0]}
  gone() { ! pgrep -u "$user" -x sleep >/dev/null && no_varmord; }
  wait_for 30 gone
  left=$(pgrep -u "$user" -x sleep | tr '\n' ' ')
  sleep 1
  l1=no; kill -0 "$s1" 2>/dev/null && l1=yes
  l2=no; kill -0 "$s2" 2>/dev/null && l2=yes
  [ "$rc" = 0 ] && [ -z "$left" ] && no_varmord && [ $l1 = no ] && [ $l2 = no ] && [ -z "$(sandbox_cgroups)" ]
  check stop $? "stop exit $rc in $((SECONDS - ts))s; sleeps left: ${left:-none}; launchers alive: $l1 $l2; varmord: $(varmord_pids | tr '\n' ' ')$(unit_state varmord.service), socket $(unit_state varmord.socket); sandbox cgroups left: $(sandbox_cgroups | wc -l)"
  info "stop: the sandboxes' stderr: $(said /tmp/s1.err /tmp/s2.err)"
  info "stop: left under /sys/fs/bpf: $(find /sys/fs/bpf -mindepth 1 | tr '\n' ' ')"
else
  fail "stop: the two sandboxes did not start ($(said /tmp/s1.err /tmp/s2.err))"
fi
kill "$s1" "$s2" 2>/dev/null
wait "$s1" "$s2" 2>/dev/null
fi # reachable

# --- (d) purge with varmord and a sandbox running ---------------------------------------------
step "apt-get purge varmor-run, with varmord and a sandbox running"
systemctl start varmord.socket
as_user "${slow[@]}" varmor-run --profile base -- sleep 1002 >/tmp/s3.out 2>/tmp/s3.err &
s3=$!
one() { pgrep -u "$user" -x sleep >/dev/null; }
wait_for 300 one || info "purge: the sandbox did not start: $(said /tmp/s3.err)"
info "before purge: varmord $(varmord_pids | tr '\n' ' '), sleep $(pgrep -u "$user" -x sleep), bpffs: $(ls -A /sys/fs/bpf | tr '\n' ' ')"
ts=$SECONDS
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q varmor-run 2>&1 | indent
rc=${PIPESTATUS[0]}
check purge "$rc" "apt-get purge exit $rc in $((SECONDS - ts))s"
wait_for 30 no_varmord
sleep 1
procs=$( { pgrep -a -x varmord; pgrep -a -x varmor-run; pgrep -a -u "$user"; } | tr '\n' ';')
[ -z "$procs" ]
check purge $? "nothing running: ${procs:-no varmord, varmor-run or sandbox}"
pins=$(cd /sys/fs/bpf && echo varmor* | grep -v "^varmor\*$")
newpins=$(ls -A /sys/fs/bpf | comm -13 /tmp/bpffs.before -)
[ -z "$pins" ] && [ -z "$newpins" ]
check purge $? "nothing pinned: /sys/fs/bpf/varmor*: ${pins:-none}; new in /sys/fs/bpf: ${newpins:-none}"
mounts >/tmp/mounts.after
newm=$(comm -13 /tmp/mounts.before /tmp/mounts.after | tr '\n' ';')
[ -z "$newm" ]
check purge $? "nothing mounted that was not before: ${newm:-none}"
if command -v bpftool >/dev/null; then
  newp=$(bpf_progs | comm -13 /tmp/progs.before - | tr '\n' ' ')
  [ -z "$newp" ]
  check purge $? "no BPF program loaded that was not before: ${newp:-none}"
fi
systemctl daemon-reload
units=$(systemctl list-units --all --plain --no-legend 'varmor*' 2>/dev/null)
files=$(ls -d /usr/lib/systemd/system/varmord.* /lib/systemd/system/varmord.* /etc/systemd/system/*/varmord.* \
  /usr/bin/varmor-run /usr/sbin/varmord /etc/default/varmord /run/varmor /var/lib/varmor /var/log/varmor \
  /usr/share/varmor /etc/apparmor.d/varmor-run 2>/dev/null | tr '\n' ' ')
cg=$(ls -d /sys/fs/cgroup/varmor 2>/dev/null)
pkg=$(dpkg-query -W -f '${db:Status-Status}' varmor-run 2>/dev/null)
[ -z "$units" ] && [ -z "$files" ] && [ "${pkg:-not-installed}" = not-installed ]
check purge $? "nothing left: units: ${units:-none}; files: ${files:-none}; dpkg: ${pkg:-no record of the package}"
info "purge: /sys/fs/cgroup/varmor (varmord's empty cgroup parent): ${cg:-gone}"
info "purge: the sandbox's stderr: $(said /tmp/s3.err)"
kill "$s3" 2>/dev/null
wait "$s3" 2>/dev/null

if [ "$fails" != 0 ]; then
  echo "== varmord's journal (a check failed)"
  journalctl -u varmord -u varmord.socket --no-pager -o short-monotonic -n 120 2>&1 | indent
fi
step "done: $passes passed, $fails failed"
[ "$fails" = 0 ]
