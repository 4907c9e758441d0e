"""What a FinX failure says to the user: the errors, the key texts, and redaction of the key.

FinX puts the API key in every URL (``/streaming/{APIKey}/…``, ``/backend/?APIKey=…``), so any text that may
reach a status line or the log goes through :func:`redact` first.
"""

from __future__ import annotations

from urllib.parse import quote

from finxtui.wire.venues import FINX

KEY_VAR = FINX.key_vars[0]
NO_KEY = f"no FinX API key: set {KEY_VAR} (or finx_api_key under [credentials] in the config file)"
KEY_REJECTED = f"FinX rejected the API key: set {KEY_VAR} (keys rotate every 24 h)"


class FinxError(Exception):
    """A FinX request failed. The message says what to fix and never contains the key."""


class FinxAuthError(FinxError):
    """No key, or FinX refused it."""


def redact(text: str, api_key: str) -> str:
    """``text`` with ``api_key`` (raw or URL-escaped) replaced by ``***``."""
    if api_key:
        text = text.replace(api_key, "***").replace(quote(api_key, safe=""), "***")
    return text
