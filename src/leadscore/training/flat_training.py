"""Training the propensity model from a flat lead table (one row per lead, a target column).

The same model, baseline, leakage check and assessment as the event path; only the examples
differ: the table's own columns (prepared by :func:`~leadscore.training.flat.prepare_flat_table`)
instead of point-in-time snapshots, and a random stratified split (temporal with a time column).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from leadscore.features import FeatureInfo
from leadscore.features.spec import Kind
from leadscore.training.assessment import assess
from leadscore.training.config import PipelineConfig
from leadscore.training.fingerprint import fingerprint
from leadscore.training.flat import FlatTable, prepare_flat_table, split_flat
from leadscore.training.leakage import check_leakage
from leadscore.training.propensity import Progress, TrainedPropensity, new_model, quiet

__all__ = ["FlatSplit", "flat_infos", "train_flat"]


@dataclass(frozen=True)
class FlatSplit:
    """Row counts of the three parts of a flat table and how they were drawn."""

    train_rows: int
    validation_rows: int
    test_rows: int
    method: str

    def to_dict(self) -> dict[str, object]:
        """Sizes and method for logs and JSON."""
        return {
            "train_rows": self.train_rows,
            "validation_rows": self.validation_rows,
            "test_rows": self.test_rows,
            "method": self.method,
        }


def flat_infos(features: pl.DataFrame) -> tuple[FeatureInfo, ...]:
    """One :class:`FeatureInfo` per prepared column (its own family, a plain template)."""
    infos = []
    for name, dtype in features.schema.items():
        kind: Kind = "numeric" if dtype.is_numeric() else "categorical"
        label = name.replace("_", " ")
        infos.append(FeatureInfo(name, kind, name, f"{label}: {{value}}", f"{label} unknown"))
    return tuple(infos)


def _model_frame(table: FlatTable) -> pl.DataFrame:
    """Prepared features with categories as text (the encoder's input)."""
    return table.features.with_columns(
        pl.col(name).cast(pl.String)
        for name, dtype in table.features.schema.items()
        if not dtype.is_numeric()
    )


def train_flat(
    frame: pl.DataFrame,
    config: PipelineConfig,
    *,
    target: str,
    id_column: str | None = None,
    positive: str | None = None,
    exclude: Sequence[str] = (),
    keep_columns: Sequence[str] = (),
    time_column: str | None = None,
    test_size: float = 0.2,
    validation_size: float = 0.2,
    progress: Progress = quiet,
) -> tuple[TrainedPropensity, FlatTable]:
    """Prepare the table, check it for leakage, train, calibrate and assess."""
    progress("preparing the flat table")
    table = prepare_flat_table(
        frame,
        target=target,
        id_column=id_column,
        positive=positive,
        exclude=exclude,
        keep=keep_columns,
        time_column=time_column,
    )
    parts = split_flat(
        table, test_size=test_size, validation_size=validation_size, seed=config.split.seed
    )
    features = _model_frame(table)
    y = table.target.astype(np.int8)
    train = features[parts.train]

    progress("checking the training table for leakage")
    leakage = check_leakage(train, y[parts.train], keep=keep_columns)
    kept = [c for c in features.columns if c not in set(leakage.excluded_columns)]
    features = features.select(kept)
    train = features[parts.train]
    infos = flat_infos(table.features.select(kept))

    progress(f"training LightGBM and the baseline on {len(parts.train):,} rows")
    model = new_model(config).fit(
        train,
        y[parts.train],
        validation=(features[parts.validation], y[parts.validation]),
        infos=infos,
    )
    baseline = model.baseline_
    progress("assessing on the test rows")
    test = features[parts.test]
    matrix = model.transform(test)
    probability = model.predict_proba_matrix(matrix)
    base_probability = model.predict_baseline_matrix(matrix)
    ids = table.ids.cast(pl.String)[parts.test]
    as_of = (
        table.times[parts.test]
        if table.times is not None
        else pl.Series("as_of", [None] * len(parts.test), dtype=pl.Datetime("us", "UTC"))
    )
    keys = pl.DataFrame({"lead_id": ids, "as_of": as_of, "label": y[parts.test]})
    scored = keys.with_columns(
        probability=pl.Series(probability), baseline_probability=pl.Series(base_probability)
    )
    assessment = assess(
        y[parts.test],
        probability,
        baseline=base_probability,
        p_true=None,
        segments=test.select([c for c in ("source", "company_size") if c in test.columns]),
        training_positives=int(y[parts.train].sum()),
    )
    notes: dict[str, Any] = {
        "columns": [
            {"column": n.column, "action": n.action, "reason": n.reason, "detail": n.detail}
            for n in table.notes
        ],
        "positive_label": table.positive_label,
    }
    result = TrainedPropensity(
        model=model,
        baseline=baseline,
        config=config,
        spec=None,
        split=FlatSplit(
            len(parts.train),
            len(parts.validation),
            len(parts.test),
            "temporal" if table.times is not None else "random stratified",
        ),
        test=scored,
        test_features=pl.concat([keys, test], how="horizontal"),
        assessment=assessment,
        leakage=leakage,
        fingerprint=fingerprint({"flat": frame}),
        notes=notes,
    )
    return result, table
