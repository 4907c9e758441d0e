"""Each venue's wire facts, once: what the client and the simulator both need to agree on.

One module per venue (paths, channels and tables, flags, message words, number text, checksums, signing,
date and time grammar) and :mod:`finxtui.wire.venues`, the registry every other layer reads (tag, display
name, default endpoint, protocol path, key variables). Facts only: the client (``feeds/``) and the simulator
(``sim/``) stay independent implementations of the two sides, and the real captures are the outside check
of both. Nothing here does I/O.
"""
