"""Numbers as JavaScript writes them, the text Bitfinex's checksum is computed over."""

from __future__ import annotations

import pytest

from finxtui.wire.jsnum import js_number, wire_number


@pytest.mark.parametrize(("value", "text"), [
    (7255.0, "7255"), (7254.7, "7254.7"), (-0.1, "-0.1"), (0.00001, "0.00001"), (1.7e-8, "1.7e-8"),
    (1e21, "1e+21"), (0.1 + 0.2, "0.30000000000000004"), (3, "3"), (1e-6, "0.000001"), (1e-7, "1e-7"),
])
def test_js_number(value: float, text: str) -> None:
    assert js_number(value) == text


def test_wire_number_drops_the_point_zero() -> None:
    assert wire_number(97250.0) == 97250 and isinstance(wire_number(97250.0), int)
    assert wire_number(0.5) == 0.5
