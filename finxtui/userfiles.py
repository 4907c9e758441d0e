"""The files the app writes for the user: edits to the config file, and the alerts' state.

Edits go through tomlkit, so the user's comments, layout and every key we do not touch survive; a missing
config file is first created with the commented defaults. Writes are atomic (a temporary file renamed over
the old one) and keep the file private, since it may hold API keys.

The alerts' state (which fired, when, the log) is not configuration: it lives in a JSON file in the user's
state directory, rewritten when an alert fires or a rule changes.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table
from tomlkit.toml_document import TOMLDocument

from finxtui.config import DEFAULT_FILE, ConfigError, state_dir
from finxtui.model.alerts import AlertRule, RuleError, rule_from_fields

log = logging.getLogger("finxtui.userfiles")

ALERT_STATE_FILE = "alerts.json"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = (path.stat().st_mode & 0o777) if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ConfigFile:
    """The user's config file, edited in place. Every method reads the file afresh (the user may have edited
    it meanwhile) and raises :class:`ConfigError` when it cannot be read or written."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> TOMLDocument:
        try:
            text = self.path.read_text(encoding="utf-8") if self.path.exists() else DEFAULT_FILE
        except OSError as exc:
            raise ConfigError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            return tomlkit.parse(text)
        except tomlkit.exceptions.ParseError as exc:
            raise ConfigError(f"{self.path}: cannot edit, not valid TOML ({exc})") from None

    def _save(self, doc: TOMLDocument) -> None:
        try:
            _write_atomic(self.path, tomlkit.dumps(doc))
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def set_watchlist(self, pairs: Sequence[str]) -> None:
        """Write ``watchlist = [...]``: in place if set, else under its commented default (else at the top)."""
        doc = self._load()
        if "watchlist" in doc:
            doc["watchlist"] = list(pairs)
            self._save(doc)
            return
        line = "watchlist = " + tomlkit.dumps({"watchlist": list(pairs)}).split("=", 1)[1].strip()
        text = tomlkit.dumps(doc)
        lines = text.splitlines(keepends=True)
        at = next((i + 1 for i, s in enumerate(lines) if s.lstrip().startswith("# watchlist =")), None)
        if at is None:  # before the first table, so it stays a top-level key; a blank line before the table
            at = next((i for i, s in enumerate(lines) if s.lstrip().startswith("[")), len(lines))
            line += "\n" if at < len(lines) else ""
        lines.insert(at, line + "\n")
        self._save(tomlkit.parse("".join(lines)))

    def add_alert(self, rule: AlertRule) -> None:
        """Append an ``[[alerts]]`` entry for ``rule`` (nothing when the file already has the same rule)."""
        doc = self._load()
        entries = doc.get("alerts")
        if entries is not None and not isinstance(entries, AoT):
            raise ConfigError(f"{self.path}: alerts: expected [[alerts]] tables; not changing the file")
        if entries is not None and any(_key_of(t) == rule.key for t in entries):
            return
        table = tomlkit.table()
        for key, value in rule.to_fields().items():
            table.add(key, value)
        if entries is None:
            doc.add(tomlkit.nl())
            doc.append("alerts", tomlkit.aot())
            entries = doc["alerts"]
            assert isinstance(entries, AoT)
        entries.append(table)
        self._save(doc)

    def remove_alert(self, rule: AlertRule) -> bool:
        """Remove the ``[[alerts]]`` entries meaning ``rule``; False when the file has none."""
        doc = self._load()
        entries = doc.get("alerts")
        if not isinstance(entries, AoT):
            return False
        keep = [t for t in entries if _key_of(t) != rule.key]
        if len(keep) == len(entries):
            return False
        for i in reversed(range(len(entries))):
            if _key_of(entries[i]) == rule.key:
                del entries[i]
        if not len(entries):
            del doc["alerts"]
        self._save(doc)
        return True


def _key_of(table: Table | Mapping[str, Any]) -> str | None:
    """The rule key of an ``[[alerts]]`` entry, or None for an entry that is not a valid rule (left alone)."""
    try:
        return rule_from_fields(dict(table), pairs=_ANY, sources=_ANY).key
    except RuleError:
        return None


class _AnyName(tuple[str, ...]):
    """Matching entries by meaning needs no pair table or venue list: every name is taken as known."""

    def __contains__(self, item: object) -> bool:
        return True


_ANY = _AnyName(("any",))


class AlertStateFile:
    """The alerts' saved state (:meth:`AlertEngine.snapshot`) as JSON; a broken file is set aside, not fatal."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / ALERT_STATE_FILE

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("alert state %s unreadable (%s); starting afresh", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, snapshot: Mapping[str, Any]) -> None:
        try:
            _write_atomic(self.path, json.dumps(snapshot, indent=1))
        except OSError as exc:
            log.warning("cannot save alert state to %s: %s", self.path, exc)
