"""The embedded exchange: a seeded market and one websockets server speaking all four venues' protocols.

Layout (each layer imports only the ones below it; ``pyproject.toml`` has the import-linter contract):

- :mod:`~finxtui.sim.server`: :class:`~finxtui.sim.server.Simulator`, which makes everything once and serves
  the sockets (routing, handshake, the ``/control`` socket);
- the venues, one package each, independent of one another: :mod:`~finxtui.sim.bitfinex`,
  :mod:`~finxtui.sim.bitmex`, :mod:`~finxtui.sim.finx`, :mod:`~finxtui.sim.finazon` (a venue object with the
  state every socket shares, and a connection class for one socket); each sees the simulator only through a
  :class:`~finxtui.sim.core.context.VenueContext`;
- :mod:`~finxtui.sim.core`: the machinery they share (clock and pump, dispatch, subscriptions, the base
  connection, the book window, faults);
- the market as data: :mod:`~finxtui.sim.market` (the seeded model), :mod:`~finxtui.sim.instruments`,
  :mod:`~finxtui.sim.bars`, :mod:`~finxtui.sim.credentials`, :mod:`~finxtui.sim.settings`.

Wire facts the client also needs (paths, flags, codes, checksums, signing, date grammar) come from
:mod:`finxtui.wire`; the simulator shares those facts with the feeds, never their code.
"""
