"""FinX's functions (authenticate, tick snap, tick history) over one request/response socket.

The first request opens ``{base}/backend/?functionName=…&APIKey=…&…`` (the query-string form) and reads the
one frame FinX pushes on connect; later requests go as JSON messages on the same socket
(``{"pair":…,"date":…,"time":…,"functionName":"tickHistory","APIKey":…}``, as FinX's SDK sends them), one
reply each. A socket FinX has let go (idle limit) is reopened once, transparently. Every wait is bounded
(``timeout`` a reply, ``open_timeout`` to connect) and every failure is a :class:`FinxError` whose message is
fit for the user and never contains the key. Facts: ``reference/finx-finazon-protocols.md`` part A, and
:mod:`finxtui.wire.finx`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from urllib.parse import urlencode

import orjson
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.protocol import State

from finxtui.feeds.finx.errors import KEY_REJECTED, KEY_VAR, NO_KEY, FinxAuthError, FinxError, redact
from finxtui.feeds.finx.history import collect, page_through
from finxtui.feeds.finx.rows import SOURCE, HistoryPage, HistoryRow, parse_row
from finxtui.feeds.session import MAX_FRAME
from finxtui.model.events import Tick
from finxtui.model.pairs import DEFAULT_PAIRS, PairTable
from finxtui.wire import finx as wire

log = logging.getLogger("finxtui.feeds.finx")
_QUIET = logging.getLogger("finxtui.feeds.ws")  # websockets logs URLs at debug level; ours carry the key


class FinxClient:
    """Request/response client for FinX's functions: ``async with FinxClient(url, key) as finx: ...``.

    One socket serves every request, one at a time (FinX's replies carry no request id). Methods raise
    :class:`FinxError` (:class:`FinxAuthError` for the key) with a message fit for the user.
    """

    def __init__(self, base_url: str, api_key: str, *, table: PairTable = DEFAULT_PAIRS, timeout: float = 15.0,
                 open_timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = (api_key or "").strip()
        self.table = table
        self.timeout = timeout
        self.open_timeout = open_timeout
        #: requests answered, and history rows that could not be read (skipped)
        self.requests = 0
        self.rejected_rows = 0
        self._ws: ClientConnection | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> FinxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)

    def display_url(self) -> str:
        """Where the functions live, as it may be shown (no key, no query)."""
        return f"{self.base_url}{wire.BACKEND}"

    # -- the functions ----------------------------------------------------------------------------------

    async def authenticate(self) -> None:
        """Check the key; raises :class:`FinxAuthError` unless FinX answers ``{"isAuth": true}``."""
        reply = await self.call(wire.AUTHENTICATE, {})
        if type(reply) is not dict or reply.get(wire.IS_AUTH) is not True:
            raise FinxAuthError(KEY_REJECTED)

    async def tick_snap(self, pair: str, day: date | None = None, at_ms: int | None = None) -> Tick | None:
        """The latest tick of ``pair`` (at or before ``day`` + ``at_ms`` into it, if given); None if FinX has none."""
        params: dict[str, str] = {"pair": self._symbol(pair)}
        if day is not None:
            params["date"] = day.isoformat()
        if at_ms is not None:
            params["time"] = wire.format_clock(at_ms)
        reply = await self.call(wire.TICK_SNAP, params)
        if type(reply) is not dict:
            raise FinxError(f"FinX sent an unexpected reply to {wire.TICK_SNAP}: {_sample(reply)}")
        if not reply:
            return None
        try:
            ms, exchange, price = parse_row(reply)
        except ValueError as exc:
            raise FinxError(f"FinX sent an unreadable tick snap ({exc})") from None
        return Tick(SOURCE, pair, price, exchange, ms / 1000)

    async def history_page(self, pair: str, day: date, after_ms: int | None = None) -> HistoryPage:
        """One ``tickHistory`` request: at most 1000 rows of ``day`` after ``after_ms`` into it, unsorted."""
        params: dict[str, str] = {"pair": self._symbol(pair), "date": day.isoformat()}
        if after_ms is not None:
            params["time"] = wire.format_clock(after_ms)
        reply = await self.call(wire.TICK_HISTORY, params)
        if type(reply) is not dict:
            raise FinxError(f"FinX sent an unexpected reply to {wire.TICK_HISTORY}: {_sample(reply)}")
        rows: list[HistoryRow] = []
        for value in reply.values():
            try:
                ms, exchange, price = parse_row(value)
            except ValueError as exc:
                self.rejected_rows += 1
                if self.rejected_rows == 1 or self.rejected_rows % 1000 == 0:
                    log.warning("finx: skipped %d unreadable history row(s) (%s): %r", self.rejected_rows, exc,
                                _sample(value))
                continue
            rows.append(HistoryRow(pair, ms, exchange, price))
        return HistoryPage(rows, len(reply))

    def history_pages(self, pair: str, day: date, after_ms: int | None = None, *,
                      all_pages: bool = True) -> AsyncIterator[list[HistoryRow]]:
        """The new rows of each reply as it arrives (see :func:`page_through`): for a loading indicator."""

        async def fetch(after: int | None) -> HistoryPage:
            return await self.history_page(pair, day, after)

        return page_through(fetch, after_ms, all_pages=all_pages)

    async def tick_history(self, pair: str, day: date, after_ms: int | None = None, *,
                           all_pages: bool = True) -> list[HistoryRow]:
        """The ticks of ``day`` after ``after_ms`` (the whole day: every page), each once, sorted by time."""
        return await collect(self.history_pages(pair, day, after_ms, all_pages=all_pages))

    # -- the wire ---------------------------------------------------------------------------------------

    async def call(self, function: str, params: dict[str, str]) -> Any:
        """Run one function and return FinX's decoded reply (errors and a refused key raised)."""
        if not self.api_key:
            raise FinxAuthError(NO_KEY)
        async with self._lock:
            for attempt in range(2):
                reused = self._ws is not None and self._ws.state is State.OPEN
                try:
                    if reused:
                        assert self._ws is not None
                        message = {**params, wire.FUNCTION_FIELD: function, wire.KEY_FIELD: self.api_key}
                        await self._ws.send(orjson.dumps(message).decode())
                    else:
                        await self.aclose()
                        self._ws = await self._open(function, params)
                    frame = await self._recv(function)
                except ConnectionClosed as exc:
                    self._ws = None
                    rcvd = exc.rcvd
                    if reused and attempt == 0 and (rcvd is None or rcvd.code != wire.CLOSE_POLICY):
                        log.debug("finx: the functions socket was closed (%s); opening a new one", rcvd)
                        continue  # FinX let an idle socket go: ask again on a new one
                    raise self._closed_error(exc, function) from None
                break
            self.requests += 1
            try:
                return self._check(function, frame)
            except FinxAuthError:
                await self.aclose()  # FinX closes the socket after refusing a key anyway
                raise

    async def _open(self, function: str, params: dict[str, str]) -> ClientConnection:
        query = urlencode({wire.FUNCTION_FIELD: function, wire.KEY_FIELD: self.api_key, **params}, safe=":")
        where = self.display_url()
        try:
            return await websockets.connect(f"{self.base_url}{wire.BACKEND}?{query}",
                                            open_timeout=self.open_timeout, max_size=MAX_FRAME, compression="deflate",
                                            ping_interval=20, ping_timeout=20, close_timeout=2, logger=_QUIET)
        except InvalidStatus as exc:
            code = exc.response.status_code
            if code in (401, 403):
                raise FinxAuthError(f"FinX rejected the API key (HTTP {code}): set {KEY_VAR} "
                                    f"(keys rotate every 24 h)") from None
            raise FinxError(f"FinX refused the connection at {where} (HTTP {code})") from None
        except InvalidURI:
            raise FinxError(f"bad FinX URL {self.base_url!r}: expected ws:// or wss:// and a host") from None
        except TimeoutError:
            raise FinxError(f"cannot reach FinX at {where}: no answer within {self.open_timeout:g} s") from None
        except ConnectionRefusedError:
            raise FinxError(f"cannot reach FinX at {where}: connection refused") from None
        except OSError as exc:
            raise FinxError(f"cannot reach FinX at {where}: {(exc.strerror or str(exc)).lower()}") from None
        except InvalidHandshake as exc:
            raise FinxError(f"cannot connect to FinX at {where}: {redact(str(exc), self.api_key)}") from None

    async def _recv(self, function: str) -> str | bytes:
        ws = self._ws
        assert ws is not None
        try:
            async with asyncio.timeout(self.timeout):
                return await ws.recv()
        except TimeoutError:
            # A late reply would answer the next request: this socket is done.
            await self.aclose()
            raise FinxError(f"FinX sent no reply to {function} within {self.timeout:g} s") from None

    def _check(self, function: str, frame: str | bytes) -> Any:
        try:
            reply = orjson.loads(frame)
        except orjson.JSONDecodeError:
            raise FinxError(f"FinX sent something that is not JSON in reply to {function}: "
                            f"{_sample(frame)}") from None
        if type(reply) is dict:
            if wire.IS_AUTH in reply and reply[wire.IS_AUTH] is not True:
                raise FinxAuthError(KEY_REJECTED)
            if "error" in reply:
                raise FinxError(f"FinX refused {function}: {redact(str(reply['error']), self.api_key)}")
        return reply

    def _closed_error(self, exc: ConnectionClosed, function: str) -> FinxError:
        rcvd = exc.rcvd
        if rcvd is not None and rcvd.code == wire.CLOSE_POLICY:
            if "pair" in rcvd.reason.lower():
                return FinxError(f"FinX refused {function}: {redact(rcvd.reason, self.api_key)}")
            return FinxAuthError(KEY_REJECTED)
        if rcvd is None:
            return FinxError(f"FinX dropped the connection during {function}")
        reason = f", {redact(rcvd.reason, self.api_key)}" if rcvd.reason else ""
        return FinxError(f"FinX closed the connection during {function} ({rcvd.code}{reason})")

    def _symbol(self, pair: str) -> str:
        return self.table.symbol(SOURCE, pair) or pair


def _sample(value: Any) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text[:120] + ("…" if len(text) > 120 else "")


async def fetch_history(base_url: str, api_key: str, pair: str, day: date, after_ms: int | None = None, *,
                        all_pages: bool = True, table: PairTable = DEFAULT_PAIRS,
                        timeout: float = 15.0) -> list[HistoryRow]:
    """Open a client, get ``pair``'s ticks of ``day`` after ``after_ms`` (every page unless told), close it."""
    async with FinxClient(base_url, api_key, table=table, timeout=timeout) as client:
        return await client.tick_history(pair, day, after_ms, all_pages=all_pages)
