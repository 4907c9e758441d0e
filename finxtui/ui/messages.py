"""The only per-event messages: feed status changes and pair switches (everything else is polled)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from finxtui.model.events import Status


@dataclass
class FeedStatus(Message):
    status: Status


@dataclass
class PairChanged(Message):
    pair: str
