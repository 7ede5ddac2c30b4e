"""The mapping file: how a CRM's own column names and vocabularies map onto the data contract.

A mapping is a YAML file, checked with pydantic. Every key is optional::

    timezone: Europe/Berlin          # naive timestamps are read in this zone (default UTC)
    datetime_format: "%d.%m.%Y %H:%M"  # or a list of formats; tried before ISO 8601
    csv: {delimiter: ";", encoding: cp1252, quote_char: '"', decimal: ","}
    leads:
      file: Leads_Export.csv         # or table: crm_leads / query: SELECT ... (SQL sources)
      columns: {"Lead ID": lead_id, "Create Date": created_at, "Lead Source": source}
      values: {source: {"Web Form": web_form, "Messe": trade_fair}}
      csv: {delimiter: ","}          # per-table override of the top-level csv block
      datetime_format: "%d.%m.%Y"    # per-table override
    touchpoints: {...}
    outcomes: {...}

``columns`` renames (CRM name -> canonical or extra name); ``values`` replaces whole values of a
text column after renaming (``null`` as target marks a value as missing).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from leadscore.data.dialect import normalize_delimiter, normalize_encoding
from leadscore.data.schemas import CANONICAL_TABLES
from leadscore.errors import ConfigError, DataError

__all__ = [
    "CsvOptions",
    "DataMapping",
    "TableMapping",
    "check_datetime_format",
    "check_timezone",
    "load_mapping",
]

_DIRECTIVE = re.compile(r"%(?:[-_0^#]?[a-zA-Z%+]|\.?\d?f|:{1,3}z|#z)")
_DATE_PART = re.compile(r"%[-_0^#]?[YyFDdjeGgUWVx]")


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone such as ``Europe/Berlin``; ValueError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as UTC or Europe/Berlin"
        ) from None
    return name


def check_datetime_format(fmt: object) -> tuple[str, ...]:
    """The format(s) as a tuple, if each is a strftime format with a date part; else
    ValueError."""
    formats = () if fmt is None else (fmt,) if isinstance(fmt, str) else fmt
    if not isinstance(formats, list | tuple) or not all(isinstance(f, str) for f in formats):
        raise ValueError("datetime_format is a format string or a list of format strings")
    for one in formats:
        rest = _DIRECTIVE.sub("", one)
        if "%" in rest or not _DATE_PART.search(one):
            raise ValueError(
                f"{one!r} is not a strftime format with a date part, such as '%d.%m.%Y %H:%M'"
            )
    return tuple(formats)


class CsvOptions(BaseModel):
    """Overrides of the detected CSV dialect; unset fields are detected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str | None = None
    encoding: str | None = None
    quote_char: str | None = Field(default=None, description="'' reads without quoting")
    decimal: Literal[".", ","] | None = None

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str | None) -> str | None:
        try:
            return None if value is None else normalize_delimiter(value)
        except DataError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        try:
            return None if value is None else normalize_encoding(value)
        except DataError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("quote_char")
    @classmethod
    def _quote(cls, value: str | None) -> str | None:
        if value is not None and len(value) > 1:
            raise ValueError(f"quote_char is one character or ''; got {value!r}")
        return value

    def overridden_by(self, other: CsvOptions | None) -> CsvOptions:
        """These options with every field that ``other`` sets replaced by its value."""
        if other is None:
            return self
        return self.model_copy(update=other.model_dump(exclude_none=True))


class TableMapping(BaseModel):
    """Where one canonical table comes from and how its columns and values are renamed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str | None = None
    table: str | None = None
    query: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    csv: CsvOptions | None = None
    datetime_format: tuple[str, ...] = ()

    @field_validator("datetime_format", mode="before")
    @classmethod
    def _format(cls, value: object) -> tuple[str, ...]:
        return check_datetime_format(value)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for source, target in value.items():
            if not target.strip():
                raise ValueError(f"column {source!r} is mapped onto an empty name")
            if target in seen:
                raise ValueError(
                    f"columns {seen[target]!r} and {source!r} are both mapped onto {target!r}"
                )
            seen[target] = source
        return value

    @model_validator(mode="after")
    def _one_sql_source(self) -> TableMapping:
        if self.table is not None and self.query is not None:
            raise ValueError("give either table or query, not both")
        return self


class DataMapping(BaseModel):
    """A whole mapping file: defaults for every table plus one block per canonical table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    datetime_format: tuple[str, ...] = ()
    csv: CsvOptions = Field(default_factory=CsvOptions)
    leads: TableMapping = Field(default_factory=TableMapping)
    touchpoints: TableMapping = Field(default_factory=TableMapping)
    outcomes: TableMapping = Field(default_factory=TableMapping)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("datetime_format", mode="before")
    @classmethod
    def _format(cls, value: object) -> tuple[str, ...]:
        return check_datetime_format(value)

    @model_validator(mode="after")
    def _values_on_text_columns(self) -> DataMapping:
        for name, spec in CANONICAL_TABLES.items():
            for column in self.table(name).values:
                if column in spec.names and spec.column(column).dtype != pl.String():
                    raise ValueError(
                        f"{name}.values.{column}: value vocabularies apply to text columns; "
                        f"{column} is {spec.column(column).dtype}"
                    )
        return self

    def table(self, name: str) -> TableMapping:
        """The block of canonical table ``name``."""
        block: TableMapping = getattr(self, name)
        return block

    def csv_for(self, name: str) -> CsvOptions:
        """The CSV options of table ``name``: its own block over the top-level one."""
        return self.csv.overridden_by(self.table(name).csv)

    def datetime_formats_for(self, name: str) -> tuple[str, ...]:
        """The timestamp formats of table ``name``: its own, else the top-level ones."""
        return self.table(name).datetime_format or self.datetime_format


_KEYS: Final = {
    "": sorted(DataMapping.model_fields),
    "table": sorted(TableMapping.model_fields),
    "csv": sorted(CsvOptions.model_fields),
}


def _describe(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    where = ".".join(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        parent = loc[-2] if len(loc) > 1 else ""
        level = "csv" if parent == "csv" else "table" if parent in CANONICAL_TABLES else ""
        return f"{where}: unknown key; allowed keys here are {', '.join(_KEYS[level])}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def parse_mapping(data: Any, origin: str = "mapping") -> DataMapping:
    """Check ``data`` (parsed YAML) and return the mapping, or a ConfigError naming each key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{origin}: expected a YAML mapping at the top, got {type(data).__name__}"
        )
    try:
        return DataMapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ConfigError(f"{origin} is not a valid mapping: {problems}") from exc


def load_mapping(path: str | Path) -> DataMapping:
    """Read and check the YAML mapping file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read mapping file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"mapping file {path} is not valid YAML: {exc}") from exc
    return parse_mapping(data, origin=f"mapping file {path}")
