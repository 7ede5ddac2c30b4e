"""Row rules of one table as polars expressions, derived from the pandera schemas.

:func:`check_rows` turns a raw frame (any column types, a row index) into a lazy frame with the
canonical columns cast to their types, the raw text kept for reports, and one boolean *flag*
column per rule and column (True = broken). Nothing is collected here; the caller filters the
flagged rows, so only violations are ever materialised.

The rules come from :func:`leadscore.data.schemas.table_schema`: the column types (``type``),
``nullable`` (``not_null``) and every pandera check, named as pandera names it
(``str_matches``, ``isin``, ``greater_than_or_equal_to``, ...). Built-in pandera checks are
plain polars expressions, which are taken over as they are and so run streaming; any other
check runs through pandera itself on each batch. Uniqueness is not a row rule: it is decided
across rows (see :mod:`leadscore.data.duplicates`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn

import pandera.polars as pa
import polars as pl
from pandera.api.function_dispatch import Dispatcher
from pandera.api.polars.types import PolarsData
from pandera.backends.polars.register import register_polars_backends

from leadscore.data.parsing import (
    ParseOptions,
    ParsePlan,
    expected_type,
    is_present,
    parse_plan,
    text_expr,
)
from leadscore.data.schemas import table_schema

__all__ = [
    "EMPTY_ROW",
    "EMPTY_ROW_FLAG",
    "OVERFLOW",
    "ROW",
    "CheckedFrame",
    "RuleFlag",
    "check_expr",
    "check_rows",
    "native_check_expr",
    "raw_name",
    "type_flag",
]

ROW: Final = "__ls_row"
OVERFLOW: Final = "__ls_overflow"
_PARSED: Final = "__ls_parsed_"
_PRESENT: Final = "__ls_present_"
_RAW: Final = "__ls_raw_"
_FLAG: Final = "__ls_flag_"
EMPTY_ROW: Final = "empty_row"
EMPTY_ROW_FLAG: Final = _FLAG + EMPTY_ROW


def raw_name(column: str) -> str:
    """The name under which the raw text of ``column`` is kept for reports."""
    return f"{_RAW}{column}"


def type_flag(column: str) -> str:
    """The name of the flag that marks values of ``column`` that did not parse."""
    return f"{_FLAG}type_{column}"


@dataclass(frozen=True, eq=False)
class RuleFlag:
    """A boolean column ``flag`` (True = broken) and how to report it."""

    flag: str
    column: str | None
    rule: str
    value: pl.Expr
    message: pl.Expr


@dataclass(frozen=True, eq=False)
class CheckedFrame:
    """A lazy frame with canonical typed columns, raw text copies and one flag per rule."""

    frame: pl.LazyFrame
    flags: tuple[RuleFlag, ...]
    canonical: tuple[str, ...]
    missing: tuple[str, ...]
    extras: tuple[str, ...]

    @property
    def flag_names(self) -> list[str]:
        return [flag.flag for flag in self.flags]


class _NotAnExpression(Exception):
    pass


class _SelectRecorder:
    """Stands in for the LazyFrame a built-in check selects from and returns the expression."""

    def select(self, *exprs: Any, **named: Any) -> pl.Expr:
        if len(exprs) == 1 and not named and isinstance(exprs[0], pl.Expr):
            return exprs[0]
        raise _NotAnExpression

    def __getattr__(self, name: str) -> NoReturn:
        raise _NotAnExpression


def _pandera_batches(check: pa.Check, key: str | None) -> Callable[[pl.Series], pl.Series]:
    def run(batch: pl.Series) -> pl.Series:
        frame = batch.struct.unnest() if key is None else batch.to_frame(key)
        result = check(frame.lazy(), key)
        output: pl.Series = result.check_output.collect().to_series()
        return output

    return run


def _check_function(check: pa.Check) -> Callable[..., Any]:
    """The check's function; for a built-in check the registered dispatcher, because schemas
    hold copies made before pandera registered its polars implementations."""
    function: Callable[..., Any] = check._check_fn
    if isinstance(function, Dispatcher):
        registry: Mapping[str, Callable[..., Any]] = pa.Check.CHECK_FUNCTION_REGISTRY
        return registry.get(str(check.name), function)
    return function


def native_check_expr(check: pa.Check, key: str | None) -> pl.Expr | None:
    """The polars expression a vectorised pandera check selects (True = passes), or None when
    the check is not a single polars expression (element-wise or custom code)."""
    register_polars_backends()
    if check.element_wise:
        return None
    try:
        recorded = _check_function(check)(
            PolarsData(_SelectRecorder(), key or "*"),  # type: ignore[arg-type]
            **check._check_kwargs,
        )
    except _NotAnExpression:
        return None
    return recorded if isinstance(recorded, pl.Expr) else None


def check_expr(check: pa.Check, key: str | None, columns: list[str]) -> pl.Expr:
    """A boolean expression that is True where ``check`` passes (null counts as pass when the
    check ignores missing values). ``key`` is the column of a column check, None for a frame
    check over ``columns``. Checks that are not polars expressions run through pandera on
    each batch."""
    passed = native_check_expr(check, key)
    if passed is None:
        source = pl.col(key) if key is not None else pl.struct(columns)
        passed = source.map_batches(
            _pandera_batches(check, key), return_dtype=pl.Boolean, is_elementwise=True
        )
    if check.ignore_na:
        return passed | passed.is_null()
    return passed.fill_null(False)


def _rule_name(check: pa.Check) -> str:
    return str(check.name).lstrip("_")


def _values_expr(column: str, vocabulary: Mapping[str, str | None]) -> pl.Expr:
    col = pl.col(column)
    to_null = [key for key, value in vocabulary.items() if value is None]
    renamed = {key: value for key, value in vocabulary.items() if value is not None}
    out = col.replace(renamed) if renamed else col
    if to_null:
        out = pl.when(col.is_in(to_null)).then(None).otherwise(out)
    return out


def check_rows(
    raw: pl.LazyFrame,
    table: str,
    options: ParseOptions,
    values: Mapping[str, Mapping[str, str | None]] | None = None,
) -> CheckedFrame:
    """Cast ``raw`` (which has a ``ROW`` index) to the canonical types of ``table`` and flag
    every broken row rule; see the module docstring."""
    schema = table_schema(table)
    values = values or {}
    source = raw.collect_schema()
    data_columns = [name for name in source.names() if name not in {ROW, OVERFLOW}]
    canonical = [name for name in schema.columns if name in source]
    missing = tuple(
        name for name, col in schema.columns.items() if col.required and name not in source
    )
    extras = tuple(name for name in data_columns if name not in schema.columns)
    dtypes = {name: schema.columns[name].dtype.type for name in canonical}

    stage1: list[pl.Expr] = []
    plans: list[ParsePlan] = []
    for name in canonical:
        stage1 += [
            text_expr(name, source[name]).alias(raw_name(name)),
            is_present(name, source[name]).alias(_PRESENT + name),
        ]
        plans.append(parse_plan(name, source[name], dtypes[name], options, _PARSED + name))
    if data_columns:
        stage1.append(pl.all_horizontal(pl.col(data_columns).is_null()).alias(EMPTY_ROW_FLAG))

    flags: list[RuleFlag] = []
    stage2: list[pl.Expr] = []
    if data_columns:
        flags.append(
            RuleFlag(
                EMPTY_ROW_FLAG,
                None,
                EMPTY_ROW,
                pl.lit(None, dtype=pl.String),
                pl.lit("the row is empty (a blank line or only delimiters)"),
            )
        )
    if OVERFLOW in source:
        flags.append(
            RuleFlag(
                _FLAG + "field_count",
                None,
                "field_count",
                pl.col(OVERFLOW),
                pl.lit(
                    f"the row has more fields than the header ({len(data_columns)}); "
                    "check the delimiter and the quoting"
                ),
            )
        )
        stage1.append(pl.col(OVERFLOW).is_not_null().alias(_FLAG + "field_count"))
    for name in canonical:
        parsed = pl.col(_PARSED + name)
        vocabulary = values.get(name, {})
        final = _values_expr(_PARSED + name, vocabulary) if vocabulary else parsed
        stage2.append(final.alias(name))
        flag = type_flag(name)
        stage2.append((pl.col(_PRESENT + name) & parsed.is_null()).alias(flag))
        expected = expected_type(dtypes[name], options)
        flags.append(
            RuleFlag(
                flag,
                name,
                "type",
                pl.col(raw_name(name)),
                pl.format(f"{name} {{}} is not {expected}", _quoted(raw_name(name))),
            )
        )
    for name in extras:
        if name in values and source[name] in (pl.String(), pl.Categorical()):
            stage2.append(_values_expr(name, values[name]).alias(name))

    stage3: list[pl.Expr] = []
    for name in canonical:
        column = schema.columns[name]
        type_failed = pl.col(type_flag(name))
        if not column.nullable:
            flag = f"{_FLAG}not_null_{name}"
            stage3.append((pl.col(name).is_null() & ~type_failed).alias(flag))
            flags.append(
                RuleFlag(
                    flag,
                    name,
                    "not_null",
                    pl.col(raw_name(name)),
                    pl.lit(f"{name} is missing; every {table} row needs one"),
                )
            )
        text = dtypes[name] == pl.String()
        shown = pl.col(name) if text else pl.col(raw_name(name))
        for index, check in enumerate(column.checks):
            flag = f"{_FLAG}check{index}_{name}"
            passed = check_expr(check, name, canonical)
            stage3.append((pl.col(name).is_not_null() & ~passed).alias(flag))
            flags.append(
                RuleFlag(
                    flag,
                    name,
                    _rule_name(check),
                    shown,
                    pl.format(
                        f"{name} {{}} is not allowed: {check.error}{_hint(table, name, dtypes)}",
                        _quoted(name if text else raw_name(name)),
                    ),
                )
            )
    if not missing:
        for index, check in enumerate(schema.checks):
            flag = f"{_FLAG}frame{index}"
            passed = check_expr(check, None, canonical)
            roots = dict.fromkeys(n for n in passed.meta.root_names() if n in canonical)
            names = list(roots) or canonical
            parsed_all = ~pl.any_horizontal([pl.col(type_flag(n)) for n in names])
            stage3.append((~passed & parsed_all).alias(flag))
            flags.append(
                RuleFlag(
                    flag,
                    ", ".join(names),
                    _rule_name(check),
                    pl.concat_str(
                        [pl.format(f"{n}={{}}", _quoted(n, null="null")) for n in names],
                        separator=", ",
                    ),
                    pl.lit(f"{check.error}"),
                )
            )

    frame = raw.with_columns(stage1)
    for step in range(max((len(plan.steps) for plan in plans), default=0)):
        frame = frame.with_columns([plan.steps[step] for plan in plans if step < len(plan.steps)])
    frame = frame.with_columns(stage2).with_columns(stage3)
    temporaries = [name for plan in plans for name in plan.temporaries]
    frame = frame.drop(
        [_PARSED + n for n in canonical] + [_PRESENT + n for n in canonical] + temporaries
    )
    return CheckedFrame(frame, tuple(flags), tuple(canonical), missing, extras)


def _quoted(column: str, null: str = "''") -> pl.Expr:
    text = pl.col(column).cast(pl.String)
    return pl.when(text.is_null()).then(pl.lit(null)).otherwise(pl.format("'{}'", text))


def _hint(table: str, column: str, dtypes: Mapping[str, pl.DataType]) -> str:
    if dtypes[column] == pl.String():
        return f"; map CRM values onto it under {table}.values.{column} in the mapping file"
    return ""
