"""BitMEX realtime websocket, as ``wss://ws.bitmex.com/realtime`` speaks it.

Facts from ``reference/exchange-protocols.md`` part B and E7-E10: the welcome frame first (with
``limit.remaining``); ``{"op":...,"args":...}`` commands where a single argument may stand without its array;
one success frame per topic, each echoing the whole request; error frames ``{"status","error","meta","request"}``
with the real texts ("Signature not valid.", "Invalid API Key.", "Unknown or expired symbol.",
"Unknown table: X", "You are already subscribed to this topic: X", "Failed to decode incoming data: ...",
and the 401 "User requested an account-locked subscription but no authorization was provided." with its
``meta.notes``); ``authKeyExpires`` with ``hex(HMAC_SHA256(secret, "GET/realtime" + expires))`` checked for
real, or the ``api-key``/``api-expires``/``api-signature`` upgrade headers or query parameters; text
``ping`` answered with text ``pong``; a partial (``keys``, ``types``, ``foreignKeys``, ``attributes``,
``filter``, ``data``) before any insert/update/delete of every table and symbol; the 2023 book: arbitrary ids
stable for a level's life, ``price`` and ``timestamp`` on insert, update and delete, update rows with only
keys + size + price + timestamp; null fields omitted; ISO-8601 UTC millisecond timestamps; money in XBt/USDt
minor units. This module is the conversation (ops, auth, topics); :mod:`.tables` publishes the tables,
:mod:`.venue` is the exchange behind every socket (:mod:`.account` its demo account), :mod:`.schema` its
partial schemas and fixed texts.

Choices where the reference is [UNCONFIRMED] or silent:

- Welcome: ``version`` is a fixed build stamp, ``heartbeatEnabled`` false and last; ``limit.remaining`` is
  60 minus the BitMEX connections opened on this simulator in the last hour (never refused).
- A subscribe request is checked topic by topic: good topics are acked (acks first, in order, errors in
  between), bad ones get their own error frame; then the partials follow in topic order. ``T:SYM`` while
  the bare ``T`` is held (or the same topic twice) is "already subscribed"; a bare ``T`` taken while some
  ``T:SYM`` is held is accepted and its all-symbol partial (``filter: {}``) re-images those symbols.
  Unsubscribing a topic not held: 400 "You are not subscribed to this topic: X".
- Real tables the simulator does not serve (orderBook10, liquidation, wallet, ...) get 400
  "Table not served by this simulator: X"; unknown names get the real 400 "Unknown table: X".
  ``margin`` takes no symbol (``margin:X`` is "Unknown or expired symbol.").
- ``authKeyExpires``: ``expires`` must be a JSON number (a string gets 400 "Invalid expires: must be a
  number, not a string."); the key is checked first, then expiry, then the signature (lower-case hex, exact).
  An expired ``expires`` gets 401 "This request has expired - `expires` is in the past. Current time: N"
  (BitMEX's REST text). Authenticating twice: 400 "Already authenticated. Authentication can only be
  performed once per connection." The deprecated nonce ``authKey`` is refused with 400.
- Header or query-string auth that fails sends the same 401 frame (without ``request``) right after the
  welcome and leaves the socket open and unauthenticated. ``?subscribe=`` topics are acked with
  ``"request":{"op":"subscribe","args":[...the URL topics]}`` after the welcome and any URL auth.
- ``cancelAllAfter`` before auth: 401 "Not authenticated. cancelAllAfter requires authentication."
- Non-object JSON, or a missing ``op``: 400 "Invalid request: expected {\"op\": string, \"args\": [...]}.";
  an unknown op: 400 "Unknown or unsupported op: X." ``help`` (text or op) lists the tables served here.
- Book partial rows are ordered by price descending (all Sells high to low, then Buys), as in the 2021
  capture. Ids are kept per connection and table, (side, tick index) -> id from the context's ``new_id()``,
  forgotten on delete; a level leaving the top 25 of ``orderBookL2_25`` arrives as a delete.
- One ``on_book`` call gives at most three book messages, one per action, in the order delete, update,
  insert; changes of one level within the call are netted, so a window table never holds more than 25 per
  side after any message.
- ``quote`` rows replay the step's changes on a private copy of the book, one row per change of the top;
  ``trade`` rows of one dispatch go out together, one message per symbol. ``instrument``, ``position`` and
  ``margin`` updates (keys + changed fields + timestamp) about once a second; ``order`` and ``execution``
  carry the demo account's own trading (:mod:`.trading`: limit orders placed, amended, cancelled and filled
  as the market trades, in real BitMEX's shapes: no ``delete`` for a filled or cancelled order, its final
  ``update`` says so), each fill followed at once by the position's and margin's updates; ``tradeBin1m``
  inserts at each minute close with the bin
  ``timestamp`` at the END of the bin. Instrument statistics (volume24h, turnover, high/low) are a fixed
  daily base plus every trade this simulator has made since it was constructed.
- Faults: ``stall`` for one pair delays that pair's rows and never drops them (books catch up with their net
  changes when the stall ends, the quote with its top as it is, trades and closed bins follow in order, and
  instrument and position updates resume from what the client last received); ``unknown_id`` sends an
  update for a never-published id to every book subscription; an armed ``early_deltas`` sends an update and
  an insert (with ids never used again) after the ack and before the partial of the next L2 subscription.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, ClassVar

import orjson
from websockets.asyncio.server import ServerConnection

from finxtui.sim.bitmex.schema import (
    BAD_REQUEST,
    DOCS,
    HELP,
    NOT_AUTHED,
    NOT_AUTHED_META,
    REAL_PRIVATE,
    REAL_PUBLIC,
    VERSION,
    js_error,
    partial_frame,
)
from finxtui.sim.bitmex.tables import Row, Tables
from finxtui.sim.bitmex.venue import BitmexVenue
from finxtui.sim.core.connection import SimConnection
from finxtui.sim.core.window import WindowChange
from finxtui.sim.instruments import BitmexContract
from finxtui.sim.market import SimTrade
from finxtui.wire import bitmex as bmx
from finxtui.wire.bitmex import iso


class BitmexConnection(SimConnection):
    venue: ClassVar[str] = "bitmex"

    def __init__(self, venue: BitmexVenue, ws: ServerConnection, path: str, query: Mapping[str, str]) -> None:
        super().__init__(venue.ctx, ws, path, query)
        self.bitmex = venue
        self.topics: set[str] = set()
        self.authenticated = False
        self.tables = Tables(venue, self, self)

    # -- framing (also what the tables write through) -------------------------------------------------

    def _now(self) -> str:
        return iso(self.ctx.clock())

    def _error(self, status: int, text: str, request: Any = None, meta: dict[str, Any] | None = None) -> None:
        frame: dict[str, Any] = {"status": status, "error": text, "meta": meta or {}}
        if request is not None:
            frame["request"] = request
        self.send_json(frame)

    def rows(self, table: str, action: str, data: list[Row]) -> bool:
        """One table message; False when it was not sent (stalled or closed)."""
        return self.send(orjson.dumps({"table": table, "action": action, "data": data}))

    def covers(self, table: str, symbol: str) -> bool:
        """Whether a topic the client holds covers ``table`` for ``symbol``."""
        return table in self.topics or bmx.topic(table, symbol) in self.topics

    # -- session --------------------------------------------------------------------------------------

    async def on_open(self) -> None:
        self.send_json({"info": "Welcome to the BitMEX Realtime API.", "version": VERSION,
                        "timestamp": self._now(), "docs": DOCS,
                        "limit": {"remaining": self.bitmex.connection_opened()}, "heartbeatEnabled": False})
        self._auth_from_upgrade()
        url_topics = [t for t in self.query.get("subscribe", "").split(",") if t]
        if url_topics:
            self._subscribe({"op": "subscribe", "args": url_topics}, url_topics)

    def _auth_from_upgrade(self) -> None:
        headers = self.ws.request.headers if self.ws.request is not None else {}
        values = [headers.get(name) or self.query.get(name) for name in ("api-key", "api-expires", "api-signature")]
        if not any(values):
            return
        key, expires_text, signature = values
        try:
            expires = int(expires_text or "")
        except ValueError:
            self._error(400, "Invalid api-expires: must be a UNIX time in seconds.")
            return
        failure = self._check_auth(key, expires, signature)
        if failure is not None:
            self._error(*failure)
        else:
            self.authenticated = True

    async def on_message(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            try:
                message = raw.decode()
            except UnicodeDecodeError:
                message = raw.decode(errors="replace")
        else:
            message = raw
        if message == bmx.PING:
            self.send(bmx.PONG)
            return
        if message == "help":
            self.send_json(HELP)
            return
        try:
            req = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            self._error(400, f"Failed to decode incoming data: {js_error(message, exc.pos)}. "
                             f"Please see the documentation at {DOCS}.")
            return
        if not isinstance(req, dict) or not isinstance(req.get("op"), str):
            self._error(400, BAD_REQUEST, req)
            return
        op = req["op"]
        args = req.get("args", [])
        self.ctx.count_op(op)  # tests check a monitor never sends anything but reads
        if op == bmx.SUBSCRIBE:
            self._subscribe(req, args)
        elif op == bmx.UNSUBSCRIBE:
            self._unsubscribe(req, args)
        elif op == bmx.AUTH_KEY_EXPIRES:
            self._auth_op(req, args)
        elif op == bmx.AUTH_KEY:
            self._error(400, "authKey is deprecated and not supported here: use authKeyExpires.", req)
        elif op == bmx.CANCEL_ALL_AFTER:
            self._cancel_all_after(req, args)
        elif op == "help":
            self.send_json(HELP)
        else:
            self._error(400, f"Unknown or unsupported op: {op}.", req)

    # -- auth -----------------------------------------------------------------------------------------

    def _check_auth(self, key: Any, expires: int, signature: Any) -> tuple[int, str] | None:
        """None if the three values authenticate, else (status, error text)."""
        creds = self.ctx.credentials
        if not isinstance(key, str) or not hmac.compare_digest(key.encode(), creds.bitmex_key.encode()):
            return 401, "Invalid API Key."
        now = self.ctx.clock()
        if expires <= now:
            return 401, f"This request has expired - `expires` is in the past. Current time: {int(now)}"
        expected = bmx.auth_signature(creds.bitmex_secret, expires)
        if not isinstance(signature, str) or not hmac.compare_digest(signature.encode(), expected.encode()):
            return 401, "Signature not valid."
        return None

    def _auth_op(self, req: dict[str, Any], args: Any) -> None:
        if self.authenticated:
            self._error(400, "Already authenticated. Authentication can only be performed once per connection.",
                        req)
            return
        if not isinstance(args, list) or len(args) != 3:
            self._error(400, "authKeyExpires takes [apiKey, expires, signature].", req)
            return
        key, expires, signature = args
        if isinstance(expires, str):
            self._error(400, "Invalid expires: must be a number, not a string.", req)
            return
        if isinstance(expires, float) and expires.is_integer():
            expires = int(expires)
        if not isinstance(expires, int) or isinstance(expires, bool):
            self._error(400, "Invalid expires: must be a UNIX time in seconds.", req)
            return
        failure = self._check_auth(key, expires, signature)
        if failure is not None:
            self._error(*failure, req)
            return
        self.authenticated = True
        self.send_json({"success": True, "request": req})

    def _cancel_all_after(self, req: dict[str, Any], args: Any) -> None:
        if not self.authenticated:
            self._error(401, "Not authenticated. cancelAllAfter requires authentication.", req)
            return
        timeout = args[0] if isinstance(args, list) and len(args) == 1 else args
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0:
            self._error(400, "cancelAllAfter takes a timeout in milliseconds (0 cancels the timer).", req)
            return
        now = self.ctx.clock()
        # The demo account's orders are the simulator's own doing (one desk shared by every connection), so the
        # timer does not cancel them; the reply is what clients check.
        self.send_json({"now": iso(now), "cancelTime": iso(now + timeout / 1000) if timeout else 0,
                        "request": req})

    # -- subscriptions --------------------------------------------------------------------------------

    def _parse_topic(self, topic: Any, req: dict[str, Any]) -> tuple[str, BitmexContract | None] | None:
        """(table, contract or None for all symbols), or None after sending the error frame."""
        if not isinstance(topic, str) or not topic:
            self._error(400, BAD_REQUEST, req)
            return None
        table, _, symbol = topic.partition(":")
        if table not in REAL_PUBLIC and table not in REAL_PRIVATE:
            self._error(400, f"Unknown table: {table}", req)
            return None
        private = table in REAL_PRIVATE
        if private and not self.authenticated:
            self._error(401, NOT_AUTHED, req, NOT_AUTHED_META)
            return None
        if table not in bmx.PUBLIC_TABLES and table not in bmx.PRIVATE_TABLES:
            self._error(400, f"Table not served by this simulator: {table}", req)
            return None
        contract = None
        if symbol:
            contract = self.bitmex.contracts.get(symbol)
            if contract is None or table in bmx.NO_SYMBOL_TABLES:
                self._error(400, "Unknown or expired symbol.", req)
                return None
        return table, contract

    def _subscribe(self, req: dict[str, Any], args: Any) -> None:
        topics = [args] if isinstance(args, str) else args
        if not isinstance(topics, list) or not topics:
            self._error(400, BAD_REQUEST, req)
            return
        started: list[tuple[str, BitmexContract | None]] = []
        for topic in topics:
            parsed = self._parse_topic(topic, req)
            if parsed is None:
                continue
            table, contract = parsed
            if topic in self.topics or (contract is not None and table in self.topics):
                self._error(400, f"You are already subscribed to this topic: {topic}", req)
                continue
            self.topics.add(topic)
            self.send_json({"success": True, "subscribe": topic, "request": req})
            started.append(parsed)
        for table, contract in started:
            self._start(table, contract)

    def _unsubscribe(self, req: dict[str, Any], args: Any) -> None:
        topics = [args] if isinstance(args, str) else args
        if not isinstance(topics, list) or not topics:
            self._error(400, BAD_REQUEST, req)
            return
        for topic in topics:
            if not isinstance(topic, str) or topic not in self.topics:
                self._error(400, f"You are not subscribed to this topic: {topic}", req)
                continue
            self.topics.discard(topic)
            self.send_json({"success": True, "unsubscribe": topic, "request": req})
            table = topic.partition(":")[0]
            for contract in self.bitmex.contracts.values():
                self.tables.release(table, contract)

    def _start(self, table: str, contract: BitmexContract | None) -> None:
        """Register what ``table`` needs and send its partial."""
        contracts = [contract] if contract is not None else list(self.bitmex.contracts.values())
        if table in bmx.PRIVATE_TABLES:
            filt: dict[str, Any] = {"account": self.bitmex.account.account}
            if contract is not None:
                filt["symbol"] = contract.symbol
        else:
            filt = {"symbol": contract.symbol} if contract is not None else {}
        data = self.tables.start(table, contracts, self._now())
        self.send_json(partial_frame(table, filt, data))

    # -- the market -----------------------------------------------------------------------------------

    def on_book(self, key: tuple[str, str], depth: int | None, changes: list[WindowChange]) -> None:
        self.tables.on_book(key, depth, changes)

    def on_trade(self, trade: SimTrade) -> None:
        self.tables.on_trade(trade)

    def on_timer(self, now: float) -> None:
        self.tables.on_timer(now)

    def on_close(self) -> None:
        self.tables.close()
        super().on_close()

    # -- faults ---------------------------------------------------------------------------------------

    def inject(self, fault: str, **params: Any) -> bool:
        if fault == "unknown_id":
            return self.tables.unknown_id()
        if fault == "stall" and params.get("pair"):
            wanted = str(params["pair"])
            contract = self.bitmex.by_pair.get(wanted) or self.bitmex.contracts.get(wanted)
            if contract is None or not any(self.covers(t, contract.symbol)
                                           for t in bmx.PUBLIC_TABLES + bmx.PRIVATE_TABLES):
                return False
            self.tables.stall(contract.pair, float(params.get("seconds", 5.0)))
            return True
        return False
