"""Pairing a phone with the server, on the Jupyter model.

The server holds one bearer token. `serve` prints URLs that carry it in the fragment
(`https://<lan-ip>:<port>/#pair=<token>`) and a terminal QR code of the first one; the PWA reads the
fragment, stores the token and sends it as `Authorization: Bearer <token>`. The fragment is never
sent over HTTP, so the token stays out of access logs and `Referer` headers.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

import segno

TOKEN_ENV = "MODEL_STUDIO_TOKEN"
TOKEN_FILE = "token"  # under the data dir; deleting it unpairs every phone
TOKEN_BYTES = 32  # of randomness: 43 URL-safe characters
TOKEN_MIN_CHARS = 16
TOKEN_MAX_CHARS = 256
TOKEN_FILE_MODE = 0o600  # the token is a password
TOKEN_RULE = f"{TOKEN_MIN_CHARS}-{TOKEN_MAX_CHARS} characters of A-Z a-z 0-9 _ -"
_TOKEN_RE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_MIN_CHARS},{TOKEN_MAX_CHARS}}}")

ALL_INTERFACES = frozenset({"0.0.0.0", "", "::"})
LOOPBACK_URL_HOST = "127.0.0.1"
# A documentation address (RFC 5737): connect() on a UDP socket only picks a route, it sends nothing.
ROUTE_PROBE = ("192.0.2.1", 9)
QR_ERROR = "m"  # about 15% of the code can be lost; survives a glare or a dirty screen
QR_BORDER = 4  # modules of quiet zone, as the QR standard asks


def _is_token(text: str) -> bool:
    return _TOKEN_RE.fullmatch(text) is not None


def resolve_token(data_dir: Path, explicit: str | None, environ: Mapping[str, str]) -> str:
    """The server's bearer token: `--token`, else `$MODEL_STUDIO_TOKEN`, else `<data_dir>/token`.

    The file is made on first use so that a paired phone stays paired across restarts. An empty
    environment variable counts as unset. Raises ValueError with a one-line message.
    """
    if explicit is not None:
        if not _is_token(explicit):
            raise ValueError(f"--token must be {TOKEN_RULE}")
        return explicit
    from_env = environ.get(TOKEN_ENV, "")
    if from_env:
        if not _is_token(from_env):
            raise ValueError(f"{TOKEN_ENV} must be {TOKEN_RULE}")
        return from_env
    return _persisted_token(Path(data_dir) / TOKEN_FILE)


def _persisted_token(path: Path) -> str:
    """Read the token file, or create it atomically (the first writer wins a race)."""
    try:
        return _read_token_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, TOKEN_FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(token + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # fails if another process got there first
        except FileExistsError:
            return _read_token_file(path)
        except OSError:  # a file system without hard links
            os.replace(temporary, path)
            return token
    finally:
        temporary.unlink(missing_ok=True)
    return token


def _read_token_file(path: Path) -> str:
    try:
        token = path.read_text(encoding="ascii").strip()
    except UnicodeDecodeError:
        token = ""
    if not _is_token(token):
        raise ValueError(f"{path} does not hold a valid token ({TOKEN_RULE}); delete it to make a new one")
    return token


def tokens_equal(given: str, expected: str) -> bool:
    """Compare in constant time, so response timing does not leak the token."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def lan_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses, most likely LAN address first; never raises.

    Sends no packets: the UDP connect only asks the kernel which source address it would route
    from, and the host name is looked up locally (the hosts file or the resolver's own name).
    """
    found: list[str] = []
    probe = None
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect(ROUTE_PROBE)
        found.append(probe.getsockname()[0])
    except OSError:  # no route: offline, or no default gateway
        pass
    finally:
        if probe is not None:
            probe.close()
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except (OSError, UnicodeError):
        infos = []
    found.extend(str(info[4][0]) for info in infos)
    addresses: list[str] = []
    for text in found:
        try:
            address = ipaddress.IPv4Address(text)
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified or address.is_multicast:
            continue
        if text not in addresses:
            addresses.append(text)
    return addresses


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def pairing_urls(
    scheme: str, host: str, port: int, token: str, *, addresses: Sequence[str] | None = None
) -> list[str]:
    """The URLs a phone can open to pair, one per address it can reach the server on.

    For a server on all interfaces (`0.0.0.0`, `::` or empty) that is every LAN address
    (`addresses`, by default `lan_addresses()`), then 127.0.0.1 for this machine's own browser.
    """
    if host in ALL_INTERFACES:
        hosts = [*(lan_addresses() if addresses is None else addresses), LOOPBACK_URL_HOST]
        hosts = list(dict.fromkeys(hosts))
    else:
        hosts = [host]
    return [f"{scheme}://{_url_host(name)}:{port}/#pair={token}" for name in hosts]


def terminal_qr(text: str) -> str:
    """`text` as a QR code drawn with half-block characters, two module rows per line.

    Dark modules are spaces and light ones are blocks, so it reads as dark-on-light on the usual
    dark-background terminal; the quiet zone is drawn too, so the scanner finds the edges.
    """
    code = segno.make(text, error=QR_ERROR, boost_error=False, micro=False)
    out = io.StringIO()
    code.terminal(out=out, border=QR_BORDER, compact=True)
    return out.getvalue()


def pairing_banner(urls: list[str], qr_for: str) -> str:
    """What `serve` prints: the pairing URLs, a QR code of `qr_for` and a warning."""
    lines = ["Pair a phone: scan the QR code, or open one of these URLs on it:"]
    lines.extend(f"  {url}" for url in urls)
    return "\n".join(
        [
            *lines,
            "",
            terminal_qr(qr_for).rstrip("\n"),
            "",
            "The token in these URLs is a password: anyone who has it can use this server.",
        ]
    )
