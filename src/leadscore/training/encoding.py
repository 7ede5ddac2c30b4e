"""From the feature frame to the numeric matrix both models read.

Numeric features pass through as float64 (missing stays NaN). A categorical feature becomes
the integer code of its value in a vocabulary learned at fit time; rare and unseen values
share the code of ``other`` and a missing value stays NaN. LightGBM treats these codes as
categories natively; the baseline one-hot encodes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from numpy.typing import NDArray

__all__ = ["FeatureEncoder"]

OTHER = "(other)"


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

        Numeric columns are read as one block (cast only where a column is not ``Float64``
        yet), so that encoding one row costs little next to the prediction itself.
        """
        numeric = self.numeric_
        schema = frame.schema
        needs_cast = [name for name in numeric if schema[name] != pl.Float64]
        block = frame.drop([c for c in frame.columns if c not in self.numeric_set_])
        if block.columns != numeric:
            block = frame.select(numeric)
        if needs_cast:
            block = block.with_columns(pl.col(needs_cast).cast(pl.Float64))
        matrix = np.empty((frame.height, len(self.names_)), dtype=np.float64)
        positions = self.positions_
        matrix[:, [positions[name] for name in numeric]] = block.to_numpy()
        if self.vocabularies_:
            codes = frame.select(
                self._codes(name, vocabulary) for name, vocabulary in self.vocabularies_.items()
            ).to_numpy()
            matrix[:, [positions[name] for name in self.vocabularies_]] = codes
        return matrix

    @staticmethod
    def _codes(name: str, vocabulary: tuple[str, ...]) -> pl.Expr:
        known = (
            pl.col(name)
            .cast(pl.String)
            .replace_strict(
                vocabulary[:-1],
                list(range(len(vocabulary) - 1)),
                default=len(vocabulary) - 1,
                return_dtype=pl.Float64,
            )
        )
        return pl.when(pl.col(name).is_null()).then(None).otherwise(known).alias(name)
