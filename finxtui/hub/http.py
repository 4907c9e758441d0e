"""The hub's read-only HTTP API (aiohttp on the hub's own event loop): books, health, pairs, OpenAPI.

Everything served comes from the :class:`~finxtui.hub.registry.Registry`; no credential is ever in it (the
hub's configuration holds market-data keys only to connect, and nothing here reads them). Any method other
than GET (and HEAD) is answered 405; errors are JSON.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from finxtui.hub.openapi import document
from finxtui.hub.service import Hub
from finxtui.model.pairs import canonical

log = logging.getLogger("finxtui.hub")

MAX_DEPTH = 500
DEFAULT_DEPTH = 10


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class HubHttp:
    """``GET /book/{source}/{pair}``, ``/status``, ``/pairs``, ``/openapi.json`` on ``host:port`` (0: a free one)."""

    def __init__(self, hub: Hub, host: str = "127.0.0.1", port: int = 0) -> None:
        self.hub = hub
        self.host = host
        self.port = port
        self.app = web.Application(middlewares=[self._json_errors])
        self.app.router.add_get("/book/{source}/{pair}", self.book)
        self.app.router.add_get("/status", self.status)
        self.app.router.add_get("/pairs", self.pairs)
        self.app.router.add_get("/openapi.json", self.openapi)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0 and self._runner.addresses:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _json_errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPMethodNotAllowed as exc:
            return _error(405, f"{request.method} not allowed: this API is read-only",
                          allowed=sorted(exc.allowed_methods))
        except web.HTTPNotFound:
            return _error(404, f"no such resource {request.path}",
                          known=["/book/{source}/{pair}", "/status", "/pairs", "/openapi.json"])

    async def book(self, request: web.Request) -> web.Response:
        registry = self.hub.registry
        source = request.match_info["source"]
        if source not in registry.health:
            return _error(404, f"unknown source {source!r}", known=sorted(registry.health))
        raw = request.match_info["pair"]
        pair = canonical(raw)  # BTC:USD, BTC%3AUSD and the hub token BTC-USD all name BTC:USD
        if not registry.carries(source, pair):
            return _error(404, f"the hub does not carry {pair} on {source}", known=registry.pairs(source))
        text = request.query.get("depth", str(DEFAULT_DEPTH))
        try:
            depth = int(text)
        except ValueError:
            depth = 0
        if not 1 <= depth <= MAX_DEPTH:
            return _error(400, f"depth must be a whole number from 1 to {MAX_DEPTH}, not {text!r}")
        hb = registry.book(source, pair)
        if hb is None:
            return _error(404, f"no book for {pair} on {source} yet (state: {registry.health[source].state})")
        bids, asks = hb.book.top(depth)
        return web.json_response({
            "source": source, "pair": pair, "bids": [[p, s] for p, s in bids], "asks": [[p, s] for p, s in asks],
            "ts": hb.ts, "seq": hb.seq, "epoch": self.hub.epoch, "state": registry.health[source].state})

    async def status(self, request: web.Request) -> web.Response:
        registry = self.hub.registry
        rows = []
        for source, health in registry.health.items():
            age = registry.age(source)
            rows.append({"source": source, "state": health.state, "detail": health.detail,
                         "age": None if age is None else round(age, 3)})
        pub = self.hub.publisher
        nats = {"state": pub.state, "detail": pub.detail, "servers": pub.servers} if pub is not None else None
        return web.json_response({"sources": rows, "hub": {"epoch": self.hub.epoch, "started": self.hub.started,
                                                           "events": self.hub.events, "nats": nats}})

    async def pairs(self, request: web.Request) -> web.Response:
        return web.json_response({"sources": {s: self.hub.registry.pairs(s) for s in self.hub.registry.sources()}})

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(document(MAX_DEPTH))
