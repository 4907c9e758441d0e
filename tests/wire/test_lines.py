"""The tail line codec the hub shares with ``tail``: a status line read back is the status that was written."""

from __future__ import annotations

import pytest

from finxtui.model.events import ERROR, LIVE, OFF, Status
from finxtui.wire.lines import LineError, decode, encode, load


@pytest.mark.parametrize("status", [
    Status("bitfinex", LIVE, "", 1.5),
    Status("finx", ERROR, "key refused", 2.0),
    Status("finx", OFF, "no FinX API key: set FINX_API_KEY", 3.0),
    Status("bitmex", OFF, "no BitMEX credentials", 4.0, "account"),
])
def test_a_status_line_reads_back_as_written(status: Status) -> None:
    line = load(encode(status))
    assert line["state"] in ("connecting", "live", "resyncing", "stale", "reconnecting", "error")
    assert decode(line) == status


def test_off_is_only_an_error_flagged_off() -> None:
    line = load(encode(Status("finx", OFF, "set FINX_API_KEY", 1.0)))
    assert line["state"] == "error" and line["off"] is True
    assert decode(dict(line, off="yes")).state == ERROR  # only a real true says off


def test_a_foreign_line_is_refused_by_name() -> None:
    with pytest.raises(LineError, match="unexpected line type"):
        decode({"type": "quote", "source": "bitfinex"})
