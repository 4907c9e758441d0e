"""Deribit instrument names as FinX's ``listDeribitContracts`` lists them: what is live at an instant.

Dailies, weeklies, monthlies and quarterlies expire at 08:00 UTC; futures and option strikes sit around the
current prices, then the perpetuals. Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_OPTION_BOOKS = (("BTC", "BTC:USD", 1000.0), ("ETH", "ETH:USD", 50.0))  # currency, pair, strike step
_PERPETUALS = ("BTC-PERPETUAL", "ETH-PERPETUAL", "SOL-PERPETUAL", "BTC_USDC-PERPETUAL", "ETH_USDC-PERPETUAL",
               "SOL_USDC-PERPETUAL", "XRP_USDC-PERPETUAL")


def _last_friday(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 4) % 7)


def _expiry_code(day: date) -> str:
    return f"{day.day}{_MONTHS[day.month - 1]}{day.year % 100:02d}"


def deribit_contracts(now_ts: float, prices: Mapping[str, float]) -> list[str]:
    """Deribit instrument names live at ``now_ts``: dailies, weeklies, monthlies and quarterlies (expiring
    08:00 UTC), futures and strikes around the current prices, then the perpetuals."""
    now = datetime.fromtimestamp(now_ts, UTC)
    first = now.date() + timedelta(days=0 if now.hour < 8 else 1)
    dailies = [first + timedelta(days=i) for i in range(3)]
    fridays = [first + timedelta(days=(4 - first.weekday()) % 7 + 7 * i) for i in range(4)]
    monthlies: list[date] = []
    quarterlies: list[date] = []
    year, month = first.year, first.month
    while len(monthlies) < 3 or len(quarterlies) < 2:
        expiry = _last_friday(year, month)
        if expiry >= first:
            if len(monthlies) < 3:
                monthlies.append(expiry)
            if month % 3 == 0 and len(quarterlies) < 2:
                quarterlies.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    options = set(dailies + fridays + monthlies + quarterlies)
    futures = set(fridays[:2] + monthlies + quarterlies)
    names: list[str] = []
    for currency, pair, step in _OPTION_BOOKS:
        price = prices.get(pair)
        if price is None:
            continue
        atm = round(price / step)
        strikes = [int(k * step) for k in range(atm - 8, atm + 9) if k > 0]
        for expiry in sorted(options | futures):
            code = _expiry_code(expiry)
            if expiry in futures:
                names.append(f"{currency}-{code}")
            if expiry in options:
                for strike in strikes:
                    names += [f"{currency}-{code}-{strike}-C", f"{currency}-{code}-{strike}-P"]
    names.extend(_PERPETUALS)
    return names
