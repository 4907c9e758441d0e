"""The trader's sections of the file: [notify], [keys], [[alerts]] and [tape]."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finxtui.config.reader import Reader, line_in_array, line_of
from finxtui.config.settings import DESKTOP_CHOICES, KeySetting, Notify, TapeSettings
from finxtui.model.alerts import AlertRule, RuleError, rule_from_fields
from finxtui.model.pairs import PairTable, canonical
from finxtui.wire.venues import SOURCES


def notify_section(r: Reader, data: Mapping[str, Any]) -> Notify:
    spec = r.get(data, None, "notify", dict, {})
    for key in spec:
        if key not in ("toast", "bell", "desktop"):
            raise r.error("notify", key, "unknown key (known: bell, desktop, toast)")
    return Notify(toast=r.get(spec, "notify", "toast", bool, True), bell=r.get(spec, "notify", "bell", bool, True),
                  desktop=r.get(spec, "notify", "desktop", str, "auto", choices=DESKTOP_CHOICES))


def keys_section(r: Reader, data: Mapping[str, Any]) -> tuple[KeySetting, ...]:
    """The ``[keys]`` table as written; the app checks the ids and key names (it knows its bindings)."""
    spec = r.get(data, None, "keys", dict, {})
    out = []
    for binding, keys in spec.items():
        if not isinstance(keys, str) or not keys.strip():
            raise r.error("keys", binding, f'expected the keys as a string such as "n" or "ctrl+n,f5", got {keys!r}')
        line = line_of(r.text, "keys", binding)
        out.append(KeySetting(binding, keys.strip(), f"{r.path}:{line}" if line else str(r.path)))
    return tuple(out)


def alerts_section(r: Reader, data: Mapping[str, Any], pairs: PairTable, warnings: list[str]) -> tuple[AlertRule, ...]:
    """Every good ``[[alerts]]`` entry. A bad one is skipped with a warning naming its field and line: one
    typo must not cost the other alerts, nor the monitor."""
    entries = data.get("alerts", [])
    if not isinstance(entries, list):
        raise r.error(None, "alerts", "expected [[alerts]] tables (an array of tables)")
    rules: list[AlertRule] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise r.error(None, "alerts", "expected [[alerts]] tables (an array of tables)")
        try:
            rules.append(rule_from_fields(entry, pairs=pairs, sources=SOURCES))
        except RuleError as exc:
            line = line_in_array(r.text, "alerts", index, exc.field)
            where = f"{r.path}:{line}" if line else str(r.path)
            warnings.append(f"{where}: alerts[{index + 1}].{exc.field}: {exc.problem} (this alert is skipped)")
    return tuple(dict.fromkeys(rules))


def tape_section(r: Reader, tape: Mapping[str, Any], pairs: PairTable) -> TapeSettings:
    for key in tape:
        if key not in ("large", "large_notional"):
            raise r.error("tape", key, "unknown key (known: large, large_notional)")
    notional = float(r.get(tape, "tape", "large_notional", (int, float), TapeSettings.large_notional, low=0))
    large: dict[str, float] = {}
    for pair, size in r.get(tape, "tape", "large", dict, {}).items():
        name = canonical(pair)
        if name not in pairs:
            raise r.error("tape.large", pair, f"unknown pair {pair!r}; add it under [pairs]")
        large[name] = float(r.get({pair: size}, "tape.large", pair, (int, float), low=0))
    return TapeSettings(large, notional)
