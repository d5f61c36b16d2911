"""Real notification endpoints on 127.0.0.1 for tests: an HTTP webhook receiver and an SMTP server.

Both record what they accepted. The webhook can be told to fail (HTTP 500 or connection refused)
for N requests or for a time window, or to hold requests open (to kill a sender mid-request).
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support_wait import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookReceiver:
    """HTTP server recording JSON bodies it answered with 200; switchable failure modes."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: list[dict] = []  # accepted (answered 200)
        self.rejected: list[dict] = []  # answered 500
        self.held: list[dict] = []  # held open, never answered 200
        self.request_arrived = threading.Event()
        self._lock = threading.Lock()
        self._fail_count = 0
        self._fail_until = 0.0
        self._hold = threading.Event()  # set: hold requests
        self._release = threading.Event()
        self.on_accept = None  # callable(entry) run after a 200 has been sent
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.up()

    # -- control -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def apprise_url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def fail_next(self, n: int) -> None:
        """Answer the next n requests with HTTP 500."""
        with self._lock:
            self._fail_count = n

    def fail_for(self, seconds: float) -> None:
        """Answer every request with HTTP 500 for a time window."""
        with self._lock:
            self._fail_until = time.monotonic() + seconds

    def hold_requests(self) -> None:
        """Keep requests open without answering (until release() or stop())."""
        self._release.clear()
        self._hold.set()

    def release(self) -> None:
        self._hold.clear()
        self._release.set()

    def down(self) -> None:
        """Stop listening: connections are refused."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def up(self) -> None:
        """Listen (again) on the same port."""
        if self._server:
            return
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                entry = {"path": self.path, "body": body, "at": time.time()}
                receiver.request_arrived.set()
                if receiver._hold.is_set():
                    with receiver._lock:
                        receiver.held.append(entry)
                    receiver._release.wait(timeout=120)
                    self._answer(503)
                    return
                with receiver._lock:
                    failing = receiver._fail_count > 0 or time.monotonic() < receiver._fail_until
                    if receiver._fail_count > 0:
                        receiver._fail_count -= 1
                    (receiver.rejected if failing else receiver.received).append(entry)
                self._answer(500 if failing else 200)
                if not failing and receiver.on_accept is not None:
                    receiver.on_accept(entry)

            def _answer(self, code: int) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                    self.wfile.flush()
                except OSError:
                    pass

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.release()
        self.down()

    def messages(self) -> list[dict]:
        with self._lock:
            return [r["body"] for r in self.received]

    def wait_for(self, n: int, timeout: float = 20) -> list[dict]:
        """Wait until at least n requests were accepted; return their bodies."""
        wait_until(lambda: len(self.received) >= n, timeout, f"{n} accepted request(s) at the webhook")
        return self.messages()


class SMTPReceiver:
    """aiosmtpd server on 127.0.0.1 recording every accepted message (parsed)."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                receiver.messages.append(msg)
                return "250 OK"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def apprise_url(self, sender: str = "hzwatch@example.org", to: str = "team@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from={sender}&to={to}"

    @staticmethod
    def text(msg: EmailMessage) -> str:
        """The plain-text body of a received message."""
        part = msg.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    def wait_for(self, n: int, timeout: float = 20) -> list[EmailMessage]:
        """Wait until at least n messages were accepted; return them."""
        wait_until(lambda: len(self.messages) >= n, timeout, f"{n} message(s) at the SMTP server")
        return list(self.messages)

    def stop(self) -> None:
        self._controller.stop()


class HangingServer:
    """TCP server on 127.0.0.1 that accepts connections and never answers (a hung site)."""

    def __init__(self):
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections.append(conn)  # held open, never read or answered

    def stop(self) -> None:
        self._stop.set()
        for conn in self.connections:
            conn.close()
        self._sock.close()
