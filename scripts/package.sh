#!/usr/bin/env bash
# Builds the Debian package (cargo-deb, configured in Cargo.toml's
# [package.metadata.deb]) into target/debian/, then checks it: its file list, lintian
# where installed, an unpack into a throwaway root (dpkg --root), and (as root) the
# maintainer scripts run in a private mount namespace (scripts/check-maintainer-scripts.sh).
# Usage: scripts/package.sh [--no-build]   (--no-build: package target/release as it is)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deb >/dev/null; then
    echo "==> installing cargo-deb"
    cargo install cargo-deb --locked
fi
build=()
[ "${1:-}" = --no-build ] && build=(--no-build)
if [ ${#build[@]} -eq 0 ]; then
    cargo build --release --bin varmor-run --bin varmord
fi
cargo deb --no-build --strip --output target/debian/
deb=$(ls -t target/debian/varmor-run_*.deb | head -n1)
echo "==> $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb -c "$deb"

echo "==> layout"
want=(./usr/bin/varmor-run ./usr/sbin/varmord ./usr/share/varmor/profiles.d/base.yaml
    ./usr/share/varmor/profiles.d/nocurl.yaml ./usr/share/man/man1/varmor-run.1.gz
    ./usr/share/man/man5/varmor-profile.5.gz ./usr/share/man/man8/varmord.8.gz
    ./usr/share/bash-completion/completions/varmor-run ./usr/lib/systemd/system/varmord.service
    ./usr/lib/systemd/system/varmord.socket ./etc/default/varmord
    ./usr/share/varmor/apparmor/varmor-run)
list=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in "${want[@]}"; do
    grep -qx -- "$f" <<<"$list" || { echo "missing in the package: $f"; exit 1; }
done
dpkg-deb -e "$deb" target/debian/control.d
grep -qx /etc/default/varmord target/debian/control.d/conffiles
for s in postinst prerm postrm; do sh -n "target/debian/control.d/$s"; done
rm -rf target/debian/control.d
echo "layout ok"

if command -v lintian >/dev/null; then
    echo "==> lintian"
    lintian --tag-display-limit 0 "$deb" || true
fi
if command -v systemd-analyze >/dev/null; then
    echo "==> systemd-analyze"
    systemd-analyze verify --man=no packaging/systemd/varmord.socket \
        packaging/systemd/varmord.service 2>&1 | grep -v 'Command /usr/sbin/varmord is not executable' || true
    systemd-analyze security --offline=yes packaging/systemd/varmord.service | tail -n 1
fi

echo "==> install into a throwaway root"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info"
touch "$root/var/lib/dpkg/status"
# Unpack only: the maintainer scripts act on the running system, never on a test root.
dpkg --root="$root" --force-not-root --force-bad-path --log=/dev/null --unpack "$deb" >/dev/null
test -x "$root/usr/bin/varmor-run" && test -x "$root/usr/sbin/varmord"
"$root/usr/bin/varmor-run" --version
VARMOR_SOCKET=/nonexistent "$root/usr/bin/varmor-run" --check "$root/usr/share/varmor/profiles.d/nocurl.yaml" >/dev/null
dpkg --root="$root" --force-not-root --force-bad-path --log=/dev/null --remove --force-remove-reinstreq varmor-run >/dev/null 2>&1 || true
if [ "$(id -u)" = 0 ]; then
    echo "==> maintainer scripts (private mount namespace)"
    scripts/check-maintainer-scripts.sh "$deb"
fi
echo "==> $deb ok"
