"""The fuzzy pair picker: a command-palette provider over every known pair."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from finxtui.ui.app import FinxApp


class PairProvider(Provider):
    """``ctrl+p`` (with the app's other commands) or ``/`` (pairs only): type part of a pair or a symbol."""

    @property
    def finx(self) -> FinxApp:
        return self.app  # type: ignore[return-value]

    def _entries(self) -> list[tuple[str, str]]:
        table = self.finx.config.pairs
        out = []
        for info in table:
            symbols = ", ".join(f"{src} {sym}" for src, sym in sorted(info.symbols.items()))
            out.append((info.pair, f"{info.kind} · {symbols}"))
        return out

    async def discover(self) -> Hits:
        for pair, help_text in self._entries():
            yield DiscoveryHit(f"Pair {pair}", partial(self.finx.select_pair, pair), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for pair, help_text in self._entries():
            # Match on the pair and on venue symbols (typing "xbt" finds BTC:USD).
            score = max(matcher.match(pair), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(f"Pair {pair}"), partial(self.finx.select_pair, pair),
                          help=help_text)
