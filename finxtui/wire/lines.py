"""The ``tail`` JSON line: one normalized event as one JSON object (DESIGN.md, command-line contract).

``finx-tui tail`` prints these lines and the hub publishes them as message bodies, so the encoder lives
here, once. :func:`decode` reads a line back into an event for the kinds a hub carries as they are
(trades, ticks, bars, statuses, instruments); it rejects anything else with :class:`LineError`.
"""

from __future__ import annotations

from typing import Any

import orjson

from finxtui.model.events import OFF, Bar, Event, Instrument, Status, Tick, Trade


class LineError(ValueError):
    """A line that is not a tail JSON object of a kind this reader takes; the message says what is wrong."""


def encode(event: Event, depth: int = 10) -> bytes:
    """The tail line of ``event`` (no newline); a book shows ``depth`` levels a side."""
    return orjson.dumps(event.to_dict(depth))


def encode_dict(line: dict[str, Any]) -> bytes:
    """A tail line built by the caller (a book line with the hub's extra keys)."""
    return orjson.dumps(line)


def load(data: bytes | str) -> dict[str, Any]:
    """The JSON object of a line; LineError when it is not one."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise LineError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise LineError(f"not a JSON object but {type(obj).__name__}")
    return obj


def _num(obj: dict[str, Any], key: str) -> float:
    """A number as the line spelled it (an int stays an int, so a line read back prints as it came)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LineError(f"{key!r} is not a number: {value!r}")
    return value


def _opt_num(obj: dict[str, Any], key: str) -> float | None:
    value = obj.get(key)
    return None if value is None else _num(obj, key)


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise LineError(f"{key!r} is not a string: {value!r}")
    return value


def decode(obj: dict[str, Any]) -> Event:
    """The event of a trade, tick, bar, status or instrument line; LineError for anything else."""
    kind = obj.get("type")
    source = _str(obj, "source")
    if kind == "trade":
        side = _str(obj, "side")
        if side not in ("buy", "sell"):
            raise LineError(f"'side' is {side!r}, not buy or sell")
        return Trade(source, _str(obj, "pair"), _num(obj, "price"), _num(obj, "size"), side, _num(obj, "ts"),
                     str(obj.get("id", "")))
    if kind == "tick":
        return Tick(source, _str(obj, "pair"), _num(obj, "price"), _str(obj, "exchange"), _num(obj, "ts"))
    if kind == "bar":
        return Bar(source, _str(obj, "pair"), _num(obj, "o"), _num(obj, "h"), _num(obj, "l"), _num(obj, "c"),
                   _num(obj, "v"), _num(obj, "ts"))
    if kind == "status":
        state = _str(obj, "state")
        if state == "error" and obj.get("off") is True:
            state = OFF
        return Status(source, state, str(obj.get("detail", "")), _num(obj, "ts"), str(obj.get("scope", "")))
    if kind == "instrument":
        inverse = obj.get("inverse")
        if not isinstance(inverse, bool):
            raise LineError(f"'inverse' is not true or false: {inverse!r}")
        return Instrument(source, _str(obj, "pair"), _str(obj, "symbol"), inverse, _num(obj, "contract_value"),
                          _str(obj, "unit"), _opt_num(obj, "tick"), _opt_num(obj, "lot"))
    raise LineError(f"unexpected line type {kind!r}")


def levels(obj: dict[str, Any], key: str) -> list[tuple[float, float]]:
    """The ``[[price, size], …]`` list under ``key`` of a book line; LineError when malformed."""
    raw = obj.get(key)
    if not isinstance(raw, list):
        raise LineError(f"{key!r} is not a list of [price, size]")
    out = []
    for level in raw:
        if (not isinstance(level, list) or len(level) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in level)):
            raise LineError(f"{key!r} holds {level!r}, not [price, size]")
        out.append((level[0], level[1]))
    return out
