"""A real HTTP server on 127.0.0.1, run in a thread, whose answers each test scripts.

Each path is given a list of behaviours, used one per request (the last one repeats):

- ``Serve(body)``: 200 with the body and its true Content-Length;
- ``Status(code)``: that status code and a short body;
- ``Truncated(body, claimed)``: claims ``claimed`` bytes in Content-Length, sends ``body``, closes;
- ``Stall()``: accepts the request and never answers (until the server is shut down).

``server.requests[path]`` counts the requests each path received.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Serve:
    body: bytes


@dataclass(frozen=True)
class Status:
    code: int


@dataclass(frozen=True)
class Truncated:
    body: bytes
    claimed: int


@dataclass(frozen=True)
class Stall:
    pass


class ScriptedServer:
    """Context manager: ``with ScriptedServer({"/a.npz": [Status(503), Serve(b"...")]}) as srv: srv.url``."""

    def __init__(self, routes: dict[str, list]):
        self.routes = {path: list(plan) for path, plan in routes.items()}
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                with server._lock:
                    count = server.requests[self.path]
                    server.requests[self.path] += 1
                plan = server.routes.get(self.path, [Status(404)])
                action = plan[min(count, len(plan) - 1)]
                if isinstance(action, Stall):
                    server._stop.wait(60)
                    self.close_connection = True
                    return
                if isinstance(action, Status):
                    body = f"status {action.code}".encode()
                    self.send_response(action.code)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                body = action.body
                claimed = action.claimed if isinstance(action, Truncated) else len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(claimed))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                if isinstance(action, Truncated):
                    self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def closed_port_url() -> str:
    """URL of a port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
