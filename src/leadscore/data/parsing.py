"""Casting raw columns to the canonical types, as polars expressions that never raise.

Every parser returns ``null`` for a value it cannot read; :func:`is_present` tells a missing
value from a present one, so ``present & parsed.is_null()`` marks exactly the cells that failed
to parse. Text is stripped; an empty or blank cell is missing.

Accepted forms (documented in docs/data-contract.md):

* timestamps - the mapping's ``datetime_format`` (one or several) first, then ISO 8601 with
  ``T`` or a space, with or without seconds and fractional seconds, with ``Z``/``+00:00``/
  ``+0000`` offsets or none, and date-only ``YYYY-MM-DD``. Values without an offset are read in
  the configured time zone (ambiguous autumn hours take the earlier instant; hours skipped in
  spring do not exist and fail to parse). Everything is stored as ``Datetime("us", "UTC")``.
* numbers - ``1234.5``, ``-3``, ``1e3``; with a decimal comma ``1234,5``. No thousands
  separators. Infinity and NaN are rejected. Integers also accept integral decimals (``12.0``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import polars as pl

from leadscore.data.schemas import TIMESTAMP

__all__ = [
    "ParseOptions",
    "ParsePlan",
    "expected_type",
    "is_present",
    "parse_plan",
    "parse_series",
    "text_expr",
]

_NAIVE: Final = pl.Datetime("us")
_AWARE_FORMATS: Final = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z")
_NAIVE_FORMATS: Final = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M")
_DATE_FORMAT: Final = "%Y-%m-%d"
_COMMA_NUMBER: Final = r"^[+-]?\d+(,\d+)?$"
_MAX_EXACT_INT: Final = 2.0**53
_OFFSET_DIRECTIVES: Final = ("%z", "%:z", "%::z", "%:::z", "%#z")


@dataclass(frozen=True)
class ParseOptions:
    """How text is read: time zone of naive timestamps, extra timestamp format, decimal mark."""

    timezone: str = "UTC"
    datetime_formats: tuple[str, ...] = ()
    decimal_comma: bool = False


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String(), pl.Categorical(), pl.Null()) or isinstance(dtype, pl.Enum)


def is_present(name: str, source: pl.DataType) -> pl.Expr:
    """True where column ``name`` holds a value (not null, not blank text)."""
    col = pl.col(name)
    if _is_text(source):
        return col.cast(pl.String).str.strip_chars().str.len_bytes().fill_null(0) > 0
    return col.is_not_null()


def text_expr(name: str, source: pl.DataType) -> pl.Expr:
    """Column ``name`` as text, for showing offending values in reports."""
    col = pl.col(name)
    if _is_text(source):
        return col.cast(pl.String)
    if isinstance(source, pl.List | pl.Array | pl.Struct | pl.Object):
        return pl.lit(None, dtype=pl.String)
    return col.cast(pl.String, strict=False)


def _localize(naive: pl.Expr, timezone: str) -> pl.Expr:
    if timezone == "UTC":
        return naive.dt.replace_time_zone("UTC")
    return naive.dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


def _has_offset(fmt: str) -> bool:
    return any(directive in fmt for directive in _OFFSET_DIRECTIVES)


def _timestamp_attempts(options: ParseOptions) -> list[Callable[[pl.Expr], pl.Expr]]:
    """Readers of text timestamps, most common first; each returns UTC or null."""
    tz = options.timezone

    def aware(fmt: str) -> Callable[[pl.Expr], pl.Expr]:
        def read(text: pl.Expr) -> pl.Expr:
            parsed = text.str.strptime(TIMESTAMP, fmt, strict=False, cache=False)
            return parsed.dt.cast_time_unit("us")

        return read

    def naive(fmt: str, spaced: bool = False) -> Callable[[pl.Expr], pl.Expr]:
        def read(text: pl.Expr) -> pl.Expr:
            if spaced:
                text = text.str.replace(" ", "T", literal=True)
            parsed = text.str.strptime(_NAIVE, fmt, strict=False, cache=False)
            return _localize(parsed.dt.cast_time_unit("us"), tz)

        return read

    def spaced_aware(fmt: str) -> Callable[[pl.Expr], pl.Expr]:
        return lambda text: aware(fmt)(text.str.replace(" ", "T", literal=True))

    attempts: list[Callable[[pl.Expr], pl.Expr]] = []
    for fmt in options.datetime_formats:
        attempts.append(aware(fmt) if _has_offset(fmt) else naive(fmt))
    for iso in _AWARE_FORMATS:
        attempts += [aware(iso), spaced_aware(iso)]
    for iso in _NAIVE_FORMATS:
        attempts += [naive(iso), naive(iso, spaced=True)]
    attempts.append(naive(_DATE_FORMAT))
    return attempts


def _finite(value: pl.Expr) -> pl.Expr:
    return pl.when(value.is_finite()).then(value)


def _parse_float_text(text: pl.Expr, options: ParseOptions) -> pl.Expr:
    if options.decimal_comma:
        value = (
            pl.when(text.str.contains(_COMMA_NUMBER))
            .then(text.str.replace(",", ".", literal=True))
            .cast(pl.Float64, strict=False)
        )
    else:
        value = text.cast(pl.Float64, strict=False)
    return _finite(value)


def _integral(value: pl.Expr) -> pl.Expr:
    exact = value.is_finite() & (value == value.round(0)) & (value.abs() <= _MAX_EXACT_INT)
    return pl.when(exact).then(value).cast(pl.Int64, strict=False)


def _parse_text(text: pl.Expr, target: pl.DataType, options: ParseOptions) -> pl.Expr:
    if target == pl.Float64():
        return _parse_float_text(text, options)
    if target == pl.Int64():
        return pl.coalesce(
            text.cast(pl.Int64, strict=False), _integral(_parse_float_text(text, options))
        )
    if target == pl.String():
        return text
    return text.cast(target, strict=False)


def _parse_typed(col: pl.Expr, source: pl.DataType, target: pl.DataType, tz: str) -> pl.Expr:
    if target == TIMESTAMP:
        if isinstance(source, pl.Datetime):
            if source.time_zone is None:
                return _localize(col.dt.cast_time_unit("us"), tz)
            return col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        if isinstance(source, pl.Date):
            return _localize(col.cast(_NAIVE), tz)
        return pl.lit(None, dtype=TIMESTAMP)
    if target == pl.String():
        if source.is_float():
            return pl.coalesce(_integral(col).cast(pl.String), col.cast(pl.String))
        return col.cast(pl.String, strict=False)
    if target == pl.Int64():
        if source.is_float() or source.is_decimal():
            return _integral(col.cast(pl.Float64, strict=False))
        if source.is_integer():
            return col.cast(pl.Int64, strict=False)
        return pl.lit(None, dtype=pl.Int64)
    if target == pl.Float64():
        if source.is_numeric():
            return _finite(col.cast(pl.Float64, strict=False))
        return pl.lit(None, dtype=pl.Float64)
    return col.cast(target, strict=False)


@dataclass(frozen=True, eq=False)
class ParsePlan:
    """Expressions to apply one after another with ``with_columns``; the last one leaves the
    parsed column under the requested name. ``temporaries`` are dropped afterwards.

    Timestamps take several steps: the most likely reader runs on every value, the others
    only on the values it could not read, so a column in one format costs about one parse."""

    steps: tuple[pl.Expr, ...]
    temporaries: tuple[str, ...] = ()


def parse_plan(
    name: str, source: pl.DataType, target: pl.DataType, options: ParseOptions, out: str
) -> ParsePlan:
    """How to cast column ``name`` (of type ``source``) to ``target`` into column ``out``;
    null where missing or unreadable."""
    col = pl.col(name)
    if not _is_text(source):
        parsed = _parse_typed(col, source, target, options.timezone)
        return ParsePlan((parsed.cast(target, strict=False).alias(out),))
    stripped = col.cast(pl.String).str.strip_chars()
    text = pl.when(stripped.str.len_bytes() > 0).then(stripped)
    if target != TIMESTAMP:
        return ParsePlan((_parse_text(text, target, options).cast(target).alias(out),))
    temporary = pl.col(f"{out}__text")
    first, *rest = _timestamp_attempts(options)
    steps = (
        text.alias(temporary.meta.output_name()),
        first(temporary).alias(out),
        pl.when(pl.col(out).is_null()).then(temporary).alias(temporary.meta.output_name()),
        pl.coalesce(pl.col(out), *(attempt(temporary) for attempt in rest)).alias(out),
    )
    return ParsePlan(steps, (temporary.meta.output_name(),))


def parse_series(series: pl.Series, target: pl.DataType, options: ParseOptions) -> pl.Series:
    """``series`` cast to ``target`` by :func:`parse_plan` (for one-off values and tests)."""
    frame = series.to_frame("value").lazy()
    plan = parse_plan("value", series.dtype, target, options, "parsed")
    for step in plan.steps:
        frame = frame.with_columns(step)
    return frame.collect()["parsed"].alias(series.name)


def expected_type(target: pl.DataType, options: ParseOptions) -> str:
    """How the expected type is described in a ``type`` violation."""
    if target == TIMESTAMP:
        extra = "".join(f"'{fmt}' or " for fmt in options.datetime_formats)
        return f"a timestamp ({extra}ISO 8601 such as 2024-03-01T14:05:00Z or 2024-03-01)"
    mark = "decimal comma, e.g. 1234,5" if options.decimal_comma else "e.g. 1234.5"
    if target == pl.Float64():
        return f"a finite number ({mark})"
    if target == pl.Int64():
        return "a whole number (e.g. 250)"
    return f"a value of type {target}"
