"""A real webhook receiver on 127.0.0.1: checks each POST's HMAC, keeps what arrived, answers as told.

It stores a batch before answering, as a real receiver would, so a batch whose
sender died before reading the answer has still arrived (and comes again under
the same idempotency key). It can listen on another loopback address, and speak
TLS with a certificate from ``certificates``.
"""

import hashlib
import hmac
import json
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Arrival:
    path: str
    key: str
    timestamp: str
    signature_ok: bool
    ids: list  # the signatures' public ids, in the order sent
    body: dict | None  # the whole JSON, unless the receiver keeps ids only
    status: int  # what the receiver answered
    at: float  # time.monotonic() on arrival
    host: str = ""  # the Host header


@dataclass
class Receiver:
    secrets: dict = field(default_factory=dict)  # path -> the plan's webhook secret
    failures: dict = field(default_factory=dict)  # path -> how many requests to answer 500 (-1: all)
    hold_after: int | None = None  # requests past this many wait for ``release`` before an answer
    keep_bodies: bool = True
    arrivals: list = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    address: tuple = ("127.0.0.1", 0)
    tls: ssl.SSLContext | None = None
    server_names: list = field(default_factory=list)  # the TLS clients' SNI

    def __post_init__(self):
        self.lock = threading.Lock()
        self.held = 0
        self.server = ThreadingHTTPServer(self.address, _handler(self))
        self.server.daemon_threads = True
        if self.tls:
            self.tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"{'https' if self.tls else 'http'}://{self.address[0]}:{self.port}{path}"

    def accepted(self) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.status == 200]

    def answer_for(self, path: str) -> int:
        with self.lock:
            left = self.failures.get(path, 0)
            if left:
                self.failures[path] = left - 1 if left > 0 else left
                return 500
        return 200


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's hook name
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            path = self.path
            timestamp = self.headers.get("X-Mobilize-Timestamp", "")
            ok = verify(receiver.secrets.get(path, ""), timestamp, raw, self.headers.get("X-Mobilize-Signature", ""))
            status = receiver.answer_for(path) if ok else 401
            body = json.loads(raw)
            ids = [item["id"] for item in body.get("signatures", [])]
            with receiver.lock:
                receiver.arrivals.append(Arrival(path, self.headers.get("Idempotency-Key", ""), timestamp, ok, ids,
                                                 body if receiver.keep_bodies else None, status, time.monotonic(),
                                                 host=self.headers.get("Host", "")))
                hold = receiver.hold_after is not None and len(receiver.arrivals) > receiver.hold_after
                receiver.held += hold
            if hold:
                receiver.release.wait(120)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender is gone

        def log_message(self, *args):
            pass

    return Handler


def certificates(directory, name: str) -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for host ``name``, and the file of the test CA that signed it."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={name}")
    (directory / "server.ext").write_text(f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n"
                                          "authorityKeyIdentifier=keyid\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "server.ext", "-out", "server.pem")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return context, str(directory / "ca.pem")
