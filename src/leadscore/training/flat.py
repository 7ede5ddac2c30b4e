"""Preparing a flat lead table (one row per lead, one target column) for training.

Contract of :func:`prepare_flat_table`, column by column (target, id and time columns aside):

* Text is trimmed; the spellings in ``MISSING_SPELLINGS`` (case-insensitive) are missing.
* Features are ``Float64`` (numbers; booleans as 0/1; text whose non-missing values parse as
  numbers in at least ``NUMERIC_SHARE`` of cells) or ``pl.Enum`` (other text, categories
  sorted; ``to_pandas()`` gives a pandas ``category`` with the same categories). Numeric text
  takes ``1234.5``, ``1,234.5``, ``1234,5``, ``1.234,5`` and ``12%`` (read as 12.0); a column
  decides for a decimal comma when some value shows one and none shows a decimal point, so an
  ambiguous ``1,234`` reads as 1234. The few unreadable cells become missing (noted).
* Excluded, each with a :class:`ColumnNote`: columns in ``exclude``; constant columns (all
  missing, or one value in every row - one value plus missing cells is kept as a presence flag);
  mostly missing ones (``MOSTLY_MISSING_SHARE``); identifier-like ones (named ``id``/``*_id``/
  ``*ID``/``uuid``/``guid``, or text or whole numbers unique in ``ID_UNIQUE_SHARE`` of filled
  rows); free text (more than ``FREE_TEXT_SHARE`` distinct text values); date-like columns,
  because absolute dates do not carry over to future leads (give one as ``time_column``). A
  column in ``keep`` escapes these rules (noted as ``kept``); a kept date becomes days since
  1970-01-01. Cardinality rules need ``MIN_ROWS_FOR_CARDINALITY`` filled rows.
* The target must be filled in every row (missing rows raise, naming them); its positive
  class is inferred from ``KNOWN_PAIRS`` or given as ``positive`` (then every other value is 0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from leadscore.data.parsing import ParseOptions, parse_series
from leadscore.data.schemas import TIMESTAMP
from leadscore.errors import DataError, UsageError

__all__ = [
    "KNOWN_PAIRS",
    "MISSING_SPELLINGS",
    "ColumnNote",
    "FlatTable",
    "SplitIndices",
    "prepare_flat_table",
    "split_flat",
]

MISSING_SPELLINGS: Final = frozenset(
    {"", "na", "n/a", "#n/a", "null", "none", "nan", "-", "select", "unknown", "?"}
)
KNOWN_PAIRS: Final = (
    ("1", "0"),
    ("1.0", "0.0"),
    ("yes", "no"),
    ("y", "n"),
    ("true", "false"),
    ("t", "f"),
    ("won", "lost"),
    ("closed won", "closed lost"),
    ("win", "loss"),
    ("converted", "not converted"),
    ("success", "failure"),
    ("positive", "negative"),
)
NUMERIC_SHARE: Final = 0.95
DATE_SHARE: Final = 0.95
ID_UNIQUE_SHARE: Final = 0.95
FREE_TEXT_SHARE: Final = 0.5
MOSTLY_MISSING_SHARE: Final = 0.99
MIN_ROWS_FOR_CARDINALITY: Final = 20
_LISTED: Final = 10
_DATE_FORMATS: Final = ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d")
_ID_NAME: Final = re.compile(r"(^|_)(id|uuid|guid)$")
_POINT_NUMBER: Final = r"^[+-]?((\d{1,3}(,\d{3})+|\d+)(\.\d+)?|\.\d+)([eE][+-]?\d+)?$"
_COMMA_NUMBER: Final = r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$"
_COMMA_EVIDENCE: Final = r"(^|\d)(,\d{1,2}|,\d{4,})$|\.\d{3},\d+$"
_POINT_EVIDENCE: Final = r"(^|\d)(\.\d{1,2}|\.\d{4,})$|,\d{3}\.\d+$"

Kind = Literal["number", "category", "date"]
Rows = npt.NDArray[np.int64]
NoteAction = Literal["excluded", "kept", "transformed"]
NoteReason = Literal[
    "boolean_as_number",
    "constant",
    "date_as_days",
    "date_like",
    "excluded_by_user",
    "free_text",
    "identifier_like",
    "missing_placeholders",
    "mostly_missing",
    "numeric_text",
    "unsupported_type",
]


@dataclass(frozen=True)
class ColumnNote:
    """What happened to one column: ``excluded``, ``kept`` despite ``reason`` (it is in
    ``keep``), or ``transformed``; ``reason`` is a stable code, ``detail`` a sentence."""

    column: str
    action: NoteAction
    reason: NoteReason
    detail: str


@dataclass(frozen=True, eq=False)
class FlatTable:
    """A flat table ready for training; row ``i`` of every member is the same lead."""

    features: pl.DataFrame
    target: npt.NDArray[np.int8]
    ids: pl.Series
    times: pl.Series | None
    notes: tuple[ColumnNote, ...]
    positive_label: str

    @property
    def excluded(self) -> tuple[str, ...]:
        """The columns left out of ``features``, in input order."""
        return tuple(note.column for note in self.notes if note.action == "excluded")


class SplitIndices(NamedTuple):
    """Row positions of each part, sorted ascending, disjoint, together every row."""

    train: Rows
    validation: Rows
    test: Rows


def _quoted(values: Sequence[object], limit: int = _LISTED) -> str:
    shown = ", ".join(repr(value) for value in list(values)[:limit])
    return shown + (", …" if len(values) > limit else "")


def _rows(mask: pl.Series) -> str:
    rows = (mask.arg_true() + 1).to_list()
    listed = ", ".join(str(row) for row in rows[:_LISTED])
    return ("rows " if len(rows) > 1 else "row ") + listed + (", …" if len(rows) > _LISTED else "")


def _clean_text(series: pl.Series) -> tuple[pl.Series, dict[str, int]]:
    """``series`` as trimmed text with missing spellings as null, and the non-blank
    placeholder spellings found with their counts."""
    text = parse_series(series, pl.String(), ParseOptions()).str.strip_chars()
    is_missing = text.str.to_lowercase().is_in(list(MISSING_SPELLINGS)).fill_null(False)
    found = text.filter(is_missing & (text.str.len_chars() > 0)).value_counts(sort=True)
    placeholders = dict(zip(found[text.name].to_list(), found["count"].to_list(), strict=True))
    cleaned = pl.select(pl.when(~is_missing).then(text).alias(series.name)).to_series()
    return cleaned, placeholders


def _parse_numbers(text: pl.Series) -> pl.Series:
    """Numeric text as Float64 (see the module contract); null where unreadable."""
    text = text.str.strip_suffix("%").str.strip_chars()
    point = text.str.contains(_POINT_EVIDENCE).any()
    if text.str.contains(_COMMA_EVIDENCE).any() and not point:
        readable = text.str.contains(_COMMA_NUMBER)
        plain = text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    else:
        readable = text.str.contains(_POINT_NUMBER)
        plain = text.str.replace_all(",", "", literal=True)
    plain = pl.select(pl.when(readable).then(plain).alias(text.name)).to_series()
    return parse_series(plain, pl.Float64(), ParseOptions())


def _is_integral(values: pl.Series) -> bool:
    filled = values.drop_nulls()
    return filled.len() > 0 and bool((filled == filled.round(0)).all())


def _id_named(name: str) -> bool:
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return bool(_ID_NAME.search(re.sub(r"[^a-z0-9]+", "_", snake.lower()).strip("_")))


def _screen(values: pl.Series, kind: Kind) -> tuple[NoteReason, str] | None:
    """Why a typed column should not be a feature, or None."""
    n = values.len()
    filled = n - values.null_count()
    distinct = values.drop_nulls().n_unique()
    if filled == 0:
        return "constant", "every value is missing"
    if distinct == 1 and filled == n:
        return "constant", f"one value ({values[0]!r}) in every row"
    if filled <= (1 - MOSTLY_MISSING_SHARE) * n:
        return "mostly_missing", f"filled in only {filled:,} of {n:,} rows"
    if _id_named(values.name):
        return "identifier_like", "named like an identifier"
    if filled < MIN_ROWS_FOR_CARDINALITY or kind == "date":
        return None
    unique_share = distinct / filled
    if (kind == "category" or _is_integral(values)) and unique_share >= ID_UNIQUE_SHARE:
        return "identifier_like", f"{distinct:,} distinct values in {filled:,} filled rows"
    if kind == "category" and unique_share > FREE_TEXT_SHARE:
        return "free_text", f"free text: {distinct:,} distinct values in {filled:,} filled rows"
    return None


def _typed(series: pl.Series, notes: list[ColumnNote]) -> tuple[pl.Series, Kind] | None:
    """``series`` as Float64 numbers, UTC dates or clean text; None for other types."""
    name, dtype = series.name, series.dtype
    if dtype == pl.Boolean():
        notes.append(ColumnNote(name, "transformed", "boolean_as_number", "true/false as 1/0"))
        return series.cast(pl.Float64), "number"
    if dtype.is_numeric():
        return parse_series(series, pl.Float64(), ParseOptions()), "number"
    if isinstance(dtype, pl.Date | pl.Datetime):
        return parse_series(series, TIMESTAMP, ParseOptions()), "date"
    if dtype not in (pl.String(), pl.Categorical(), pl.Null()) and not isinstance(dtype, pl.Enum):
        return None
    text, placeholders = _clean_text(series)
    if placeholders:
        found = ", ".join(f"{value!r} ({count:,})" for value, count in placeholders.items())
        notes.append(
            ColumnNote(name, "transformed", "missing_placeholders", f"read as missing: {found}")
        )
    filled = text.len() - text.null_count()
    numbers = _parse_numbers(text)
    unread = filled - (numbers.len() - numbers.null_count())
    if filled and unread <= (1 - NUMERIC_SHARE) * filled:
        extra = f"; {unread:,} unreadable cells read as missing" if unread else ""
        detail = f"numeric text parsed as numbers{extra}"
        notes.append(ColumnNote(name, "transformed", "numeric_text", detail))
        return numbers, "number"
    if filled and text.str.contains(r"\d").sum() >= DATE_SHARE * filled:
        dates = parse_series(text, TIMESTAMP, ParseOptions(datetime_formats=_DATE_FORMATS))
        if dates.len() - dates.null_count() >= DATE_SHARE * filled:
            return dates, "date"
    return text, "category"


def _prepare_column(series: pl.Series, keep: bool) -> tuple[pl.Series | None, list[ColumnNote]]:
    """The feature made of ``series`` (None when excluded) and the notes about it."""
    name = series.name
    notes: list[ColumnNote] = []
    typed = _typed(series, notes)
    if typed is None:
        detail = f"values of type {series.dtype} cannot be a feature"
        return None, [*notes, ColumnNote(name, "excluded", "unsupported_type", detail)]
    values, kind = typed
    problem = _screen(values, kind)
    if problem is None and kind == "date":
        problem = "date_like", "dates; absolute dates do not carry over to new leads"
    if problem is not None:
        reason, detail = problem
        if not keep:
            return None, [*notes, ColumnNote(name, "excluded", reason, detail)]
        notes.append(ColumnNote(name, "kept", reason, f"{detail}; kept as asked"))
    if kind == "date":
        values = (values.dt.epoch("s") / 86_400).cast(pl.Float64)
        notes.append(ColumnNote(name, "transformed", "date_as_days", "days since 1970-01-01"))
    if kind == "category":
        values = values.cast(pl.Enum(values.drop_nulls().unique().sort().to_list()))
    return values.alias(name), notes


def _target(
    frame: pl.DataFrame, target: str, positive: str | None
) -> tuple[npt.NDArray[np.int8], str]:
    shown, _ = _clean_text(frame[target])
    key = shown.str.to_lowercase()
    if key.null_count():
        raise DataError(
            f"target column {target!r} is missing in {key.null_count():,} of {key.len():,} rows "
            f"({_rows(key.is_null())}; row 1 is the first data row); fill or remove them"
        )
    spellings = (
        pl.DataFrame({"key": key, "shown": shown})
        .group_by("key", "shown")
        .len()
        .sort(["len", "shown"], descending=[True, False])
        .unique("key", keep="first", maintain_order=True)
    )  # the most frequent spelling of each value, most frequent value first
    spelled: dict[str, str] = dict(
        zip(spellings["key"].to_list(), spellings["shown"].to_list(), strict=True)
    )
    found = _quoted(sorted(spelled.values()))
    if len(spelled) < 2:
        raise DataError(
            f"target column {target!r} holds one value ({found}) in every row; "
            "training needs rows of both outcomes"
        )
    if positive is not None:
        wanted = positive.strip().lower()
        if wanted not in spelled:
            raise UsageError(
                f"positive class {positive!r} is not a value of target column {target!r}; "
                f"its values are {found}"
            )
    else:
        pairs = [pair for pair in KNOWN_PAIRS if set(pair) == set(spelled)]
        if not pairs:
            raise UsageError(
                f"cannot tell the positive class of target column {target!r}: it holds "
                f"{found}; name it with positive= (--positive)"
            )
        wanted = pairs[0][0]
    return (key == wanted).to_numpy().astype(np.int8), spelled[wanted]


def _ids(frame: pl.DataFrame, id_column: str | None) -> pl.Series:
    if id_column is None:
        return pl.int_range(1, frame.height + 1, eager=True).cast(pl.String).alias("row")
    ids, _ = _clean_text(frame[id_column])
    if ids.null_count():
        raise DataError(
            f"id column {id_column!r} is missing in {ids.null_count():,} rows "
            f"({_rows(ids.is_null())}); every lead needs an id"
        )
    repeated = ids.filter(ids.is_duplicated()).unique(maintain_order=True)
    if repeated.len():
        raise DataError(
            f"id column {id_column!r} repeats {repeated.len():,} ids "
            f"({_quoted(repeated.to_list(), 5)}); a flat table has one row per lead"
        )
    return ids


def _times(frame: pl.DataFrame, time_column: str) -> pl.Series:
    raw = frame[time_column]
    times = parse_series(raw, TIMESTAMP, ParseOptions())
    if times.null_count():
        bad = times.is_null()
        raise DataError(
            f"time column {time_column!r} has {times.null_count():,} missing or unreadable "
            f"values ({_rows(bad)}: {_quoted(raw.filter(bad).to_list(), 3)}); expected "
            "ISO 8601 timestamps such as 2024-03-01T14:05:00Z or 2024-03-01"
        )
    return times


def _check_names(
    frame: pl.DataFrame, roles: dict[str, str | None], exclude: Sequence[str], keep: Sequence[str]
) -> None:
    columns = set(frame.columns)
    named = {role: name for role, name in roles.items() if name is not None}
    asked = [*named.values(), *exclude, *keep]
    unknown = [name for name in asked if name not in columns]
    if unknown:
        raise UsageError(
            f"no column named {_quoted(unknown)} in the table; its columns are "
            f"{_quoted(frame.columns, 20)}"
        )
    if len(set(named.values())) < len(named):
        raise UsageError(f"one column cannot play two roles: {named}")
    clash = sorted((set(exclude) & set(keep)) | (set(named.values()) & {*exclude, *keep}))
    if clash:
        raise UsageError(
            f"columns {_quoted(clash)} are named twice: in exclude and keep, or as target, "
            "id or time column as well; name each column once"
        )


def prepare_flat_table(
    frame: pl.DataFrame,
    *,
    target: str,
    id_column: str | None = None,
    positive: str | None = None,
    exclude: Sequence[str] = (),
    keep: Sequence[str] = (),
    time_column: str | None = None,
) -> FlatTable:
    """Turn a flat lead table into features, a 0/1 target, ids and times (module contract).

    Raises UsageError for unknown or doubly named columns and an undecidable positive class,
    DataError for missing targets, ids or times, repeated ids, or a one-valued target.
    """
    _check_names(frame, {"target": target, "id": id_column, "time": time_column}, exclude, keep)
    if frame.height == 0:
        raise DataError("the table has no rows")
    labels, positive_label = _target(frame, target, positive)
    ids = _ids(frame, id_column)
    times = _times(frame, time_column) if time_column is not None else None
    features: list[pl.Series] = []
    notes: list[ColumnNote] = []
    for name in frame.columns:
        if name in (target, id_column, time_column):
            continue
        if name in exclude:
            notes.append(ColumnNote(name, "excluded", "excluded_by_user", "excluded as asked"))
            continue
        feature, column_notes = _prepare_column(frame[name], keep=name in keep)
        notes += column_notes
        if feature is not None:
            features.append(feature)
    if not features:
        reasons = "; ".join(f"{n.column}: {n.reason}" for n in notes if n.action == "excluded")
        raise DataError(f"no column is left to be a feature ({reasons[:500]})")
    return FlatTable(pl.DataFrame(features), labels, ids, times, tuple(notes), positive_label)


def _cut(
    rows: npt.NDArray[np.int64], test: float, validation: float
) -> list[npt.NDArray[np.int64]]:
    """``rows`` cut in order into train, validation (``round(n * validation)``) and test."""
    n_test, n_val = round(len(rows) * test), round(len(rows) * validation)
    cut = len(rows) - n_test - n_val
    return [rows[:cut], rows[cut : cut + n_val], rows[cut + n_val :]]


def _check_size(name: str, value: float) -> None:
    if not 0 <= value < 1:
        raise UsageError(
            f"The {name!r} parameter of split_flat must be a float in the range [0, 1). "
            f"Got {value!r} instead."
        )


def split_flat(
    table: FlatTable,
    *,
    test_size: float = 0.2,
    validation_size: float = 0.2,
    seed: int = 0,
    strata: npt.NDArray[np.int64] | None = None,
) -> SplitIndices:
    """Split rows into train, validation and test.

    With ``table.times`` the split is temporal: rows sorted by time (ties by row order), the
    earliest go to train, then validation, then the latest to test. Otherwise it is random and
    stratified: each class is shuffled with ``seed`` and split by ``round(size * class rows)``;
    ``strata`` (a code per row, e.g. treatment arm and class combined) replaces the classes as
    the groups stratified on. Raises DataError when a non-empty part would lack one of the
    classes.
    """
    _check_size("test_size", test_size)
    _check_size("validation_size", validation_size)
    if test_size + validation_size >= 1:
        raise UsageError(
            "test_size + validation_size must be below 1 to leave rows for training. "
            f"Got {test_size!r} + {validation_size!r} instead."
        )
    y = table.target
    if table.times is not None:
        order = np.argsort(table.times.to_numpy(), kind="stable").astype(np.int64)
        parts = _cut(order, test_size, validation_size)
    else:
        rng = np.random.default_rng(seed)
        parts = [np.empty(0, np.int64) for _ in range(3)]
        groups = y if strata is None else strata
        for cls in (0, 1) if strata is None else np.unique(strata).tolist():
            rows = rng.permutation(np.flatnonzero(groups == cls).astype(np.int64))
            pieces = _cut(rows, test_size, validation_size)
            parts = [np.concatenate(pair) for pair in zip(parts, pieces, strict=True)]
    names = ("train", "validation", "test")
    for name, part, size in zip(names, parts, (1.0, validation_size, test_size), strict=True):
        if size > 0 and len(np.unique(y[part])) < 2:
            raise DataError(
                f"the {name} part ({len(part):,} rows) would hold only one class; the table "
                f"has {int(y.sum()):,} positive rows of {len(y):,}: too few to split this way"
            )
    train, validation, test = (np.sort(part) for part in parts)
    return SplitIndices(train, validation, test)
