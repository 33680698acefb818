#!/bin/bash
# A throwaway Debian 12 machine with systemd as PID 1, for the tests that
# need a running systemd (sourced after lib.sh).
#
#   rootfs_ensure [DIR]    debootstrap a minimal bookworm rootfs once, reuse it
#   nspawn_boot DIR ARGS   boot it with systemd-nspawn; wait for systemd
#   nspawn_exec CMD...     run CMD inside (all of the container's namespaces)
#   nspawn_stop            power it off (kill it if it does not stop)
#
# The rootfs is cached in /var/cache/sentrix-tests/, outside the git tree:
# it is ~260 MB, built by debootstrap from the mirror the host's apt uses
# (~70 s), and never written to afterwards: the container boots with
# --volatile=overlay, so every write lands in a tmpfs that vanishes with it
# and each boot starts from the same clean tree.
#
# The container runs with --private-network (only its own lo; no veth to
# the host), --register=no and --keep-unit (no machined, no scope: it works
# where systemd is not PID 1 on the host), inside a private mount namespace.
# When /run on the host is not a tmpfs (no systemd on the host), that mount
# namespace also gets a tmpfs on /run/systemd, so the files systemd-nspawn
# keeps there (propagate/, locks/) do not outlive it.

# shellcheck source=../packaging/rootfs.sh
source "$(dirname "${BASH_SOURCE[0]}")/../packaging/rootfs.sh"

NSPAWN_ROOTFS_DEFAULT=/var/cache/sentrix-tests/rootfs-bookworm
NSPAWN_SUITE=bookworm
NSPAWN_PACKAGES=systemd,systemd-sysv,dbus,ca-certificates,libnftables1,libcjson1,libsqlite3-0,libnl-3-200,libnl-route-3-200,libmicrohttpd12,libcurl4,libc-ares2,libldns3,libhttp-parser2.9,libwebsockets17,libssl3,libvectorscan5,libpcre2-8-0,libutf8proc2,iproute2,nftables
NSPAWN_PID=
NSPAWN_PID1=
NSPAWN_LOG=
# The environment commands inside the container see (not the caller's).
# LeakSanitizer (in a `make asan` build) needs ptrace, which the container
# restricts; with it on, `sentrix-setup down` in the netns unit hung here at
# power-off (seen, not fully explained).  Leak checking stays on everywhere
# else; ASan and UBSan stay on here.
NSPAWN_ENV=(env -i ASAN_OPTIONS=detect_leaks=0 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0)

# nspawn_need_tools: installs debootstrap and systemd-nspawn when missing
# (no recommends: libnss-mymachines would edit the host's nsswitch.conf).
nspawn_need_tools() {
	local pkgs=()
	command -v debootstrap >/dev/null || pkgs+=(debootstrap)
	command -v systemd-nspawn >/dev/null || pkgs+=(systemd-container)
	command -v nsenter >/dev/null || pkgs+=(util-linux)
	command -v unshare >/dev/null || pkgs+=(util-linux)
	[ ${#pkgs[@]} = 0 ] && return 0
	echo "# installing ${pkgs[*]} on the host" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2 ||
		{ apt-get update -q >&2 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2; }
}

# nspawn_mirror: the Debian mirror rootfs_ensure uses (packaging/rootfs.sh's
# rootfs_mirror: the host's apt's; SENTRIX_TEST_MIRROR overrides it).
nspawn_mirror() {
	rootfs_mirror $NSPAWN_SUITE
}

# rootfs_ensure [DIR]: makes sure DIR (default $NSPAWN_ROOTFS_DEFAULT) holds a
# complete rootfs with NSPAWN_PACKAGES, debootstrapped once and cached
# (packaging/rootfs.sh's rootfs_debootstrap: stamp, lock, rebuilt when the
# package list changes).  Returns non-zero, with debootstrap's log tail on
# stderr, when it cannot.
rootfs_ensure() {
	nspawn_need_tools || { echo "cannot install debootstrap/systemd-container" >&2; return 1; }
	rootfs_debootstrap "${1:-$NSPAWN_ROOTFS_DEFAULT}" $NSPAWN_SUITE $NSPAWN_PACKAGES
}

# nspawn_boot DIR [NSPAWN-ARGS...]: boots DIR in the background (volatile
# overlay, private network) and waits until systemd inside reports running
# or degraded (about 90 s at most).  Sets NSPAWN_PID (systemd-nspawn), NSPAWN_PID1
# (the container's init, as seen from the host) and NSPAWN_LOG.
# With NSPAWN_PERSIST=STATEDIR the container's writes survive a reboot
# instead: they go to an overlay whose upper layer is STATEDIR/upper (boot
# again with the same STATEDIR after the container rebooted or powered
# off); the rootfs is still never written to, and the overlay is mounted
# only in the private mount namespace that runs systemd-nspawn.
nspawn_boot() {
	local dir=$1 i state run_tmpfs= root_args
	shift
	NSPAWN_LOG=$(mktemp /tmp/sxt-nspawn.XXXXXX)
	[ "$(stat -f -c %T /run 2>/dev/null)" = tmpfs ] || run_tmpfs=1
	[ -n "$run_tmpfs" ] && [ ! -d /run/systemd ] && { echo "/run/systemd is missing on the host" >&2; return 1; }
	root_args=(--volatile=overlay --directory="$dir")
	if [ -n "${NSPAWN_PERSIST:-}" ]; then
		mkdir -p "$NSPAWN_PERSIST/upper" "$NSPAWN_PERSIST/work" "$NSPAWN_PERSIST/root" || return 1
		root_args=(--directory="$NSPAWN_PERSIST/root")
	fi
	# unshare execs sh, which execs systemd-nspawn: $! is systemd-nspawn.
	unshare --mount --propagation private sh -c '
		if [ -n "$1" ]; then mount -t tmpfs -o mode=0755,size=16m sxt-nspawn-run /run/systemd || exit 1; fi
		if [ -n "$2" ]; then
			mount -t overlay sxt-nspawn-root -o "lowerdir=$3,upperdir=$2/upper,workdir=$2/work" "$2/root" || exit 1
		fi
		shift 3
		exec systemd-nspawn "$@"' sh "$run_tmpfs" "${NSPAWN_PERSIST:-}" "$dir" \
		--quiet --register=no --keep-unit --boot --private-network "${root_args[@]}" \
		--console=pipe "$@" </dev/null >"$NSPAWN_LOG" 2>&1 &
	NSPAWN_PID=$!
	# The container's init is the child of systemd-nspawn that has exec'd
	# systemd (before that it is still a copy of systemd-nspawn; before
	# systemd-nspawn, $NSPAWN_PID is unshare or sh, whose child is mount).
	for i in $(seq 300); do
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		NSPAWN_PID1=
		if [ "$(readlink /proc/"$NSPAWN_PID"/exe 2>/dev/null)" = "$(readlink -f "$(command -v systemd-nspawn)")" ]; then
			NSPAWN_PID1=$(cat /proc/"$NSPAWN_PID"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . | head -1)
			[ -n "$NSPAWN_PID1" ] && [ "$(cat /proc/"$NSPAWN_PID1"/comm 2>/dev/null)" = systemd ] && break
			NSPAWN_PID1=
		fi
		sleep 0.1
	done
	if [ -z "$NSPAWN_PID1" ]; then
		echo "systemd-nspawn did not start the container:" >&2
		sed 's/^/    | /' "$NSPAWN_LOG" >&2
		nspawn_stop
		return 1
	fi
	# systemctl fails until systemd has its private socket; then --wait
	# blocks until start-up has finished.
	for i in $(seq 450); do
		state=$(timeout 60 nsenter --target "$NSPAWN_PID1" --all --root --wd \
			-- "${NSPAWN_ENV[@]}" systemctl is-system-running --wait 2>/dev/null)
		case $state in
		running | degraded) return 0 ;;
		esac
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		sleep 0.2
	done
	echo "systemd in the container did not finish booting (state '${state:-}'):" >&2
	sed 's/^/    | /' "$NSPAWN_LOG" >&2
	nspawn_stop
	return 1
}

# nspawn_exec CMD...: runs CMD in the container (its mount, pid, net, uts,
# ipc and cgroup namespaces and its root), with a clean environment.
nspawn_exec() {
	[ -n "$NSPAWN_PID1" ] || { echo "no container is running" >&2; return 1; }
	nsenter --target "$NSPAWN_PID1" --all --root --wd -- "${NSPAWN_ENV[@]}" "$@"
}

# nspawn_stop: orderly poweroff (SIGTERM to systemd-nspawn sends SIGRTMIN+3
# to the container's init), 60 s at most; then SIGKILL to the container's
# init (that ends its whole pid namespace) and to systemd-nspawn.
nspawn_stop() {
	local i
	[ -n "$NSPAWN_PID" ] || return 0
	if kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$NSPAWN_PID" 2>/dev/null
		for i in $(seq 600); do
			kill -0 "$NSPAWN_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$NSPAWN_PID" 2>/dev/null; then
			echo "# the container did not power off within 60 s: killing it" >&2
			[ -n "$NSPAWN_PID1" ] && kill -KILL "$NSPAWN_PID1" 2>/dev/null
			kill -KILL "$NSPAWN_PID" 2>/dev/null
		fi
	fi
	wait "$NSPAWN_PID" 2>/dev/null
	NSPAWN_PID='' NSPAWN_PID1=''
	[ -n "$NSPAWN_LOG" ] && rm -f "$NSPAWN_LOG"
	NSPAWN_LOG=
	return 0
}

# nspawn_host_state [DIR]: what a container of rootfs DIR could leave
# behind on the host: nspawn's links (ve-*, vb-*, vz-*; none with
# --private-network), mounts of nspawn or of DIR, systemd-nspawn processes
# running DIR, nspawn's runtime files, its volatile directories.  Only
# those: other tests may be creating links on the host meanwhile.
nspawn_host_state() {
	local dir=${1:-$NSPAWN_ROOTFS_DEFAULT}
	echo "## links"
	ip -o link show 2>/dev/null | sed -E 's/^[0-9]+: //; s/[:@].*//' | grep -E '^(ve|vb|vz)-' | sort
	echo "## mounts"
	grep -F -e nspawn -e "$dir" /proc/self/mountinfo | awk '{print $5, $9}'
	echo "## processes"
	ps -eo pid=,args= | grep -F -e "--directory=$dir" | grep -v -e grep
	echo "## /run/systemd/nspawn"
	find /run/systemd/nspawn 2>/dev/null | sort
	echo "## /tmp"
	find /tmp -maxdepth 1 -name 'nspawn-*' 2>/dev/null
}

# in_ct CMD...: nspawn_exec with stderr kept apart, for values.
in_ct() { nspawn_exec "$@" 2>/dev/null; }
# secs T0 T1: T1 - T0 in seconds, one decimal.
secs() { awk "BEGIN{printf \"%.1f\", $2 - $1}"; }

# ct_unit_state EXPECTED UNIT: the unit's ActiveState in the container once
# it is EXPECTED with no job pending, or after CT_UNIT_WAIT seconds (default
# 60: setup and --disable return as soon as systemd has queued the jobs, and
# a unit's job may wait for the host-wide setup lock).
ct_unit_state() {
	local s i
	for i in $(seq $((${CT_UNIT_WAIT:-60} * 10))); do
		s=$(in_ct systemctl is-active "$2")
		[ "$s" = "$1" ] && [ -z "$(in_ct systemctl list-jobs --no-legend "$2")" ] && break
		sleep 0.1
	done
	echo "$s"
}
# ct_check_unit DESCRIPTION EXPECTED UNIT: check_eq on ct_unit_state, with
# the unit's last log lines when it differs.
ct_check_unit() {
	local s
	s=$(ct_unit_state "$2" "$3")
	check_eq "$1" "$2" "$s"
	[ "$s" = "$2" ] || in_ct journalctl --no-pager -o cat -n 10 -u "$3" | sed 's/^/    | /'
}
