#!/usr/bin/env bash
# Installs built binaries, profiles, man pages, completions and systemd units (as root).
# Usage: scripts/install.sh [BUILD_DIR=target/release] [PREFIX=/usr/local]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release}; prefix=${2:-/usr/local}
install -Dm755 "$bin/varmor-run" "$prefix/bin/varmor-run"
install -Dm755 "$bin/varmord" "$prefix/bin/varmord"
install -d /usr/share/varmor/profiles.d
install -m644 profiles.d/*.yaml /usr/share/varmor/profiles.d/
for m in man/*.[0-9]; do install -Dm644 "$m" "$prefix/share/man/man${m##*.}/$(basename "$m")"; done
[ -f completions/varmor-run.bash ] && install -Dm644 completions/varmor-run.bash /usr/share/bash-completion/completions/varmor-run
[ -f completions/varmor-run.fish ] && install -Dm644 completions/varmor-run.fish /usr/share/fish/vendor_completions.d/varmor-run.fish
[ -f completions/varmor-run.zsh ] && install -Dm644 completions/varmor-run.zsh /usr/share/zsh/vendor-completions/_varmor-run
install -Dm644 packaging/systemd/varmord.service /etc/systemd/system/varmord.service
install -Dm644 packaging/systemd/varmord.socket /etc/systemd/system/varmord.socket
sed -i "s|/usr/sbin/varmord|$prefix/bin/varmord|" /etc/systemd/system/varmord.service
echo "==> installed to $prefix (profiles in /usr/share/varmor/profiles.d)"
