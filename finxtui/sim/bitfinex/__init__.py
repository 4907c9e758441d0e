"""The simulated Bitfinex v2 public websocket: :mod:`.venue` (shared state), :mod:`.channels` (one channel's
heartbeat tick and stall hold-back), :mod:`.connection` (one socket; its docstring lists the wire behaviour)."""

from finxtui.sim.bitfinex.connection import BitfinexConnection
from finxtui.sim.bitfinex.venue import BitfinexVenue

__all__ = ["BitfinexConnection", "BitfinexVenue"]
