"""Placeholder: the finazon protocol is being written."""

from finxtui.sim.conn import SimConnection


class FinazonConnection(SimConnection):
    venue = "finazon"
