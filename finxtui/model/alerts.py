"""Alerts: rules on what the monitor already knows, checked as events arrive (never by a render timer).

A rule is one condition: the pair's price ``above`` / ``below`` / ``cross`` a level, a ``move`` of N % within
a window, a ``spread`` at least N wide on one venue's book, or a venue's feed down (``feed_down``) for N
seconds. The price is the one the watchlist shows for the pair (its preferred source), so an alert fires on
the number the user sees.

Firing is edge-triggered and de-bounced: a rule fires when its condition becomes true, then is disarmed
until the condition has been false again (a crossing re-arms at once: each crossing is an edge); a
repeating rule also waits ``cooldown`` seconds between firings, so a price jittering around a level
cannot flood the screen. A rule that is not repeating is ``done`` after it fires once. The armed/done
state and the last firing time can be saved and restored (:meth:`AlertEngine.snapshot`), so a restart
neither repeats an alert nor forgets a cool-down.

No I/O and no textual here: the app calls :meth:`AlertEngine.observe` after applying each event and
:meth:`AlertEngine.tick` about once a second (a feed that went silent sends no events to be checked by).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from finxtui.model.events import LIVE, OFF, Bar, BookUpdate, Event, Status, Tick, Trade
from finxtui.model.pairs import canonical

#: the condition keys, as written in ``[[alerts]]`` (exactly one per rule) and in the add dialog
KINDS = ("above", "below", "cross", "move", "spread", "feed_down")
PRICE_KINDS = ("above", "below", "cross")
DIRECTIONS = ("any", "up", "down")
DEFAULT_COOLDOWN = 300.0
DEFAULT_WINDOW = 300.0
DEFAULT_SPREAD_SOURCE = "bitfinex"
LOG_SIZE = 500
FIELDS = ("pair", *KINDS, "window", "direction", "source", "repeat", "cooldown", "note")


class RuleError(ValueError):
    """A rule's field is wrong; ``field`` names it (the config reader turns it into file:line)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One alert. ``level`` is a price (above/below/cross), a percent (move), a price width (spread) or
    seconds (feed_down); ``source`` is the book's venue (spread) or the feed (feed_down)."""

    kind: str
    level: float
    pair: str = ""
    window: float = 0.0
    direction: str = "any"
    source: str = ""
    repeat: bool = False
    cooldown: float = DEFAULT_COOLDOWN
    note: str = ""

    @property
    def key(self) -> str:
        """A stable id from what the rule means (not its note): the same rule keeps its state across restarts."""
        text = f"{self.kind}|{self.pair}|{self.level!r}|{self.window!r}|{self.direction}|{self.source}|{self.repeat}"
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    def describe(self) -> str:
        """``BTC:USD above 100,000`` — how lists and toasts name the rule."""
        if self.kind in PRICE_KINDS:
            text = f"{self.pair} {'crosses' if self.kind == 'cross' else self.kind} {_num(self.level)}"
        elif self.kind == "move":
            way = {"any": "moves", "up": "rises", "down": "falls"}[self.direction]
            text = f"{self.pair} {way} {_num(self.level)}% within {_span(self.window)}"
        elif self.kind == "spread":
            text = f"{self.pair} spread ≥ {_num(self.level)} on {self.source}"
        else:
            text = f"{self.source} feed down for {_span(self.level)}"
        if self.repeat:
            text += f" (repeats, cool-down {_span(self.cooldown)})"
        return text

    def to_fields(self) -> dict[str, Any]:
        """The ``[[alerts]]`` table for this rule (only what differs from the defaults)."""
        out: dict[str, Any] = {}
        if self.pair:
            out["pair"] = self.pair
        out[self.kind] = int(self.level) if float(self.level).is_integer() else self.level
        if self.kind == "move":
            out["window"] = int(self.window) if float(self.window).is_integer() else self.window
            if self.direction != "any":
                out["direction"] = self.direction
        if self.source and (self.kind == "feed_down" or self.source != DEFAULT_SPREAD_SOURCE):
            out["source"] = self.source
        if self.repeat:
            out["repeat"] = True
            if self.cooldown != DEFAULT_COOLDOWN:
                out["cooldown"] = int(self.cooldown) if float(self.cooldown).is_integer() else self.cooldown
        if self.note:
            out["note"] = self.note
        return out


def rule_from_fields(fields: Mapping[str, Any], *, pairs: Container[str], sources: Sequence[str]) -> AlertRule:
    """Check one ``[[alerts]]`` table (or the add dialog's fields); :class:`RuleError` names the bad field.

    Numbers may be given as text (the dialog's inputs) but must read as finite numbers.
    """
    known_pairs, known_sources = pairs, sources
    for name in fields:
        if name not in FIELDS:
            raise RuleError(name, f"unknown field (known: {', '.join(FIELDS)})")
    kinds = [k for k in KINDS if k in fields]
    if len(kinds) != 1:
        raise RuleError(kinds[1] if len(kinds) > 1 else "above",
                        "give exactly one of " + ", ".join(KINDS) + (f" (got {', '.join(kinds)})" if kinds else ""))
    kind = kinds[0]
    level = _number(fields, kind, positive=kind not in PRICE_KINDS)
    if kind in PRICE_KINDS and level <= 0:
        raise RuleError(kind, f"a price above 0, got {_num(level)}")
    pair = ""
    if kind != "feed_down":
        raw = fields.get("pair")
        if not isinstance(raw, str) or not raw.strip():
            raise RuleError("pair", "a pair name such as BTC:USD is needed")
        pair = canonical(raw)
        if pair not in known_pairs:
            raise RuleError("pair", f"unknown pair {raw!r}; known pairs are listed by ctrl+p, or add it under [pairs]")
    elif "pair" in fields:
        raise RuleError("pair", "feed_down watches a venue: give source, not pair")
    source = fields.get("source", "")
    if not isinstance(source, str):
        raise RuleError("source", f"a venue name ({', '.join(known_sources)}), got {source!r}")
    source = source.strip().lower()
    if kind == "feed_down" and not source:
        raise RuleError("source", f"which feed: one of {', '.join(known_sources)}")
    if kind == "spread" and not source:
        source = DEFAULT_SPREAD_SOURCE
    if source and source not in known_sources:
        raise RuleError("source", f"unknown venue {source!r} (known: {', '.join(known_sources)})")
    if source and kind not in ("spread", "feed_down"):
        raise RuleError("source", f"only spread and feed_down rules take a source, not {kind}")
    window = 0.0
    if kind == "move":
        window = _number(fields, "window", positive=True) if "window" in fields else DEFAULT_WINDOW
    elif "window" in fields:
        raise RuleError("window", "only a move rule has a window")
    direction = fields.get("direction", "any")
    if direction not in DIRECTIONS:
        raise RuleError("direction", f"one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if direction != "any" and kind != "move":
        raise RuleError("direction", "only a move rule has a direction")
    repeat = fields.get("repeat", False)
    if not isinstance(repeat, bool):
        raise RuleError("repeat", f"true or false, got {repeat!r}")
    cooldown = _number(fields, "cooldown", positive=True) if "cooldown" in fields else DEFAULT_COOLDOWN
    note = fields.get("note", "")
    if not isinstance(note, str):
        raise RuleError("note", f"text, got {note!r}")
    return AlertRule(kind, level, pair, window, direction, source, repeat, cooldown, note)


def _number(fields: Mapping[str, Any], name: str, *, positive: bool) -> float:
    raw = fields.get(name)
    if isinstance(raw, bool) or raw is None:
        raise RuleError(name, f"a number, got {raw!r}")
    if isinstance(raw, str):
        text = raw.strip().replace(",", "").replace("_", "").rstrip("%")
        try:
            value = float(text)
        except ValueError:
            raise RuleError(name, f"a number, got {raw!r}") from None
    elif isinstance(raw, int | float):
        value = float(raw)
    else:
        raise RuleError(name, f"a number, got {raw!r}")
    if not math.isfinite(value):
        raise RuleError(name, f"a finite number, got {raw!r}")
    if positive and value <= 0:
        raise RuleError(name, f"a number above 0, got {raw!r}")
    return value


def _num(value: float) -> str:
    """A price or level as typed: thousands grouped, no float noise, no digits lost (``97,253.25``)."""
    return f"{value:,.8f}".rstrip("0").rstrip(".")


def _span(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class Firing:
    """One alert that went off: what the log, the toast and the terminal notification say."""

    key: str
    rule: str  # the rule as described when it fired
    detail: str  # what was seen: "last 100,012.5"
    ts: float

    @property
    def text(self) -> str:
        return f"{self.rule}: {self.detail}"


@dataclass(slots=True)
class RuleState:
    """Where a rule stands. ``armed``/``done``/``fired_at``/``count`` are saved; the rest is this session's."""

    armed: bool = True
    done: bool = False
    fired_at: float = 0.0
    count: int = 0
    last: float | None = None  # cross: the previous price
    down_since: float | None = None  # feed_down: when the feed stopped being live
    lows: deque[tuple[float, float]] = field(default_factory=deque)  # move: (t, price), prices rising
    highs: deque[tuple[float, float]] = field(default_factory=deque)  # move: (t, price), prices falling


class AlertEngine:
    """Every rule, its state, and the log of firings; ``price_of(pair)`` is the price the user sees, ``clock``
    the time firings are stamped with (read only when a rule is checked: most events concern no rule).

    ``on_fire`` is called for each firing (the app: toast, bell, terminal notification, saving state).
    ``version`` moves whenever the rules, their states or the log change (a list screen polls it).
    """

    def __init__(self, rules: Iterable[AlertRule] = (), *, price_of: Callable[[str], float | None],
                 on_fire: Callable[[Firing], None] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.price_of = price_of
        self.clock = clock
        self.on_fire = on_fire
        self.rules: dict[str, AlertRule] = {}
        self.states: dict[str, RuleState] = {}
        self.log: deque[Firing] = deque(maxlen=LOG_SIZE)
        self.version = 0
        self._by_pair: dict[str, list[str]] = {}
        self._by_book: dict[tuple[str, str], list[str]] = {}
        self._feeds: list[str] = []
        for rule in rules:
            self.add(rule)

    # -- the rules ------------------------------------------------------------------------------------

    def add(self, rule: AlertRule) -> bool:
        """Add ``rule``; False when the same rule is already there."""
        if rule.key in self.rules:
            return False
        self.rules[rule.key] = rule
        self.states[rule.key] = RuleState()
        self._index()
        return True

    def remove(self, key: str) -> AlertRule | None:
        rule = self.rules.pop(key, None)
        self.states.pop(key, None)
        if rule is not None:
            self._index()
        return rule

    def rearm(self, key: str) -> None:
        """Let a rule that fired (a one-off that is done, a repeating one in its cool-down) fire again."""
        if key in self.states:
            self.states[key] = RuleState()
            self.version += 1

    def pairs(self) -> list[str]:
        """The pairs some rule watches (the source must carry them even when not in the watchlist)."""
        return [p for p in dict.fromkeys([*self._by_pair, *(p for _, p in self._by_book)])]

    def _index(self) -> None:
        self._by_pair, self._by_book, self._feeds = {}, {}, []
        for key, rule in self.rules.items():
            if rule.kind == "spread":
                self._by_book.setdefault((rule.source, rule.pair), []).append(key)
            elif rule.kind == "feed_down":
                self._feeds.append(key)
            else:
                self._by_pair.setdefault(rule.pair, []).append(key)
        self.version += 1

    # -- saved state ----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What must survive a restart: each rule's armed/done state and last firing, and the log."""
        return {"rules": {k: {"armed": s.armed, "done": s.done, "fired_at": s.fired_at, "count": s.count}
                          for k, s in self.states.items() if s.count or not s.armed or s.done},
                "log": [{"key": f.key, "rule": f.rule, "detail": f.detail, "ts": f.ts} for f in self.log]}

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Take back a :meth:`snapshot`; anything malformed is ignored (a state file is not worth a crash)."""
        rules = saved.get("rules")
        if isinstance(rules, Mapping):
            for key, entry in rules.items():
                state = self.states.get(key)
                if state is None or not isinstance(entry, Mapping):
                    continue  # a rule removed from the config meanwhile
                state.armed = bool(entry.get("armed", True))
                state.done = bool(entry.get("done", False))
                fired = entry.get("fired_at", 0.0)
                state.fired_at = float(fired) if isinstance(fired, int | float) else 0.0
                count = entry.get("count", 0)
                state.count = count if isinstance(count, int) else 0
        log = saved.get("log")
        if isinstance(log, list):
            for item in log[-LOG_SIZE:]:
                if isinstance(item, Mapping) and isinstance(item.get("ts"), int | float):
                    self.log.append(Firing(str(item.get("key", "")), str(item.get("rule", "")),
                                           str(item.get("detail", "")), float(item["ts"])))
        self.version += 1

    # -- checking ---------------------------------------------------------------------------------------

    def observe(self, event: Event, now: float | None = None) -> None:
        """Check the rules ``event`` can change (after it was applied to the market state); ``now`` defaults
        to the clock. Called for every event: an event no rule watches costs a type check and a dict lookup."""
        kind = type(event)
        if kind is BookUpdate:
            if not self._by_book:  # nearly every event, at full rate: out in one test when no spread rule
                return
            assert isinstance(event, BookUpdate)
            keys = self._by_book.get((event.source, event.pair))
            if keys:
                spread = event.book.spread()
                if spread is not None:
                    at = self.clock() if now is None else now
                    for key in keys:
                        self._level(key, spread >= self.rules[key].level, at, "spread", spread)
        elif kind is Trade or kind is Tick or kind is Bar:
            assert isinstance(event, Trade | Tick | Bar)
            keys = self._by_pair.get(event.pair)
            if keys:
                price = self.price_of(event.pair)
                if price is not None:
                    at = self.clock() if now is None else now
                    for key in keys:
                        self._price(key, price, at)
        elif kind is Status and self._feeds:
            assert isinstance(event, Status)
            if not event.scope:
                at = self.clock() if now is None else now
                for key in self._feeds:
                    if self.rules[key].source == event.source:
                        self._feed(key, event.state, at)

    def tick(self, now: float | None = None) -> None:
        """Time alone fires a feed_down rule: the feed that went down sends nothing to check by."""
        at = self.clock() if now is None else now
        for key in self._feeds:
            self._feed(key, None, at)

    def _price(self, key: str, price: float, now: float) -> None:
        rule, state = self.rules[key], self.states[key]
        if rule.kind == "above":
            self._level(key, price >= rule.level, now, "last", price)
        elif rule.kind == "below":
            self._level(key, price <= rule.level, now, "last", price)
        elif rule.kind == "cross":
            prev, state.last = state.last, price
            if prev is not None and (prev < rule.level <= price or prev > rule.level >= price):
                way = "up" if price > prev else "down"
                self._fire(key, now, f"crossed {way}, last {_num(price)}")
        else:
            self._move(key, rule, state, price, now)

    def _move(self, key: str, rule: AlertRule, state: RuleState, price: float, now: float) -> None:
        # Sliding-window min and max in O(1) amortised: a busy pair sends hundreds of prices a second.
        lows, highs, since = state.lows, state.highs, now - rule.window
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((now, price))
        while highs and highs[-1][1] <= price:
            highs.pop()
        highs.append((now, price))
        while lows[0][0] < since:
            lows.popleft()
        while highs[0][0] < since:
            highs.popleft()
        low, high = lows[0][1], highs[0][1]
        up = (price - low) / low * 100 if low > 0 else 0.0
        down = (high - price) / high * 100 if high > 0 else 0.0
        hit = ""
        if rule.direction in ("any", "up") and up >= rule.level:
            hit = f"up {up:.2f}% from {_num(low)} to {_num(price)}"
        elif rule.direction in ("any", "down") and down >= rule.level:
            hit = f"down {down:.2f}% from {_num(high)} to {_num(price)}"
        if hit and self._fire(key, now, f"{hit} within {_span(rule.window)}"):
            # Start the window afresh: the same move must not fire again as the window slides.
            lows.clear()
            highs.clear()
            lows.append((now, price))
            highs.append((now, price))

    def _feed(self, key: str, status: str | None, now: float) -> None:
        rule, state = self.rules[key], self.states[key]
        if status is not None:
            if status in (LIVE, OFF):  # back, or deliberately off: not an outage
                state.down_since = None
                if not state.armed:
                    state.armed = True
                    self.version += 1
                return
            if state.down_since is None:
                state.down_since = now
        if state.down_since is not None and now - state.down_since >= rule.level:
            self._level(key, True, now, "not live for", now - state.down_since)

    def _level(self, key: str, condition: bool, now: float, label: str, value: float) -> None:
        """A condition that holds for a while: fire on its rising edge, re-arm once it no longer holds.
        The text (``label`` and ``value``) is made only when it fires: spreads are checked per book frame."""
        state = self.states[key]
        if condition:
            if state.armed:
                detail = f"{label} {_span(round(value)) if label == 'not live for' else _num(value)}"
                if self._fire(key, now, detail):
                    state.armed = False
        elif not state.armed and not state.done:
            state.armed = True
            self.version += 1

    def _fire(self, key: str, now: float, detail: str) -> bool:
        rule, state = self.rules[key], self.states[key]
        if state.done or (rule.repeat and state.count and now - state.fired_at < rule.cooldown):
            return False
        state.fired_at = now
        state.count += 1
        state.done = not rule.repeat
        firing = Firing(key, rule.describe(), detail, now)
        self.log.append(firing)
        self.version += 1
        if self.on_fire is not None:
            self.on_fire(firing)
        return True
