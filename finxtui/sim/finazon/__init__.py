"""The simulated Finazon websocket v1: :mod:`.connection` (one socket; its docstring lists the wire behaviour and
the choices) and :mod:`.venue` (the tickers served, the equities' forming bars, the handshake's key check)."""

from finxtui.sim.finazon.connection import FinazonConnection
from finxtui.sim.finazon.venue import FinazonVenue

__all__ = ["FinazonConnection", "FinazonVenue"]
