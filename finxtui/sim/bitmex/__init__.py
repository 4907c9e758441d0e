"""The simulated BitMEX realtime websocket: :mod:`.connection` (one socket's conversation; its docstring lists
the wire behaviour and the choices), :mod:`.tables` (what one client holds of each table and how changes reach
it), :mod:`.books` (book and quote state), :mod:`.venue` (the exchange behind every socket), :mod:`.account`
(the demo account as pure data), :mod:`.schema` (partial schemas and fixed texts)."""

from finxtui.sim.bitmex.connection import BitmexConnection
from finxtui.sim.bitmex.venue import BitmexVenue

__all__ = ["BitmexConnection", "BitmexVenue"]
