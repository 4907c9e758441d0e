"""Placeholder: the bitmex protocol is being written."""

from finxtui.sim.conn import SimConnection


class BitmexConnection(SimConnection):
    venue = "bitmex"
