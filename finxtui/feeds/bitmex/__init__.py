"""The BitMEX realtime feed, as a package: the client's side of BitMEX's table protocol.

- :mod:`.feed`: :class:`BitmexFeed`, the socket (subscriptions, auth, ping/pong, books, status);
- :mod:`.tables`: the table store every non-book table goes through (partial gating, keyed rows);
- :mod:`.rows`: rows read into normalized values (money in minor units, positions, margin, bins);
- :mod:`.orders`: the account's order and execution rows read into orders and fills (bad rows counted).

Wire facts shared with the simulator live in :mod:`finxtui.wire.bitmex`.
"""

from finxtui.feeds.bitmex.feed import BitmexFeed
from finxtui.feeds.bitmex.tables import TableStore, UnknownRow

__all__ = ["BitmexFeed", "TableStore", "UnknownRow"]
