#!/usr/bin/python3
"""The sidecar's end of the netns relay, for tests/integration/test-relay.sh.

Usage: relay-client.py SOCKET COMMAND
  ping        one connection in echo mode: 16 bytes there and back
  roundtrip   1 MiB to the server, which reads to end of file (our
              shutdown(SHUT_WR) must reach it) and sends back its sha256
              and the 1 MiB; both must match
  server-eof  the server says "bye" and shuts its side down: we must read
              that end of file with our side still open, then send 256 KiB
              and shut down; prints the sha256 of what we sent
  limit       16 connections held open in echo mode, each answering; the
              17th is closed by the relay at once; the 16 still answer;
              after one closes, a new one is served
  refused     the server stops listening (X); a connection then ends at
              once (the relay could not reach it)
  connect     connect only
Exit status 0 when all holds; connect exits 13 on EACCES, 1 on other
errors; messages go to stderr.
"""
import errno
import hashlib
import os
import socket
import sys
import time

path, cmd = sys.argv[1], sys.argv[2]


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def conn(timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def read_all(s):
    data = bytearray()
    while chunk := s.recv(65536):
        data += chunk
    return bytes(data)


def echo(s, payload):
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = s.recv(65536)
        if not chunk:
            return False
        got += chunk
    return got == payload


def live(s):
    """A connection in echo mode that answers."""
    return echo(s, os.urandom(16))


def echo_conn(timeout=10):
    s = conn(timeout)
    s.sendall(b"L")
    return s


if cmd == "connect":
    try:
        conn(2).close()
    except OSError as e:
        print("connect %s: %s" % (path, e), file=sys.stderr)
        sys.exit(13 if e.errno == errno.EACCES else 1)
elif cmd == "ping":
    if not live(echo_conn(2)):
        fail("no echo")
elif cmd == "roundtrip":
    s = conn()
    data = os.urandom(1 << 20)
    s.sendall(b"E" + data)
    s.shutdown(socket.SHUT_WR)
    got = read_all(s)
    if got[:64].decode() != hashlib.sha256(data).hexdigest():
        fail("the server did not receive the 1 MiB intact (%d bytes came back)" % len(got))
    if got[64:] != data:
        fail("the 1 MiB did not come back intact (%d of %d bytes)" % (len(got) - 64, len(data)))
elif cmd == "server-eof":
    s = conn()
    s.sendall(b"S")
    got = read_all(s)  # the server's end of file, our side still open
    if got != b"bye\n":
        fail("expected 'bye' and end of file, got %r" % got)
    data = os.urandom(256 << 10)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    if read_all(s) != b"":
        fail("unexpected bytes after the server's end of file")
    print(hashlib.sha256(data).hexdigest())
elif cmd == "limit":
    held = [echo_conn() for _ in range(16)]
    if not all(live(s) for s in held):
        fail("not every one of 16 connections answers")
    extra = conn(5)
    try:
        extra.sendall(b"L" + os.urandom(16))
        if extra.recv(64) != b"":
            fail("the 17th connection was served")
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        fail("the 17th connection was left open, not closed")
    if not all(live(s) for s in held):
        fail("the 16 stopped answering after the 17th")
    held.pop().close()
    for _ in range(50):  # the relay frees the slot when it sees the close
        try:
            s = echo_conn(5)
            if live(s):
                break
            s.close()
        except OSError:
            pass
        time.sleep(0.1)
    else:
        fail("no connection is served after one of the 16 closed")
elif cmd == "refused":
    s = conn()
    s.sendall(b"X")
    read_all(s)
    s = conn(5)
    try:
        s.sendall(b"L" + os.urandom(16))
        if s.recv(64) != b"":
            fail("served with the server gone")
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        fail("the connection was not closed within 5 s")
else:
    fail("unknown command " + cmd)
