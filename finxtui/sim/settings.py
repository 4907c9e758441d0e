"""The simulator's settings: the venue periods and limits a test or a demo may change, in one documented object.

``Simulator(settings=SimSettings(bitfinex_heartbeat=0.5))`` shortens Bitfinex's 15 s heartbeat tick for a
test; the defaults are the real venues' values (from :mod:`finxtui.wire`) or, where a venue documents none,
the simulator's choice. Every field but ``manual_time`` may be changed while the simulator runs
(``sim.settings.finx_idle_limit = 1.0``): each is read where it is used, so a change applies from then on.
"""

from __future__ import annotations

from dataclasses import dataclass

from finxtui.wire import bitfinex, finazon, finx


@dataclass(slots=True)
class SimSettings:
    """Periods in seconds on the venues' clock (the event loop's, or the manual one), limits in counts."""

    #: Bitfinex: the per-channel heartbeat tick (a channel with traffic since the last tick skips its ``hb``)
    bitfinex_heartbeat: float = bitfinex.HEARTBEAT_SECONDS
    #: Bitfinex: subscriptions a connection may hold (past it: error 10305)
    bitfinex_channel_limit: int = bitfinex.CHANNEL_LIMIT
    #: Bitfinex: at most one ``cs`` frame per book channel this often (the live venue: about every 2.5 s)
    bitfinex_checksum_interval: float = 0.2
    #: Bitfinex: a socket with no channel and no client frame for this long is cut
    bitfinex_idle_close: float = 60.0
    #: Bitfinex: frames a stalled channel may hold back; past this the socket is cut instead (never a lie)
    bitfinex_stall_hold: int = 100_000
    #: BitMEX: instrument, position and margin updates this often
    bitmex_update_interval: float = 1.0
    #: FinX: a socket without a client frame for this long is closed (1001)
    finx_idle_limit: float = finx.IDLE_LIMIT
    #: Finazon: event messages a connection may send per ``finazon_event_window`` seconds
    finazon_event_limit: int = finazon.EVENT_LIMIT
    finazon_event_window: float = finazon.EVENT_WINDOW
    finazon_max_event_bytes: int = finazon.EVENT_MAX_BYTES
    #: Finazon: refusals within one event window before the socket is closed (1008)
    finazon_max_strikes: int = 10
    #: Finazon: open sockets per API key
    finazon_max_connections: int = finazon.CONNECTION_LIMIT
    #: Finazon: a socket with no subscription and no client frame for this long is closed (1000)
    finazon_idle_close: float = 60.0
    #: At a finite rate the market steps in slices this long, and each slice's steps go out together (one frame a
    #: book where the protocol batches). The demo uses longer slices than a test server: a screen redraws at
    #: 10 Hz, and every slice costs a wake-up, a dispatch and frames in the same process as the monitor.
    market_slice: float = 0.01
    #: The venues' clock moves only when :meth:`Simulator.advance` is called (no background tasks at all):
    #: heartbeats, bars, stalls, idle and rate limits then happen exactly when a test says. Read once, when the
    #: simulator is made.
    manual_time: bool = False
