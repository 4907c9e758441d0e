"""Your own keys: every binding has an id, and ``[keys]`` in the config rebinds it (Textual's keymap).

The config reader keeps each ``[keys]`` line as written, with its file:line; this module checks the ids
against the app's bindings and the key names against what Textual understands, before the app starts, so a
typo is an error naming its line rather than a key that silently does nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import KEY_NAME_REPLACEMENTS, Keys, _character_to_key, format_key

from finxtui.config import ConfigError, KeySetting

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
_NAMED = {k.value for k in Keys if "+" not in k.value and not k.value.startswith("<")} | set(
    KEY_NAME_REPLACEMENTS.values())


@dataclass(frozen=True)
class BindingInfo:
    """A rebindable binding: its id, default keys, what it does, and where it applies (``App``, a screen)."""

    id: str
    keys: str
    description: str
    scope: str


def bindings_of(scope: str, bindings: Iterable[Binding | tuple[str, ...]]) -> list[BindingInfo]:
    """The bindings with an id in one class's ``BINDINGS``."""
    out = []
    for b in bindings:
        if isinstance(b, Binding) and b.id:
            out.append(BindingInfo(b.id, b.key, b.tooltip or b.description or b.action, scope))
    return out


def normalize_key(key: str) -> str | None:
    """``ctrl+N``, ``?`` or ``question_mark`` as Textual names it (``ctrl+n``, ``question_mark``); None if unknown."""
    key = key.strip()
    if not key:
        return None
    if len(key) == 1:
        return _character_to_key(key)
    *mods, base = key.split("+")
    if base == "" and key.endswith("+"):  # "ctrl++": the plus key itself
        mods, base = key[:-2].split("+"), "plus"
    mods = [m.lower() for m in mods]
    if any(m not in MODIFIERS for m in mods) or len(set(mods)) != len(mods):
        return None
    if len(base) == 1:
        base = _character_to_key(base) if not base.isalpha() else (base.lower() if mods else base)
    else:
        base = base.lower()
        if base not in _NAMED:
            try:
                char = unicodedata.lookup(base.replace("_", " ").upper())
            except KeyError:
                return None
            if _character_to_key(char) != base:
                return None
    return "+".join([*mods, base])


def check_keymap(settings: Sequence[KeySetting], known: Mapping[str, BindingInfo]) -> dict[str, str]:
    """The keymap for ``App.set_keymap``; :class:`ConfigError` naming the line of the first bad entry."""
    keymap: dict[str, str] = {}
    for setting in settings:
        if setting.binding not in known:
            near = [b for b in known if b.split(".")[0] == setting.binding.split(".")[0]] or sorted(known)
            raise ConfigError(f"{setting.where}: keys.{setting.binding}: unknown binding id (known: "
                              f"{', '.join(near)}; ? lists them all)")
        keys = []
        for key in setting.keys.split(","):
            name = normalize_key(key)
            if name is None:
                raise ConfigError(f"{setting.where}: keys.{setting.binding}: {key.strip()!r} is not a key name "
                                  "(examples: n, N, ctrl+n, f5, pageup, question_mark or ?)")
            keys.append(name)
        keymap[setting.binding] = ",".join(keys)
    return keymap


def effective_keys(info: BindingInfo, keymap: Mapping[str, str]) -> str:
    """The keys that trigger ``info`` now, as a person reads them (``ctrl+n``, ``?``)."""
    keys = keymap.get(info.id, info.keys)
    return ", ".join(_display(k) for k in keys.split(","))


def _display(key: str) -> str:
    *mods, base = key.split("+")
    return "+".join([*mods, base if base in ("space", "escape") else format_key(base)])
