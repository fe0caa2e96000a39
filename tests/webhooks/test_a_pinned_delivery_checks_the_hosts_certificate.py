"""A delivery connects to the address it checked, yet TLS is about the hostname: the
server is sent the hostname (SNI) and its certificate must be for that hostname."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service.services.webhook_destinations import Destination, PinnedAdapter

HOST = "receiver.invalid"


def _certificate(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for HOST, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TlsReceiver:
    def __init__(self, cert: Path, key: Path) -> None:
        self.server_names: list[str | None] = []
        self.hosts: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.hosts.append(self.headers["Host"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[TlsReceiver, Path]]:
    cert, key = _certificate(tmp_path)
    receiver = TlsReceiver(cert, key)
    yield receiver, cert
    receiver.close()


def _post(destination: Destination, ca: Path) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(ca)  # the test's own CA; deliveries use the system's
        session.mount("https://", PinnedAdapter(destination))
        return session.post(destination.url, data=b"{}", timeout=5, allow_redirects=False)


def test_the_pinned_connection_sends_the_hostname_and_checks_its_certificate(
    tls: tuple[TlsReceiver, Path],
) -> None:
    receiver, ca = tls
    url = f"https://{HOST}:{receiver.port}/hook"
    response = _post(Destination(url, HOST, receiver.port, "https", "127.0.0.1"), ca)
    assert response.status_code == 204
    assert receiver.server_names == [HOST]
    assert receiver.hosts == [f"{HOST}:{receiver.port}"]


def test_a_certificate_for_another_host_is_refused(tls: tuple[TlsReceiver, Path]) -> None:
    receiver, ca = tls
    other = "elsewhere.invalid"
    url = f"https://{other}:{receiver.port}/hook"
    with pytest.raises(requests.exceptions.SSLError):
        _post(Destination(url, other, receiver.port, "https", "127.0.0.1"), ca)
