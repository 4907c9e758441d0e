"""Defaults < TOML file < environment: load_config, and --endpoint's SOURCE=URL."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from finxtui.config.files import default_config_path, ensure_config_file
from finxtui.config.reader import Reader
from finxtui.config.sections import alerts_section, keys_section, notify_section, tape_section
from finxtui.config.settings import (
    COLOR_CHOICES,
    UPDOWN_CHOICES,
    Config,
    ConfigError,
    Refresh,
)
from finxtui.model.pairs import PairTable, canonical
from finxtui.wire.venues import BITMEX, BOOK_SOURCES, FINAZON, FINX, SOURCES


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None, *,
                create: bool = False) -> Config:
    """Defaults, then the file (if any), then the environment. Flags are applied by the caller."""
    env = os.environ if env is None else env
    path = path or default_config_path()
    if create:
        try:
            ensure_config_file(path)
        except OSError as exc:
            raise ConfigError(f"cannot create {path}: {exc.strerror or exc}") from None
    cfg = Config(path=path if path.exists() else None)
    if path.exists():
        cfg = _apply_file(cfg, path)
    return _apply_env(cfg, env)


def _apply_file(cfg: Config, path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "(at line N, column M)"; lead with the file and line like every other error here.
        m = re.search(r"at line (\d+)", str(exc))
        if m:
            where = f"{path}:{m.group(1)}"
        elif "end of document" in str(exc):
            where = f"{path}:{max(1, len(text.splitlines()))}"
        else:
            where = str(path)
        raise ConfigError(f"{where}: {exc}") from None
    r = Reader(path, text)
    known = {"watchlist", "default_pair", "book_source", "book_levels", "theme", "color", "slow_link",
             "log_level", "refresh", "sources", "credentials", "pairs", "tape", "updown", "alerts", "notify",
             "keys"}
    for key in data:
        if key not in known:
            raise r.error(None, key, f"unknown setting (known: {', '.join(sorted(known))})")
    changes: dict[str, Any] = {}
    pairs = PairTable()
    for pair, spec in r.get(data, None, "pairs", dict, {}).items():
        if not isinstance(spec, dict):
            raise r.error("pairs", pair, "expected a table of venue symbols")
        symbols = {}
        for key, value in spec.items():
            if key in SOURCES:
                if not isinstance(value, str) or not value:
                    raise r.error(f'pairs."{pair}"', key, "expected the venue's symbol as a string")
                symbols[key] = value
            elif key not in ("tick", "kind"):
                raise r.error(f'pairs."{pair}"', key, f"unknown key (known: tick, kind, {', '.join(SOURCES)})")
        tick = r.get(spec, f'pairs."{pair}"', "tick", (int, float), None, low=1e-12)
        kind = r.get(spec, f'pairs."{pair}"', "kind", str, None, choices=("crypto", "equity"))
        pairs.extend(canonical(pair), kind=kind, tick=float(tick) if tick else None, symbols=symbols)
    changes["pairs"] = pairs
    watch = r.get(data, None, "watchlist", list, None)
    if watch is not None:
        if not watch or not all(isinstance(p, str) and p.strip() for p in watch):
            raise r.error(None, "watchlist", "expected a non-empty list of pair names")
        names = tuple(canonical(p) for p in watch)
        unknown = [p for p in names if p not in pairs]
        if unknown:
            raise r.error(None, "watchlist", f"unknown pair(s) {', '.join(unknown)}; add them under [pairs]")
        changes["watchlist"] = names
    default_pair = r.get(data, None, "default_pair", str, None)
    if default_pair is not None:
        if canonical(default_pair) not in pairs:
            raise r.error(None, "default_pair", f"unknown pair {default_pair!r}")
        changes["default_pair"] = canonical(default_pair)
    for key, choices in (("book_source", BOOK_SOURCES), ("color", COLOR_CHOICES), ("updown", UPDOWN_CHOICES),
                         ("log_level", ("DEBUG", "INFO", "WARNING", "ERROR"))):
        value = r.get(data, None, key, str, None, choices=choices)
        if value is not None:
            changes[key] = value
    levels = r.get(data, None, "book_levels", int, None, choices=(10, 25))
    if levels is not None:
        changes["book_levels"] = levels
    theme = r.get(data, None, "theme", str, None)
    if theme is not None:
        changes["theme"] = theme
    slow = r.get(data, None, "slow_link", bool, None)
    if slow is not None:
        changes["slow_link"] = slow
    refresh = r.get(data, None, "refresh", dict, None)
    if refresh is not None:
        rates = {}
        rate_names = {f.name for f in fields(Refresh)}
        for key in refresh:
            if key not in rate_names:
                raise r.error("refresh", key, f"unknown rate (known: {', '.join(sorted(rate_names))})")
            rates[key] = float(r.get(refresh, "refresh", key, (int, float), low=0.1, high=60))
        changes["refresh"] = replace(cfg.refresh, **rates)
    tape = r.get(data, None, "tape", dict, None)
    if tape is not None:
        changes["tape"] = tape_section(r, tape, pairs)
    sources = r.get(data, None, "sources", dict, {})
    endpoints = dict(cfg.endpoints)
    enabled = dict(cfg.enabled)
    for source, spec in sources.items():
        if source not in SOURCES:
            raise r.error("sources", source, f"unknown source (known: {', '.join(SOURCES)})")
        table = f"sources.{source}"
        if not isinstance(spec, dict):
            raise r.error("sources", source, "expected a table")
        allowed = {"url", "enabled"} | ({"len"} if source == "bitfinex" else set()) | (
            {"interpolate"} if source == "finazon" else set())
        for key in spec:
            if key not in allowed:
                raise r.error(table, key, f"unknown key (known: {', '.join(sorted(allowed))})")
        url = r.get(spec, table, "url", str, None)
        if url is not None:
            if not re.match(r"^wss?://[^/\s]+", url):
                raise r.error(table, "url", f"expected a ws:// or wss:// URL, got {url!r}")
            endpoints[source] = url
        on = r.get(spec, table, "enabled", bool, None)
        if on is not None:
            enabled[source] = on
        if source == "bitfinex":
            length = r.get(spec, table, "len", int, None, choices=(1, 25, 100, 250))
            if length is not None:
                changes["bitfinex_len"] = length
        if source == "finazon":
            n = r.get(spec, table, "interpolate", int, None, low=0, high=10000)
            if n is not None:
                changes["finazon_interpolate"] = n
    changes["endpoints"] = endpoints
    changes["enabled"] = enabled
    creds = r.get(data, None, "credentials", dict, {})
    fields_of = {"finx_api_key": "finx_key", "bitmex_api_key": "bitmex_key", "bitmex_api_secret": "bitmex_secret",
                 "finazon_api_key": "finazon_key"}
    values = {}
    for key in creds:
        if key not in fields_of:
            raise r.error("credentials", key, f"unknown key (known: {', '.join(sorted(fields_of))})")
        value = r.get(creds, "credentials", key, str)
        if value:
            values[fields_of[key]] = value
    warnings = list(cfg.warnings)
    if values:
        changes["credentials"] = replace(cfg.credentials, **values)
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.append(f"{path} holds API keys but other users can read it "
                            f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}")
    changes["notify"] = notify_section(r, data)
    changes["keys"] = keys_section(r, data)
    changes["alerts"] = alerts_section(r, data, pairs, warnings)
    changes["warnings"] = tuple(warnings)
    return replace(cfg, **changes)


def _apply_env(cfg: Config, env: Mapping[str, str]) -> Config:
    creds = cfg.credentials
    values = {}
    bitmex_key_var, bitmex_secret_var = BITMEX.key_vars
    for attr, var in (("finx_key", FINX.key_vars[0]), ("bitmex_key", bitmex_key_var),
                      ("bitmex_secret", bitmex_secret_var), ("finazon_key", FINAZON.key_vars[0])):
        if env.get(var):
            values[attr] = env[var].strip()
    if values:
        creds = replace(creds, **values)
    return replace(cfg, credentials=creds)


def parse_endpoint(text: str) -> tuple[str, str]:
    """``SOURCE=URL`` from ``--endpoint``."""
    if "=" not in text:
        raise ConfigError(f"--endpoint {text!r}: expected SOURCE=URL, e.g. bitfinex=ws://127.0.0.1:9001")
    source, url = text.split("=", 1)
    source = source.strip().lower()
    if source not in SOURCES:
        raise ConfigError(f"--endpoint {text!r}: unknown source {source!r} (known: {', '.join(SOURCES)})")
    if not re.match(r"^wss?://[^/\s]+", url.strip()):
        raise ConfigError(f"--endpoint {text!r}: expected a ws:// or wss:// URL")
    return source, url.strip()
