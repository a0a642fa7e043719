#!/usr/bin/env bash
# Runs the package's maintainer scripts for real, in a private mount namespace whose
# /etc/systemd/system, /usr/lib/systemd/system, /var/lib, /run and /sys/fs/bpf are fresh
# tmpfs (so the host is not touched), and checks what they leave: after configure, the
# socket unit enabled and bpffs mounted (it was absent); after remove + purge, nothing
# enabled, pinned, mounted or left in /var/lib/varmor. Usage (root): SCRIPT DEB
set -euo pipefail
deb=$1
[ "$(id -u)" = 0 ] || { echo "needs root (a private mount namespace)"; exit 1; }
exec unshare -m --propagation private bash -s "$deb" <<'INNER'
set -euo pipefail
deb=$1
ctl=$(mktemp -d); dpkg-deb -e "$deb" "$ctl"; dpkg-deb -x "$deb" "$ctl/root"
for d in /etc/systemd/system /usr/lib/systemd/system /var/lib /run /sys/fs/bpf; do
    mount -t tmpfs tmpfs "$d"
done
cp "$ctl/root/usr/lib/systemd/system/"varmord.* /usr/lib/systemd/system/
fail() { echo "maintainer scripts: $*"; exit 1; }
bpffs() { [ "$(stat -f -c %t /sys/fs/bpf)" = cafe4a11 ]; }
export DPKG_MAINTSCRIPT_PACKAGE=varmor-run   # deb-systemd-helper runs only under dpkg
run() { DPKG_MAINTSCRIPT_NAME=$1 "$ctl/$1" "$2"; }

run postinst configure
[ -L /etc/systemd/system/sockets.target.wants/varmord.socket ] || fail "varmord.socket not enabled"
[ ! -e /etc/systemd/system/multi-user.target.wants/varmord.service ] || fail "the service is enabled (only the socket should be)"
bpffs || fail "bpffs not mounted on /sys/fs/bpf"
grep -qx /sys/fs/bpf /var/lib/varmor/mounted || fail "the mount is not recorded"
mkdir -p /sys/fs/bpf/varmor/abi1-test   # what a killed varmord leaves
run prerm remove
run postrm remove
[ -d /sys/fs/bpf/varmor ] || fail "remove already purged the pins"
run postrm purge
[ ! -e /etc/systemd/system/sockets.target.wants/varmord.socket ] || fail "still enabled after purge"
bpffs && fail "bpffs still mounted after purge"
[ ! -e /var/lib/varmor ] || fail "/var/lib/varmor left after purge"
# (The pins went with the bpffs instance: check the pin removal on a kept mount too.)
mount -t bpf bpf /sys/fs/bpf; mkdir -p /sys/fs/bpf/varmor/abi1-test
run postrm purge
[ ! -e /sys/fs/bpf/varmor ] || fail "pins left after purge"
echo "maintainer scripts ok (configure, remove, purge)"
INNER
