"""Request signing shared by the BitMEX client and the simulator that checks it."""

from __future__ import annotations

import hashlib
import hmac


def bitmex_signature(secret: str, verb: str, path: str, expires: int | str, data: str = "") -> str:
    """hex(HMAC_SHA256(secret, verb + path + expires + data)), lower case, as BitMEX documents it."""
    message = f"{verb}{path}{expires}{data}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
