#!/bin/bash
# Baseline for `make bench`: the same runtime pieces `sentrix sandbox up`
# builds (netns, veth with its peer inside, addresses, routes, IPv6 off,
# nftables tables in the host and in the netns, ip_forward), done the usual
# way with ip(8), sysctl(8) and nft -f.
# Usage: baseline-netns.sh up|down NAME HOST_IP SANDBOX_IP DNS_SERVER
set -eu
cmd=$1 name=$2 hip=$3 sip=$4 dns=$5
hif=sx-$name

if [ "$cmd" = down ]; then
	nft delete table inet sentrix_$name 2>/dev/null || true
	ip netns del "$name" 2>/dev/null || true
	exit 0
fi

ip netns add "$name"
ip netns exec "$name" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add "$hif" type veth peer name eth0 netns "$name"
sysctl -qw "net.ipv6.conf.$hif.disable_ipv6=1"
ip addr add "$hip/30" dev "$hif"
ip link set "$hif" up
ip -n "$name" link set lo up
ip -n "$name" addr add "$sip/30" dev eth0
ip -n "$name" link set eth0 up
ip -n "$name" route add default via "$hip"
ip netns exec "$name" nft -f - <<NFT
table inet sentrix {
	counter dropped { }
	chain output {
		type filter hook output priority filter; policy accept;
		oifname "lo" accept
		ct state established,related accept
		ip daddr $hip tcp dport { 18790, 18791 } accept
		ip daddr { $dns } udp dport 53 accept
		ip daddr { $dns } tcp dport 53 accept
		limit rate 10/second burst 20 packets log prefix "sentrix-$name-drop " level info
		counter name "dropped" drop
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "lo" accept
		ct state established,related accept
		ip saddr $hip tcp dport 18789 accept
		counter name "dropped" drop
	}
}
NFT
nft -f - <<NFT
table inet sentrix_$name {
	counter dropped { }
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "$hif" jump from_sandbox
	}
	chain from_sandbox {
		ct state established,related accept
		ip daddr $hip tcp dport { 18790, 18791 } accept
		limit rate 10/second burst 20 packets log prefix "sentrix-$name-drop " level info
		counter name "dropped" drop
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "$hif" jump sandbox_out
		oifname "$hif" jump sandbox_in
	}
	chain sandbox_out {
		ct state established,related accept
		ip daddr { $dns } udp dport 53 accept
		ip daddr { $dns } tcp dport 53 accept
		limit rate 10/second burst 20 packets log prefix "sentrix-$name-drop " level info
		counter name "dropped" drop
	}
	chain sandbox_in {
		ct state established,related accept
		counter name "dropped" drop
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr $sip oifname != "$hif" masquerade
	}
}
NFT
sysctl -qw net.ipv4.ip_forward=1
