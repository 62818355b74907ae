"""Callback signatures and the AES envelope, around wechatpy's WeCom crypto.

The signature is checked here first with a constant-time compare (wechatpy
compares with ``!=``), together with the timestamp skew; wechatpy then
decrypts and checks the receive id (the CorpID).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import xml.etree.ElementTree as ET
from binascii import Error as BinasciiError
from datetime import datetime

from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import to_text

from bot.wecom import constants as c
from bot.wecom.config import WeComConfig
from bot.wecom.errors import CallbackRejected

# What wechatpy's decryption raises on a body that is well signed but not a
# valid envelope: wrong receive id, bad base64, bad padding, short plaintext.
_DECRYPT_ERRORS = (
    InvalidSignatureException,
    BinasciiError,
    ValueError,
    IndexError,
    struct.error,
    UnicodeDecodeError,
    TypeError,
    InvalidCorpIdException,
)


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """SHA1 over the sorted concatenation of token, timestamp, nonce and ciphertext."""
    parts = sorted([token, timestamp, nonce, encrypted])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def parse_xml(body: str | bytes) -> ET.Element:
    """Parse a small XML document, refusing DTDs (no entity tricks)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise CallbackRejected("DTD in body")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise CallbackRejected(f"bad XML: {exc}") from None


class CallbackCrypto:
    """Verify, decrypt and encrypt WeCom callback bodies for one app."""

    def __init__(self, config: WeComConfig) -> None:
        self._token = config.token.get_secret_value()
        self._crypto = WeChatCrypto(self._token, config.aes_key.get_secret_value(), config.corp_id)

    def check_timestamp(self, timestamp: str, now: datetime) -> None:
        try:
            sent = int(timestamp)
        except ValueError:
            raise CallbackRejected("timestamp is not a number") from None
        if abs(now.timestamp() - sent) > c.CALLBACK_MAX_SKEW_SECONDS:
            raise CallbackRejected("stale timestamp", status=403)

    def check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = signature(self._token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), msg_signature.encode()):
            raise CallbackRejected("bad signature", status=403)

    def open(self, *, msg_signature: str, timestamp: str, nonce: str, encrypted: str, now: datetime) -> str:
        """Check the timestamp and signature, then decrypt: the plaintext message."""
        self.check_timestamp(timestamp, now)
        self.check_signature(msg_signature, timestamp, nonce, encrypted)
        try:
            plain = self._crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
        except _DECRYPT_ERRORS as exc:
            raise CallbackRejected(f"cannot decrypt: {type(exc).__name__}") from None
        return str(to_text(plain))

    def open_echo(self, *, msg_signature: str, timestamp: str, nonce: str, echostr: str, now: datetime) -> str:
        """URL verification: the decrypted ``echostr`` to answer verbatim."""
        self.check_timestamp(timestamp, now)
        self.check_signature(msg_signature, timestamp, nonce, echostr)
        try:
            plain = self._crypto.check_signature(msg_signature, timestamp, nonce, echostr)
        except _DECRYPT_ERRORS as exc:
            raise CallbackRejected(f"cannot decrypt: {type(exc).__name__}") from None
        return str(to_text(plain))

    def seal(self, plaintext: str, *, nonce: str, timestamp: str) -> str:
        """Encrypt and sign ``plaintext`` as WeCom's envelope XML (passive replies, emulator)."""
        return str(self._crypto.encrypt_message(plaintext, nonce, timestamp))
