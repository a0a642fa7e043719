#!/usr/bin/env bash
# fetch-kernel.sh KERNEL — makes sure Debian's kernel KERNEL (6.1 or 6.12) is unpacked in the
# VM cache and prints its directory on stdout. Never installs it: `apt-get download` +
# `dpkg-deb -x`, through a private apt configuration (own sources, state and cache under the
# cache dir) whose mirror is derived from the host's own apt sources, so nothing here names
# a mirror. Once unpacked (marker file `ok`), later runs reuse it; a flock keeps two
# concurrent runs from unpacking the same kernel at once.
#
# Layout of $VARMOR_VM_CACHE/kernel-KERNEL/:
#   vmlinuz  vmlinux (for PVH boot)  config  kver  package  ok  lib/modules/<kver>/...
set -euo pipefail

kernel=${1:?usage: fetch-kernel.sh 6.1|6.12}
cache=${VARMOR_VM_CACHE:-/var/cache/varmor-vm}

case "$kernel" in
  6.1)  suite=bookworm; pattern='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
  6.12) suite=trixie;   pattern='^linux-image-6\.12\.[0-9]+\+deb13-amd64-unsigned$' ;;
  *) echo "fetch-kernel: unknown kernel '$kernel' (known: 6.1, 6.12)" >&2; exit 2 ;;
esac

kdir=$cache/kernel-$kernel
ready() { [ -f "$kdir/ok" ] && [ -f "$kdir/vmlinuz" ] && { [ -f "$kdir/vmlinux" ] || [ -f "$kdir/no-pvh" ]; }; }
if ready; then echo "$kdir"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/.lock-kernel-$kernel"
flock 9
# Someone else may have finished while we waited for the lock.
if ready; then echo "$kdir"; exit 0; fi

log() { echo "vm-test: $*" >&2; }

# The uncompressed ELF inside the bzImage, for qemu's PVH boot: no real-mode setup and, above
# all, no decompression, which takes seconds under TCG (xz on 6.1). Writes DIR/vmlinux, or
# DIR/no-pvh when the kernel cannot be booted that way (then vmlinuz is booted as usual).
extract_vmlinux() {
  local dir=$1 magic dec off
  if grep -qx 'CONFIG_PVH=y' "$dir/config"; then
    for magic in '\xFD7zXZ\x00:xz -dc' '\x28\xB5\x2F\xFD:zstd -qdc' '\x1F\x8B\x08:gzip -dc'; do
      dec=${magic#*:}; magic=${magic%%:*}
      for off in $(LC_ALL=C grep -obUaP "$magic" "$dir/vmlinuz" | cut -d: -f1); do
        tail -c "+$((off + 1))" "$dir/vmlinuz" | $dec >"$dir/vmlinux.tmp" 2>/dev/null || true  # trailing data: non-zero
        if [ "$(head -c 4 "$dir/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
          mv "$dir/vmlinux.tmp" "$dir/vmlinux"
          return 0
        fi
      done
    done
  fi
  rm -f "$dir/vmlinux.tmp"
  touch "$dir/no-pvh"
}
if [ -f "$kdir/ok" ] && [ -f "$kdir/vmlinuz" ]; then
  extract_vmlinux "$kdir"
  echo "$kdir"
  exit 0
fi

# --- a private apt configuration for $suite, mirrors taken from the host's sources -------
host_codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$host_codename" ] || { echo "fetch-kernel: no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }

# Prints "URI<TAB>SUITE<TAB>COMPONENTS<TAB>SIGNED-BY" for every host entry whose suite is the
# host's release (or its -updates/-security), with the suite renamed to $suite.
host_entries() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '
      /^[ \t]*#/ || NF < 3 || $1 != "deb" { next }
      {
        i = 2; opts = ""
        if ($2 ~ /^\[/) {            # [ signed-by=... arch=... ]
          while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } ; i++ }
        }
        uri = $i; s = $(i + 1); comps = ""
        for (j = i + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
        sb = ""
        if (match(opts, /signed-by=[^] ]+/)) sb = substr(opts, RSTART + 10, RLENGTH - 10)
        print uri "\t" s "\t" comps "\t" sb
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled !~ /^[Nn]o/ && uris != "") {
          nu = split(uris, U, " "); ns = split(suites, S, " ")
          for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) print U[a] "\t" S[b] "\t" comps "\t" sb
        }
        types = uris = suites = comps = sb = enabled = ""
      }
      function val(line) { sub(/^[^:]*:[ \t]*/, "", line); sub(/[ \t]+$/, "", line); return line }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:"      { types = val($0); next }
      tolower($1) == "uris:"       { uris = val($0); next }
      tolower($1) == "suites:"     { suites = val($0); next }
      tolower($1) == "components:" { comps = val($0); next }
      tolower($1) == "signed-by:"  { sb = val($0); next }
      tolower($1) == "enabled:"    { enabled = val($0); next }
      END { flush() }' "$f"
  done
}

apt_dir=$cache/apt-$suite
mkdir -p "$apt_dir"/{sources.list.d,preferences.d,state/lists/partial,cache/archives/partial}
: >"$apt_dir/status"
sources=$apt_dir/sources.list.d/vm-test.sources
host_entries | awk -F'\t' -v host="$host_codename" -v want="$suite" '
  $2 == host || $2 == host "-updates" || $2 == host "-security" {
    s = $2; sub("^" host, want, s)
    key = $1 " " s
    if (seen[key]++) next
    printf "Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n", $1, s, ($3 == "" ? "main" : $3)
    if ($4 != "") printf "Signed-By: %s\n", $4
    printf "\n"
  }' >"$sources.new"
if ! [ -s "$sources.new" ]; then
  echo "fetch-kernel: cannot derive a Debian mirror: no '$host_codename' entry in /etc/apt/sources.list{,.d}" >&2
  exit 1
fi
mv "$sources.new" "$sources"

apt_opts=(
  -o "Dir::Etc::SourceList=/dev/null"
  -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
  -o "Dir::Etc::Preferences=/dev/null"
  -o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d"
  -o "Dir::State=$apt_dir/state"
  -o "Dir::State::status=$apt_dir/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Architecture=amd64"
  -o "APT::Architectures::=amd64"
  -o "APT::Sandbox::User=root"
  -o "Acquire::Languages=none"
)

log "downloading the package index for $suite (once)"
if ! apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 \
   || grep -qE '^(E:|W: Failed)' "$apt_dir/update.log"; then
  cat "$apt_dir/update.log" >&2
  echo "fetch-kernel: apt-get update for $suite failed" >&2
  exit 1
fi

pkg=$(apt-cache "${apt_opts[@]}" search --names-only "$pattern" | awk '{print $1}' | sort -V | tail -n1)
[ -n "$pkg" ] || { echo "fetch-kernel: no package matching $pattern in $suite" >&2; exit 1; }

work=$(mktemp -d "$cache/.fetch-$kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading $pkg (once)"
(cd "$work" && apt-get "${apt_opts[@]}" -q download "$pkg" >"$work/download.log" 2>&1) || {
  cat "$work/download.log" >&2; echo "fetch-kernel: apt-get download $pkg failed" >&2; exit 1; }
deb=$(ls "$work"/*.deb)
dpkg-deb -x "$deb" "$work/x"
version=$(dpkg-deb -f "$deb" Version)

vmlinuz=$(ls "$work"/x/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}
mods=$(ls -d "$work"/x/lib/modules/"$kver" 2>/dev/null || ls -d "$work"/x/usr/lib/modules/"$kver")

new=$work/kdir
mkdir -p "$new/lib/modules"
mv "$vmlinuz" "$new/vmlinuz"
mv "$work/x/boot/config-$kver" "$new/config"
mv "$mods" "$new/lib/modules/$kver"
# Hardware nobody emulates here: not worth the disk space.
(cd "$new/lib/modules/$kver/kernel" && rm -rf sound drivers/gpu drivers/media drivers/infiniband \
  drivers/staging drivers/net/wireless drivers/net/ethernet drivers/bluetooth drivers/iio drivers/usb \
  drivers/hid drivers/input drivers/scsi drivers/ata drivers/mmc drivers/mtd drivers/isdn drivers/hwmon)
# modules.dep for the guest's `busybox modprobe` (the package leaves it to its postinst).
busybox depmod -b "$new" "$kver" 2>/dev/null || true
extract_vmlinux "$new"
echo "$kver" >"$new/kver"
echo "$pkg $version" >"$new/package"
touch "$new/ok"

rm -rf "$kdir"
mv "$new" "$kdir"
log "kernel $kernel: $pkg $version ($kver) in $kdir"
echo "$kdir"
