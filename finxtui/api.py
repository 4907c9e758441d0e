"""The public Python API: open any source of normalized events and ``async for`` over it, as ``tail`` does.

::

    import asyncio
    from finxtui.api import open_source

    async def main() -> None:
        async with open_source("demo", venues=["bitfinex"], pairs=["BTC:USD"]) as source:
            async for event in source:
                print(event.to_dict())

    asyncio.run(main())

``where`` names the source:

- a venue (``"bitfinex"``, ``"bitmex"``, ``"finx"``, ``"finazon"``) or ``"live"`` (every enabled venue): the
  venues themselves, with the user's configuration (endpoints and keys from the config file and environment);
- ``"demo"``: the embedded simulator, started for the block, with demo accounts;
- a hub: ``"nats://HOST:PORT"`` (several servers of one cluster separated by commas);
- a recording made by ``finx-tui record``: a :class:`~pathlib.Path`, or ``"replay:DIR"``.

Events are those of :mod:`finxtui.model.events`; ``event.to_dict()`` is the ``tail`` JSON line. A
``BookUpdate``'s ``book`` is the source's live book: read it before asking for the next event.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from finxtui.config import Config, load_config
from finxtui.model.events import Event
from finxtui.sources import HubSource, LiveSource, ReplaySource, Source, embedded_simulator
from finxtui.wire.venues import SOURCES

__all__ = ["Event", "Source", "open_source"]


def _user_path(text: str) -> Path:
    return Path(text).expanduser()


@contextlib.asynccontextmanager
async def open_source(where: str | Path, *, venues: Iterable[str] | None = None, pairs: Iterable[str] | None = None,
                      config: Config | None = None, depth: int = 25, speed: float = 0.0,
                      seed: int = 7) -> AsyncIterator[Source]:
    """A started source for the block, stopped after it (see the module text for ``where``).

    ``venues`` and ``pairs`` narrow what is carried (default: every enabled venue, the watchlist); ``depth`` is
    the book depth asked of venues; ``speed`` paces a recording (0: as fast as it reads); ``seed`` fixes the
    demo's market. ``config`` replaces the user's configuration.
    """
    cfg = config if config is not None else load_config()
    chosen = list(venues) if venues is not None else None
    wanted = list(pairs) if pairs is not None else None
    async with contextlib.AsyncExitStack() as stack:
        source: Source
        text = str(where)
        if isinstance(where, Path) or text.startswith("replay:"):
            path = where if isinstance(where, Path) else _user_path(text[len("replay:"):])
            source = ReplaySource(path, speed=speed, venues=chosen, pairs=wanted)
        elif "://" in text:
            if not text.startswith(("nats://", "tls://")):
                raise ValueError(f"{text!r}: a hub is named by nats:// URLs")
            source = HubSource(text, cfg, venues=chosen, pairs=wanted, hub_status=False)
        elif text == "demo":
            cfg, _sim = await stack.enter_async_context(embedded_simulator(cfg, seed=seed))
            source = LiveSource(cfg, venues=chosen, pairs=wanted, depth=depth)
        elif text == "live" or text in SOURCES:
            source = LiveSource(cfg, venues=[text] if text in SOURCES else chosen, pairs=wanted, depth=depth)
        else:
            raise ValueError(f"unknown source {text!r}: a venue ({', '.join(SOURCES)}), 'live', 'demo', "
                             "a nats:// hub URL, or a recording (a Path or 'replay:DIR')")
        await source.start()
        try:
            yield source
        finally:
            await source.stop()
