"""Request plumbing: the threaded HTTP server, reading bodies, writing replies.

Knows nothing of the API: the server is built with a :class:`Backend` (the emulator hands
in its own request handler and connection tracker), every request goes to its ``handle``,
and the :class:`~.replies.Reply` it returns is written here (dropped connections and
truncated bodies included, so injected faults look like real network failures).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from airflow_provider_bailian.emulator.media import iter_body
from airflow_provider_bailian.emulator.replies import Reply


@dataclass(frozen=True)
class Backend:
    """What the HTTP server serves, handed in by its owner at construction."""

    #: ``(method, raw path, headers, body) -> Reply``: every request.
    handle: Callable[[str, str, Any, bytes], Reply]
    #: ``(connection, opened)``: each connection as it opens and closes (to close on stop).
    track: Callable[[socket.socket, bool], None]
    #: Whether unexpected handler errors stay unprinted.
    quiet: Callable[[], bool]


class EmulatorServer(ThreadingHTTPServer):
    """The emulator's threaded HTTP server (IPv4), bound without a reverse DNS lookup."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # bursts of parallel clients must not overflow the backlog

    def __init__(self, server_address: tuple[str, int], backend: Backend) -> None:
        self.backend = backend
        super().__init__(server_address, RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall for
        # seconds on machines without DNS; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        if not self.backend.quiet():
            super().handle_error(request, client_address)


class EmulatorServer6(EmulatorServer):
    """The same on an IPv6 host."""

    address_family = socket.AF_INET6


class RequestHandler(BaseHTTPRequestHandler):
    """One connection: every request goes to the emulator, its reply is written back."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: EmulatorServer

    def version_string(self) -> str:
        return "BailianEmulator/1.0"

    def setup(self) -> None:
        super().setup()
        self.server.backend.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.backend.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the emulator logs on its own."""

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        reply = self.server.backend.handle(self.command, self.path, self.headers, body)
        try:
            self._write(reply)
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True

    def _hard_close(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, reply: Reply) -> None:
        if reply.drop:
            self._hard_close()
            return
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        length = reply.length
        self.send_header("Content-Length", str(length))
        if reply.truncate_at is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        limit = length if reply.truncate_at is None else min(reply.truncate_at, length)
        sent = 0
        for chunk in iter_body(reply):
            if sent + len(chunk) > limit:
                chunk = chunk[: limit - sent]
            if chunk:
                self.wfile.write(chunk)
                sent += len(chunk)
            if sent >= limit:
                break
        if reply.truncate_at is not None:
            self._hard_close()
