"""The OpenAPI 3 description of the hub's HTTP API, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from finxtui import __version__

_LEVELS = {"type": "array", "description": "best first", "items": {
    "type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"},
    "description": "[price, size]"}}
_ERROR = {"type": "object", "required": ["error"], "properties": {
    "error": {"type": "string"}, "known": {"type": "array", "items": {"type": "string"}}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document(max_depth: int) -> dict[str, Any]:
    """The whole OpenAPI document (``max_depth``: the deepest ``depth`` a request may ask)."""
    book = {"type": "object", "required": ["source", "pair", "bids", "asks", "ts"], "properties": {
        "source": {"type": "string", "example": "bitfinex"},
        "pair": {"type": "string", "description": "canonical pair", "example": "BTC:USD"},
        "bids": _LEVELS, "asks": _LEVELS,
        "ts": {"type": ["number", "null"], "description": "UNIX seconds of the last applied frame"},
        "seq": {"type": "integer", "description": "venue frames applied in this hub run"},
        "epoch": {"type": "string", "description": "the hub run"},
        "state": {"type": "string", "description": "the venue's feed state (live, stale, resyncing, …)"}}}
    status = {"type": "object", "required": ["sources"], "properties": {
        "sources": {"type": "array", "items": {"type": "object", "required": ["source", "state", "detail", "age"],
                                               "properties": {
            "source": {"type": "string"}, "state": {"type": "string"}, "detail": {"type": "string"},
            "age": {"type": ["number", "null"], "description": "seconds since the venue last said anything"}}}},
        "hub": {"type": "object", "description": "the hub itself: epoch, start, NATS state"}}}
    pairs = {"type": "object", "required": ["sources"], "properties": {"sources": {
        "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "source → canonical pairs the hub carries"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "finx-tui hub", "version": __version__,
                 "description": "Read-only view of the books and feed health a finx-tui hub keeps."},
        "paths": {
            "/book/{source}/{pair}": {"get": {
                "summary": "The current order book of one pair on one source",
                "parameters": [
                    {"name": "source", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "pair", "in": "path", "required": True, "schema": {"type": "string"},
                     "description": "canonical (BTC:USD, URL-encoded or not) or its hub token (BTC-USD)"},
                    {"name": "depth", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": max_depth, "default": 10}}],
                "responses": {"200": _json(book, "the book, best first"),
                              "400": _json(_ERROR, "a bad depth"),
                              "404": _json(_ERROR, "an unknown source or pair, or no book yet")}}},
            "/status": {"get": {"summary": "Every source's state, detail and age",
                                "responses": {"200": _json(status, "feed health")}}},
            "/pairs": {"get": {"summary": "The pairs the hub carries, by source",
                               "responses": {"200": _json(pairs, "pairs by source")}}},
            "/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3 document"}}}},
        },
    }
