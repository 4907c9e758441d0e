"""What the simulator trades: pairs, their starting prices, and each venue's book parameters."""

from __future__ import annotations

from dataclasses import dataclass

from finxtui.model.pairs import DEFAULT_PAIRS, PairTable


@dataclass(frozen=True, slots=True)
class SimPair:
    pair: str
    kind: str  # crypto | equity
    start: float  # starting fair price
    vol: float  # calm-regime standard deviation of the price over one minute, as a fraction
    volume_scale: float  # typical trade size (base units for crypto, shares for equities)


@dataclass(frozen=True, slots=True)
class SimBookSpec:
    """One venue's book for one pair: its symbol, tick and the shape of its sizes."""

    venue: str  # bitfinex | bitmex
    pair: str
    symbol: str
    tick: float
    size_step: float  # sizes are multiples of this
    size_scale: float  # typical level size in the venue's unit (base units, or contracts on BitMEX)
    depth: int  # levels per side the book hovers around


@dataclass(frozen=True, slots=True)
class BitmexContract:
    """The contract facts BitMEX publishes in its ``instrument`` table (linear or inverse)."""

    symbol: str
    pair: str
    inverse: bool
    multiplier: int  # inverse: XBt per contract * price (negative); linear: USDt per contract per price unit
    underlying_to_position: int | None  # linear: contracts per one unit of the underlying
    lot_size: int
    tick: float
    settle_currency: str  # XBt or USDt
    quote_currency: str
    underlying: str


SIM_PAIRS: tuple[SimPair, ...] = (
    SimPair("BTC:USD", "crypto", 97250.0, 0.0005, 0.05),
    SimPair("ETH:USD", "crypto", 3452.0, 0.0008, 0.8),
    SimPair("SOL:USD", "crypto", 182.4, 0.0013, 12.0),
    SimPair("XRP:USD", "crypto", 2.3105, 0.0013, 900.0),
    SimPair("AAPL", "equity", 232.51, 0.0005, 40.0),
    SimPair("MSFT", "equity", 418.2, 0.0004, 25.0),
    SimPair("NVDA", "equity", 142.87, 0.0008, 80.0),
)

BITMEX_CONTRACTS: tuple[BitmexContract, ...] = (
    BitmexContract("XBTUSD", "BTC:USD", True, -100_000_000, None, 100, 0.5, "XBt", "USD", "XBT"),
    BitmexContract("ETHUSDT", "ETH:USD", False, 10, 100_000, 1000, 0.05, "USDt", "USDT", "ETH"),
    BitmexContract("SOLUSDT", "SOL:USD", False, 100, 10_000, 1000, 0.01, "USDt", "USDT", "SOL"),
    BitmexContract("XRPUSDT", "XRP:USD", False, 10_000, 100, 100, 0.0001, "USDt", "USDT", "XRP"),
)


def _book_specs(table: PairTable) -> tuple[SimBookSpec, ...]:
    specs = []
    bitfinex = {  # tick, size_step, size_scale, depth
        "BTC:USD": (1.0, 0.0001, 0.35, 120),
        "ETH:USD": (0.1, 0.001, 6.0, 120),
        "SOL:USD": (0.01, 0.01, 90.0, 110),
        "XRP:USD": (0.0001, 1.0, 6000.0, 110),
    }
    bitmex = {  # size in contracts
        "BTC:USD": (100.0, 30000.0, 140),
        "ETH:USD": (1000.0, 400_000.0, 120),
        "SOL:USD": (1000.0, 600_000.0, 110),
        "XRP:USD": (100.0, 400_000.0, 110),
    }
    for pair, (tick, step, scale, depth) in bitfinex.items():
        sym = table.symbol("bitfinex", pair)
        if sym:
            specs.append(SimBookSpec("bitfinex", pair, sym, tick, step, scale, depth))
    for contract in BITMEX_CONTRACTS:
        step, scale, depth = bitmex[contract.pair]
        specs.append(SimBookSpec("bitmex", contract.pair, contract.symbol, contract.tick, step, scale, depth))
    return tuple(specs)


SIM_BOOKS = _book_specs(DEFAULT_PAIRS)
FINX_EXCHANGES = ("COINBASE", "BINANCE", "GEMINI", "KRAKEN")
