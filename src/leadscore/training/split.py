"""The temporal split of labelled snapshots: train, then validation, then test.

Dates, not rows, are split. With ``h`` the horizon, the last training snapshot lies at least
``validation_days`` (default ``h``) before the first test snapshot, so no training label looks
into the test period; the snapshots in between are the validation fold, used for early
stopping and calibration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.errors import DataError

__all__ = ["TemporalSplit", "temporal_split"]


@dataclass(frozen=True)
class TemporalSplit:
    """Row masks of the three folds and the dates that bound them."""

    train: NDArray[np.bool_]
    validation: NDArray[np.bool_]
    test: NDArray[np.bool_]
    validation_start: datetime
    test_start: datetime

    def to_dict(self) -> dict[str, object]:
        """Sizes and boundaries for logs and JSON."""
        return {
            "train_rows": int(self.train.sum()),
            "validation_rows": int(self.validation.sum()),
            "test_rows": int(self.test.sum()),
            "validation_start": self.validation_start.isoformat(),
            "test_start": self.test_start.isoformat(),
        }


def temporal_split(as_of: pl.Series, *, test_share: float, validation_days: int) -> TemporalSplit:
    """Split rows by their snapshot date; see the module docstring."""
    dates = as_of.unique().sort()
    if dates.len() < 3:
        raise DataError(
            f"A temporal split needs at least 3 snapshot dates with observed labels; found "
            f"{dates.len()}. Provide a longer history or a shorter horizon."
        )
    n_test = max(1, round(dates.len() * test_share))
    test_start = dates[dates.len() - n_test]
    validation_start = test_start - timedelta(days=validation_days)
    values = as_of.to_numpy()
    test = values >= np.datetime64(test_start.replace(tzinfo=None))
    validation = ~test & (values >= np.datetime64(validation_start.replace(tzinfo=None)))
    train = ~test & ~validation
    for name, mask in (("training", train), ("validation", validation), ("test", test)):
        if not mask.any():
            raise DataError(
                f"The temporal split leaves the {name} fold empty (test from "
                f"{test_start:%Y-%m-%d}, validation from {validation_start:%Y-%m-%d}); "
                "provide a longer history."
            )
    return TemporalSplit(train, validation, test, validation_start, test_start)
