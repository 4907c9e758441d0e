"""BitMEX realtime websocket: the wire facts (``reference/exchange-protocols.md`` part B, E7-E10).

Commands are ``{"op": …, "args": […]}``; table messages ``{"table", "action", "data", …}`` with the actions
``partial`` (a table image with ``keys``), ``insert``, ``update`` (keys and changed fields only) and ``delete``.
Keep-alive is the text ``ping`` answered by the text ``pong`` (not JSON). Times are ISO-8601 UTC with
milliseconds; money is an integer in the currency's minor unit.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime
from functools import lru_cache
from typing import Any

PATH = "/realtime"

# Ops.
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
AUTH_KEY_EXPIRES = "authKeyExpires"
AUTH_KEY = "authKey"  # the deprecated nonce form; refused by the venue today
CANCEL_ALL_AFTER = "cancelAllAfter"
AUTH_OPS = (AUTH_KEY_EXPIRES, AUTH_KEY)

# Keep-alive (B3): after 5 s without a message, send "ping"; no "pong" within 5 s means the socket is dead.
PING = "ping"
PONG = "pong"
PING_AFTER = 5.0
PONG_WITHIN = 5.0

# Tables.
INSTRUMENT = "instrument"
QUOTE = "quote"
TRADE = "trade"
TRADE_BIN_1M = "tradeBin1m"
POSITION = "position"
MARGIN = "margin"
ORDER = "order"
EXECUTION = "execution"
L2_FULL = "orderBookL2"
L2_25 = "orderBookL2_25"
BOOK_TABLES = (L2_FULL, L2_25)
L2_25_LEVELS = 25  # levels a side in orderBookL2_25; orderBookL2 is the whole book
PUBLIC_TABLES = ("instrument", "quote", "trade", "tradeBin1m", *BOOK_TABLES)
PRIVATE_TABLES = ("position", "margin", "order", "execution")
NO_SYMBOL_TABLES = ("margin",)  # account-wide: subscribed without ``:SYMBOL``
#: row identity of the keyed account tables, as their partials' ``keys`` give it
ROW_KEYS: dict[str, tuple[str, ...]] = {"position": ("account", "symbol", "currency"),
                                        "margin": ("account", "currency"),
                                        "order": ("orderID",),
                                        "execution": ("execID",)}

# Table actions (B5): a ``partial`` image first, then deltas.
PARTIAL = "partial"
INSERT = "insert"
UPDATE = "update"
DELETE = "delete"
DELTA_ACTIONS = (INSERT, UPDATE, DELETE)

# Book rows: ``side`` is "Buy" for bids and "Sell" for asks.
BUY = "Buy"
SELL = "Sell"

# -- the account's orders and executions (B6) ----------------------------------------------------------------
#
# What real BitMEX does, from testnet sessions logged in 2019 (order insert, amend, partial fill, cancel) and the
# 2024 fixtures of nautilus_trader's adapter:
#
# - ``order`` is keyed by ``orderID``. A new order is an ``insert`` of the whole row (since 2023 absent fields are
#   left out, not null: no ``avgPx`` before a fill), ``ordStatus`` New and ``workingIndicator`` false, followed
#   by an ``update`` setting ``workingIndicator`` true once it rests in the book.
# - An ``update`` carries the key, the fields that changed, and ``clOrdID``, ``account``, ``symbol`` and
#   ``timestamp`` every time (``ORDER_UPDATE_CONTEXT``): a fill sends ordStatus, leavesQty, cumQty, avgPx; an
#   amend orderQty/price, leavesQty, text, transactTime; a cancel ordStatus Canceled, workingIndicator false,
#   leavesQty 0, text. A field may also come as an explicit null (nautilus ``ws_order_update_nulls``).
# - Filled and cancelled orders are NOT deleted: they stay in the table with their final ordStatus and
#   leavesQty 0, and a client drops them itself (the official Python adapter removes rows whose leavesQty
#   reaches 0). A ``delete`` on ``order`` is still the table protocol's and means the row is gone.
# - The ``order`` partial holds the account's open orders; ``execution`` is insert-only, keyed by ``execID``,
#   one row for every order event: execType New (placed), Replaced (amended), Canceled, Trade (a fill of
#   ``lastQty`` at ``lastPx``; ``execComm`` the fee in the settlement currency's minor unit, negative a rebate),
#   and account events without an order of ours (Funding, Settlement). Only Trade rows are fills.
ORD_NEW = "New"
ORD_PARTIALLY_FILLED = "PartiallyFilled"
ORD_FILLED = "Filled"
ORD_CANCELED = "Canceled"
ORD_REJECTED = "Rejected"
#: ordStatus -> the normalized status (unknown ones are kept, lower-cased)
ORDER_STATUS: dict[str, str] = {ORD_NEW: "new", ORD_PARTIALLY_FILLED: "partially_filled", ORD_FILLED: "filled",
                                ORD_CANCELED: "canceled", ORD_REJECTED: "rejected", "Expired": "expired",
                                "Stopped": "stopped", "Untriggered": "untriggered", "PendingNew": "pending_new",
                                "PendingCancel": "pending_cancel", "DoneForDay": "done_for_day"}
EXEC_NEW = "New"
EXEC_TRADE = "Trade"
EXEC_REPLACED = "Replaced"
EXEC_CANCELED = "Canceled"
EXEC_TYPES = (EXEC_NEW, EXEC_TRADE, EXEC_REPLACED, EXEC_CANCELED, "Rejected", "Restated", "Funding", "Settlement",
              "TriggeredOrActivatedBySystem")
LIMIT = "Limit"
#: order types that carry a limit ``price`` (a Market or Stop order has none)
PRICED_ORDER_TYPES = (LIMIT, "StopLimit", "LimitIfTouched")
GOOD_TILL_CANCEL = "GoodTillCancel"
POST_ONLY = "ParticipateDoNotInitiate"  # execInst: the order only ever rests (a maker)
ADDED_LIQUIDITY = "AddedLiquidity"  # lastLiquidityInd of a maker fill; "RemovedLiquidity" for a taker
#: fields every ``order`` update carries besides orderID and the changed ones
ORDER_UPDATE_CONTEXT = ("clOrdID", "account", "symbol", "timestamp")
#: a merged row without one of these (or with it null) is not an order we can show
ORDER_REQUIRED = ("orderID", "symbol", "side", "orderQty", "leavesQty", "cumQty", "ordStatus")
EXECUTION_REQUIRED = ("execID", "orderID", "symbol", "side", "execType", "lastQty", "lastPx")

#: minor unit -> (currency as shown, units per whole coin)
MINOR_UNITS: dict[str, tuple[str, float]] = {"XBt": ("XBT", 1e8), "USDt": ("USDT", 1e6), "Gwei": ("ETH", 1e9),
                                             "XBT": ("XBT", 1.0), "USDT": ("USDT", 1.0)}

# Auth: the signature covers the verb, the path and ``expires`` (B4).
AUTH_VERB = "GET"


def signature(secret: str, verb: str, path: str, expires: int | str, data: str = "") -> str:
    """hex(HMAC_SHA256(secret, verb + path + expires + data)), lower case, as BitMEX documents it."""
    message = f"{verb}{path}{expires}{data}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def auth_signature(secret: str, expires: int) -> str:
    """The ``authKeyExpires`` signature for the websocket: ``GET/realtime`` + expires."""
    return signature(secret, AUTH_VERB, PATH, expires)


def topic(table: str, symbol: str | None = None) -> str:
    """``orderBookL2_25:XBTUSD``, or the bare table for every symbol."""
    return f"{table}:{symbol}" if symbol else table


@lru_cache(maxsize=8)
def _iso_second(sec: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))


def iso(ts: float) -> str:
    """``2021-07-22T22:36:10.014Z``: UTC, milliseconds, ``Z``."""
    sec, ms = divmod(int(ts * 1000), 1000)
    return f"{_iso_second(sec)}.{ms:03d}Z"


def parse_time(text: Any) -> float:
    """BitMEX ISO-8601 UTC (``2021-07-22T22:36:07.865Z``) as UNIX seconds; 0.0 for anything else."""
    if not isinstance(text, str):
        return 0.0
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0
