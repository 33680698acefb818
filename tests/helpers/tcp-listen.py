#!/usr/bin/python3
"""Accept TCP connections on ADDR:PORT pairs and close them at once.

Usage: tcp-listen.py ADDR:PORT [ADDR:PORT...]
Prints "ready" once every socket listens; runs until killed.  The test
suite uses it as the far end of reachability probes.
"""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    addr, port = spec.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(64)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        try:
            conn, _ = key.fileobj.accept()
            conn.close()
        except OSError:
            pass
