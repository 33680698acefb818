#!/bin/sh
# sentrix instance @NAME@: is the browser bridge paired with OpenClaw?
#
# The sentrix gateway's bridge pairs with OpenClaw's gateway by itself,
# with no approval step: it reaches OpenClaw on loopback inside the
# instance's network namespace (the relay `sentrix sandbox run` starts)
# as the operator device "sentrix-bridge @NAME@".  This script, for the
# sandbox user, asks OpenClaw (`openclaw devices list`) whether that device
# is paired.  Root re-runs and verifies the pairing with
# `sudo sentrix sandbox pair --name @NAME@`.
#
# This file lives in the sandbox user's home, which the sandboxed agent can
# rewrite: it is for the sandbox user alone and refuses to run as root.
if [ "$(id -u)" = 0 ]; then
	echo "pair.sh: refusing to run as root: this file is in the sandbox user's home, which the" >&2
	echo "sandboxed agent can rewrite. Root never runs scripts from there;" >&2
	echo "use: sentrix sandbox pair --name @NAME@" >&2
	exit 1
fi
if ! command -v openclaw >/dev/null 2>&1; then
	echo "pair.sh: openclaw is not on PATH; ask root to run: sentrix sandbox pair --name @NAME@" >&2
	exit 1
fi
if openclaw devices list --json 2>/dev/null | grep -q '"sentrix-bridge @NAME@"'; then
	echo "pair.sh: the bridge is paired with OpenClaw (device \"sentrix-bridge @NAME@\")"
	exit 0
fi
echo "pair.sh: OpenClaw lists no device \"sentrix-bridge @NAME@\" (is OpenClaw's gateway running?);" >&2
echo "ask root to run: sentrix sandbox pair --name @NAME@" >&2
exit 1
