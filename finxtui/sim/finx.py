"""Placeholder: the finx protocol is being written."""

from finxtui.sim.conn import SimConnection


class FinxConnection(SimConnection):
    venue = "finx"
