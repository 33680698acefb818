#!/bin/sh
# sentrix instance @NAME@: start the OpenClaw gateway from a shell inside
# the sandbox (sudo sentrix sandbox exec --name @NAME@ -- bash -l).
# Written by `sentrix sandbox setup`; removed by `--disable`.
#
# This file lives in the sandbox user's home, which the sandboxed agent can
# rewrite, so it is for the sandbox user alone and refuses to run as root.
# Root starts the instance with `sentrix sandbox run --name @NAME@` or its
# systemd target (sentrix@@NAME@.target), never with a script from here.
set -eu

if [ "$(id -u)" = 0 ]; then
	echo "run-sandbox.sh: refusing to run as root: this file is in the sandbox user's home, which" >&2
	echo "the sandboxed agent can rewrite. Start the instance with: sudo sentrix sandbox run --name @NAME@" >&2
	exit 1
fi
here=$(stat -L -c %i /proc/self/ns/net)
want=$(stat -c %i "@NETNS_PATH@" 2>/dev/null || echo none)
if [ "$here" != "$want" ] || [ "$(hostname)" != "@NAME@" ]; then
	echo "run-sandbox.sh: not inside sentrix sandbox @NAME@." >&2
	echo "Start it with: sudo sentrix sandbox run --name @NAME@ (or its systemd target" >&2
	echo "sentrix@@NAME@.target), or open a sandboxed shell: sudo sentrix sandbox exec --name @NAME@ -- bash -l" >&2
	exit 1
fi
if ! command -v openclaw >/dev/null 2>&1; then
	echo "run-sandbox.sh: openclaw is not installed (npm install -g openclaw, with Node 24)" >&2
	exit 127
fi
exec openclaw gateway --port @OPENCLAW_PORT@
