#!/bin/sh
# sentrix instance @NAME@: start the OpenClaw gateway as @USER@ inside the
# sandbox's network namespace.  Written by `sentrix sandbox setup`; removed
# by `--disable`.  sentrix-sandbox@@NAME@.service runs the same command.
set -eu

export OPENCLAW_CONFIG_PATH="@OPENCLAW_CONFIG@"
export OPENCLAW_STATE_DIR="@HOME@/.openclaw"
export OPENCLAW_LOAD_SHELL_ENV=0
export HTTPS_PROXY="http://@HOST_IP@:@EGRESS_PORT@"
export HTTP_PROXY="$HTTPS_PROXY"
export NO_PROXY="@HOST_IP@,localhost,127.0.0.1"

# Only start inside the instance's namespace: outside it OpenClaw would
# listen on the host's network instead of the sandbox's.
here=$(stat -L -c %i /proc/self/ns/net)
want=$(stat -c %i "@NETNS_PATH@" 2>/dev/null || echo none)
if [ "$here" != "$want" ]; then
	echo "run-sandbox.sh: not inside the network namespace of sentrix instance @NAME@." >&2
	echo "Start the instance with its systemd target (sentrix@@NAME@.target) or run, as root:" >&2
	echo "  ip netns exec @NAME@ su -s /bin/sh -c @HOME@/run-sandbox.sh @USER@" >&2
	exit 1
fi
if ! command -v openclaw >/dev/null 2>&1; then
	echo "run-sandbox.sh: openclaw is not installed (npm install -g openclaw, with Node 24)" >&2
	exit 127
fi
exec openclaw gateway --port @OPENCLAW_PORT@
