"""BitMEX table store: partial gating per table and symbol, and keyed insert/update/delete.

BitMEX sends a ``partial`` (a table image) per topic, then deltas. "You may receive other messages before
the partial comes through. In that case, drop any messages received until you have received the partial."
The partial's ``keys`` give row identity; tables without keys (quote, trade, tradeBin) are insert-only and
kept to a bounded length. The order book does not live here (see :mod:`.feed`): it needs speed and a price
per level, not rows. This is how a client keeps BitMEX's tables (it was in ``model/``, which holds only
normalized data), so it lives with the BitMEX feed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from finxtui.wire.bitmex import DELTA_ACTIONS, INSERT, PARTIAL, UPDATE

Row = dict[str, Any]
MAX_UNKEYED = 200


class UnknownRow(KeyError):
    """An update or delete for a row the store never saw: the table is out of sync."""


class Gate:
    """Which (table, symbol) pairs have had their partial. ``None`` as symbol means every symbol."""

    __slots__ = ("_ready",)

    def __init__(self) -> None:
        self._ready: set[tuple[str, str | None]] = set()

    def open(self, table: str, symbols: Iterable[str | None]) -> None:
        for symbol in symbols:
            self._ready.add((table, symbol))

    def close(self, table: str, symbol: str | None = None) -> None:
        self._ready.discard((table, symbol))

    def is_open(self, table: str, symbol: str | None) -> bool:
        ready = self._ready
        return (table, None) in ready or (table, symbol) in ready

    def reset(self) -> None:
        self._ready.clear()


def partial_symbols(msg: dict[str, Any]) -> list[str | None]:
    """The symbols a partial covers: its filter's symbol, else (a bare topic) all of them."""
    filt = msg.get("filter") or {}
    symbol = filt.get("symbol") if isinstance(filt, dict) else None
    return [symbol] if isinstance(symbol, str) else [None]


class TableStore:
    """Rows of every non-book table, gated by partials."""

    def __init__(self, max_unkeyed: int = MAX_UNKEYED) -> None:
        self.gate = Gate()
        self.keys: dict[str, tuple[str, ...]] = {}
        self.keyed: dict[str, dict[tuple, Row]] = {}
        self.unkeyed: dict[str, deque[Row]] = {}
        self.max_unkeyed = max_unkeyed
        self.dropped_before_partial = 0

    def reset(self) -> None:
        self.gate.reset()
        self.keys.clear()
        self.keyed.clear()
        self.unkeyed.clear()

    def apply(self, msg: dict[str, Any]) -> list[Row]:
        """Apply one table message; returns the rows it touched (merged rows for updates).

        Raises :class:`UnknownRow` for an update/delete of a row that is not there, and ``ValueError`` for
        a message that is not a table message.
        """
        table = msg.get("table")
        action = msg.get("action")
        data = msg.get("data")
        if not isinstance(table, str) or not isinstance(data, list):
            raise ValueError("not a table message")
        if action == PARTIAL:
            return self._partial(table, msg, data)
        if action not in DELTA_ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        rows = [row for row in data if isinstance(row, dict)
                and self.gate.is_open(table, row.get("symbol") if isinstance(row.get("symbol"), str) else None)]
        self.dropped_before_partial += len(data) - len(rows)
        if not rows:
            return []
        keys = self.keys.get(table, ())
        if not keys:
            if action != INSERT:
                raise ValueError(f"{action} for the unkeyed table {table}")
            store = self.unkeyed.setdefault(table, deque(maxlen=self.max_unkeyed))
            store.extend(rows)
            return rows
        store_k = self.keyed.setdefault(table, {})
        touched: list[Row] = []
        for row in rows:
            key = tuple(row.get(k) for k in keys)
            if action == INSERT:
                store_k[key] = dict(row)
                touched.append(store_k[key])
            elif action == UPDATE:
                have = store_k.get(key)
                if have is None:
                    raise UnknownRow(f"{table} update for unknown row {dict(zip(keys, key, strict=True))}")
                have.update(row)
                touched.append(have)
            else:
                have = store_k.pop(key, None)
                if have is None:
                    raise UnknownRow(f"{table} delete for unknown row {dict(zip(keys, key, strict=True))}")
                touched.append(have)
        return touched

    def _partial(self, table: str, msg: dict[str, Any], data: list) -> list[Row]:
        keys = msg.get("keys") or []
        self.keys[table] = tuple(k for k in keys if isinstance(k, str))
        symbols = partial_symbols(msg)
        rows = [dict(r) for r in data if isinstance(r, dict)]
        if self.keys[table]:
            store = self.keyed.setdefault(table, {})
            if symbols == [None]:
                store.clear()
            else:
                for key in [k for k, r in store.items() if r.get("symbol") in symbols]:
                    del store[key]
            for row in rows:
                store[tuple(row.get(k) for k in self.keys[table])] = row
        else:
            store_u = self.unkeyed.setdefault(table, deque(maxlen=self.max_unkeyed))
            if symbols == [None]:
                store_u.clear()
            store_u.extend(rows)
        self.gate.open(table, symbols)
        return rows

    def forget(self, table: str, key: tuple[Any, ...]) -> None:
        """Drop one keyed row the client no longer needs (a closed order, an execution already read)."""
        self.keyed.get(table, {}).pop(key, None)

    def rows(self, table: str) -> list[Row]:
        if table in self.keyed:
            return list(self.keyed[table].values())
        return list(self.unkeyed.get(table, ()))

    def find(self, table: str, **match: Any) -> Row | None:
        for row in self.keyed.get(table, {}).values():
            if all(row.get(k) == v for k, v in match.items()):
                return row
        return None
