"""A local webhook receiver for the tests: a tiny http.server on 127.0.0.1 in a thread that checks each request's
signature with the secret it shares with the endpoint, records what it got, and answers from a script of status
codes (e.g. 500, 500, then 200)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from migration.alarms.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature


@dataclass
class Received:
    at: float
    body: dict
    signature_ok: bool
    timestamp: str
    status: int


@dataclass
class Receiver:
    secret: str
    script: list[int] = field(default_factory=lambda: [200])
    #: Seconds to wait before answering the n-th request (e.g. [30]: hold the first one while its worker is killed).
    delays: list[float] = field(default_factory=list)
    started: int = 0
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                n_started = receiver.started
                receiver.started += 1
                if n_started < len(receiver.delays):
                    time.sleep(receiver.delays[n_started])
                timestamp = self.headers.get(TIMESTAMP_HEADER, "")
                ok = verify_signature(
                    secret=receiver.secret, timestamp=timestamp, body=raw, header=self.headers.get(SIGNATURE_HEADER)
                )
                fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
                n = len(receiver.requests)
                # A request whose signature does not check out is refused, as a real receiver would.
                status = (receiver.script[min(n, len(receiver.script) - 1)]) if ok and fresh else 401
                receiver.requests.append(Received(time.monotonic(), json.loads(raw or b"{}"), ok, timestamp, status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
