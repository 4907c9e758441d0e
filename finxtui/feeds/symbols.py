"""Which of the pairs a user asked for a venue lists, under the venue's own symbols.

Every feed starts here: pairs are canonical (``BTC:USD``) and each venue names them its own way (``tBTCUSD``,
``XBTUSD``); a pair the venue does not list is not an error, it is named in the feed's status.
"""

from __future__ import annotations

from collections.abc import Iterable

from finxtui.model.pairs import PairTable


def venue_symbols(table: PairTable, source: str, pairs: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """``(symbol -> pair, skipped)``: the venue's symbol of each pair it lists, in order, and the pairs it does not."""
    symbols: dict[str, str] = {}
    skipped: list[str] = []
    for pair in pairs:
        symbol = table.symbol(source, pair)
        if symbol is None:
            skipped.append(pair)
        else:
            symbols[symbol] = pair
    return symbols, skipped
