"""`model-studio cert`: the local CA and server certificate, checked by a real TLS handshake."""

import http.client
import ipaddress
import os
import socket
import ssl
import stat
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from model_studio.certs import CERT_DIR, SERVER_VALIDITY, default_hosts, describe, make_certificates
from model_studio.pairing import lan_addresses

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
HOSTS = ["192.168.1.20", "Studio.local", "studio.lan"]
MAX_SERVER_DAYS = 397
SERVER_START_S = 10  # seconds to wait for uvicorn to listen
HANDSHAKE_TIMEOUT_S = 5


def _chain(path):
    return x509.load_pem_x509_certificates(path.read_bytes())


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_server_certificate_names_validity_and_usage(tmp_path):
    paths = make_certificates(tmp_path, HOSTS, now=NOW)
    assert paths.server_cert.parent == tmp_path / CERT_DIR
    assert paths.names == ("localhost", "127.0.0.1", "::1", "192.168.1.20", "studio.local", "studio.lan")
    server, ca_in_chain = _chain(paths.server_cert)
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    assert ca_in_chain == ca
    server.verify_directly_issued_by(ca)

    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "studio.local", "studio.lan"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address(a) for a in ("127.0.0.1", "::1", "192.168.1.20")
    ]
    assert server.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "192.168.1.20"
    lifetime = server.not_valid_after_utc - server.not_valid_before_utc
    assert lifetime <= timedelta(days=MAX_SERVER_DAYS) and SERVER_VALIDITY <= timedelta(days=MAX_SERVER_DAYS)
    assert server.not_valid_before_utc < NOW < server.not_valid_after_utc
    assert server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH]
    )
    usage = server.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(server.public_key(), ec.EllipticCurvePublicKey)
    assert server.signature_hash_algorithm.name == "sha256"

    assert _mode(paths.ca_key) == 0o600 and _mode(paths.server_key) == 0o600
    key = serialization.load_pem_private_key(paths.server_key.read_bytes(), password=None)
    assert key.public_key() == server.public_key()
    assert sorted(os.listdir(tmp_path / CERT_DIR)) == ["ca-key.pem", "ca.pem", "server-key.pem", "server.pem"]


def test_ca_is_a_ten_year_constrained_ca(tmp_path):
    paths = make_certificates(tmp_path, HOSTS, now=NOW)
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.startswith("Model Studio local CA (")
    assert timedelta(days=3649) < ca.not_valid_after_utc - ca.not_valid_before_utc <= timedelta(days=3650)
    names = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert names.critical
    permitted = [tree.value for tree in names.value.permitted_subtrees]
    assert ipaddress.ip_network("192.168.0.0/16") in permitted and "local" in permitted
    assert not any(isinstance(net, ipaddress.IPv4Network) and net.is_global for net in permitted)
    ca.verify_directly_issued_by(ca)


def test_reissuing_keeps_the_ca_and_renews_the_server_certificate(tmp_path):
    first = make_certificates(tmp_path, ["192.168.1.20"], now=NOW)
    ca_bytes, ca_key_bytes, server_bytes = (
        first.ca_cert.read_bytes(),
        first.ca_key.read_bytes(),
        first.server_cert.read_bytes(),
    )
    second = make_certificates(tmp_path, ["10.0.0.9"], now=NOW + timedelta(days=30))
    assert second.ca_cert.read_bytes() == ca_bytes and second.ca_key.read_bytes() == ca_key_bytes
    assert second.server_cert.read_bytes() != server_bytes
    server = _chain(second.server_cert)[0]
    server.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_bytes))
    ips = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.IPAddress
    )
    assert ipaddress.ip_address("10.0.0.9") in ips and ipaddress.ip_address("192.168.1.20") not in ips


@pytest.mark.parametrize("bad", ["", "bad host", "-studio", "studio-", "a..b", "192.168.1", "x" * 64, "café", "*.local"])
def test_bad_host_names_are_refused_before_anything_is_written(tmp_path, bad):
    with pytest.raises(ValueError, match="neither an IP address nor a DNS name") as error:
        make_certificates(tmp_path, ["192.168.1.20", bad], now=NOW)
    assert "\n" not in str(error.value)
    assert not (tmp_path / CERT_DIR).exists()


@pytest.mark.parametrize("public", ["8.8.8.8", "2001:4860:4860::8888", "example.com", "notlocal"])
def test_a_ca_reused_for_a_public_name_it_was_not_made_for_says_to_delete_it(tmp_path, public):
    make_certificates(tmp_path, HOSTS, now=NOW)
    with pytest.raises(ValueError, match=r"cannot sign .*; delete ca\.pem and ca-key\.pem") as error:
        make_certificates(tmp_path, [public], now=NOW)
    assert "\n" not in str(error.value)


def test_a_public_address_asked_for_up_front_is_signed(tmp_path):
    paths = make_certificates(tmp_path, ["203.0.113.5", "studio.example.org"], now=NOW)
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    permitted = [t.value for t in ca.extensions.get_extension_for_class(x509.NameConstraints).value.permitted_subtrees]
    assert ipaddress.ip_network("203.0.113.5/32") in permitted and "studio.example.org" in permitted
    make_certificates(tmp_path, ["203.0.113.5", "api.studio.example.org"], now=NOW)  # reuse still covers them


def test_this_machines_default_names_are_signed(tmp_path):
    hosts = default_hosts()
    hostname = socket.gethostname().split(".")[0].lower()
    assert f"{hostname}.local" in hosts or "_" in hostname
    assert set(lan_addresses()) <= set(hosts)
    paths = make_certificates(tmp_path, hosts)
    assert set(hosts) <= set(paths.names)


def test_a_half_present_ca_says_to_delete_it(tmp_path):
    paths = make_certificates(tmp_path, HOSTS, now=NOW)
    paths.ca_key.unlink()
    with pytest.raises(ValueError, match="delete .*ca.pem"):
        make_certificates(tmp_path, HOSTS, now=NOW)


def test_describe_gives_the_serve_command_and_the_ca(tmp_path):
    paths = make_certificates(tmp_path, HOSTS, now=NOW)
    text = describe(paths)
    assert f"model-studio serve --host 0.0.0.0 --cert {paths.server_cert} --key {paths.server_key}" in text
    assert str(paths.ca_cert) in text and "studio.local" in text


# --- a real server, a real handshake -----------------------------------------------------------


async def _hello(request):
    return PlainTextResponse("hello")


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    """uvicorn serving over TLS with the issued certificate; yields (port, paths)."""
    paths = make_certificates(tmp_path_factory.mktemp("data"), ["192.168.1.20"])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        Starlette(routes=[Route("/", _hello)]),
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(paths.server_cert),
        ssl_keyfile=str(paths.server_key),
        log_level="warning",
        ws="none",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port, paths
    finally:
        server.should_exit = True
        thread.join(SERVER_START_S)
        listener.close()
        assert not thread.is_alive()


def test_https_handshake_verifies_with_the_local_ca(https_server):
    port, paths = https_server
    context = ssl.create_default_context(cafile=str(paths.ca_cert))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=HANDSHAKE_TIMEOUT_S)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"hello")
        assert connection.sock.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
    finally:
        connection.close()


def _handshake(port, context, server_hostname):
    with socket.create_connection(("127.0.0.1", port), timeout=HANDSHAKE_TIMEOUT_S) as raw:
        with context.wrap_socket(raw, server_hostname=server_hostname) as tls:
            return tls.version()


def test_the_name_localhost_verifies_and_other_names_do_not(https_server):
    port, paths = https_server
    context = ssl.create_default_context(cafile=str(paths.ca_cert))
    assert _handshake(port, context, "localhost") in {"TLSv1.2", "TLSv1.3"}
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _handshake(port, context, "elsewhere.local")


def test_without_the_ca_verification_fails(https_server):
    port, _ = https_server
    context = ssl.create_default_context()
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=HANDSHAKE_TIMEOUT_S)
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
            connection.request("GET", "/")
    finally:
        connection.close()


def test_a_leaked_ca_key_cannot_impersonate_a_public_site(tmp_path):
    """Forge a certificate for a public name with the CA's key: the name constraints make TLS refuse it."""
    paths = make_certificates(tmp_path, HOSTS, now=datetime.now(timezone.utc))
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.com")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("example.com")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "forged.pem").write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "forged-key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "forged.pem", tmp_path / "forged-key.pem")
    client_context = ssl.create_default_context(cafile=str(paths.ca_cert))

    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_context.wrap_bio(client_in, client_out, server_hostname="example.com")
    server = server_context.wrap_bio(server_in, server_out, server_side=True)
    with pytest.raises(ssl.SSLCertVerificationError, match="permitted subtree violation"):
        for _ in range(10):  # pump the handshake between the two ends in memory
            for end in (client, server):
                try:
                    end.do_handshake()
                except ssl.SSLWantReadError:
                    pass
            server_in.write(client_out.read())
            client_in.write(server_out.read())
