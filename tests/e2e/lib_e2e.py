"""Helpers shared by the Python end-to-end tests (not a test itself: tests/CMakeLists.txt
skips lib* files): a free loopback port, one-line checks, and an http-01 responder."""
import http.server
import socket
import sys


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fail(what):
    print("FAIL:", what, file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)
    print("ok:", what)


# http-01 answers by token, served by Responder.
tokens = {}


class Responder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = tokens.get(self.path.rsplit("/", 1)[-1])
        self.send_response(200 if body else 404)
        self.end_headers()
        if body:
            self.wfile.write(body.encode())

    def log_message(self, *args):
        pass
