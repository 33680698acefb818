#!/usr/bin/env python3
"""HTTP clients for tests/integration/test-gateway.sh (standard library only).

  gw-client.py stream URL BODY-FILE [-H 'Name: value']... [--out FILE]
                      [--mark FILE --mark-after N]
      One POST; reads the response line by line, timestamping events.
      Prints JSON: {"status", "first_event_s" (null: none), "total_s",
      "events" (SSE events seen), "complete" (the body ended normally),
      "error"}.  --out writes the body bytes received; --mark creates FILE
      once N events have arrived (for tests that act mid-stream).

  gw-client.py bulk URL BODY-FILE N [-H 'Name: value']... [--run PREFIX]
      N concurrent POSTs over raw asyncio streams (one connection each,
      HTTP/1.1, Connection: close), each with X-Sentrix-Run: PREFIX-i.
      Prints JSON: {"statuses": {status: count}, "bodies": {sha256: count},
      "errors": [first few], "elapsed_s"}.
"""
import argparse
import asyncio
import hashlib
import http.client
import json
import sys
import time
import urllib.parse


def headers_of(items):
    h = {}
    for item in items:
        name, _, value = item.partition(":")
        h[name.strip()] = value.strip()
    return h


def cmd_stream(a):
    u = urllib.parse.urlsplit(a.url)
    body = open(a.body, "rb").read()
    h = headers_of(a.H)
    h.setdefault("Content-Type", "application/json")
    res = {"status": None, "first_event_s": None, "total_s": None, "events": 0,
           "complete": False, "error": None}
    got = bytearray()
    t0 = time.monotonic()
    try:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request("POST", u.path + ("?" + u.query if u.query else ""), body, h)
        resp = conn.getresponse()
        res["status"] = resp.status
        while True:
            line = resp.readline()
            if not line:
                break
            got += line
            if line in (b"\n", b"\r\n"):
                res["events"] += 1
                if res["first_event_s"] is None:
                    res["first_event_s"] = time.monotonic() - t0
                if a.mark and res["events"] == a.mark_after:
                    open(a.mark, "w").close()
        res["complete"] = True
    except Exception as e:  # the tests look at what arrived before it broke
        res["error"] = "%s: %s" % (type(e).__name__, e)
    res["total_s"] = time.monotonic() - t0
    if a.out:
        open(a.out, "wb").write(bytes(got))
    print(json.dumps(res))


def dechunk(data):
    out = bytearray()
    i = 0
    while True:
        j = data.index(b"\r\n", i)
        n = int(data[i:j].split(b";")[0], 16)
        if n == 0:
            return bytes(out)
        out += data[j + 2:j + 2 + n]
        i = j + 2 + n + 2


async def one(host, port, path, body, extra, run):
    reader, writer = await asyncio.open_connection(host, port)
    head = "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n" \
           "Content-Length: %d\r\nConnection: close\r\nX-Sentrix-Run: %s\r\n" % (
               path, host, port, len(body), run)
    head += "".join("%s: %s\r\n" % kv for kv in extra.items())
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    data = await reader.read(-1)
    writer.close()
    hdr, _, rest = data.partition(b"\r\n\r\n")
    lines = hdr.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if any(l.lower().startswith("transfer-encoding:") and "chunked" in l.lower() for l in lines[1:]):
        rest = dechunk(rest)
    return status, rest


async def bulk(a):
    u = urllib.parse.urlsplit(a.url)
    body = open(a.body, "rb").read()
    extra = headers_of(a.H)
    t0 = time.monotonic()
    results = await asyncio.gather(
        *(one(u.hostname, u.port, u.path, body, extra, "%s-%d" % (a.run, i)) for i in range(a.n)),
        return_exceptions=True)
    out = {"statuses": {}, "bodies": {}, "errors": [], "elapsed_s": time.monotonic() - t0}
    for r in results:
        if isinstance(r, BaseException):
            if len(out["errors"]) < 5:
                out["errors"].append("%s: %s" % (type(r).__name__, r))
            out["statuses"]["error"] = out["statuses"].get("error", 0) + 1
            continue
        status, b = r
        out["statuses"][str(status)] = out["statuses"].get(str(status), 0) + 1
        sha = hashlib.sha256(b).hexdigest()
        out["bodies"][sha] = out["bodies"].get(sha, 0) + 1
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stream")
    s.add_argument("url")
    s.add_argument("body")
    s.add_argument("-H", action="append", default=[])
    s.add_argument("--out")
    s.add_argument("--mark")
    s.add_argument("--mark-after", type=int, default=1)
    b = sub.add_parser("bulk")
    b.add_argument("url")
    b.add_argument("body")
    b.add_argument("n", type=int)
    b.add_argument("-H", action="append", default=[])
    b.add_argument("--run", default="bulk")
    a = ap.parse_args()
    if a.cmd == "stream":
        cmd_stream(a)
    else:
        asyncio.run(bulk(a))


if __name__ == "__main__":
    sys.exit(main())
