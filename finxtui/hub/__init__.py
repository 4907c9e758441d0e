"""``finx-tui hub``: one upstream connection per venue, published on NATS JetStream, plus a read-only HTTP API.

- :class:`~finxtui.hub.service.Hub`: reads the venues once, keeps the books, publishes every event;
- :class:`~finxtui.hub.publisher.NatsPublisher`: the NATS connection, stream and KV bucket;
- :class:`~finxtui.hub.http.HubHttp`: ``/book``, ``/status``, ``/pairs``, ``/openapi.json``.

The subjects and bodies are wire facts shared with the reader (``sources/hub.py``): :mod:`finxtui.wire.hub`.
"""

from finxtui.hub.http import HubHttp
from finxtui.hub.publisher import NatsPublisher, StreamLimits
from finxtui.hub.service import Hub

__all__ = ["Hub", "HubHttp", "NatsPublisher", "StreamLimits"]
