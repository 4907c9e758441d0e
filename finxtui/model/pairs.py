"""The one table that maps canonical pairs to each venue's own symbol.

Canonical names follow FinX (``BTC:USD``); equities are bare tickers (``AAPL``). Config can add rows or
override a venue symbol (``[pairs."DOGE:USD"] bitfinex = "tDOGE:USD"``); everything else asks this table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class PairInfo:
    pair: str
    kind: str  # "crypto" or "equity"
    tick: float  # price increment shown and simulated
    symbols: Mapping[str, str] = field(default_factory=dict)  # source -> venue symbol

    @property
    def decimals(self) -> int:
        return decimals_of(self.tick)


def decimals_of(step: float) -> int:
    """Digits after the point needed to show multiples of ``step`` exactly."""
    text = repr(float(step))
    if "e-" in text:
        mant, exp = text.split("e-")
        return int(exp) + (len(mant.split(".")[1]) if "." in mant else 0)
    if "." not in text:
        return 0
    frac = text.split(".")[1].rstrip("0")
    return len(frac)


_DEFAULT_ROWS: tuple[PairInfo, ...] = (
    PairInfo("BTC:USD", "crypto", 0.5, {"finx": "BTC:USD", "bitfinex": "tBTCUSD", "bitmex": "XBTUSD"}),
    PairInfo("ETH:USD", "crypto", 0.05, {"finx": "ETH:USD", "bitfinex": "tETHUSD", "bitmex": "ETHUSDT"}),
    PairInfo("SOL:USD", "crypto", 0.01, {"finx": "SOL:USD", "bitfinex": "tSOLUSD", "bitmex": "SOLUSDT"}),
    PairInfo("XRP:USD", "crypto", 0.0001, {"finx": "XRP:USD", "bitfinex": "tXRPUSD", "bitmex": "XRPUSDT"}),
    PairInfo("AAPL", "equity", 0.01, {"finazon": "AAPL"}),
    PairInfo("MSFT", "equity", 0.01, {"finazon": "MSFT"}),
    PairInfo("NVDA", "equity", 0.01, {"finazon": "NVDA"}),
)


class PairTable:
    """Canonical pair <-> venue symbol, both directions, for every source."""

    def __init__(self, rows: Iterable[PairInfo] = _DEFAULT_ROWS) -> None:
        self._rows: dict[str, PairInfo] = {}
        self._reverse: dict[tuple[str, str], str] = {}
        for row in rows:
            self.add(row)

    def add(self, row: PairInfo) -> None:
        old = self._rows.get(row.pair)
        if old is not None:
            for source, sym in old.symbols.items():
                self._reverse.pop((source, sym), None)
        self._rows[row.pair] = row
        for source, sym in row.symbols.items():
            self._reverse[(source, sym)] = row.pair

    def extend(self, pair: str, *, kind: str | None = None, tick: float | None = None,
               symbols: Mapping[str, str] | None = None) -> PairInfo:
        """Add a pair or override parts of an existing one (used by config)."""
        old = self._rows.get(pair)
        if old is None:
            row = PairInfo(pair, kind or ("crypto" if ":" in pair else "equity"), tick or 0.01,
                           dict(symbols or {}))
        else:
            merged = dict(old.symbols)
            merged.update(symbols or {})
            row = replace(old, kind=kind or old.kind, tick=tick or old.tick, symbols=merged)
        self.add(row)
        return row

    def __contains__(self, pair: object) -> bool:
        return pair in self._rows

    def __iter__(self) -> Iterator[PairInfo]:
        return iter(self._rows.values())

    def pairs(self) -> list[str]:
        return list(self._rows)

    def get(self, pair: str) -> PairInfo | None:
        return self._rows.get(pair)

    def info(self, pair: str) -> PairInfo:
        try:
            return self._rows[pair]
        except KeyError:
            known = ", ".join(self._rows)
            raise KeyError(f"unknown pair {pair!r} (known: {known})") from None

    def symbol(self, source: str, pair: str) -> str | None:
        row = self._rows.get(pair)
        return None if row is None else row.symbols.get(source)

    def pair_for(self, source: str, symbol: str) -> str | None:
        return self._reverse.get((source, symbol))

    def pairs_on(self, source: str) -> list[str]:
        return [p for p, row in self._rows.items() if source in row.symbols]

    def sources_for(self, pair: str) -> list[str]:
        """The sources that list ``pair``, in the order its row names them."""
        row = self._rows.get(pair)
        return [] if row is None else list(row.symbols)


DEFAULT_PAIRS = PairTable()


def canonical(pair: str) -> str:
    """Normalise user input: ``btc/usd``, ``btc-usd`` and ``BTC:USD`` all name ``BTC:USD``."""
    text = pair.strip().upper()
    for sep in ("/", "-", "_"):
        text = text.replace(sep, ":")
    return text
