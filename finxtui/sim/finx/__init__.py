"""The simulated FinX tick plant: :mod:`.connection` (one socket: streams and functions; its docstring lists the
wire behaviour and the choices), :mod:`.venue` (the pairs served and the tick history every socket reads),
:mod:`.history` (the history as pure data), :mod:`.deribit` (``listDeribitContracts``)."""

from __future__ import annotations

from finxtui.sim.finx.connection import FinxConnection
from finxtui.sim.finx.deribit import deribit_contracts
from finxtui.sim.finx.history import TickHistory
from finxtui.sim.finx.venue import FinxVenue

__all__ = ["FinxConnection", "FinxVenue", "TickHistory", "deribit_contracts"]

