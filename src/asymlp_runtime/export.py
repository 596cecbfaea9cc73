"""Export the journal to CSV or Parquet, one file per table.

Each table of :data:`asymlp_runtime.journal.TABLES` becomes ``<out_dir>/<table>.csv`` or
``<out_dir>/<table>.parquet`` with the row ``id`` first and the record's fields after it. Column
types are fixed by the record types, not guessed from the data: integers stay int64 (nullable),
floats float64, booleans bool, and exact on-chain integers (token amounts, liquidity, wei) stay
decimal *strings* so that uint256 values survive every tool that reads the files. In CSV files
strings are always quoted and an empty unquoted field is a null, so ``""`` and null differ.

The database is opened read-only, so an export can run while a process is appending.

Example
-------
>>> paths = export_journal("journal.db", "out", fmt="parquet", since="2024-01-01")  # doctest: +SKIP
>>> tables = load_export("out", fmt="parquet")                                     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from asymlp_runtime.journal import _SQL, SCHEMA_VERSION, TABLES, TableSpec, _decode, _filtered_select

__all__ = ["export_journal", "load_export", "records_from_table", "arrow_schema", "to_epoch_ns"]

ExportFormat = Literal["csv", "parquet"]
TimeBound = int | str | _dt.datetime | Any

_ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.string(),
    "real": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
}


def arrow_schema(spec: TableSpec) -> pa.Schema:
    """The Arrow schema of one exported table: ``id`` then the record's fields."""
    fields = [pa.field("id", pa.int64(), nullable=False)]
    for column in spec.columns:
        fields.append(pa.field(column, _ARROW_TYPES[spec.kinds[column]], nullable=column in spec.nullable))
    return pa.schema(fields)


def to_epoch_ns(value: TimeBound | None) -> int | None:
    """A time bound as ns since the Unix epoch.

    Accepts ``None``, an int (already ns), a ``datetime`` (naive means UTC), a ``pandas.Timestamp``
    or an ISO-8601 string (naive means UTC).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a time bound cannot be a bool")
    if isinstance(value, int):
        return value
    import pandas as pd

    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value)


def _open_read_only(db_path: str | Path) -> sqlite3.Connection:
    path = Path(db_path)
    if not path.exists():
        raise FileNotFoundError(f"journal database not found: {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = 0 if row is None else int(row[0])
    if version > SCHEMA_VERSION:
        conn.close()
        raise RuntimeError(f"{path} has schema version {version}; this code exports up to {SCHEMA_VERSION}")
    return conn


def _table_from_rows(spec: TableSpec, rows: list[tuple[Any, ...]]) -> pa.Table:
    schema = arrow_schema(spec)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        if pa.types.is_boolean(field.type):
            values = [None if v is None else bool(v) for v in values]
        arrays.append(pa.array(list(values), type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def export_journal(
    db_path: str | Path,
    out_dir: str | Path,
    fmt: ExportFormat = "csv",
    since: TimeBound | None = None,
    until: TimeBound | None = None,
    tables: Iterable[str] | None = None,
) -> dict[str, Path]:
    """Write each journal table to ``out_dir`` as CSV or Parquet.

    Parameters
    ----------
    db_path : the journal database.
    out_dir : output folder (created).
    fmt : ``"csv"`` or ``"parquet"``.
    since, until : keep records with ``since <= ts_ns < until`` (see :func:`to_epoch_ns`).
    tables : a subset of table names; all tables by default.

    Returns
    -------
    dict
        Table name -> written file path (every requested table gets a file, empty or not).
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    names = list(TABLES) if tables is None else list(tables)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise KeyError(f"unknown journal tables {unknown}; known: {', '.join(TABLES)}")
    since_ns, until_ns = to_epoch_ns(since), to_epoch_ns(until)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    conn = _open_read_only(db_path)
    try:
        conn.execute("BEGIN")  # one read snapshot across all tables
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for name in names:
            spec = TABLES[name]
            rows: list[tuple[Any, ...]] = []
            if name in present:  # a journal of an older schema lacks later tables: exported empty
                sql, params = _filtered_select(_SQL[name].select_all, since_ns, until_ns)
                rows = conn.execute(sql, params).fetchall()
            table = _table_from_rows(spec, rows)
            path = out / f"{name}.{fmt}"
            if fmt == "csv":
                pa_csv.write_csv(table, path, write_options=pa_csv.WriteOptions(quoting_style="needed"))
            else:
                pa_parquet.write_table(table, path)
            written[name] = path
        conn.execute("COMMIT")
    finally:
        conn.close()
    return written


def _read_csv(path: Path, schema: pa.Schema) -> pa.Table:
    convert = pa_csv.ConvertOptions(
        column_types=schema,
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
        true_values=["true"],
        false_values=["false"],
    )
    table = pa_csv.read_csv(path, convert_options=convert)
    return table.select(schema.names).cast(schema)


def load_export(
    out_dir: str | Path, fmt: ExportFormat = "csv", tables: Iterable[str] | None = None
) -> dict[str, pa.Table]:
    """Read exported files back as Arrow tables with the export schema (types as written)."""
    names = list(TABLES) if tables is None else list(tables)
    result: dict[str, pa.Table] = {}
    for name in names:
        path = Path(out_dir) / f"{name}.{fmt}"
        schema = arrow_schema(TABLES[name])
        if fmt == "csv":
            result[name] = _read_csv(path, schema)
        elif fmt == "parquet":
            result[name] = pa_parquet.read_table(path).select(schema.names).cast(schema)
        else:
            raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    return result


def records_from_table(name: str, table: pa.Table) -> list[tuple[int, Any]]:
    """``(id, record)`` pairs from an exported table (exact integers parsed back to ``int``)."""
    spec = TABLES[name]
    rows = table.to_pylist()
    out = []
    for row in rows:
        values = []
        for column in spec.columns:
            value = row[column]
            if value is not None and spec.kinds[column] == "bool":
                value = int(value)
            values.append(value)
        out.append((int(row["id"]), _decode(spec, values)))
    return out
