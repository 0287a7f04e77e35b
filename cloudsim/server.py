"""The listeners: one HTTPS server per service on loopback, sharing one CloudSim state."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .acs import stamp_request_ids
from .httpkit import Request, Response, Router, json_response, new_request_id

if TYPE_CHECKING:
    from .app import CloudSim

log = logging.getLogger("cloudsim")

_FAULT_STATUS = {
    "429": (429, "TooManyRequests", "Too many requests (cloudsim fault injection)."),
    "500": (500, "InternalServerError", "Internal server error (cloudsim fault injection)."),
    "503": (503, "ServiceUnavailable", "Service unavailable (cloudsim fault injection)."),
}


def error_response(
    service: str, status: int, code: str, message: str, req_headers: dict[str, str]
) -> Response:
    """An error in the shape each Microsoft service uses."""
    if service == "graph":
        return graph_error(status, code, message, req_headers)
    if service == "login":
        return json_response(status, {"error": code.lower(), "error_description": message})
    return json_response(status, {"error": {"code": code, "message": message}})


def graph_error(status: int, code: str, message: str, req_headers: dict[str, str]) -> Response:
    request_id = new_request_id()
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": req_headers.get("client-request-id", request_id),
            },
        }
    }
    return json_response(status, body, {"request-id": request_id})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Listener
    timeout = 120  # idle keep-alive connections are closed after this

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sim.verbose:
            log.info("%s %s", self.server.service, format % args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _dispatch(self) -> None:
        srv = self.server
        sim = srv.sim
        method = self.command
        path = urlsplit(self.path).path
        headers = {k.lower(): v for k, v in self.headers.items()}
        fired = (
            []
            if srv.service == "admin"
            else sim.faults.pick(srv.service, srv.resource, method, path)
        )
        failure = None
        # Latency is the service's answer time: the answer leaves no earlier than that after
        # the request arrived, cloudsim's own work inside it (as a remote service's work is
        # inside the time its client waits). Added after the work, the work of requests that
        # arrive together came on top, queued behind each other on this process's GIL.
        answer_at = time.monotonic()
        for rule in fired:
            sim.stats.record_fault(srv.service, rule.kind)
            if rule.kind == "latency":
                answer_at += float(rule.arg or 100) / 1000
            else:
                failure = rule
        if failure and failure.kind == "drop":
            time.sleep(max(0.0, answer_at - time.monotonic()))
            sim.stats.record(srv.service, method, path, "dropped")
            self._drop()
            return
        body = self._read_body()
        host = headers.get("host") or f"{srv.server_address[0]}:{srv.server_address[1]}"
        req = Request(method, self.path, headers, body, srv.service, f"https://{host}")
        route = path
        if failure and failure.kind in _FAULT_STATUS:
            status, code, message = _FAULT_STATUS[failure.kind]
            response = error_response(srv.service, status, code, message, headers)
            if status == 429:
                response.headers["Retry-After"] = failure.arg or "1"
        else:
            resolved = srv.router.resolve(method, path)
            if resolved is None:
                response = error_response(
                    srv.service, 404, "NotFound", f"No route for {method} {path}", headers
                )
            else:
                handler, req.params, route = resolved
                req.route = route
                try:
                    response = handler(req)
                except Exception:
                    log.exception("cloudsim handler failed: %s %s", method, self.path)
                    response = error_response(
                        srv.service, 500, "InternalServerError", "cloudsim bug", headers
                    )
        if srv.service == "acs":  # injected faults and unknown routes too, as Azure does
            stamp_request_ids(response, headers.get("x-ms-client-request-id"))
        sim.stats.record(srv.service, method, route, response.status)
        time.sleep(max(0.0, answer_at - time.monotonic()))
        if failure and failure.kind == "drop_after":
            self._drop()
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True
        # Headers and body in one write: one TLS record, no Nagle/delayed-ACK stall.
        if self.command != "HEAD":
            self._headers_buffer.append(b"\r\n" + response.body)
            self.flush_headers()
        else:
            self.end_headers()


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True
    block_on_close = False

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sim: CloudSim,
        service: str,
        router: Router,
        ssl_context: ssl.SSLContext,
        resource: str = "",
    ) -> None:
        self.sim, self.service, self.router, self.resource = sim, service, router, resource
        self.ssl_context = ssl_context
        super().__init__((host, port), _Handler)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"https://{host}:{port}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread, not in accept().
        request.settimeout(10)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            request.close()
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)

    def start(self) -> None:
        self.thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"cloudsim-{self.service}-{self.resource}",
            daemon=True,
        )
        self.thread.start()


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"
