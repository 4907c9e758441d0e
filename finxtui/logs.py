"""Logging: a rotating file in the platformdirs log dir, optional stderr, and secrets redacted everywhere."""

from __future__ import annotations

import logging
import logging.handlers
import re
from collections.abc import Iterable
from pathlib import Path

from finxtui.config import log_dir

_URL_KEY = re.compile(r"((?:apikey|APIKey|api[-_]?key|api-signature|signature)=)[^&\s'\"]+", re.IGNORECASE)
_FINX_PATH_KEY = re.compile(r"(/(?:streaming|streamer)/)([^/\s'\"]+)")


class RedactingFilter(logging.Filter):
    """Replaces every known secret, and anything shaped like a key in a URL, with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        text = _URL_KEY.sub(r"\1***", text)
        return _FINX_PATH_KEY.sub(r"\1***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True



def setup_logging(level: str = "INFO", *, secrets: Iterable[str] = (), stderr_level: str | None = "WARNING",
                  file: bool = True, directory: Path | None = None) -> Path | None:
    """Configure the ``finxtui`` logger. Returns the log file path (None when file logging is off)."""
    root = logging.getLogger("finxtui")
    root.setLevel(level.upper())
    root.propagate = False
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    redactor = RedactingFilter(secrets)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    path = None
    if file:
        directory = directory or log_dir()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / "finx-tui.log"
            handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3,
                                                           encoding="utf-8")
            handler.setFormatter(fmt)
            handler.addFilter(redactor)
            root.addHandler(handler)
        except OSError:
            path = None
    if stderr_level:
        err = logging.StreamHandler()
        err.setLevel(stderr_level.upper())
        err.setFormatter(logging.Formatter("finx-tui: %(levelname)s %(name)s: %(message)s"))
        err.addFilter(redactor)
        root.addHandler(err)
    # websockets logs URLs (which may carry a key) at debug level: keep it quiet and redacted.
    ws = logging.getLogger("websockets")
    ws.setLevel(logging.WARNING)
    ws.addFilter(redactor)
    return path
