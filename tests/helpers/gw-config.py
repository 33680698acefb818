#!/usr/bin/env python3
"""Writes a config.json for running sentrix-gateway outside an instance
(loopback tests and benchmarks): every path points into DIR.

  gw-config.py DIR --port-base N [--provider NAME,API,BASE_URL,KEY_ENV]...
               [--bridge-port N [--origin O]... [--relay-socket PATH]]
               [--ca-file F] [--rotate-mins N]
               [--domain D]... [--egress-port P]... [--allow-range CIDR]...
               [--resolver IP]... [--dns-mode none|filtered] [--idle-secs N]
               [--guardrail observe|block] [--fail-mode open|closed]
               [--escalation low_above|medium_above|high_only]
               [--judge PROVIDER,MODEL,MAX_TOKENS[,VERSION]]

Creates DIR/config.json, DIR/gateway.token (token "sxtoken-test"),
DIR/secrets.env (empty unless --secret VAR=VALUE), DIR/log/ and
DIR/policy/policy.json (policy/default with the egress settings given;
--judge adds patrol.judge, the patrol's LLM judge, docs/patrol.md).
With --bridge-port: a "bridge" section, DIR/device.key (a fresh Ed25519
seed) and DIR/bridge/ for the certificate, device token and chat socket.
"""
import argparse, json, os

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--port-base", type=int, required=True)
ap.add_argument("--provider", action="append", default=[])
ap.add_argument("--secret", action="append", default=[])
ap.add_argument("--ca-file")
ap.add_argument("--rotate-mins", type=int, default=10)
ap.add_argument("--token", default="sxtoken-test")
ap.add_argument("--name", default="sxtgw")
ap.add_argument("--domain", action="append")
ap.add_argument("--egress-port", action="append", type=int)
ap.add_argument("--allow-range", action="append", default=[])
ap.add_argument("--resolver", action="append", default=[])
ap.add_argument("--dns-mode", default="none")
ap.add_argument("--idle-secs", type=int)
ap.add_argument("--bridge-port", type=int, default=0)
ap.add_argument("--origin", action="append")
ap.add_argument("--relay-socket")
ap.add_argument("--guardrail", choices=["observe", "block"])
ap.add_argument("--fail-mode", choices=["open", "closed"])
ap.add_argument("--escalation", choices=["low_above", "medium_above", "high_only"])
ap.add_argument("--judge")
a = ap.parse_args()

d = os.path.abspath(a.dir)
os.makedirs(d + "/log", exist_ok=True)
providers = []
for p in a.provider:
    name, api, url, key = p.split(",", 3)
    providers.append({"name": name, "api": api, "base_url": url, "key_env": key,
                      "models": [], "default_model": None})
cfg = {
    "version": 1, "name": a.name, "policy": "default",
    "network": {"host_ip": "127.0.0.1", "sandbox_ip": "127.0.0.2", "prefix_len": 30,
                "host_interface": "sx-" + a.name, "sandbox_interface": "eth0",
                "netns": a.name, "netns_path": "/run/netns/" + a.name,
                "nft_host_table": "sentrix_" + a.name, "nft_sandbox_table": "sentrix",
                "host_networking": True},
    "ports": {"openclaw": a.port_base, "llm_proxy": a.port_base + 1,
              "egress_proxy": a.port_base + 2, "health": a.port_base + 3},
    "dns": {"requested": "policy", "mode": a.dns_mode,
            "servers": ["127.0.0.1"] if a.dns_mode == "filtered" else []},
    "users": {"sandbox": "sandbox-" + a.name, "sandbox_home": "/nonexistent", "gateway": "sentrix"},
    "options": {"auto_pair": False, "guardrail": True},
    "paths": {"etc_dir": d, "config": d + "/config.json", "policy_dir": d + "/policy",
              "secrets": d + "/secrets.env", "state_dir": d, "journal": d + "/journal.db",
              "log_dir": d + "/log", "resolv_conf": d + "/resolv.conf",
              "openclaw_config": d + "/openclaw.json"},
    "gateway": {"token_path": d + "/gateway.token", "rotate_mins": a.rotate_mins,
                "ca_file": a.ca_file, "resolvers": a.resolver, "providers": providers},
}
if a.escalation:
    cfg["police"] = {"escalation": a.escalation}
if a.bridge_port:
    cfg["bridge"] = {"bind": "127.0.0.1", "port": a.bridge_port, "origins": a.origin, "names": []}
    cfg["paths"].update({"relay_socket": a.relay_socket or d + "/openclaw.sock",
                         "bridge_dir": d + "/bridge", "device_key": d + "/device.key"})
    os.makedirs(d + "/bridge", mode=0o750, exist_ok=True)
    with open(os.open(d + "/device.key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(os.urandom(32).hex() + "\n")
with open(d + "/config.json", "w") as f:
    json.dump(cfg, f, indent=2)
with open(d + "/gateway.token", "w") as f:
    f.write(a.token + "\n")
with open(d + "/secrets.env", "w") as f:
    for s in a.secret:
        f.write(s + "\n")
with open(TOP + "/policy/default/policy.json") as f:
    pol = json.load(f)
eg = pol["egress"]
eg["dns"] = {"mode": a.dns_mode}
if a.domain is not None:
    eg["domains"] = a.domain
if a.egress_port:
    eg["ports"] = a.egress_port
if a.allow_range:
    eg["allow_ranges"] = a.allow_range
if a.idle_secs:
    eg["idle_secs"] = a.idle_secs
if a.guardrail:
    pol["guardrail"]["mode"] = a.guardrail
if a.fail_mode:
    pol["guardrail"]["fail_mode"] = a.fail_mode
if a.judge:
    f = a.judge.split(",")
    judge = {"provider": f[0], "model": f[1]}
    if len(f) > 2 and f[2]:
        judge["max_tokens"] = int(f[2])
    if len(f) > 3 and f[3]:
        judge["version"] = f[3]
    pol.setdefault("patrol", {})["judge"] = judge
os.makedirs(d + "/policy", exist_ok=True)
with open(d + "/policy/policy.json", "w") as f:
    json.dump(pol, f, indent=2)
