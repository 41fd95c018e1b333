"""`model-studio cert`: a local CA and a server certificate, for a phone on the LAN.

An installed PWA needs a secure context, and a phone reaches the server at a LAN address, so it
needs HTTPS with a certificate the phone trusts. For people without mkcert or a tailnet
certificate, this makes a CA once (its `ca.pem` is installed on the phone) and issues server
certificates from it; re-issuing for a new address reuses the CA, so the phone keeps trusting it.

The CA is name-constrained to private addresses, local names and the hosts it was first made for,
so even a leaked `ca-key.pem` cannot impersonate a public site to a phone that trusts it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shlex
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from model_studio.pairing import lan_addresses

CERT_DIR = "tls"  # under the data dir
CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
KEY_FILE_MODE = 0o600
CERT_FILE_MODE = 0o644
DIR_MODE = 0o700

CA_VALIDITY = timedelta(days=3650)
# Apple and Chrome reject publicly trusted certificates valid for more than 398 days (iOS allows
# 825 for a user-installed CA); 397 is safe everywhere.
SERVER_VALIDITY = timedelta(days=397)
CLOCK_SKEW = timedelta(hours=1)  # back-date, so a phone whose clock is a little behind accepts it

ALWAYS_NAMES = ("localhost", "127.0.0.1", "::1")
# What the CA may sign: loopback, private, carrier-grade NAT (tailnets), link-local and ULA
# addresses, plus names that only resolve locally. The machine's host name and any other host asked
# for when the CA is made are added then.
CA_PERMITTED_NETWORKS = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)
CA_PERMITTED_DOMAINS = ("localhost", "local", "home.arpa", "internal", "lan")

MAX_DNS_NAME = 253  # characters
MAX_COMMON_NAME = 64  # characters (X.520 upper bound)
_LABEL_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class CertificatePaths:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    names: tuple[str, ...]  # the server certificate's subject alternative names


Host = ipaddress.IPv4Address | ipaddress.IPv6Address | str
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_host(text: str) -> Host:
    """An IP address, or a DNS name in lower case; ValueError with a one-line message otherwise."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    name = text.lower().removesuffix(".")
    labels = name.split(".")
    if (
        not name
        or len(name) > MAX_DNS_NAME
        or not all(_LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(f"{text!r} is neither an IP address nor a DNS name")
    return name


def default_hosts() -> list[str]:
    """What `cert` issues for by default: the LAN addresses, the host name and `<host name>.local`."""
    hosts: list[str] = list(lan_addresses())
    hostname = socket.gethostname().split(".")[0]
    for name in (hostname, f"{hostname}.local"):
        try:
            parse_host(name)
        except ValueError:  # a host name that is no DNS label, such as one with an underscore
            continue
        hosts.append(name.lower())
    return list(dict.fromkeys(hosts))


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically, with `mode` from the start, so a key is never briefly world-readable."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _general_name(host: Host) -> x509.GeneralName:
    return x509.DNSName(host) if isinstance(host, str) else x509.IPAddress(host)


def _is_permitted(host: Host, domains: list[str], networks: list[IPNetwork]) -> bool:
    if isinstance(host, str):
        return any(host == domain or host.endswith("." + domain) for domain in domains)
    return any(host.version == network.version and host in network for network in networks)


def _create_ca(now: datetime, hosts: list[Host]) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA constrained to private addresses, local names, this machine's name and `hosts`."""
    hostname = socket.gethostname()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"Model Studio local CA ({hostname})"[:MAX_COMMON_NAME])]
    )
    domains = list(CA_PERMITTED_DOMAINS)
    networks = [ipaddress.ip_network(network) for network in CA_PERMITTED_NETWORKS]
    try:
        own: list[Host] = [parse_host(hostname)]
    except ValueError:  # a host name that is no DNS name
        own = []
    for host in own + hosts:  # a public address asked for now, say, is allowed from now on
        if _is_permitted(host, domains, networks):
            continue
        if isinstance(host, str):
            domains.append(host)
        else:
            networks.append(ipaddress.ip_network(host))
    permitted = [x509.DNSName(domain) for domain in domains] + [x509.IPAddress(net) for net in networks]
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now - CLOCK_SKEW + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _load_ca(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The existing CA, or None if there is none; ValueError if it is half there or broken."""
    if not cert_path.exists() and not key_path.exists():
        return None
    fix = f"delete {cert_path} and {key_path} to make a new CA (phones must then trust the new one)"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"cannot load the local CA ({exc}); {fix}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise ValueError(f"{key_path} is not the key of {cert_path}; {fix}")
    return cert, key


def _check_permitted(ca: x509.Certificate, hosts: list[Host], paths: CertificatePaths) -> None:
    """Refuse names the CA's name constraints forbid: a phone would reject the certificate."""
    try:
        constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return
    subtrees = constraints.permitted_subtrees or []
    networks = [tree.value for tree in subtrees if isinstance(tree, x509.IPAddress)]
    domains = [tree.value for tree in subtrees if isinstance(tree, x509.DNSName)]
    for host in hosts:
        if (isinstance(host, str) and not domains) or (not isinstance(host, str) and not networks):
            continue  # no constraint on this kind of name
        if not _is_permitted(host, domains, networks):
            raise ValueError(
                f"the local CA in {paths.ca_cert.parent} was made for private addresses and names under "
                f"{', '.join(domains)}, so it cannot sign {host}; delete {paths.ca_cert.name} and "
                f"{paths.ca_key.name} to make a new CA (phones must then trust the new one)"
            )


def make_certificates(data_dir: Path, hosts: list[str], now: datetime | None = None) -> CertificatePaths:
    """Issue a server certificate for `hosts` (plus localhost), from the data dir's CA or a new one."""
    now = datetime.now(timezone.utc) if now is None else now
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    parsed = list(dict.fromkeys([parse_host(h) for h in ALWAYS_NAMES] + [parse_host(h) for h in hosts]))

    directory = Path(data_dir) / CERT_DIR
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    paths = CertificatePaths(
        ca_cert=directory / CA_CERT,
        ca_key=directory / CA_KEY,
        server_cert=directory / SERVER_CERT,
        server_key=directory / SERVER_KEY,
        names=tuple(str(host) for host in parsed),
    )

    existing = _load_ca(paths.ca_cert, paths.ca_key)
    if existing is None:
        ca_cert, ca_key = _create_ca(now, parsed)
        _write(paths.ca_key, _key_pem(ca_key), KEY_FILE_MODE)
        _write(paths.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), CERT_FILE_MODE)
    else:
        ca_cert, ca_key = existing
    _check_permitted(ca_cert, parsed, paths)

    not_before = now - CLOCK_SKEW
    not_after = min(not_before + SERVER_VALIDITY, ca_cert.not_valid_after_utc)
    if not_after <= now:
        raise ValueError(f"the local CA ({paths.ca_cert}) has expired; delete it and {paths.ca_key} to make a new one")

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    user_hosts = [str(parse_host(h)) for h in hosts]
    common_name = next((h for h in user_hosts if len(h) <= MAX_COMMON_NAME), "localhost")
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,  # an EC key signs the handshake; it never encrypts
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in parsed]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(paths.server_key, _key_pem(key), KEY_FILE_MODE)
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    _write(paths.server_cert, chain, CERT_FILE_MODE)
    return paths


def describe(paths: CertificatePaths) -> str:
    """What to do next: how to serve with the certificate, and which file the phone must trust."""
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    fingerprint = ca.fingerprint(hashes.SHA256()).hex(":").upper()
    serve = shlex.join(
        ["model-studio", "serve", "--host", "0.0.0.0", "--cert", str(paths.server_cert), "--key", str(paths.server_key)]
    )
    return "\n".join(
        [
            f"Server certificate for: {', '.join(paths.names)}",
            "Serve with:",
            f"  {serve}",
            "Install this CA on the phone once (see README, 'Pair a phone'):",
            f"  {paths.ca_cert}",
            f"  SHA-256 {fingerprint}",
            f"Keep {paths.ca_key} private. Run `model-studio cert` again after the address changes;",
            "the phone keeps trusting the same CA.",
        ]
    )
