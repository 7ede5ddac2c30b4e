"""From the feature frame to the numeric matrix both models read.

Numeric features pass through as float64 (missing stays NaN). A categorical feature becomes
the integer code of its value in a vocabulary learned at fit time; rare and unseen values
share the code of ``other`` and a missing value stays NaN. LightGBM treats these codes as
categories natively; the baseline one-hot encodes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.features.activity import FEW_VALUES, enum_code, looked_up

__all__ = ["BLOCK_ROWS", "FeatureEncoder"]

OTHER = "(other)"


#: From this many rows on, :meth:`FeatureEncoder.transform` exports the frame in one piece.
BLOCK_ROWS: Final = 1024


class FeatureEncoder:
    """Learns category vocabularies; turns a feature frame into a float64 matrix."""

    def __init__(self, *, min_category_count: int = 20) -> None:
        self.min_category_count = min_category_count

    def fit(
        self, frame: pl.DataFrame, names: Sequence[str], categorical: Sequence[str]
    ) -> FeatureEncoder:
        """Remember the column order and each categorical column's frequent values."""
        self.names_ = tuple(names)
        self.categorical_ = tuple(c for c in names if c in set(categorical))
        self.vocabularies_: dict[str, tuple[str, ...]] = {}
        for column in self.categorical_:
            counts = frame[column].drop_nulls().value_counts(sort=True)
            frequent = counts.filter(pl.col("count") >= self.min_category_count)[column]
            self.vocabularies_[column] = (*sorted(frequent.to_list()), OTHER)
        self.numeric_ = [name for name in self.names_ if name not in self.vocabularies_]
        self.numeric_set_ = frozenset(self.numeric_)
        self.positions_ = {name: i for i, name in enumerate(self.names_)}
        return self

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of the categorical columns in the matrix."""
        return [self.names_.index(c) for c in self.categorical_]

    def transform(self, frame: pl.DataFrame) -> NDArray[np.float64]:
        """The float64 matrix of ``frame``'s feature columns in fitted order.

        Columns are read as one block (cast only when one is not numeric yet) and
        categories are coded through an enum cast or, for a few rows, looked up in Python,
        without building a query: encoding one row must cost little next to the prediction
        itself.
        """
        if frame.height >= BLOCK_ROWS:
            return self._transform_block(frame)
        numeric = frame[self.numeric_]
        block = numeric.to_numpy()
        if block.dtype != np.float64:  # a column that is not numeric yet
            block = numeric.select(pl.all().cast(pl.Float64)).to_numpy()
        matrix = np.empty((frame.height, len(self.names_)), dtype=np.float64)
        positions = self.positions_
        matrix[:, [positions[name] for name in self.numeric_]] = block
        if self.vocabularies_:
            names = list(self.vocabularies_)
            columns = [positions[name] for name in names]
            if frame.height <= FEW_VALUES:
                for name, column in zip(names, columns, strict=True):
                    places = looked_up(frame.get_column(name), self.vocabularies_[name][:-1])
                    matrix[:, column] = [np.nan if p is None else p for p in places]
            else:
                codes = frame.select(
                    _code_columns(tuple((n, self.vocabularies_[n][:-1]) for n in names))
                )
                matrix[:, columns] = codes.to_numpy()
        return matrix

    def _transform_block(self, frame: pl.DataFrame) -> NDArray[np.float64]:
        """The matrix of a large frame as one row-major export: every column (categories as
        codes) in fitted order. Writing columns into a row-major matrix one by one costs
        about 15 times more for a million rows."""
        codes = dict(
            zip(
                self.vocabularies_,
                _code_columns(tuple((n, v[:-1]) for n, v in self.vocabularies_.items())),
                strict=True,
            )
        )
        columns = [codes.get(name, pl.col(name).cast(pl.Float64)) for name in self.names_]
        matrix: NDArray[np.float64] = frame.select(columns).to_numpy(order="c")
        return matrix


@lru_cache(maxsize=64)
def _code_columns(vocabularies: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[pl.Expr, ...]:
    """Per column, the code of its value among ``known`` values, ``len(known)`` (the code
    of ``other``) for any other value, null for a missing one; built once per vocabulary."""
    return tuple(
        pl.when(pl.col(name).is_null())
        .then(None)
        .otherwise(enum_code(name, known).fill_null(len(known)))
        .cast(pl.Float64)
        .alias(name)
        for name, known in vocabularies
    )
