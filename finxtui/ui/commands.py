"""The fuzzy pair picker: a command-palette provider over every known pair.

Textual makes providers itself (with the app as ``self.app``), so the app cannot hand one its data; the
provider asks for the two things it needs through :class:`PairPicking`, which the app implements, rather
than knowing the app.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol, cast, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from finxtui.model.pairs import PairTable


@runtime_checkable
class PairPicking(Protocol):
    """What the picker needs of the app: the pair table, and a way to select a pair."""

    @property
    def pairs(self) -> PairTable: ...

    def select_pair(self, pair: str) -> None: ...


class PairProvider(Provider):
    """``ctrl+p`` (with the app's other commands) or ``/`` (pairs only): type part of a pair or a symbol."""

    @property
    def picking(self) -> PairPicking:
        return cast(PairPicking, self.app)

    def _entries(self) -> list[tuple[str, str]]:
        out = []
        for info in self.picking.pairs:
            symbols = ", ".join(f"{src} {sym}" for src, sym in sorted(info.symbols.items()))
            out.append((info.pair, f"{info.kind} · {symbols}"))
        return out

    async def discover(self) -> Hits:
        for pair, help_text in self._entries():
            yield DiscoveryHit(f"Pair {pair}", partial(self.picking.select_pair, pair), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for pair, help_text in self._entries():
            # Match on the pair and on venue symbols (typing "xbt" finds BTC:USD).
            score = max(matcher.match(pair), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(f"Pair {pair}"), partial(self.picking.select_pair, pair),
                          help=help_text)
