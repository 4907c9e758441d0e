"""Telling the person an alert fired, wherever their terminal is: a bell, and a desktop notification.

Both travel in-band, on the same stream as the screen, so they reach the terminal on the person's own
machine over SSH too (never a notification popped up on the server). BEL works everywhere (a sound, a
flash, or a mark on the tab); OSC 9 (iTerm2, WezTerm, Ghostty, kitty, ConEmu) and OSC 777 (foot, urxvt,
WezTerm, Ghostty, VTE with the notify patch) make a desktop notification. ``auto`` sends one only to a
terminal known to show it; inside tmux the sequence is wrapped so tmux passes it on (tmux needs
``set -g allow-passthrough on``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Mapping

from finxtui.config import Notify

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SENT_KEPT = 50


def desktop_protocol(setting: str, env: Mapping[str, str]) -> str:
    """``osc9``, ``osc777`` or ``off`` for the ``[notify] desktop`` setting in this environment."""
    if setting != "auto":
        return setting
    program = env.get("TERM_PROGRAM", "").lower()
    # iTerm2 sets LC_TERMINAL, which ssh forwards by default (AcceptEnv LC_*): it survives a hop.
    lc_terminal = env.get("LC_TERMINAL", "").lower()
    term = env.get("TERM", "").lower()
    if "iterm" in program or lc_terminal.startswith("iterm") or program in ("wezterm", "ghostty") \
            or "kitty" in term or env.get("ConEmuPID"):
        return "osc9"
    if term.startswith(("foot", "rxvt")):
        return "osc777"
    return "off"


def osc_sequence(protocol: str, title: str, body: str, *, tmux: bool = False) -> str:
    """The escape sequence of one desktop notification ("" for ``off``)."""
    title, body = _CONTROL.sub(" ", title), _CONTROL.sub(" ", body)
    if protocol == "osc9":
        seq = f"\x1b]9;{title}: {body}\x07"
    elif protocol == "osc777":
        seq = f"\x1b]777;notify;{title.replace(';', ',')};{body}\x07"
    else:
        return ""
    if tmux:  # DCS passthrough: every ESC inside doubled
        seq = "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return seq


class TerminalNotifier:
    """Sends the bell and the desktop notification the ``[notify]`` settings ask for.

    ``bell`` rings the terminal bell (``App.bell``); ``write`` sends raw text to the terminal. ``sent`` keeps
    what went out, newest last (the help of a person wondering why nothing showed, and of tests).
    """

    def __init__(self, settings: Notify, *, bell: Callable[[], None], write: Callable[[str], None],
                 env: Mapping[str, str]) -> None:
        self.settings = settings
        self.protocol = desktop_protocol(settings.desktop, env)
        self.tmux = bool(env.get("TMUX"))
        self._bell = bell
        self._write = write
        self.sent: deque[str] = deque(maxlen=SENT_KEPT)

    def notify(self, title: str, body: str) -> None:
        if self.settings.bell:
            self._bell()
            self.sent.append("\x07")
        seq = osc_sequence(self.protocol, title, body, tmux=self.tmux)
        if seq:
            self._write(seq)
            self.sent.append(seq)
