"""JSON-lines logs with secret redaction.

Each process writes ``<log_dir>/<process>.log``, one JSON object per line::

    {"ts": "2025-01-01T00:00:00.123456Z", "level": "INFO", "process": "trader",
     "logger": "asymlp.trader", "msg": "hedge sent", "extra": {"qty": 0.5}}

(``exc`` holds the formatted traceback when there is one.) A :class:`RedactingFilter` sits on
every handler and rewrites the record before any formatter sees it: registered secret values
(every :class:`~asymlp_runtime.config.Secret` of the process config) and anything that looks
like a credential are replaced by ``[REDACTED]`` in the message, its arguments, the ``extra``
fields and the exception text:

- ``key=...``, ``api_key: ...``, ``secret=...``, ``password=...``, ``token=...``,
  ``signature=...`` (the name is kept, the value goes);
- private keys: 64 hex digits with or without ``0x`` (except values of fields named like a hash:
  ``tx_hash=0x...``, ``block_hash=0x...``, so transaction hashes stay readable);
- credentials in URLs: ``https://user:pass@host`` becomes ``https://[REDACTED]@host``;
- ``Bearer <token>``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import msgspec

__all__ = [
    "REDACTED",
    "Redactor",
    "RedactingFilter",
    "JsonLinesFormatter",
    "LoggingHandle",
    "configure_logging",
    "configure_logging_from_config",
    "get_redactor",
]

REDACTED: Final[str] = "[REDACTED]"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)

_KEY_VALUE: Final = re.compile(
    r"""(?ix)
    (?P<name>\b[\w.-]*(?:key|secret|password|passwd|passphrase|token|signature|credential)s?\b
       ["']?\s*[=:]\s*["']?)
    (?P<value>[^\s"',;&}\]]+)
    """
)
_HEX64: Final = re.compile(r"(?<![0-9A-Za-z])(?:0x)?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_HASH_NAME_BEFORE: Final = re.compile(
    r"(?i)(?:tx|txn|transaction|block|parent)?_?hash\w*[\"']?\s*[=:]\s*[\"']?$"
)
_URL_CREDENTIALS: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]+:[^\s/@]+@")
_BEARER: Final = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_HASH_FIELD: Final = re.compile(r"(?i)^(?:tx|txn|transaction|block|parent)?_?hash\w*$")


class Redactor:
    """Replaces secrets and credential-looking text by :data:`REDACTED`.

    Thread-safe to use; secrets are added with :meth:`add_secret`.
    """

    def __init__(self, secrets: Iterable[Any] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        for s in secrets:
            self.add_secret(s)

    def add_secret(self, secret: Any) -> None:
        """Register a value to remove wherever it appears (a ``Secret`` or a ``str``).

        Values shorter than 4 characters are ignored (they would redact ordinary words).
        """
        value = secret.reveal() if hasattr(secret, "reveal") else secret
        if not isinstance(value, str) or len(value) < 4:
            return
        with self._lock:
            if value not in self._secrets:
                # Longest first, so a secret containing another is removed whole.
                self._secrets = tuple(sorted((*self._secrets, value), key=len, reverse=True))

    def clear(self) -> None:
        """Forget the registered secrets (the patterns stay)."""
        with self._lock:
            self._secrets = ()

    def redact(self, text: str, *, hash_field: bool = False) -> str:
        """Return ``text`` with secrets and credential-looking parts replaced.

        Parameters
        ----------
        text : str
            Any text.
        hash_field : bool
            The text is the value of a field named like a hash (``tx_hash``): 64-hex values stay.
        """
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _URL_CREDENTIALS.sub(lambda m: m.group(1) + REDACTED + "@", text)
        text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
        text = _KEY_VALUE.sub(lambda m: m.group("name") + REDACTED, text)
        if not hash_field:
            text = _HEX64.sub(lambda m: self._hex(text, m), text)
        return text

    @staticmethod
    def _hex(text: str, match: re.Match[str]) -> str:
        if _HASH_NAME_BEFORE.search(text, 0, match.start()):
            return match.group(0)
        return REDACTED

    def redact_value(self, value: Any, name: str = "") -> Any:
        """Redact a value of an ``extra`` field: strings, and strings inside containers.

        Other objects are converted with ``str`` first when their text would be redacted.
        """
        hash_field = bool(name) and _HASH_FIELD.match(name) is not None
        if isinstance(value, str):
            return self.redact(value, hash_field=hash_field)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {str(k): self.redact_value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact_value(v, name) for v in value]
        text = str(value)
        cleaned = self.redact(text, hash_field=hash_field)
        return cleaned if cleaned != text else value


_DEFAULT_REDACTOR: Final = Redactor()


def get_redactor() -> Redactor:
    """The process-wide redactor used by :func:`configure_logging`."""
    return _DEFAULT_REDACTOR


class RedactingFilter(logging.Filter):
    """Handler filter that rewrites each record in place (message, args, extra, exception).

    After it ran, ``record.msg`` is the final redacted text and ``record.args`` is empty, so
    every later handler and formatter sees only redacted text.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor if redactor is not None else _DEFAULT_REDACTOR

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_asymlp_redacted", False):
            return True
        redactor = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # bad format args: keep what can be kept
            message = f"{record.msg!s} (bad log arguments)"
        record.msg = redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor.redact(record.exc_text)
        record.exc_info = None  # formatted and redacted above; the raw exception is not re-rendered
        if record.stack_info:
            record.stack_info = redactor.redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRS and not name.startswith("_asymlp"):
                setattr(record, name, redactor.redact_value(value, name))
        record._asymlp_redacted = True
        return True


def _json_default(obj: Any) -> Any:
    return str(obj)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: ``ts``, ``level``, ``process``, ``logger``, ``msg``, ``extra``."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process
        self._encoder = msgspec.json.Encoder(enc_hook=_json_default)

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out: dict[str, Any] = {
            "ts": ts,
            "level": record.levelname,
            "process": self.process,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = {
            k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_asymlp")
        }
        if extra:
            out["extra"] = extra
        exc_text = record.exc_text
        if record.exc_info and not exc_text:
            exc_text = self.formatException(record.exc_info)
        if exc_text:
            out["exc"] = exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        try:
            return self._encoder.encode(out).decode()
        except Exception:
            out["extra"] = {k: str(v) for k, v in extra.items()}
            return self._encoder.encode(out).decode()


class LoggingHandle:
    """Handlers installed by :func:`configure_logging`; :meth:`close` removes them."""

    def __init__(self, logger: logging.Logger, handlers: list[logging.Handler], path: Path) -> None:
        self.logger = logger
        self.handlers = handlers
        self.path = path

    def close(self) -> None:
        """Flush, close and detach the handlers."""
        for handler in self.handlers:
            self.logger.removeHandler(handler)
            handler.close()
        self.handlers = []


def configure_logging(
    process: str,
    *,
    level: str | int = "INFO",
    log_dir: str | os.PathLike[str] = "logs",
    stderr: bool = False,
    secrets: Iterable[Any] = (),
    logger: logging.Logger | None = None,
    redactor: Redactor | None = None,
) -> LoggingHandle:
    """Send log records to ``<log_dir>/<process>.log`` as JSON lines (and optionally stderr).

    Parameters
    ----------
    process : str
        Process name (file name and the ``process`` field).
    level : str or int
        Level of ``logger``.
    log_dir : path-like
        Directory (created if missing).
    stderr : bool
        Also write the JSON lines to stderr.
    secrets : iterable
        Values (``Secret`` or ``str``) to redact, added to the redactor.
    logger : logging.Logger or None
        Where to attach the handlers (the root logger by default: one process, one log).
    redactor : Redactor or None
        The redactor (the process-wide one by default).

    Returns
    -------
    LoggingHandle
        Call ``close()`` to detach the handlers (tests, shutdown).
    """
    redactor = redactor if redactor is not None else _DEFAULT_REDACTOR
    for secret in secrets:
        redactor.add_secret(secret)
    target = logger if logger is not None else logging.getLogger()
    target.setLevel(level.upper() if isinstance(level, str) else level)
    directory = Path(log_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{process}.log"
    redacting = RedactingFilter(redactor)
    formatter = JsonLinesFormatter(process)
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.addFilter(redacting)
        handler.setFormatter(formatter)
        target.addHandler(handler)
    return LoggingHandle(target, handlers, path)


def configure_logging_from_config(
    config: Any, *, logger: logging.Logger | None = None, redactor: Redactor | None = None
) -> LoggingHandle:
    """:func:`configure_logging` from a :class:`~asymlp_runtime.config.ProcessConfig`.

    Every :class:`~asymlp_runtime.config.Secret` of the config is registered for redaction.
    """
    from asymlp_runtime.config import iter_secrets

    g = config.global_
    return configure_logging(
        g.process_name,
        level=g.log_level,
        log_dir=g.log_dir,
        stderr=g.log_stderr,
        secrets=list(iter_secrets(config)),
        logger=logger,
        redactor=redactor,
    )
