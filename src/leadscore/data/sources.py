"""Where the canonical tables of a data source are: a folder, one file, or a SQL database.

* A **folder** holds ``leads.*``, ``touchpoints.*`` and ``outcomes.*`` (``csv``, ``tsv``, ``txt``
  or ``parquet``; names are matched case-insensitively), or the files the mapping names under
  ``<table>.file`` (relative to the folder). Subfolders such as ``truth/`` are ignored.
* A **file** holds one table: the one given, or the one its stem names (``leads.csv``), or the
  one whose ``file`` in the mapping is this file's name.
* A **SQLAlchemy URL** (``sqlite:///crm.db``, ``postgresql+psycopg://user@host/db``) holds the
  tables ``leads``, ``touchpoints`` and ``outcomes``, or those the mapping names under
  ``<table>.table`` or ``<table>.query``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from leadscore.data.mapping import DataMapping
from leadscore.data.schemas import CANONICAL_TABLES
from leadscore.errors import UsageError

__all__ = [
    "CSV_SUFFIXES",
    "PARQUET_SUFFIXES",
    "SourceKind",
    "SourcePlan",
    "TableSource",
    "check_table_name",
    "is_url",
    "masked",
    "plan_sources",
]

SourceKind = Literal["csv", "parquet", "sql"]
CSV_SUFFIXES: Final = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES: Final = (".parquet", ".pq")
TABLE_ORDER: Final = tuple(CANONICAL_TABLES)
_PASSWORD: Final = re.compile(r"(://[^:/@]*:)[^/]*@")


@dataclass(frozen=True)
class TableSource:
    """Where one canonical table is read from. ``location`` is for messages (a URL's password
    is masked there); ``path`` or ``url`` is what is read."""

    table: str
    kind: SourceKind
    location: str
    path: Path | None = None
    url: str | None = None
    sql_table: str | None = None
    sql_query: str | None = None


@dataclass(frozen=True)
class SourcePlan:
    """The tables to read (``None`` = expected but absent) and which of them to report.

    ``standalone`` is True when one table is checked on its own, without the others; rules
    that span tables are then not checked.
    """

    sources: dict[str, TableSource | None]
    report: tuple[str, ...]
    standalone: bool


def is_url(location: str) -> bool:
    """True when ``location`` looks like a SQLAlchemy URL rather than a path."""
    return "://" in location


def masked(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    return _PASSWORD.sub(r"\1***@", url)


def check_table_name(table: str) -> str:
    """``table`` if it is a canonical table name; a UsageError otherwise."""
    if table not in CANONICAL_TABLES:
        raise UsageError(f"unknown table {table!r}; the tables are {', '.join(CANONICAL_TABLES)}")
    return table


def _kind_of(path: Path) -> SourceKind | None:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return None


def _file_source(table: str, path: Path) -> TableSource:
    kind = _kind_of(path)
    if kind is None:
        raise UsageError(
            f"{path}: cannot read files ending in {path.suffix!r}; "
            f"use {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}"
        )
    return TableSource(table, kind, str(path), path=path)


def _in_folder(folder: Path, table: str, mapping: DataMapping) -> TableSource | None:
    named = mapping.table(table).file
    if named is not None:
        path = folder / named
        return _file_source(table, path) if path.is_file() else None
    candidates = sorted(
        entry
        for entry in folder.iterdir()
        if entry.is_file() and entry.stem.lower() == table and _kind_of(entry) is not None
    )
    if len(candidates) > 1:
        names = ", ".join(entry.name for entry in candidates)
        raise UsageError(
            f"{folder} holds several files for table {table} ({names}); keep one, "
            f"or name it under {table}.file in the mapping"
        )
    return _file_source(table, candidates[0]) if candidates else None


def _table_of_file(path: Path, mapping: DataMapping) -> str:
    stem = path.stem.lower()
    if stem in CANONICAL_TABLES:
        return stem
    for table in TABLE_ORDER:
        named = mapping.table(table).file
        if named is not None and Path(named).name == path.name:
            return table
    raise UsageError(
        f"cannot tell which table {path.name} holds; pass --table "
        f"({'|'.join(CANONICAL_TABLES)}) or name the file under <table>.file in the mapping"
    )


def plan_sources(
    location: str | Path, mapping: DataMapping, table: str | None = None
) -> SourcePlan:
    """Find the tables of ``location``; ``table`` restricts the report to one table.

    When one table of a folder or database is chosen, its leads are still read (but not
    reported) so that references to leads can be checked.
    """
    if table is not None:
        check_table_name(table)
    text = str(location)
    if is_url(text):
        wanted = (table,) if table else TABLE_ORDER
        needed = set(wanted) | ({"leads"} if table and table != "leads" else set())
        sources: dict[str, TableSource | None] = {}
        for name in TABLE_ORDER:
            if name in needed:
                block = mapping.table(name)
                sources[name] = TableSource(
                    name,
                    "sql",
                    masked(text),
                    url=text,
                    sql_table=block.table or (None if block.query else name),
                    sql_query=block.query,
                )
        return SourcePlan(sources, wanted, standalone=False)
    path = Path(location)
    if path.is_dir():
        wanted = (table,) if table else TABLE_ORDER
        needed = set(wanted) | ({"leads"} if table and table != "leads" else set())
        sources = {name: _in_folder(path, name, mapping) for name in TABLE_ORDER if name in needed}
        return SourcePlan(sources, wanted, standalone=False)
    if path.is_file():
        name = table or _table_of_file(path, mapping)
        return SourcePlan({name: _file_source(name, path)}, (name,), standalone=True)
    raise UsageError(f"{location}: no such file or folder (nor a SQLAlchemy URL with '://')")
