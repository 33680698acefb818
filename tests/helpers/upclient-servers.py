#!/usr/bin/python3
"""Small loopback servers for tests/integration/test-upclient.sh (the
gateway's upstream HTTP client, src/gateway/upclient.c).  Python 3 standard
library only.  Each binds 127.0.0.1:PORT, prints "ready" on stdout once
listening, then serves until killed.  Never installed.

  upclient-servers.py dns PORT
      A UDP DNS server: mock.test A 127.0.0.1 (no AAAA), v6.test AAAA ::1
      (no A), hang.test never answered, any other name NXDOMAIN.
  upclient-servers.py flaky PORT MODE
      HTTP/1.1: answers the first request on each connection (keep-alive,
      Content-Length) and then, when a second request arrives on that
      connection, MODE close: closes it unanswered (FIN), reset: resets it
      (RST), half: sends half a response then closes.  Logs each new
      connection on stderr ("connection N").
  upclient-servers.py odd PORT
      HTTP/1.1 oddities by path, keep-alive unless noted: /100: "100
      Continue" and "102 Processing" before the 200; /close: no length, the
      body ends at close; /trailers: chunked with a trailer; /slowhead: the
      response a byte at a time; /junk: a response followed by bytes nobody
      asked for; /bad: a malformed Content-Length; /bighead: 70 KB of
      headers; /nolen10: HTTP/1.0, no keep-alive; /empty: 204; else 404.
  upclient-servers.py mute PORT
      Accepts TCP connections (the kernel does, from the backlog) and never
      sends a byte: connect succeeds, a TLS handshake never ends.
"""
import socket
import struct
import sys
import threading
import time


def tcp_listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    print("ready", flush=True)
    return s


def serve_forever(s, handler):
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        print("connection", n, file=sys.stderr, flush=True)
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def read_request(c, buf=b""):
    """One request (head and Content-Length body): (path, rest) or None at EOF."""
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return None
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    path = head.split(b" ")[1].decode()
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            want = int(line.split(b":")[1])
            while len(buf) < want:
                d = c.recv(65536)
                if not d:
                    return None
                buf += d
            buf = buf[want:]
    return path, buf


def dns(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    print("ready", flush=True)
    while True:
        q, addr = s.recvfrom(512)
        qid = struct.unpack(">H", q[:2])[0]
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode())
            i += 1 + q[i]
        qend = i + 5
        qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
        name = ".".join(labels).lower()
        if name == "hang.test":
            continue
        ans, rcode = b"", 0
        if name == "mock.test" and qtype == 1:
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        elif name == "v6.test" and qtype == 28:
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 60, 16) + socket.inet_pton(socket.AF_INET6, "::1")
        elif name not in ("mock.test", "v6.test"):
            rcode = 3
        hdr = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, 1 if ans else 0, 0, 0)
        s.sendto(hdr + q[12:qend] + ans, addr)


def flaky(port, mode):
    body = b"hello from flaky\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    def serve(c):
        with c:
            first = read_request(c)
            if first is None:
                return
            c.sendall(resp)
            if read_request(c, first[1]) is None:
                return
            if mode == "reset":
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif mode == "half":
                c.sendall(resp[:-5])

    serve_forever(tcp_listen(port), serve)


def odd_response(path):
    if path == "/100":
        return [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-A: 1\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: yes\r\n\r\nfinal"], True
    if path == "/close":
        return [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"c" * 100000], False
    if path == "/trailers":
        return [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: t\r\n\r\n"], True
    if path == "/slowhead":
        r = b"HTTP/1.1 200 OK\r\nX-Long-Header-Name: some value here\r\nContent-Length: 3\r\n\r\nabc"
        return [r[i:i + 1] for i in range(len(r))], True
    if path == "/junk":
        return [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK"], True
    if path == "/bad":
        return [b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"], True
    if path == "/bighead":
        return [b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(70))
                + b"Content-Length: 0\r\n\r\n"], True
    if path == "/nolen10":
        return [b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nten!"], False
    if path == "/empty":
        return [b"HTTP/1.1 204 No Content\r\n\r\n"], True
    return [b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"], True


def odd(port):
    def serve(c):
        with c:
            buf = b""
            while True:
                req = read_request(c, buf)
                if req is None:
                    return
                path, buf = req
                parts, keep = odd_response(path)
                for p in parts:
                    c.sendall(p)
                    if len(parts) > 1:
                        time.sleep(0.002)
                if not keep:
                    return

    serve_forever(tcp_listen(port), serve)


def mute(port):
    s = tcp_listen(port)  # kept: a collected socket would close
    while True:
        time.sleep(3600)


def main():
    args = sys.argv[1:]
    try:
        if args[0] == "flaky" and len(args) == 3 and args[2] in ("close", "reset", "half"):
            return flaky(int(args[1]), args[2])
        cmds = {"dns": dns, "odd": odd, "mute": mute}
        if args[0] in cmds and len(args) == 2:
            return cmds[args[0]](int(args[1]))
    except (IndexError, ValueError):
        pass
    sys.exit(__doc__)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
