#!/bin/sh
# Installs what sentrix needs to build, run and test on Debian 12 (root).
# Used by the README's two commands and by .ci/run.
set -eu
# libclang-rt-14-dev: clang's sanitizer and libFuzzer runtimes (make fuzz,
# make check's fuzz tier; only recommended by clang, so not pulled in with
# --no-install-recommends).
# scdoc: the man pages (make man, install, check); groff-base and man-db:
# make check renders them (groff -ww) and finds them (man -w).
# dpkg-dev, debhelper, fakeroot, lintian, scdoc: make deb (the package's
# Build-Depends) and tests/integration/test-deb.sh.
# libwebsockets-dev, libssl-dev: the gateway's browser bridge (WSS, its
# certificate, the Ed25519 device key); sqlite3: the bridge's test reads
# OpenClaw's pairing store.
# libvectorscan-dev, libpcre2-dev, libutf8proc-dev: the patrol's detection
# engine (Vectorscan finds, PCRE2 confirms, utf8proc normalises); ripgrep:
# make bench compares the patrol's scan with it.
# chromium: the browser bridge's tests drive Debian's Chromium headless
# (tests/browser/; the playwright-core they use downloads no browser).
PKGS="build-essential pkg-config clang clang-format libclang-rt-14-dev
libnl-3-dev libnl-route-3-dev libmnl-dev libnftables-dev libseccomp-dev
libsystemd-dev libcjson-dev libsqlite3-dev libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev
libc-ares-dev libldns-dev libhttp-parser-dev libwebsockets-dev libssl-dev
libvectorscan-dev libpcre2-dev libutf8proc-dev ripgrep
nftables iproute2 sqlite3 util-linux kmod systemd procps passwd hostname
scdoc groff-base man-db
dnsmasq-base dnsutils iputils-ping python3 curl ca-certificates strace bubblewrap nodejs chromium debootstrap systemd-container openssl nginx-light wrk tinyproxy
dpkg-dev debhelper fakeroot lintian scdoc"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The end-to-end tests install a pinned OpenClaw with npm (tests/e2e/); a
# machine with its own Node.js and npm keeps them.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -z "$missing" ]; then
	echo "install-deps: everything is installed"
	exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
