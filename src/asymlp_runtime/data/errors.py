"""The loaders' error type, importable without pandas (the commands catch it before loading)."""

from __future__ import annotations

__all__ = ["DataFormatError"]


class DataFormatError(ValueError):
    """A malformed data file: names the file, the 1-based line (or row) and the field."""

    def __init__(self, path: str, line: int | None, field: str | None, problem: str) -> None:
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = path + (f": line {line}" if line is not None else "") + (f": field '{field}'" if field else "")
        super().__init__(f"{where}: {problem}")
