#!/usr/bin/env python3
"""Writes a config.json for running sentrix-gateway outside an instance
(loopback tests and benchmarks): every path points into DIR.

  gw-config.py DIR --port-base N [--provider NAME,API,BASE_URL,KEY_ENV]...
               [--ca-file F] [--rotate-mins N]

Creates DIR/config.json, DIR/gateway.token (token "sxtoken-test"),
DIR/secrets.env (empty unless --secret VAR=VALUE) and DIR/log/.
"""
import argparse, json, os

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--port-base", type=int, required=True)
ap.add_argument("--provider", action="append", default=[])
ap.add_argument("--secret", action="append", default=[])
ap.add_argument("--ca-file")
ap.add_argument("--rotate-mins", type=int, default=10)
ap.add_argument("--token", default="sxtoken-test")
ap.add_argument("--name", default="sxtgw")
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
    "dns": {"requested": "policy", "mode": "none", "servers": []},
    "users": {"sandbox": "sandbox-" + a.name, "sandbox_home": "/nonexistent", "gateway": "sentrix"},
    "options": {"auto_pair": False, "guardrail": True},
    "paths": {"etc_dir": d, "config": d + "/config.json", "policy_dir": d + "/policy",
              "secrets": d + "/secrets.env", "state_dir": d, "journal": d + "/journal.db",
              "log_dir": d + "/log", "resolv_conf": d + "/resolv.conf",
              "openclaw_config": d + "/openclaw.json"},
    "gateway": {"token_path": d + "/gateway.token", "rotate_mins": a.rotate_mins,
                "ca_file": a.ca_file, "providers": providers},
}
with open(d + "/config.json", "w") as f:
    json.dump(cfg, f, indent=2)
with open(d + "/gateway.token", "w") as f:
    f.write(a.token + "\n")
with open(d + "/secrets.env", "w") as f:
    for s in a.secret:
        f.write(s + "\n")
