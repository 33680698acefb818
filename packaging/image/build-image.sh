#!/bin/bash
# Builds the bootable disk image (`make image`, root):
#
#   packaging/image/build-image.sh BUILD VERSION
#
# BUILD/sentrix-VERSION-amd64.raw: a raw disk (GPT: a BIOS boot partition
# for GRUB's core image, an EFI system partition with GRUB's EFI image and
# one ext4 root partition; it boots through BIOS and UEFI) holding
# Debian 12 with the package BUILD/sentrix_VERSION_amd64.deb (`make deb`)
# installed, a serial console, a locked root account and a first-boot unit
# that provisions an instance from /etc/sentrix/image.conf (docs/image.md).
#
# Why not mkosi: Debian 12's mkosi (14) boots only through UEFI
# (systemd-boot) and mounts the ESP it makes on the build host, which
# needs vfat in the host's kernel; it has no BIOS loader.  This script
# needs no more than the loop devices and ext4 that the tests' hosts have:
# the ESP is written with mtools, never mounted.
#
# How: debootstrap (packaging/rootfs.sh, the tests' code) a minbase rootfs
# with the kernel, GRUB and every dependency the package declares, once,
# into IMAGE_CACHE; then for each image copy it into the new filesystem,
# install the package with dpkg (no network), add the image's own files
# (packaging/image/), install GRUB on the disk and clean up.
#
# No mount and no loop device is left on the host, however the script
# ends (a SIGKILL leaves the unfinished BUILD/...raw.tmp): it runs in a
# private mount namespace (its mounts are never seen outside it and vanish
# with it, even on SIGKILL), and the loop device is detached right after
# it is attached while the script holds it open, so the kernel frees it
# when the last user closes it (LO_FLAGS_AUTOCLEAR): the EXIT trap unmounts
# and closes, and a killed script's descriptors and namespace go with it.
#
# Environment: IMAGE_SIZE (disk size, default 2G), IMAGE_CONF (the
# first-boot configuration, default packaging/image/image.conf),
# IMAGE_KERNEL (the kernel package: linux-image-cloud-amd64, Debian's
# kernel for virtual machines, by default; linux-image-amd64 for real
# hardware, 300 MB more), IMAGE_CACHE (the cached rootfs, default
# /var/cache/sentrix-image), SENTRIX_MIRROR (the Debian mirror; default
# the host's apt's).
set -euo pipefail

build=${1:?usage: build-image.sh BUILD VERSION}
version=${2:?usage: build-image.sh BUILD VERSION}
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/packaging/image
size=${IMAGE_SIZE:-2G}
conf=${IMAGE_CONF:-$here/image.conf}
cache=${IMAGE_CACHE:-/var/cache/sentrix-image}
suite=bookworm
# The image's own packages; the package's dependencies are added from its
# Depends.  grub-pc-bin, grub-efi-amd64-bin and grub2-common, not grub-pc
# or grub-efi-amd64: their debconf wants the install device and the
# mounted ESP, which only exist once the disk does (and the ESP is never
# mounted here).
# systemd-resolved: the DHCP-given DNS servers reach /etc/resolv.conf.
kernel=${IMAGE_KERNEL:-linux-image-cloud-amd64}
base_packages=systemd,systemd-sysv,dbus,udev,kmod,$kernel,grub-pc-bin,grub-efi-amd64-bin,grub2-common,e2fsprogs
base_packages+=,systemd-resolved,ca-certificates,iproute2,nftables,procps

say() { echo "make image: $*"; }
die() {
	echo "make image: $*" >&2
	exit 1
}

# ---- before anything: prerequisites --------------------------------------
[ "$(id -u)" = 0 ] || die "needs root (loop devices, mounts, chroot): sudo make image"
missing='' tools=''
for t in debootstrap:debootstrap sfdisk:fdisk losetup:mount mkfs.ext4:e2fsprogs e2fsck:e2fsprogs \
	unshare:util-linux flock:util-linux fstrim:util-linux blkid:util-linux partx:util-linux dpkg-deb:dpkg \
	mkfs.fat:dosfstools mcopy:mtools mmd:mtools; do
	command -v "${t%%:*}" >/dev/null && continue
	missing="$missing ${t#*:}" tools="$tools ${t%%:*}"
done
[ -z "$missing" ] || die "not found on PATH:$tools; install them with: apt-get install$(echo "$missing" | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//')"
[ -e /dev/loop-control ] || die "no /dev/loop-control: this host cannot attach loop devices"
[ -r "$conf" ] || die "no first-boot configuration $conf (IMAGE_CONF)"
sh "$here/firstboot.sh" --check "$conf" || die "$conf is not a valid first-boot configuration (docs/image.md)"

arch=$(dpkg --print-architecture)
[ "$arch" = amd64 ] || die "the image is x86_64; this host is $arch"
mkdir -p "$build"
build=$(cd "$build" && pwd)
deb=$build/sentrix_${version}_$arch.deb
[ -f "$deb" ] || die "no $deb: run make deb first (make image does)"
out=$build/sentrix-$version-$arch.raw

# The rest runs in a private mount namespace (see above).
if [ -z "${SX_IMAGE_NAMESPACE:-}" ]; then
	export SX_IMAGE_NAMESPACE=1
	exec unshare --mount --propagation private -- "$0" "$@"
fi

# BUILD/image: the build's logs and, while it runs, the mount point.
work=$build/image
mkdir -p "$work"
exec {lock}>"$work/lock"
flock -n $lock || die "another make image is running in $build"

# ---- the cached rootfs ------------------------------------------------------
# shellcheck source=../rootfs.sh
source "$top/packaging/rootfs.sh"
# Depends: a, b (>= 1), c | d  ->  a,b,c (the first of alternatives)
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep . | sort -u | paste -sd,)
rootfs=$cache/rootfs-$suite
t0=$(date +%s)
rootfs_debootstrap "$rootfs" $suite "$base_packages,$deps" || die "debootstrap into $rootfs failed"

# ---- the disk -----------------------------------------------------------------
tmp=$out.tmp
root=$work/root
loop=
hold=
cleanup() {
	local rc=$? pid
	set +e
	trap - EXIT INT TERM HUP
	# Anything still running inside the image (none is expected: services
	# are not started in the chroot).
	if [ -d "$root" ]; then
		for pid in /proc/[0-9]*; do
			[ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ] && kill -KILL "${pid#/proc/}" 2>/dev/null
		done
		mountpoint -q "$root" && { umount -R "$root" 2>/dev/null || umount -R -l "$root"; }
		rmdir "$root" 2>/dev/null
	fi
	# The loop device is autoclear: closing the last descriptor frees it.
	[ -n "$hold" ] && exec {hold}>&-
	if [ -n "$loop" ] && losetup -j "$tmp" 2>/dev/null | grep -q .; then
		sleep 1
		losetup -j "$tmp" | cut -d: -f1 | xargs -r -n1 losetup -d 2>/dev/null
	fi
	rm -f "$tmp"
	[ $rc = 0 ] || echo "make image: failed; nothing is left mounted or attached" >&2
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

rm -f "$tmp" "$out"
truncate -s "$size" "$tmp"
# GPT: GRUB's core image in a 1 MiB BIOS boot partition, its EFI image in
# a 64 MiB EFI system partition, the root in the rest (the discoverable
# root type for x86-64).
sfdisk -q "$tmp" <<'EOF'
label: gpt
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="bios"
start=4096, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"
start=135168, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"
EOF
loop=$(losetup --find --show --partscan "$tmp")
exec {hold}<>"$loop"
losetup -d "$loop" # autoclear while $hold is open: see above
# The kernel's partition scan does not always show (here, 6.x in a VM):
# then partx adds them.
esp=${loop}p2 rootdev=${loop}p3
for i in $(seq 50); do
	[ -b "$rootdev" ] && break
	[ "$i" = 10 ] && { partx -a "$loop" 2>/dev/null || true; }
	sleep 0.1
done
[ -b "$rootdev" ] || die "$rootdev did not appear (partition scan, partx -a)"
# A new sparse file reads as zeros: nothing to zero, in mke2fs or later
# in the kernel (ext4lazyinit at first boot).
mkfs.ext4 -q -L sentrix-root -E assume_storage_prezeroed=1 "$rootdev"
uuid=$(blkid -p -s UUID -o value "$rootdev")
mkfs.fat -F 32 -n SENTRIX-ESP "$esp" >/dev/null
mkdir -p "$root"
mount "$rootdev" "$root"
say "copying the rootfs into the image ($size disk)"
cp -a "$rootfs/." "$root/"

# The chroot: a /dev of its own (the usual nodes, the disk and its
# partitions, and the /dev/disk/by-uuid link grub-mkconfig wants before it
# writes root=UUID=, which no udev makes here), /proc and /sys; /run and
# /tmp are tmpfs (what postinsts put there does not reach the image).
# All of it in this namespace only.
mount -t tmpfs -o mode=0755,size=8m sx-image-dev "$root/dev"
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "$loop" "${loop}p1" "$esp" "$rootdev" "$root/dev/"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/dev/disk/by-uuid"
ln -s "../../${rootdev#/dev/}" "$root/dev/disk/by-uuid/$uuid"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --make-rslave "$root/sys"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
in_root() {
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# ---- packages -----------------------------------------------------------------
# No service starts in the chroot; no documentation (the image has no man
# or info reader), but the copyright files and sentrix's own.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
install -m 0644 "$here/dpkg-nodoc.cfg" "$root/etc/dpkg/dpkg.cfg.d/90-sentrix-image-nodoc"
find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian"
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
cp "$deb" "$root/tmp/"
say "installing $(basename "$deb")"
in_root dpkg -i "/tmp/$(basename "$deb")" >"$work/dpkg.log" 2>&1 ||
	{ tail -20 "$work/dpkg.log" >&2; die "dpkg -i failed (log: $work/dpkg.log)"; }

# ---- the image's own files ------------------------------------------------
echo sentrix >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsentrix\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
printf '# <file system> <mount point> <type> <options> <dump> <pass>\nUUID=%s / ext4 errors=remount-ro 0 1\n' "$uuid" >"$root/etc/fstab"
cat >"$root/etc/apt/sources.list" <<EOF
deb http://deb.debian.org/debian $suite main
deb http://deb.debian.org/debian $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
# Every machine made from the image gets its own id at first boot.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/var/lib/systemd/random-seed"
# Root stays locked (no password); nobody logs in over the network.
in_root passwd -q -l root
# Wired links get DHCP (systemd-networkd); systemd-resolved only hands the
# servers to /etc/resolv.conf: no stub listener, no LLMNR, no mDNS.
install -d "$root/etc/systemd/network" "$root/etc/systemd/resolved.conf.d"
install -m 0644 "$here/80-sentrix-image.network" "$root/etc/systemd/network/"
install -m 0644 "$here/resolved.conf" "$root/etc/systemd/resolved.conf.d/50-sentrix-image.conf"
ln -sf ../run/systemd/resolve/resolv.conf "$root/etc/resolv.conf"
# First boot: provision the instance; every boot: say on the console
# whether it is up.
install -d "$root/usr/lib/sentrix-image" "$root/etc/sentrix"
install -m 0755 "$here/firstboot.sh" "$root/usr/lib/sentrix-image/firstboot"
install -m 0755 "$here/ready.sh" "$root/usr/lib/sentrix-image/ready"
install -m 0644 "$here/sentrix-image-firstboot.service" "$here/sentrix-image-ready.service" "$root/lib/systemd/system/"
install -m 0644 "$conf" "$root/etc/sentrix/image.conf"
in_root systemctl enable -q systemd-networkd.service systemd-resolved.service \
	sentrix-image-firstboot.service sentrix-image-ready.service
# The appliance fetches nothing by itself.
in_root systemctl disable -q apt-daily.timer apt-daily-upgrade.timer 2>/dev/null || true

# ---- boot loader ----------------------------------------------------------------
# The initramfs again: it was made before there was an fstab, so it has no
# fsck for the root filesystem.
say "updating the initramfs"
in_root update-initramfs -u >"$work/initramfs.log" 2>&1 ||
	{ tail -20 "$work/initramfs.log" >&2; die "update-initramfs failed"; }
install -m 0644 "$here/grub.default" "$root/etc/default/grub"
say "installing GRUB (BIOS) on the disk"
in_root grub-install --target=i386-pc --boot-directory=/boot "$loop" >"$work/grub.log" 2>&1 ||
	{ cat "$work/grub.log" >&2; die "grub-install failed"; }
in_root grub-mkconfig -o /boot/grub/grub.cfg >>"$work/grub.log" 2>&1 ||
	{ cat "$work/grub.log" >&2; die "grub-mkconfig failed"; }
grep -q "root=UUID=$uuid" "$root/boot/grub/grub.cfg" || die "grub.cfg does not name root=UUID=$uuid"
# UEFI: GRUB's EFI image at the removable-media path of the ESP
# (EFI/BOOT/BOOTX64.EFI: no NVRAM entry needed; not signed, so Secure Boot
# must be off).  It finds the root by UUID and reads the same
# /boot/grub/grub.cfg, with its modules from /boot/grub/x86_64-efi.
# grub-install would want the ESP mounted: grub-mkimage, and mtools.
say "installing GRUB (UEFI) on the EFI system partition"
mkdir -p "$root/boot/grub/x86_64-efi"
cp "$root"/usr/lib/grub/x86_64-efi/*.mod "$root"/usr/lib/grub/x86_64-efi/*.lst "$root/boot/grub/x86_64-efi/"
# shellcheck disable=SC2016 # $root is GRUB's variable
printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)/boot/grub\n' "$uuid" >"$root/tmp/efi-early.cfg"
in_root grub-mkimage -O x86_64-efi -o /tmp/BOOTX64.EFI -p /boot/grub -c /tmp/efi-early.cfg \
	part_gpt ext2 search search_fs_uuid normal >>"$work/grub.log" 2>&1 ||
	{ cat "$work/grub.log" >&2; die "grub-mkimage -O x86_64-efi failed"; }
# (mtools says it "could not get geometry" of a loop partition: harmless.)
{ MTOOLS_SKIP_CHECK=1 mmd -i "$esp" ::/EFI ::/EFI/BOOT &&
	MTOOLS_SKIP_CHECK=1 mcopy -i "$esp" "$root/tmp/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI; } >>"$work/grub.log" 2>&1 ||
	{ cat "$work/grub.log" >&2; die "mtools could not write EFI/BOOT/BOOTX64.EFI to the ESP"; }

# ---- clean up ---------------------------------------------------------------------
rm -f "$root/usr/sbin/policy-rc.d"
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
	"$root"/var/lib/dpkg/*-old "$root"/var/tmp/* "$root"/root/.bash_history
find "$root/var/log" -type f -delete
umount -R "$root/dev" "$root/proc" "$root/sys" "$root/run" "$root/tmp"
sync -f "$root"
fstrim "$root" >/dev/null 2>&1 || true # freed blocks become holes in the file again
umount "$root"
rmdir "$root"
e2fsck -f -p "$rootdev" >/dev/null || die "e2fsck found errors in the new filesystem"
exec {hold}>&-
hold=
for i in $(seq 50); do
	losetup -j "$tmp" | grep -q . || break
	sleep 0.1
done
mv "$tmp" "$out"
say "$out: $(du -h --apparent-size "$out" | cut -f1) raw, $(du -h "$out" | cut -f1) allocated, built in $(($(date +%s) - t0)) s"
