"""Pairing: the bearer token, the URLs that carry it and the terminal QR code."""

import ipaddress
import os
import stat

import pytest
import segno

from model_studio.pairing import (
    QR_BORDER,
    TOKEN_ENV,
    TOKEN_FILE,
    lan_addresses,
    pairing_banner,
    pairing_urls,
    resolve_token,
    terminal_qr,
    tokens_equal,
)

GOOD = "A" * 16
OTHER = "b_-9" * 8
TYPICAL_TOKEN = "x" * 43  # what secrets.token_urlsafe(32) gives
TERMINAL_COLUMNS = 80
# What each half-block character says about its (top, bottom) modules: True is dark.
# Dark modules are drawn as the (dark) terminal background, light ones as blocks.
HALF_BLOCKS = {" ": (True, True), "\u2580": (False, True), "\u2584": (True, False), "\u2588": (False, False)}


def test_explicit_token_wins_then_environment_then_file(tmp_path):
    environ = {TOKEN_ENV: OTHER}
    assert resolve_token(tmp_path, GOOD, environ) == GOOD
    assert resolve_token(tmp_path, None, environ) == OTHER
    assert not (tmp_path / TOKEN_FILE).exists()
    from_file = resolve_token(tmp_path, None, {})
    assert from_file == (tmp_path / TOKEN_FILE).read_text().strip()


def test_token_file_is_made_once_private_and_survives_restarts(tmp_path):
    data_dir = tmp_path / "nested" / "data"
    first = resolve_token(data_dir, None, {})
    path = data_dir / TOKEN_FILE
    assert len(first) == 43 and resolve_token(data_dir, None, {}) == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(data_dir) == [TOKEN_FILE]  # no temporary file left behind
    assert resolve_token(data_dir, None, {TOKEN_ENV: ""}) == first  # empty means unset
    path.unlink()
    assert resolve_token(data_dir, None, {}) != first  # deleting the file rotates the token


@pytest.mark.parametrize("bad", ["", "short", "a" * 15, "a" * 257, "sixteen chars !!", "é" * 20, "a" * 16 + "\n", "a.b" * 6])
def test_bad_explicit_and_environment_tokens_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="--token must be 16-256 characters") as explicit:
        resolve_token(tmp_path, bad, {})
    assert "\n" not in str(explicit.value)
    if bad:
        assert bad not in str(explicit.value)  # never echo a secret
        with pytest.raises(ValueError, match=f"{TOKEN_ENV} must be"):
            resolve_token(tmp_path, None, {TOKEN_ENV: bad})
    assert not (tmp_path / TOKEN_FILE).exists()


def test_longest_and_shortest_tokens_are_accepted(tmp_path):
    for token in ("a" * 16, "Z9_-" * 64):
        assert resolve_token(tmp_path, token, {}) == token


@pytest.mark.parametrize("contents", [b"", b"too short\n", b"\xff\xfe" * 20, b"a b" * 10])
def test_a_corrupt_token_file_says_to_delete_it(tmp_path, contents):
    (tmp_path / TOKEN_FILE).write_bytes(contents)
    with pytest.raises(ValueError, match="delete it") as error:
        resolve_token(tmp_path, None, {})
    assert "\n" not in str(error.value)


def test_tokens_equal():
    assert tokens_equal(GOOD, GOOD)
    assert not tokens_equal(GOOD, GOOD[:-1] + "B")
    assert not tokens_equal(GOOD, GOOD + "A")
    assert not tokens_equal("", GOOD)
    assert not tokens_equal("é" * 16, GOOD)  # non-ASCII input compares, it does not raise


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::"])
def test_all_interfaces_give_one_url_per_lan_address_then_loopback(host):
    urls = pairing_urls("https", host, 8443, GOOD, addresses=["192.168.1.20", "10.0.0.7"])
    assert urls == [
        f"https://192.168.1.20:8443/#pair={GOOD}",
        f"https://10.0.0.7:8443/#pair={GOOD}",
        f"https://127.0.0.1:8443/#pair={GOOD}",
    ]


def test_all_interfaces_use_this_machines_addresses_by_default():
    urls = pairing_urls("https", "0.0.0.0", 8000, GOOD)
    assert urls[-1] == f"https://127.0.0.1:8000/#pair={GOOD}"
    assert urls[:-1] == [f"https://{address}:8000/#pair={GOOD}" for address in lan_addresses()]


def test_a_specific_host_gives_one_url_and_ipv6_is_bracketed():
    assert pairing_urls("http", "127.0.0.1", 8000, GOOD) == [f"http://127.0.0.1:8000/#pair={GOOD}"]
    assert pairing_urls("https", "studio.local", 443, GOOD) == [f"https://studio.local:443/#pair={GOOD}"]
    assert pairing_urls("https", "fd00::5", 8443, GOOD) == [f"https://[fd00::5]:8443/#pair={GOOD}"]
    assert pairing_urls("https", "[fd00::5]", 8443, GOOD) == [f"https://[fd00::5]:8443/#pair={GOOD}"]


def test_lan_addresses_are_distinct_non_loopback_ipv4():
    addresses = lan_addresses()
    assert isinstance(addresses, list) and len(set(addresses)) == len(addresses)
    for text in addresses:
        address = ipaddress.ip_address(text)
        assert address.version == 4 and not address.is_loopback and not address.is_unspecified


def _modules_from_text(text: str) -> list[list[bool]]:
    """Undo the half-block drawing: two rows of modules per line of text (True is dark)."""
    rows: list[list[bool]] = []
    for line in text.splitlines():
        pairs = [HALF_BLOCKS[char] for char in line]
        rows.append([top for top, _ in pairs])
        rows.append([bottom for _, bottom in pairs])
    return rows


def test_terminal_qr_draws_every_module_of_the_code_and_fits_a_terminal():
    url = f"https://192.168.100.200:8443/#pair={TYPICAL_TOKEN}"
    text = terminal_qr(url)
    code = segno.make(url, error="m", boost_error=False, micro=False)
    assert code.error == "M" and not code.is_micro
    expected = [[bool(module) for module in row] for row in code.matrix_iter(scale=1, border=QR_BORDER)]
    drawn = _modules_from_text(text)
    # An odd number of module rows leaves a half line at the bottom, drawn as dark (background).
    assert drawn[: len(expected)] == expected
    assert all(all(row) for row in drawn[len(expected) :])
    side = len(expected)
    assert {len(line) for line in text.splitlines()} == {side}
    version = (side - 2 * QR_BORDER - 17) // 4
    assert version == code.version and side <= TERMINAL_COLUMNS and version <= 6
    # The quiet zone is light all round, so a scanner finds the edges.
    assert all(not module for row in expected[:QR_BORDER] + expected[-QR_BORDER:] for module in row)
    assert all(not (row[:QR_BORDER] + row[-QR_BORDER:]).count(True) for row in expected)


def test_pairing_banner_shows_urls_qr_and_warning():
    urls = pairing_urls("https", "0.0.0.0", 8443, GOOD, addresses=["192.168.1.20"])
    banner = pairing_banner(urls, urls[0])
    for url in urls:
        assert f"  {url}" in banner.splitlines()
    assert terminal_qr(urls[0]).rstrip("\n") in banner
    assert "password" in banner.splitlines()[-1]
