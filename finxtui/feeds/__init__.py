"""Network, no UI: the client's side of every venue, each feed an async iterator of normalized events.

- :mod:`.session`: :class:`~.session.Feed`, the reconnecting websocket session every feed is built on
  (backoff from :mod:`.backoff`, rejected-frame accounting from :mod:`.rejects`);
- one module or package per venue: :mod:`.bitfinex`, :mod:`.bitmex` (feed, table store, row readers),
  :mod:`.finx` (streams, functions client, history paging, rows), :mod:`.finazon`;
- :mod:`.merge` runs single-socket feeds as one (FinX streams one pair a socket); :mod:`.factory` builds the
  feed for a source from the configuration; :mod:`.recent` and :mod:`.symbols` are small shared helpers.

Every venue fact (paths, channels, flags, codes, grammar, checksum, signing) comes from :mod:`finxtui.wire`,
which the simulator reads too; the two sides share facts, never behaviour. Feeds and the simulator never import
each other.
"""
