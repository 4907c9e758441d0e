"""A row that shows the same thing as in the last build is the very same Strip: built once, found unchanged at once."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.strip import Strip

from finxtui.model.selection import Selection
from finxtui.ui.widgets.base import PolledLines


class Rows(PolledLines):
    """Shows ``rows``, one a line."""

    def __init__(self) -> None:
        super().__init__(Selection(pair="BTC:USD", book_source="bitfinex", book_levels=10), hz=10)
        self.rows = ["alpha", "beta", "gamma"]

    def signature(self) -> Any:
        return tuple(self.rows)

    def build(self, width: int, height: int) -> list[Strip]:
        return [self.line([(text, None)], width) for text in self.rows]


class RowsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Rows()


async def test_unchanged_rows_are_the_same_strips_and_changed_ones_are_new() -> None:
    app = RowsApp()
    async with app.run_test(size=(40, 5)):
        rows = app.query_one(Rows)
        before = [rows.render_line(y) for y in range(3)]
        rows.rows = ["alpha", "BETA", "gamma", "alpha"]
        rows.poll()
        after = [rows.render_line(y) for y in range(4)]
        assert rows.text.split("\n") == [text.ljust(40) for text in rows.rows]
        assert after[0] is before[0] and after[2] is before[2], "unchanged rows are reused"
        assert after[1] is not before[1] and after[1].text.startswith("BETA")
        assert after[3] is before[0], "a row shows the same thing as an earlier one: the same strip again"
        rows.rows = ["delta"]
        rows.poll()
        rows.rows = ["alpha"]
        rows.poll()
        assert rows.render_line(0) is not before[0], "only the last build's rows are kept"
