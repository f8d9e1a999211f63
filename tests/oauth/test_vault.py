"""TokenVault: AES-GCM with an HKDF-derived key; the user id is bound in as associated data."""

from __future__ import annotations

import pytest

from app.errors import ConfigError
from app.github.user_tokens import TokenUnreadable, TokenVault, UserTokenRevoked

PAIR = {"access": "ghu_access_token_value", "refresh": "ghr_refresh_token_value"}


def test_round_trip_and_no_plaintext_in_the_blob() -> None:
    vault = TokenVault("key-one")
    blob = vault.seal(7, PAIR)
    assert vault.open(7, blob) == PAIR
    assert b"ghu_" not in blob and b"ghr_" not in blob
    assert TokenVault("key-one").open(7, blob) == PAIR  # same secret, same derived key (new process)


def test_every_seal_uses_a_fresh_nonce() -> None:
    vault = TokenVault("key-one")
    assert vault.seal(7, PAIR) != vault.seal(7, PAIR)


@pytest.mark.parametrize("position", [0, 1, 12, 20, -1])  # version, nonce, nonce end, ciphertext, tag
def test_a_tampered_blob_fails(position: int) -> None:
    vault = TokenVault("key-one")
    blob = bytearray(vault.seal(7, PAIR))
    blob[position] ^= 0x01
    with pytest.raises(TokenUnreadable):
        vault.open(7, bytes(blob))


def test_a_blob_moved_to_another_users_row_fails() -> None:
    vault = TokenVault("key-one")
    with pytest.raises(UserTokenRevoked):  # TokenUnreadable is a UserTokenRevoked: authorise again
        vault.open(8, vault.seal(7, PAIR))


def test_another_key_fails() -> None:
    with pytest.raises(TokenUnreadable, match="FIXLOOP_SECRET_KEY"):
        TokenVault("key-two").open(7, TokenVault("key-one").seal(7, PAIR))


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x01" + bytes(20), b"not a blob at all, clearly"])
def test_short_or_foreign_blobs_fail(blob: bytes) -> None:
    with pytest.raises(TokenUnreadable):
        TokenVault("key-one").open(7, blob)


def test_no_secret_key_is_a_config_error_when_a_token_would_be_stored() -> None:
    vault = TokenVault("")  # building it is fine: the app runs without user tokens
    assert not vault.ready
    with pytest.raises(ConfigError, match=r"^FIXLOOP_SECRET_KEY: required to store user tokens$"):
        vault.seal(7, PAIR)
