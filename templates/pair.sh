#!/bin/sh
# sentrix instance @NAME@: device pre-pairing for the browser UI.
#
# The sentrix WSS bridge (port 8766 on the host) reaches OpenClaw's gateway
# at @SANDBOX_IP@:@OPENCLAW_PORT@ from the host side of the veth, which
# OpenClaw treats as a remote client that must be paired.  Pairing will
# register the bridge's device key with OpenClaw so browsers need no manual
# approval.  It ships with the browser bridge; until then this script does
# nothing and says so.
#
# This file lives in the sandbox user's home, which the sandboxed agent can
# rewrite: it is for the sandbox user alone and refuses to run as root.
if [ "$(id -u)" = 0 ]; then
	echo "pair.sh: refusing to run as root: this file is in the sandbox user's home, which the" >&2
	echo "sandboxed agent can rewrite. Root never runs scripts from there." >&2
	exit 1
fi
echo "pair.sh: device pre-pairing for instance @NAME@ arrives with the sentrix browser bridge; nothing was paired." >&2
exit 1
