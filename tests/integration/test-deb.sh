#!/bin/bash
# The Debian package: `make deb` builds it (packaging/debian/), lintian finds
# no error or warning in it, and in a booted Debian 12 container
# (tests/nspawn.sh) it installs, provisions an instance, upgrades (the
# running instance is restarted and kept with its configuration), removes
# (every instance rolled back, configuration kept) and purges (nothing of
# sentrix left: the container's state equals its state before the install).
#
# SENTRIX_TEST_DEB=PATH tests that package instead of building one.  The
# upgrade installs the same package repacked with a higher version
# (VERSION+sxt1): the maintainer scripts see a real upgrade.  The container
# has no network: every dependency must already be in the cached rootfs
# (NSPAWN_PACKAGES).
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/nspawn.sh"

ROOTFS=${SENTRIX_TEST_ROOTFS:-$NSPAWN_ROOTFS_DEFAULT}
TMP=$(mktemp -d /tmp/sxt-deb.XXXXXX)
trap 'nspawn_stop; rm -rf "$TMP"' EXIT

if [ "$(id -u)" != 0 ]; then
	skip "needs root (systemd-nspawn)"
	summary
	exit 0
fi
if [ -z "${SENTRIX_TEST_DEB:-}" ]; then
	for t in dpkg-buildpackage dh lintian; do
		command -v $t >/dev/null && continue
		skip "$t is not installed (packaging/install-deps.sh installs dpkg-dev, debhelper, lintian)"
		summary
		exit 0
	done
fi

# ct_check_unit waits 30 s at most here (tests/nspawn.sh).
CT_UNIT_WAIT=30

# ct_run DESCRIPTION CMD...: runs CMD in the container (2 minutes at most),
# its output in $TMP/out; ok when it exits 0, else its output's tail.
ct_run() {
	local d=$1 rc
	shift
	nspawn_exec timeout 120 "$@" >"$TMP/out" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		ok "$d"
	else
		not_ok "$d (status $rc)"
		tail -15 "$TMP/out" | sed 's/^/    | /'
	fi
	return $rc
}

# ct_state: everything of sentrix the package or an instance could leave in
# the container: accounts, sentrix's directories, homes, unit files, links
# and state, loaded units, nftables tables, namespaces, links, the package's
# status, and any file whose name says sentrix.
ct_state() {
	nspawn_exec sh -c '
		echo "## accounts"
		cut -d: -f1,3,4,5,6,7 /etc/passwd; cut -d: -f1,3,4 /etc/group
		cut -d: -f1 /etc/shadow /etc/gshadow; cat /etc/subuid /etc/subgid 2>/dev/null
		echo "## directories"
		for d in /etc/sentrix /var/lib/sentrix /var/log/sentrix /run/sentrix /etc/netns /run/netns /run/lock/sentrix.lock; do
			[ -e "$d" ] && find "$d" | sort
		done
		echo "## /home"; find /home -printf "%p %u %m\n" | sort
		echo "## systemd"
		find /etc/systemd /lib/systemd /usr/lib/systemd /var/lib/systemd -name "*sentrix*" 2>/dev/null | sort
		systemctl list-units --all --plain --no-legend "sentrix*"
		echo "## nftables"; nft list tables
		echo "## netns"; ip netns list
		echo "## links"; ip -o link show | cut -d: -f2
		echo "## package"; dpkg-query -W -f "\${Status}\n" sentrix 2>&1
		echo "## named sentrix"
		find / /run /tmp /var/tmp -xdev -name "*sentrix*" ! -path "/run/sxt-deb*" 2>/dev/null | sort -u' 2>&1
}

# ---- the package ---------------------------------------------------------
VERSION=$(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")
ARCH=$(dpkg --print-architecture)
CURRENT="build"
t0=$(date +%s.%N)
if [ -n "${SENTRIX_TEST_DEB:-}" ]; then
	DEB=$SENTRIX_TEST_DEB
	echo "# testing $DEB (SENTRIX_TEST_DEB)"
else
	DEB=$BUILD/sentrix_${VERSION}_$ARCH.deb
	rm -f "$DEB" "$DEB.srchash"
	hash=$(deb_source_hash)
	if make -s -C "$TOP" BUILD="$BUILD" deb >"$TMP/make.log" 2>&1 && [ -f "$DEB" ]; then
		echo "$hash" >"$DEB.srchash" # test-boot.sh reuses it (deb_ensure)
		ok "make deb builds $(basename "$DEB") ($(secs "$t0" "$(date +%s.%N)") s)"
	else
		not_ok "make deb builds $(basename "$DEB")"
		tail -30 "$TMP/make.log" | sed 's/^/    | /'
		summary
		exit 1
	fi
	check "make deb leaves the checkout alone (no debian/ at the top)" test ! -e "$TOP/debian"
	check "the package build got dpkg-buildflags' hardening flags (-z relro -z now on the link lines)" \
		grep -q -- '-Wl,-z,relro -Wl,-z,now' "$BUILD/deb/build.log"
fi
t1=$(date +%s.%N)
mkdir -p "$TMP/x"
dpkg-deb -x "$DEB" "$TMP/x"
for b in usr/bin/sentrix usr/bin/sentrix-gateway usr/sbin/sentrix-setup; do
	f=$TMP/x/$b
	check_eq "$b: PIE, RELRO, BIND_NOW, fortified calls, stack protector" "DYN relro now chk sp" \
		"$(readelf -h "$f" | awk '$1 == "Type:" {print $2}') $(readelf -lW "$f" | grep -q GNU_RELRO && echo relro) $(readelf -d "$f" | grep -q 'FLAGS.*NOW' && echo now) $(nm -D "$f" | grep -q '_chk@' && echo chk) $(nm -D "$f" | grep -q __stack_chk_fail && echo sp)"
done
# Whatever `make install` installs under MANDIR and COMPLETIONDIR is packaged.
for scd in "$TOP"/man/*.scd; do
	[ -e "$scd" ] || continue
	page=$(basename "$scd" .scd)
	check "man page $page is in the package" test -f "$TMP/x/usr/share/man/man${page##*.}/$page.gz"
done
if [ -f "$TOP/packaging/completion/sentrix" ]; then
	check "bash completion is in the package" test -f "$TMP/x/usr/share/bash-completion/completions/sentrix"
fi
echo "# the package holds $(find "$TMP/x/usr/share/man" -type f 2>/dev/null | wc -l) man page(s) and $(find "$TMP/x/usr/share/bash-completion" -type f 2>/dev/null | wc -l) bash completion file(s)"
check_eq "Depends names the dlopen()ed libnftables1 and libsystemd0" "libnftables1 libsystemd0" \
	"$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -E '^(libnftables1|libsystemd0)$' | sort -u | tr '\n' ' ' | sed 's/ $//')"

CURRENT="lintian"
lintian --display-info --show-overrides "$DEB" >"$TMP/lintian.out" 2>&1
echo "# lintian --display-info --show-overrides $(basename "$DEB") ($(secs "$t1" "$(date +%s.%N)") s):"
grep -v '^running with root privileges' "$TMP/lintian.out" | sed 's/^/#   /'
check_eq "lintian reports no error and no warning" "" "$(grep -E '^[EW]: ' "$TMP/lintian.out")"

# The upgrade: the same package, version VERSION+sxt1.
mkdir -p "$TMP/debs" "$TMP/up"
cp "$DEB" "$TMP/debs/sentrix_${VERSION}_$ARCH.deb"
dpkg-deb -R "$DEB" "$TMP/up"
sed -i "s/^Version: .*/Version: $VERSION+sxt1/" "$TMP/up/DEBIAN/control"
dpkg-deb -b "$TMP/up" "$TMP/debs/sentrix_$VERSION+sxt1_$ARCH.deb" >/dev/null
NEW=/run/sxt-deb/sentrix_${VERSION}_$ARCH.deb
UP=/run/sxt-deb/sentrix_$VERSION+sxt1_$ARCH.deb

# ---- the container ---------------------------------------------------------
CURRENT="container"
if ! rootfs_ensure "$ROOTFS" 2>"$TMP/rootfs.err"; then
	skip "cannot build the Debian 12 rootfs in $ROOTFS (no Debian mirror reachable?): $(grep -v '^#' "$TMP/rootfs.err" | tail -1 | sed 's/^ *| //')"
	summary
	exit 0
fi
sed -n 's/^#/#/p' "$TMP/rootfs.err"
t2=$(date +%s.%N)
if ! nspawn_boot "$ROOTFS" --bind-ro="$TMP/debs:/run/sxt-deb" 2>"$TMP/boot.err"; then
	not_ok "systemd boots in the container"
	sed 's/^/    | /' "$TMP/boot.err" | tail -20
	summary
	exit 1
fi
ok "systemd boots in the container ($(in_ct systemctl is-system-running), $(secs "$t2" "$(date +%s.%N)") s)"
# OpenClaw is not in the container (the end-to-end tests run the real
# one): a stand-in keeps the sandbox unit up, as in test-systemd.
nspawn_exec sh -ec 'printf "#!/bin/sh\nexec sleep 600\n" >/usr/local/bin/openclaw; chmod 755 /usr/local/bin/openclaw'
before=$(ct_state)

CURRENT="install"
t3=$(date +%s.%N)
ct_run "apt-get install ./$(basename "$NEW") (offline: every dependency is in the rootfs)" \
	apt-get install -y -q --no-install-recommends "$NEW"
check_eq "programs under /usr" "/usr/bin/sentrix /usr/sbin/sentrix-setup /usr/bin/sentrix-gateway" \
	"$(in_ct sh -c 'for p in sentrix sentrix-setup sentrix-gateway; do command -v $p; done' | tr '\n' ' ' | sed 's/ $//')"
check_eq "template units in /lib/systemd/system" \
	"sentrix-gateway@.service sentrix-netns@.service sentrix-sandbox@.service sentrix@.target" \
	"$(in_ct sh -c 'cd /lib/systemd/system && ls -d sentrix*' | tr '\n' ' ' | sed 's/ $//')"
check_eq "no unit enabled or started by the package" "" \
	"$(in_ct sh -c 'systemctl list-units --all --plain --no-legend "sentrix*"; find /etc/systemd/system -name "sentrix*"')"
check "the units name the programs under /usr" nspawn_exec sh -ec '
	grep -q "^ExecStart=/usr/sbin/sentrix-setup up" /lib/systemd/system/sentrix-netns@.service
	grep -q "^ExecStart=/usr/bin/sentrix-gateway" /lib/systemd/system/sentrix-gateway@.service
	grep -q "file:/usr/share/doc/sentrix/README.md" /lib/systemd/system/sentrix@.target
	test -f /usr/share/doc/sentrix/README.md'
check_eq "the gateway account, from sysusers.d" "sentrix:sentrix gateway:/nonexistent:/usr/sbin/nologin" \
	"$(in_ct getent passwd sentrix | cut -d: -f1,5,6,7)"
check "tmpfiles.d's directories" nspawn_exec test -d /var/lib/sentrix -a -d /var/log/sentrix -a -d /run/sentrix
check "policy and setup templates in /usr/share/sentrix" nspawn_exec test -f /usr/share/sentrix/policy/strict/policy.json -a -f /usr/share/sentrix/templates/sandbox-dropin.conf

CURRENT="setup"
ct_run "sentrix sandbox setup --policy strict --non-interactive" sentrix sandbox setup --policy strict --non-interactive
ct_check_unit "sentrix@sandbox0.target is active" active sentrix@sandbox0.target
ct_check_unit "sentrix-gateway@sandbox0.service is active" active sentrix-gateway@sandbox0.service
ct_check_unit "sentrix-sandbox@sandbox0.service is active" active sentrix-sandbox@sandbox0.service
echo "# kept across upgrades" | nspawn_exec tee -a /etc/sentrix/sandbox0/secrets.env >/dev/null
invocations() {
	in_ct systemctl show -p InvocationID --value sentrix-netns@sandbox0.service sentrix-gateway@sandbox0.service \
		sentrix-sandbox@sandbox0.service | grep . | tr '\n' ' '
}
inv=$(invocations)
conf=$(in_ct sh -c 'cd /etc/sentrix/sandbox0 && md5sum config.json secrets.env gateway.token policy/*')

CURRENT="upgrade"
t4=$(date +%s.%N)
ct_run "apt-get install ./$(basename "$UP")" apt-get install -y -q --no-install-recommends "$UP"
check_eq "version $VERSION+sxt1 installed" "$VERSION+sxt1 install ok installed" \
	"$(in_ct dpkg-query -W -f '${Version} ${Status}' sentrix)"
ct_check_unit "sentrix@sandbox0.target is active" active sentrix@sandbox0.target
ct_check_unit "sentrix-gateway@sandbox0.service is active" active sentrix-gateway@sandbox0.service
ct_check_unit "sentrix-sandbox@sandbox0.service is active" active sentrix-sandbox@sandbox0.service
now=$(invocations)
changed=0
for i in 1 2 3; do
	[ "$(echo "$inv" | cut -d' ' -f$i)" != "$(echo "$now" | cut -d' ' -f$i)" ] && changed=$((changed + 1))
done
check_eq "the netns, gateway and sandbox units were restarted (new invocation ids)" 3 "$changed"
check_eq "config.json, secrets.env, gateway.token and the policy are kept byte for byte" "$conf" \
	"$(in_ct sh -c 'cd /etc/sentrix/sandbox0 && md5sum config.json secrets.env gateway.token policy/*')"
in_ct sentrix sandbox status --json >"$TMP/status.json"
check_eq "sentrix sandbox status: every check ok after the upgrade" True "$(json_get "j['ok']" <"$TMP/status.json" 2>&1)"
[ "$(json_get "j['ok']" <"$TMP/status.json" 2>&1)" = True ] ||
	json_get "[k + ': ' + v['detail'] for k, v in j['checks'].items() if not v['ok']]" <"$TMP/status.json" | sed 's/^/    | /'

CURRENT="remove"
t5=$(date +%s.%N)
ct_run "dpkg --remove sentrix" dpkg --remove sentrix
sed 's/^/    | /' "$TMP/out" | grep 'sentrix:'
check_eq "package state" "deinstall ok config-files" "$(in_ct dpkg-query -W -f '${Status}' sentrix)"
ct_check_unit "sentrix@sandbox0.target is stopped" inactive sentrix@sandbox0.target
check "the instance is rolled back: no netns, nftables table, veth, drop-in or enablement" nspawn_exec sh -ec '
	! test -e /run/netns/sandbox0
	! nft list tables | grep -q sentrix
	! ip link show sx-sandbox0 2>/dev/null
	! test -e /etc/systemd/system/sentrix-sandbox@sandbox0.service.d
	! test -e /etc/systemd/system/multi-user.target.wants/sentrix@sandbox0.target
	! test -e /usr/sbin/sentrix-setup'
check "what --disable keeps is kept: the user and home, secrets.env, logs, journal" nspawn_exec sh -ec '
	getent passwd sandbox >/dev/null
	test -d /home/sandbox
	grep -q "^# kept across upgrades" /etc/sentrix/sandbox0/secrets.env
	test -d /var/log/sentrix/sandbox0
	test -f /var/lib/sentrix/sandbox0/journal.db'

CURRENT="purge"
ct_run "dpkg --purge sentrix" dpkg --purge sentrix
check_eq "nothing of sentrix is left: the container's state is as before the install" "$before" "$(ct_state)"

# A purge straight from installed, with a running instance, one that was
# disabled without --purge (its user, home, secrets and logs kept) and one
# whose sandbox user existed before sentrix (it stays).
CURRENT="purge from installed"
t6=$(date +%s.%N)
nspawn_exec useradd --create-home --shell /bin/bash sxtown
before=$(ct_state)
ct_run "apt-get install ./$(basename "$NEW")" apt-get install -y -q --no-install-recommends "$NEW"
ct_run "setup sandbox0 --policy strict" sentrix sandbox setup --policy strict --non-interactive
# (--disable right after setup would interrupt the starting units: setup
# returns once systemd has queued the start.)
ct_run "setup sxtb" sentrix sandbox setup --name sxtb --policy strict --non-interactive
ct_check_unit "sentrix@sxtb.target is active" active sentrix@sxtb.target
ct_run "--disable sxtb (keeps its user, home, secrets, logs)" sentrix sandbox setup --disable --name sxtb --non-interactive
ct_run "setup sxtc for the existing user sxtown" \
	sentrix sandbox setup --name sxtc --user sxtown --policy strict --non-interactive
ct_check_unit "sentrix@sxtc.target is active" active sentrix@sxtc.target
check "sandbox-sxtb is kept by --disable" nspawn_exec getent passwd sandbox-sxtb
ct_run "dpkg --purge sentrix" dpkg --purge sentrix
check_eq "nothing of sentrix is left, the user sxtown and its home are" "$before" "$(ct_state)"

# Without systemd-sysusers and systemd-tmpfiles (systemd is optional) the
# postinst makes the same account and directories itself.
CURRENT="without systemd's tools"
nspawn_exec sh -c 'mkdir /run/sxt-hidden && mv /usr/bin/systemd-sysusers /usr/bin/systemd-tmpfiles /run/sxt-hidden/'
ct_run "dpkg -i $(basename "$NEW")" dpkg -i "$NEW"
check_eq "the gateway account, from useradd" "sentrix:sentrix gateway:/nonexistent:/usr/sbin/nologin sentrix" \
	"$(in_ct getent passwd sentrix | cut -d: -f1,5,6,7) $(in_ct getent group sentrix | cut -d: -f1)"
check "tmpfiles.d's directories, by hand" nspawn_exec test -d /var/lib/sentrix -a -d /var/log/sentrix -a -d /run/sentrix
nspawn_exec sh -c 'mv /run/sxt-hidden/* /usr/bin/ && rmdir /run/sxt-hidden'
ct_run "dpkg --purge sentrix" dpkg --purge sentrix
check_eq "nothing of sentrix is left" "$before" "$(ct_state)"
t7=$(date +%s.%N)

CURRENT="teardown"
nspawn_stop 2>"$TMP/stop.err"
check_eq "the container powers off by itself" "" "$(cat "$TMP/stop.err")"
check_eq "the cached rootfs was not written to" "" "$(find "$ROOTFS" -newer "$ROOTFS.stamp" -print 2>&1 | head -5)"
echo "# package and checks $(secs "$t0" "$t1") s, lintian $(secs "$t1" "$t2") s, boot $(secs "$t2" "$t3") s," \
	"install+setup $(secs "$t3" "$t4") s, upgrade $(secs "$t4" "$t5") s, remove+purge $(secs "$t5" "$t6") s," \
	"second purge and the install without systemd's tools $(secs "$t6" "$t7") s"
summary
