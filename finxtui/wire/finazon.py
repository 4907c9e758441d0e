"""Finazon websocket v1: the wire facts (``reference/finx-finazon-protocols.md`` part B; choices in section C).

One socket at ``/v1?apikey=…`` (the key is checked at the handshake) carries every ticker. Client events are
``{"event": "subscribe" | "unsubscribe" | "heartbeat" | "reset", "dataset", "tickers", "channel", "frequency",
"aggregation", "request_id"?}``; acks are ``{"status": "success", "code": "SUCCESS_…", "data": …}``; errors
``{"status": "error", "message": …}``; a bar frame re-sends the ticker's forming 1-minute bar every
``frequency``: ``{"d", "p", "ch", "f", "aggr", "s", "t", "o", "h", "l", "c", "v"}`` with ``t`` the minute's
open in UNIX seconds.
"""

from __future__ import annotations

from urllib.parse import quote

PATH = "/v1"
KEY_PARAM = "apikey"

# Events.
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
HEARTBEAT = "heartbeat"
RESET = "reset"

# ``status`` of a reply: an ack (with ``code``) or an error (with ``message``).
STATUS_SUCCESS = "success"
STATUS_ERROR = "error"

# Ack codes.
SUCCESS_SUBSCRIPTION = "SUCCESS_SUBSCRIPTION"
SUCCESS_UNSUBSCRIPTION = "SUCCESS_UNSUBSCRIPTION"
SUCCESS_RESET = "SUCCESS_RESET"

CHANNEL = "bars"
AGGREGATION = "1m"
BAR_SECONDS = 60
#: dataset -> the publisher code bar frames carry in ``p`` (``sip`` is v1.0's publisher name for the same data)
DATASETS: dict[str, str] = {"us_stocks_essential": "finazon", "sip_non_pro": "sip", "sip_pro": "sip", "sip": "sip"}
DEFAULT_DATASET = "us_stocks_essential"
#: frequency -> seconds between re-sends of a forming bar
FREQUENCIES: dict[str, float] = {"1s": 1.0, "10s": 10.0, "1m": 60.0}
BAR_FIELDS = ("t", "o", "h", "l", "c", "v")

# Limits (per connection and key).
EVENT_LIMIT = 100  # event messages a minute
EVENT_WINDOW = 60.0
EVENT_MAX_BYTES = 100 * 1024
CONNECTION_LIMIT = 3  # open sockets per key
CLOSE_POLICY = 1008


def url(base: str, api_key: str) -> str:
    """The socket URL: ``{base}/v1?apikey={key}``."""
    return f"{base.rstrip('/')}{PATH}?{KEY_PARAM}={quote(api_key, safe='')}"
