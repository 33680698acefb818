#!/bin/sh
# sentrix instance @NAME@: start the OpenClaw gateway confined in the
# sandbox.  Written by `sentrix sandbox setup`; removed by `--disable`.
# sentrix-sandbox@@NAME@.service runs the same launcher.
#
#  as root:                confines and starts OpenClaw through the launcher
#                          (sentrix sandbox exec), as @USER@;
#  inside the sandbox:     (a shell started with `sentrix sandbox exec --name
#                          @NAME@ -- bash -l`) starts OpenClaw directly.
set -eu

if [ "$(id -u)" = 0 ]; then
	exec @PREFIX@/sbin/sentrix-setup exec --name @NAME@ -- openclaw gateway --port @OPENCLAW_PORT@
fi

here=$(stat -L -c %i /proc/self/ns/net)
want=$(stat -c %i "@NETNS_PATH@" 2>/dev/null || echo none)
if [ "$here" != "$want" ] || [ "$(hostname)" != "@NAME@" ]; then
	echo "run-sandbox.sh: not inside sentrix sandbox @NAME@." >&2
	echo "Start it as root (sudo $0), with its systemd target (sentrix@@NAME@.target)," >&2
	echo "or open a sandboxed shell: sudo sentrix sandbox exec --name @NAME@ -- bash -l" >&2
	exit 1
fi
if ! command -v openclaw >/dev/null 2>&1; then
	echo "run-sandbox.sh: openclaw is not installed (npm install -g openclaw, with Node 24)" >&2
	exit 127
fi
exec openclaw gateway --port @OPENCLAW_PORT@
