#!/usr/bin/python3
"""A half-close echo server: proves a tunnel passes the client's FIN.

Usage: halfclose-server.py ADDR:PORT
For each connection: reads until EOF from the client (the client shuts down
its sending side), then writes one line "got N bytes sha256 HEX\\n" and
closes.  A proxy that drops the client's FIN leaves the reply unsent (the
server waits up to 60 s per connection); one that closes both directions
on the client's FIN loses the reply.  Prints "ready" once it listens; runs
until killed.
"""
import hashlib
import socket
import socketserver
import sys


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        h, n = hashlib.sha256(), 0
        self.request.settimeout(60)
        try:
            while True:
                chunk = self.request.recv(65536)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
            self.request.sendall(b"got %d bytes sha256 %s\n" % (n, h.hexdigest().encode()))
        except OSError:  # timeout, reset: nothing to answer
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


addr, port = sys.argv[1].rsplit(":", 1)
srv = Server((addr, int(port)), Handler)
print("ready", flush=True)
srv.serve_forever()
