"""Numbers as JavaScript writes them (``String(x)``), the text venues put on the wire.

Bitfinex computes its book checksum over that text, so ``7255`` (never ``7255.0``) and ``0.00001`` (never
``1e-05``). Python's ``repr`` gives the same shortest digits; only the switch to exponent form differs.
"""

from __future__ import annotations

from decimal import Decimal


def js_number(x: float | int) -> str:
    """``String(x)`` in JavaScript for a finite number."""
    if isinstance(x, int):
        if abs(x) < 10**21 and not isinstance(x, bool):
            return str(x)
        x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {x!r}")
    if x == 0:
        return "0"
    ax = abs(x)
    if x.is_integer() and ax < 1e21:
        return str(int(x))
    text = repr(x)
    if 1e-6 <= ax < 1e21:
        if "e" in text:  # Python went exponent (below 1e-4 or from 1e16); JavaScript stays fixed
            return format(Decimal(text), "f")
        return text
    # JavaScript exponent form: no zero padding, explicit '+' for positive exponents.
    mant, exp = format(Decimal(text), "e").split("e") if "e" not in text else text.split("e")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    sign = "-" if exp.startswith("-") else "+"
    return f"{mant}e{sign}{int(exp.lstrip('+-'))}"


def wire_number(x: float) -> float | int:
    """The value to hand a JSON encoder so it prints what JavaScript would (``7255`` not ``7255.0``)."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x
