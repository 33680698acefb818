#!/usr/bin/python3
"""A stand-in for `openclaw gateway --port PORT`, for tests/integration/test-relay.sh.

Run as the sandbox unit runs OpenClaw (`sentrix-setup run`, confined, as the
sandbox user); listens on 127.0.0.1:PORT inside the instance's netns, where
the relay connects.  The first byte of each connection picks what it does:
  E  reads to end of file, then answers the sha256 (64 hex digits) of what
     it read followed by those bytes, and closes;
  L  echoes every chunk at once until end of file, then closes;
  S  says "bye\\n" and shuts its sending side down at once, then reads to end
     of file and writes the sha256 of what it read to ~/relay-s.txt;
  X  stops listening (connections from then on are refused), closes.
Prints "ready" once it listens; runs until killed.
"""
import hashlib
import os
import socket
import sys
import threading
import time

port = int(sys.argv[sys.argv.index("--port") + 1])
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def read_all(c):
    data = bytearray()
    while chunk := c.recv(65536):
        data += chunk
    return bytes(data)


def serve(c):
    with c:
        mode = c.recv(1)
        if mode == b"E":
            data = read_all(c)
            c.sendall(hashlib.sha256(data).hexdigest().encode() + data)
        elif mode == b"L":
            while chunk := c.recv(65536):
                c.sendall(chunk)
        elif mode == b"S":
            c.sendall(b"bye\n")
            c.shutdown(socket.SHUT_WR)
            digest = hashlib.sha256(read_all(c)).hexdigest()
            path = os.path.expanduser("~/relay-s.txt")
            with open(path + ".tmp", "w") as f:
                f.write(digest + "\n")
            os.rename(path + ".tmp", path)
        elif mode == b"X":
            listener.shutdown(socket.SHUT_RDWR)


listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(64)
print("ready", flush=True)
while True:
    try:
        conn, _ = listener.accept()
    except OSError:
        break
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
listener.close()
while True:
    time.sleep(3600)
