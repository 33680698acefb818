#!/bin/bash
# A "fake internet" for the integration tests and benchmarks (sourced after
# lib.sh; $TOP is the repository root).
#
# Namespace sxtnet holds TEST-NET-2 addresses (198.51.100.0/24) on its
# loopback, reached from the host over a veth transit link in TEST-NET-3
# (sxtnet-h 203.0.113.1 <-> eth0 203.0.113.2, a /30).  Nothing here routes
# beyond this machine: the host gets a route for 198.51.100.0/24 via the
# transit link, so test traffic never leaves it.  The host resolves none of
# the names below: ask the resolver (dig @$FAKENET_DNS) or pin them
# (curl --resolve allowed.test:443:$FAKENET_WEB2 --cacert $FAKENET_CA).
#
# Addresses and what answers there (all inside sxtnet):
#   FAKENET_DNS  198.51.100.53  dnsmasq, knows the names below
#   FAKENET_DNS2 198.51.100.54  dnsmasq, same names (the "unlisted" server)
#   FAKENET_WEB  198.51.100.80  tests/helpers/tcp-listen.py on :80 and :443:
#                               accepts and closes at once (reachability probes)
#   FAKENET_WEB2 198.51.100.10  a real web server (nginx, run as its own master):
#                               :80 HTTP, :443 HTTPS, :8443 HTTPS (the "unlisted
#                               port"), and tests/helpers/halfclose-server.py on
#                               :7000 (FAKENET_HALFCLOSE_PORT): reads to EOF, then
#                               answers "got N bytes sha256 HEX\n" and closes
#   FAKENET_HOSTSIDE 203.0.113.1  the host's end of the transit link
#
# Answers carry a TTL of 300 s, as real names do (dnsmasq's default is 0).
# Names (both resolvers; dnsmasq's --address=/d/ also answers every name
# below d, so sub.allowed.test, x.wild.test and a.b.wild.test resolve too):
#   allowed.test, other.test, wild.test  -> FAKENET_WEB2   (FAKENET_WEB2_NAMES)
#   probe.test                           -> FAKENET_WEB    (FAKENET_WEB_NAME)
#   loop.test -> 127.0.0.1, private.test -> 10.1.2.3
#
# TLS: fakenet_up makes a throwaway CA and one server certificate for
# allowed.test, sub.allowed.test, other.test, wild.test and *.wild.test (one
# label: a.b.wild.test resolves but fails verification); the CA is
# $FAKENET_CA (curl --cacert "$FAKENET_CA").
#
# Pages of FAKENET_WEB2 (every port, every name):
#   /       "hello from HOST\n", HOST being the request's Host header as sent
#   /small  "$FAKENET_SMALL_BODY\n"
#   /big    $FAKENET_BIGFILE, 1 GiB of random bytes, whose sha256sum line is
#           in $FAKENET_BIGSUM.  It is built once, by fakenet_bigfile, and
#           kept for later runs; fakenet_up builds it only with FAKENET_BIG=1
#           (until then /big answers 404).  Callers: `fakenet_bigfile || fail`
#           after (or before) fakenet_up; it sets FAKENET_BIG_SHA256 (hex).
#
# fakenet_up starts all of it (after tearing down any earlier one: there is
# one fake internet per machine) and returns once every server answers;
# fakenet_down stops the processes and removes the namespace, the link, the
# route and the temporary directory ($FAKENET_TMP: config, keys, logs).

FAKENET=sxtnet
FAKENET_WEB=198.51.100.80
FAKENET_WEB_NAME=probe.test
FAKENET_WEB2=198.51.100.10
FAKENET_WEB2_NAMES="allowed.test other.test wild.test"
FAKENET_HALFCLOSE_PORT=7000
FAKENET_DNS=198.51.100.53
FAKENET_DNS2=198.51.100.54
FAKENET_HOSTSIDE=203.0.113.1
FAKENET_SMALL_BODY="sentrix fake internet: small page"
FAKENET_BIGFILE=/var/cache/sentrix-tests/big-1g.bin
FAKENET_BIGSUM=/var/cache/sentrix-tests/big-1g.sha256
FAKENET_BIG_SHA256=${FAKENET_BIG_SHA256:-}
FAKENET_TMP=${FAKENET_TMP:-}
FAKENET_CA=${FAKENET_CA:-}
export FAKENET FAKENET_WEB FAKENET_WEB_NAME FAKENET_WEB2 FAKENET_WEB2_NAMES FAKENET_HALFCLOSE_PORT \
	FAKENET_DNS FAKENET_DNS2 FAKENET_HOSTSIDE FAKENET_SMALL_BODY FAKENET_BIGFILE FAKENET_BIGSUM \
	FAKENET_BIG_SHA256 FAKENET_TMP FAKENET_CA
FAKENET_PIDS=()

# fakenet_bigfile: makes sure $FAKENET_BIGFILE (1 GiB of random bytes) and
# $FAKENET_BIGSUM exist, creating both once (temporary names, then rename;
# under a lock, so concurrent callers wait for one copy), and sets
# FAKENET_BIG_SHA256.  Prints how long the creation took, or when the reused
# file was made, on stderr.  Returns 1 on failure.
fakenet_bigfile() {
	local dir=${FAKENET_BIGFILE%/*}
	mkdir -p "$dir" && chmod 755 "$dir" || return 1
	(
		exec 9<"$dir" && flock 9 || exit 1
		if [ "$(stat -c %s "$FAKENET_BIGFILE" 2>/dev/null)" = 1073741824 ] && [ -s "$FAKENET_BIGSUM" ]; then
			echo "# fakenet: reusing $FAKENET_BIGFILE (created $(date -r "$FAKENET_BIGFILE" '+%F %T'))" >&2
			exit 0
		fi
		t0=$EPOCHREALTIME
		tmp=$(mktemp "$dir/.big-1g.bin.XXXXXX") || exit 1
		# The checksum is taken on the way to the disk (one pass).
		if sum=$(openssl rand 1073741824 | tee "$tmp" | sha256sum) &&
			[ "$(stat -c %s "$tmp")" = 1073741824 ] && chmod 644 "$tmp" &&
			echo "${sum%% *}  ${FAKENET_BIGFILE##*/}" >"$tmp.sum" && chmod 644 "$tmp.sum" &&
			rm -f "$FAKENET_BIGSUM" && mv "$tmp" "$FAKENET_BIGFILE" && mv "$tmp.sum" "$FAKENET_BIGSUM"; then
			awk -v a="$t0" -v b="$EPOCHREALTIME" -v f="$FAKENET_BIGFILE" \
				'BEGIN { printf "# fakenet: created %s (1 GiB of random bytes) in %.1f s\n", f, b - a }' >&2
			exit 0
		fi
		rm -f "$tmp" "$tmp.sum"
		echo "fakenet: cannot create $FAKENET_BIGFILE" >&2
		exit 1
	) || return 1
	read -r FAKENET_BIG_SHA256 _ <"$FAKENET_BIGSUM" || return 1
	export FAKENET_BIG_SHA256
}

# _fakenet_certs DIR: a throwaway CA (DIR/ca.crt) and the server's key and
# certificate (DIR/server.key, DIR/server.crt), EC P-256, valid 7 days.
_fakenet_certs() {
	local d=$1
	printf '%s\n' "subjectAltName=DNS:allowed.test,DNS:sub.allowed.test,DNS:other.test,DNS:wild.test,DNS:*.wild.test" \
		"basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" >"$d/server.ext"
	openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 7 \
		-subj "/CN=sentrix fake internet test CA" -keyout "$d/ca.key" -out "$d/ca.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
		openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-subj "/CN=allowed.test" -keyout "$d/server.key" -out "$d/server.csr" &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -days 7 \
			-set_serial "0x$(openssl rand -hex 8)" -extfile "$d/server.ext" -out "$d/server.crt"
}

# _fakenet_nginx_conf DIR: nginx's config in DIR (pid, logs, temp paths below it;
# workers run as nobody, the master, which reads the key, as root).
_fakenet_nginx_conf() {
	local d=$1
	mkdir -p "$d/nginx/tmp" && cat >"$d/nginx/nginx.conf" <<-EOF
	daemon off;
	master_process on;
	worker_processes 1;
	user nobody nogroup;
	pid $d/nginx/nginx.pid;
	error_log $d/nginx/error.log warn;
	events { worker_connections 4096; }
	http {
	  access_log off;
	  default_type text/plain;
	  sendfile on;
	  keepalive_requests 100000;
	  client_body_temp_path $d/nginx/tmp/body; proxy_temp_path $d/nginx/tmp/proxy;
	  fastcgi_temp_path $d/nginx/tmp/fcgi; uwsgi_temp_path $d/nginx/tmp/uwsgi;
	  scgi_temp_path $d/nginx/tmp/scgi;
	  ssl_certificate $d/server.crt;
	  ssl_certificate_key $d/server.key;
	  ssl_protocols TLSv1.2 TLSv1.3;
	  server {
	    listen $FAKENET_WEB2:80 default_server backlog=4096;
	    listen $FAKENET_WEB2:443 ssl default_server backlog=4096;
	    listen $FAKENET_WEB2:8443 ssl default_server;
	    server_name _;
	    location = / { return 200 "hello from \$http_host\n"; }
	    location = /small { return 200 "$FAKENET_SMALL_BODY\n"; }
	    location = /big { alias $FAKENET_BIGFILE; default_type application/octet-stream; }
	    location / { return 404 "not found\n"; }
	  }
	}
	EOF
}

# _fakenet_ready: every resolver, web port and helper answers.
_fakenet_ready() {
	local c=(curl -sf --noproxy '*' --max-time 1 -o /dev/null)
	dig +short +time=1 +tries=1 @$FAKENET_DNS allowed.test 2>/dev/null | grep -qx $FAKENET_WEB2 &&
		dig +short +time=1 +tries=1 @$FAKENET_DNS2 $FAKENET_WEB_NAME 2>/dev/null | grep -qx $FAKENET_WEB &&
		timeout 1 bash -c "</dev/tcp/$FAKENET_WEB/443" 2>/dev/null &&
		timeout 1 bash -c "</dev/tcp/$FAKENET_WEB2/$FAKENET_HALFCLOSE_PORT" 2>/dev/null &&
		"${c[@]}" "http://$FAKENET_WEB2/" &&
		"${c[@]}" --cacert "$FAKENET_CA" --resolve "allowed.test:443:$FAKENET_WEB2" https://allowed.test/
}

fakenet_up() {
	fakenet_down
	if [ "${FAKENET_BIG:-0}" = 1 ]; then fakenet_bigfile || return 1; fi
	FAKENET_TMP=$(mktemp -d /tmp/sxt-fakenet.XXXXXX) || return 1
	chmod 755 "$FAKENET_TMP" # nginx's workers (nobody) use its temp paths
	FAKENET_CA=$FAKENET_TMP/ca.crt
	export FAKENET_TMP FAKENET_CA
	_fakenet_certs "$FAKENET_TMP" >"$FAKENET_TMP/openssl.log" 2>&1 ||
		{ cat "$FAKENET_TMP/openssl.log" >&2; echo "fakenet: cannot make the test CA" >&2; return 1; }
	_fakenet_nginx_conf "$FAKENET_TMP" || return 1

	# `ip netns add` makes /run/netns (a mount point) when the machine has
	# none yet; fakenet_down removes it again then, as the host was.
	[ -d /run/netns ] || FAKENET_MADE_RUN_NETNS=1
	ip netns add $FAKENET || return 1
	ip link add sxtnet-h type veth peer name eth0 netns $FAKENET || return 1
	ip addr add $FAKENET_HOSTSIDE/30 dev sxtnet-h
	ip link set sxtnet-h up
	ip -n $FAKENET link set lo up
	ip -n $FAKENET addr add 203.0.113.2/30 dev eth0
	ip -n $FAKENET link set eth0 up
	for a in $FAKENET_WEB $FAKENET_WEB2 $FAKENET_DNS $FAKENET_DNS2; do ip -n $FAKENET addr add $a/32 dev lo; done
	ip -n $FAKENET route add default via $FAKENET_HOSTSIDE
	ip route add 198.51.100.0/24 via 203.0.113.2 dev sxtnet-h
	local d
	for d in $FAKENET_DNS $FAKENET_DNS2; do
		ip netns exec $FAKENET dnsmasq --keep-in-foreground --no-resolv --no-hosts \
			--listen-address=$d --bind-interfaces --port=53 --pid-file= \
			--address=/allowed.test/other.test/wild.test/$FAKENET_WEB2 \
			--address=/$FAKENET_WEB_NAME/$FAKENET_WEB --address=/loop.test/127.0.0.1 \
			--address=/private.test/10.1.2.3 --local-ttl=300 --log-facility=/dev/null &
		FAKENET_PIDS+=($!)
	done
	ip netns exec $FAKENET /usr/bin/python3 "$TOP/tests/helpers/tcp-listen.py" \
		$FAKENET_WEB:80 $FAKENET_WEB:443 >/dev/null &
	FAKENET_PIDS+=($!)
	ip netns exec $FAKENET nginx -p "$FAKENET_TMP/nginx" -c "$FAKENET_TMP/nginx/nginx.conf" \
		-e "$FAKENET_TMP/nginx/error.log" &
	FAKENET_PIDS+=($!)
	ip netns exec $FAKENET /usr/bin/python3 "$TOP/tests/helpers/halfclose-server.py" \
		$FAKENET_WEB2:$FAKENET_HALFCLOSE_PORT >/dev/null &
	FAKENET_PIDS+=($!)
	local i
	for i in $(seq 50); do
		_fakenet_ready && return 0
		sleep 0.1
	done
	cat "$FAKENET_TMP/nginx/error.log" >&2 2>/dev/null
	echo "fake internet did not come up" >&2
	return 1
}

fakenet_down() {
	local p left i
	for p in "${FAKENET_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${FAKENET_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	FAKENET_PIDS=()
	# Anything else still in the namespace: an earlier fake internet whose
	# shell died before its fakenet_down (there is one per machine).
	left=$(ip netns pids $FAKENET 2>/dev/null)
	if [ -n "$left" ]; then
		kill $left 2>/dev/null
		for i in $(seq 20); do
			[ -z "$(ip netns pids $FAKENET 2>/dev/null)" ] && break
			sleep 0.1
		done
		left=$(ip netns pids $FAKENET 2>/dev/null)
		[ -n "$left" ] && kill -KILL $left 2>/dev/null
	fi
	ip route del 198.51.100.0/24 2>/dev/null
	ip link del sxtnet-h 2>/dev/null
	ip netns del $FAKENET 2>/dev/null
	if [ "${FAKENET_MADE_RUN_NETNS:-0}" = 1 ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
		umount -l /run/netns 2>/dev/null
		rmdir /run/netns 2>/dev/null
	fi
	FAKENET_MADE_RUN_NETNS=0
	# Its temporary directory; likewise an earlier one's.
	rm -rf /tmp/sxt-fakenet.??????
	FAKENET_TMP='' FAKENET_CA=''
	return 0
}
