#!/usr/bin/env bash
# mkinitramfs.sh KDIR — builds (once per set of inputs) the vm-test initramfs for the kernel
# unpacked in KDIR (see fetch-kernel.sh) and prints its path: an uncompressed newc cpio with
# static busybox, scripts/vm/init as /init and the modules stage 1 needs (9p, 9pnet,
# 9pnet_virtio, virtio_pci, virtio_console, overlay and what they depend on, in load order,
# decompressed: busybox insmod takes plain .ko only). Its name carries a hash of its inputs,
# so editing init, this script or busybox rebuilds it.
set -euo pipefail

kdir=${1:?usage: mkinitramfs.sh KDIR}
here=$(cd "$(dirname "$0")" && pwd)
kver=$(cat "$kdir/kver")
moddir=$kdir/lib/modules/$kver
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "mkinitramfs: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
if ! "$busybox" --list | grep -x switch_root >/dev/null || LC_ALL=C ldd "$busybox" >/dev/null 2>&1; then
  echo "mkinitramfs: $busybox is not a static busybox with switch_root (apt-get install busybox-static)" >&2
  exit 1
fi

wanted=(virtio_pci virtio_console 9pnet_virtio 9p overlay)

hash=$( { cat "$here/init" "$0" "$kdir/package"; sha256sum <"$busybox"; echo "${wanted[*]}"; } \
  | sha256sum | cut -c1-16)
out=$kdir/initramfs-$hash.cpio
if [ -s "$out" ]; then echo "$out"; exit 0; fi

exec 9>"$kdir/.lock-initramfs"
flock 9
if [ -s "$out" ]; then echo "$out"; exit 0; fi

# name -> path (relative to moddir) and name -> deps, from modules.dep.
declare -A path deps builtin
norm() { local n=${1##*/}; n=${n%%.ko*}; echo "${n//-/_}"; }
while IFS= read -r line; do
  f=${line%%:*}; n=$(norm "$f"); path[$n]=$f
  d=""
  for x in ${line#*:}; do d+=" $(norm "$x")"; done
  deps[$n]=$d
done <"$moddir/modules.dep"
while IFS= read -r f; do builtin[$(norm "$f")]=1; done <"$moddir/modules.builtin"

order=()
declare -A seen
visit() {
  local n=$1 d
  [ -n "${seen[$n]:-}" ] && return 0
  seen[$n]=1
  [ -n "${builtin[$n]:-}" ] && return 0
  [ -n "${path[$n]:-}" ] || { echo "mkinitramfs: module $n not found for $kver" >&2; exit 1; }
  for d in ${deps[$n]}; do visit "$d"; done
  order+=("$n")
}
for m in "${wanted[@]}"; do visit "$m"; done

stage=$(mktemp -d "$kdir/.initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,lib/modules}
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
install -m 755 "$here/init" "$stage/init"
mknod -m 600 "$stage/dev/console" c 5 1
mknod -m 666 "$stage/dev/null" c 1 3
: >"$stage/modules"
for n in "${order[@]}"; do
  src=$moddir/${path[$n]}
  case "$src" in
    *.ko.xz)  xz -dc "$src" ;;
    *.ko.zst) zstd -qdc "$src" ;;
    *.ko.gz)  gzip -dc "$src" ;;
    *)        cat "$src" ;;
  esac >"$stage/lib/modules/$n.ko"
  echo "$n.ko" >>"$stage/modules"
done
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) >"$out.tmp"
mv "$out.tmp" "$out"
# Older builds for this kernel are of no further use (an hour's grace for a run that
# was about to boot one).
find "$kdir" -maxdepth 1 -name 'initramfs-*.cpio' ! -name "${out##*/}" -mmin +60 -delete
echo "vm-test: initramfs for $kver: ${order[*]} ($(du -k "$out" | cut -f1) KiB)" >&2
echo "$out"
