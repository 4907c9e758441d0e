"""Where a monitor's events come from, behind one protocol (:class:`~finxtui.sources.base.Source`).

- :class:`LiveSource`: the venues (one feed each);
- :class:`DemoSource`: the same feeds against the embedded simulator;
- :class:`ReplaySource`: a recording made by ``finx-tui record``;
- :class:`HubSource`: a ``finx-tui hub`` on NATS JetStream;
- :class:`ScriptedSource`: a script a test drives step by step.

Every one is used the same way::

    source = LiveSource(load_config(), venues=["bitfinex"], pairs=["BTC:USD"])
    async for event in source:
        print(event.to_dict())
"""

from finxtui.sources.base import HistoryUnavailable, Playback, Source
from finxtui.sources.demo import DemoSource, embedded_simulator
from finxtui.sources.hub import HubSource
from finxtui.sources.live import LiveSource
from finxtui.sources.replay import ReplaySource
from finxtui.sources.scripted import ScriptedSource

__all__ = ["DemoSource", "HistoryUnavailable", "HubSource", "LiveSource", "Playback", "ReplaySource", "ScriptedSource",
           "Source",
           "embedded_simulator"]
