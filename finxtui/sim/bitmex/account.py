"""The simulated BitMEX account: open positions and margin that follow the market.

Pure data, no I/O: :meth:`Account.position_rows` and :meth:`Account.margin_rows` compute the rows of the
``position`` and ``margin`` tables from mark prices, so they can be checked without a socket.

Conventions (``reference/exchange-protocols.md`` B6, E10):

- money fields are integers in the settlement currency's minor unit: ``XBt`` = 1e-8 XBT, ``USDt`` = 1e-6 USDT;
- quantities are contracts: XBTUSD (inverse) contracts are USD, a linear contract is
  ``1 / underlyingToPositionMultiplier`` of a coin; prices are floats on the contract's tick;
- signs follow BitMEX: the inverse multiplier is negative, so an XBTUSD long has a negative ``posCost`` and
  ``markValue``; ``unrealisedPnl = markValue - posCost`` is positive for a long when the mark rises
  (inverse: ``qty * (1/entry - 1/mark) * 1e8``; linear: ``qty / uTPM * (mark - entry) * 1e6``);
  ``homeNotional`` is positive for a long, ``foreignNotional = -homeNotional * mark`` (``-currentQty`` for
  XBTUSD), as in BitMEX position rows;
- the position table's ``maintMargin`` is ``posMargin + unrealisedPnl`` (true of the 2018 capture in B6).

Liquidation and bankruptcy prices use a simple isolated-margin approximation: the position's margin is
``|posCost| / leverage``; bankruptcy is where the loss equals it, liquidation where the loss leaves only
the maintenance margin (``maint_rate * |posCost|``). Linear notionals are computed from
``underlyingToPositionMultiplier`` (the brief's rule), not from ``multiplier``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from finxtui.model.pairs import decimals_of
from finxtui.sim.instruments import BITMEX_CONTRACTS, BitmexContract
from finxtui.wire.bitmex import MINOR_UNITS
from finxtui.wire.jsnum import wire_number

DEMO_ACCOUNT = 2031337
TAKER_FEE = 0.00075
MAKER_FEE = -0.0001  # a rebate: the demo account's orders only ever rest (post-only), so every fill earns it
MAINT_RATE = 0.005
RISK_LIMIT = {"XBt": 20_000_000_000, "USDt": 1_000_000_000_000}  # 200 XBT, 1M USDT
NOTIONAL_DECIMALS = 8

CONTRACTS: dict[str, BitmexContract] = {c.symbol: c for c in BITMEX_CONTRACTS}


# -- contract arithmetic ----------------------------------------------------------------------------------


def round_to_tick(contract: BitmexContract, price: float) -> float:
    """``price`` on the contract's tick grid, as a float with the tick's decimals."""
    return round(round(price / contract.tick) * contract.tick, decimals_of(contract.tick))


def home_notional(contract: BitmexContract, qty: float, price: float) -> float:
    """Quantity in the base coin (XBT for XBTUSD, the coin for a linear contract), signed like ``qty``."""
    if contract.inverse:
        return round(qty / price, NOTIONAL_DECIMALS)
    assert contract.underlying_to_position
    return round(qty / contract.underlying_to_position, NOTIONAL_DECIMALS)


def contract_value(contract: BitmexContract, qty: float, price: float) -> float:
    """Value in settlement minor units with BitMEX's sign (negative for an inverse long)."""
    if contract.inverse:
        return qty * contract.multiplier / price
    assert contract.underlying_to_position
    return qty / contract.underlying_to_position * price * MINOR_UNITS[contract.settle_currency][1]


def trade_values(contract: BitmexContract, size: float, price: float) -> tuple[int, float, float]:
    """A trade's ``grossValue`` (minor units), ``homeNotional`` and ``foreignNotional`` (both positive)."""
    gross = round(abs(contract_value(contract, size, price)))
    home = home_notional(contract, size, price)
    foreign = float(size) if contract.inverse else round(home * price, NOTIONAL_DECIMALS)
    return gross, home, foreign


# -- the account ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    qty: int  # contracts, negative = short
    entry: float  # average entry price
    leverage: float
    realised_pnl: int = 0  # minor units (the fee paid to open)

    @property
    def contract(self) -> BitmexContract:
        return CONTRACTS[self.symbol]

    def bankrupt_price(self) -> float:
        c, lev, e = self.contract, self.leverage, self.entry
        if c.inverse:
            price = e / (1 + 1 / lev) if self.qty > 0 else e / max(1 - 1 / lev, 1e-9)
        else:
            price = e * (1 - 1 / lev) if self.qty > 0 else e * (1 + 1 / lev)
        return round_to_tick(c, price)

    def liquidation_price(self, maint_rate: float = MAINT_RATE) -> float:
        c, lev, e = self.contract, self.leverage, self.entry
        if c.inverse:
            price = e / (1 + 1 / lev - maint_rate) if self.qty > 0 else e / max(1 - 1 / lev + maint_rate, 1e-9)
        else:
            price = e * (1 - 1 / lev + maint_rate) if self.qty > 0 else e * (1 + 1 / lev - maint_rate)
        return round_to_tick(c, price)

    def break_even_price(self) -> float:
        sign = 1 if self.qty > 0 else -1
        return round_to_tick(self.contract, self.entry * (1 + sign * 2 * TAKER_FEE))

    def after_fill(self, qty: int, price: float) -> tuple[Position, int]:
        """The position after a fill of ``qty`` contracts (negative: sold) at ``price``, and the PnL it realised
        (minor units). Adding keeps an average entry (harmonic for an inverse contract, as BitMEX averages
        them); reducing realises the closed part at ``price`` and keeps the entry; going through zero opens the
        rest at ``price``."""
        c, old = self.contract, self.qty
        new = old + qty
        if old == 0 or (old > 0) == (qty > 0):
            if c.inverse:
                entry = new / (old / self.entry + qty / price) if old else price
            else:
                entry = (old * self.entry + qty * price) / new
            return replace(self, qty=new, entry=round(entry, decimals_of(c.tick) + 2)), 0
        closed = -qty if abs(qty) <= abs(old) else old  # signed like the old position
        realised = round(contract_value(c, closed, price) - contract_value(c, closed, self.entry))
        if abs(qty) > abs(old):
            return replace(self, qty=new, entry=price), realised
        return replace(self, qty=new), realised


@dataclass(frozen=True, slots=True)
class Account:
    """A BitMEX account: wallet balances per currency and open positions (nothing else ever trades)."""

    account: int
    wallets: Mapping[str, int]  # currency -> wallet balance in minor units
    positions: tuple[Position, ...]
    maint_rate: float = MAINT_RATE
    currencies: tuple[str, ...] = field(default=("XBt", "USDt"))

    @classmethod
    def demo(cls, start: Mapping[str, float], account: int = DEMO_ACCOUNT) -> Account:
        """The demo account, with entries a little away from ``start`` (symbol -> price) so PnL shows.

        Long 25,000 XBTUSD (in profit at the start price), long 10 ETH of ETHUSDT (at a loss), short 200 SOL
        of SOLUSDT (in profit).
        """
        plan = (("XBTUSD", 25_000, 0.994, 10.0), ("ETHUSDT", 1_000_000, 1.006, 5.0),
                ("SOLUSDT", -2_000_000, 1.012, 5.0))
        positions = []
        for symbol, qty, away, lev in plan:
            if symbol not in start:
                continue
            contract = CONTRACTS[symbol]
            entry = round_to_tick(contract, start[symbol] * away)
            fee = -round(abs(contract_value(contract, qty, entry)) * TAKER_FEE)
            positions.append(Position(symbol, qty, entry, lev, fee))
        return cls(account, {"XBt": 50_000_000, "USDt": 25_000_000_000}, tuple(positions))

    def symbols(self) -> list[str]:
        return [p.symbol for p in self.positions]

    def position(self, symbol: str) -> Position | None:
        return next((p for p in self.positions if p.symbol == symbol), None)

    def with_fill(self, symbol: str, qty: int, price: float, fee: int) -> Account:
        """The account after one fill: the position moves (see :meth:`Position.after_fill`) and the wallet takes
        the realised PnL less the fee (``fee`` in minor units; negative is a rebate)."""
        positions = []
        currency = ""
        delta = 0
        for pos in self.positions:
            if pos.symbol == symbol:
                moved, realised = pos.after_fill(qty, price)
                delta = realised - fee
                pos = replace(moved, realised_pnl=pos.realised_pnl + delta)
                currency = pos.contract.settle_currency
            positions.append(pos)
        if not currency:
            return self
        wallets = dict(self.wallets)
        wallets[currency] = wallets.get(currency, 0) + delta
        return replace(self, wallets=wallets, positions=tuple(positions))

    # -- rows -----------------------------------------------------------------------------------------

    def position_row(self, pos: Position, mark: float, timestamp: str,
                     open_qty: tuple[int, int] = (0, 0)) -> dict[str, Any]:
        c = pos.contract
        mark = round_to_tick(c, mark)
        cost = round(contract_value(c, pos.qty, pos.entry))
        value = round(contract_value(c, pos.qty, mark))
        unrealised = value - cost
        init = round(abs(cost) / pos.leverage)
        comm = round(abs(cost) * TAKER_FEE)
        margin = init + comm
        maint = round(abs(cost) * self.maint_rate) + comm
        home = home_notional(c, pos.qty, mark)
        foreign = float(-pos.qty) if c.inverse else round(-home * mark, NOTIONAL_DECIMALS)
        return {
            "account": self.account, "symbol": pos.symbol, "currency": c.settle_currency,
            "underlying": c.underlying, "quoteCurrency": c.quote_currency,
            "commission": TAKER_FEE, "initMarginReq": round(1 / pos.leverage, 8), "maintMarginReq": self.maint_rate,
            "riskLimit": RISK_LIMIT[c.settle_currency], "leverage": wire_number(pos.leverage),
            "crossMargin": False, "rebalancedPnl": 0, "prevRealisedPnl": 0,
            "openOrderBuyQty": open_qty[0], "openOrderSellQty": open_qty[1],
            "currentQty": pos.qty, "currentCost": cost, "currentComm": -pos.realised_pnl,
            "realisedCost": 0, "unrealisedCost": cost, "isOpen": pos.qty != 0,
            "markPrice": wire_number(mark), "markValue": value, "riskValue": abs(value),
            "homeNotional": wire_number(home), "foreignNotional": wire_number(foreign),
            "posState": "", "posCost": cost, "posCross": 0, "posComm": comm, "posLoss": 0,
            "posMargin": margin, "posMaint": maint, "posInit": init,
            "initMargin": 0, "maintMargin": margin + unrealised,
            "realisedPnl": pos.realised_pnl, "unrealisedPnl": unrealised,
            "unrealisedPnlPcnt": round(unrealised / abs(cost), 4) if cost else 0,
            "unrealisedRoePcnt": round(unrealised / init, 4) if init else 0,
            "avgCostPrice": wire_number(pos.entry), "avgEntryPrice": wire_number(pos.entry),
            "breakEvenPrice": wire_number(pos.break_even_price()),
            "marginCallPrice": wire_number(pos.liquidation_price(self.maint_rate)),
            "liquidationPrice": wire_number(pos.liquidation_price(self.maint_rate)),
            "bankruptPrice": wire_number(pos.bankrupt_price()),
            "lastPrice": wire_number(mark), "lastValue": value,
            "timestamp": timestamp,
        }

    def position_rows(self, marks: Mapping[str, float], timestamp: str, symbols: set[str] | None = None,
                      open_qty: Mapping[str, tuple[int, int]] | None = None) -> list[dict[str, Any]]:
        """One ``position`` row per open position (``marks``: symbol -> mark price; ``open_qty``: symbol -> the
        contracts its working buy and sell orders still have resting)."""
        return [self.position_row(p, marks[p.symbol], timestamp, (open_qty or {}).get(p.symbol, (0, 0)))
                for p in self.positions if symbols is None or p.symbol in symbols]

    def margin_rows(self, marks: Mapping[str, float], timestamp: str) -> list[dict[str, Any]]:
        """One ``margin`` row per currency, summing that currency's positions at ``marks``."""
        by_currency: dict[str, list[dict[str, Any]]] = {cur: [] for cur in self.currencies}
        for row in self.position_rows(marks, timestamp):
            by_currency.setdefault(row["currency"], []).append(row)
        out = []
        for currency, rows in by_currency.items():
            wallet = self.wallets.get(currency, 0)
            unrealised = sum(r["unrealisedPnl"] for r in rows)
            realised = sum(r["realisedPnl"] for r in rows)
            maint = sum(r["posMargin"] for r in rows)
            risk = sum(abs(r["markValue"]) for r in rows)
            balance = wallet + unrealised
            available = max(0, balance - maint)
            out.append({
                "account": self.account, "currency": currency,
                "riskLimit": RISK_LIMIT.get(currency, 0),
                "amount": wallet - realised, "prevRealisedPnl": 0,
                "grossComm": -realised, "grossOpenCost": 0, "grossOpenPremium": 0, "grossExecCost": 0,
                "grossMarkValue": risk, "riskValue": risk, "initMargin": 0, "maintMargin": maint,
                "targetExcessMargin": 0, "realisedPnl": realised, "unrealisedPnl": unrealised,
                "walletBalance": wallet, "marginBalance": balance,
                "marginLeverage": round(risk / balance, 8) if balance > 0 else 0,
                "marginUsedPcnt": round(maint / balance, 4) if balance > 0 else 1,
                "excessMargin": available, "availableMargin": available,
                "withdrawableMargin": max(0, min(available, wallet - maint)),
                "timestamp": timestamp,
            })
        return out
