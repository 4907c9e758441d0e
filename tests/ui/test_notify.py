"""Terminal notifications: which protocol a terminal gets, and the bytes sent."""

from __future__ import annotations

import pytest

from finxtui.config import Notify
from finxtui.ui.notify import TerminalNotifier, desktop_protocol, osc_sequence


@pytest.mark.parametrize(("env", "want"), [
    ({"TERM_PROGRAM": "iTerm.app"}, "osc9"),
    ({"LC_TERMINAL": "iTerm2", "TERM": "xterm-256color"}, "osc9"),  # iTerm2 over ssh: LC_* is forwarded
    ({"TERM_PROGRAM": "WezTerm"}, "osc9"),
    ({"TERM": "xterm-kitty"}, "osc9"),
    ({"TERM": "foot"}, "osc777"),
    ({"TERM": "rxvt-unicode-256color"}, "osc777"),
    ({"TERM": "xterm-256color"}, "off"),  # unknown: BEL only, never junk on a terminal that would print it
    ({}, "off"),
])
def test_auto_picks_what_the_terminal_is_known_to_show(env: dict[str, str], want: str) -> None:
    assert desktop_protocol("auto", env) == want
    assert desktop_protocol("osc777", env) == "osc777" and desktop_protocol("off", env) == "off"


def test_sequences_are_clean_and_wrapped_for_tmux() -> None:
    assert osc_sequence("osc9", "t", "BTC\x1b[31m up\n") == "\x1b]9;t: BTC [31m up \x07"
    assert osc_sequence("osc777", "a;b", "x;y") == "\x1b]777;notify;a,b;x;y\x07"
    assert osc_sequence("osc9", "t", "b", tmux=True) == "\x1bPtmux;\x1b\x1b]9;t: b\x07\x1b\\"
    assert osc_sequence("off", "t", "b") == ""


def test_the_notifier_rings_and_writes_what_the_settings_ask() -> None:
    rang, written = [], []
    quiet = TerminalNotifier(Notify(bell=False, desktop="off"), bell=lambda: rang.append(1), write=written.append,
                             env={})
    quiet.notify("t", "b")
    assert not rang and not written
    loud = TerminalNotifier(Notify(desktop="auto"), bell=lambda: rang.append(1), write=written.append,
                            env={"TERM": "foot", "TMUX": "/tmp/tmux-0/default,1,0"})
    loud.notify("finx-tui alert", "BTC:USD above 100,000")
    assert rang == [1] and written == ["\x1bPtmux;\x1b\x1b]777;notify;finx-tui alert;BTC:USD above 100,000\x07\x1b\\"]
