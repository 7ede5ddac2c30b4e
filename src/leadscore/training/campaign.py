"""Per-customer uplift of each arm of a campaign test kept as one flat table.

Marketing teams keep an A/B (or A/B/n) test as one row per customer: the customer's columns,
the arm the customer got (``treatment``, one value of which is the ``control``) and whether the
customer converted (``target``). :func:`train_campaign` learns from such a table the uplift of
every treatment arm over control with the same cross-fitted doubly robust learner as the event
path (:class:`~leadscore.training.next_touchpoint.NextTouchpointModel`, the control in the
place of ``none``):

* the columns are prepared as for the flat propensity path
  (:func:`~leadscore.training.flat.prepare_flat_table`: missing-value spellings, numeric text,
  identifier and constant columns left out with a note, the target's positive class);
* the holdout is a random share ``split.test_share`` of the rows, stratified by arm and
  outcome and drawn with ``estimator.seed``;
* with ``randomized`` the logging policy is the known randomisation, the arms' shares of the
  table (the same for every customer), and no propensity model is fitted; otherwise it is
  estimated, which corrects for an assignment that depended on the customers' columns;
* the effect regressions read every column unless ``estimator.effect_features`` names some of
  the table's (the default names event features a flat table lacks), and their leaf minimum
  is capped at ``EFFECT_LEAF_SHARE`` of the training rows (the default is sized for the
  hundreds of thousands of decision points of the event path).

The control's own spelling is kept for people (:attr:`TrainedCampaign.arms`); inside the model
it is the arm ``none``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.data.parsing import ParseOptions, parse_series
from leadscore.errors import DataError, UsageError
from leadscore.features import FeatureInfo
from leadscore.training.flat import (
    FlatTable,
    _clean_text,
    _quoted,
    _rows,
    prepare_flat_table,
    split_flat,
)
from leadscore.training.flat_training import _model_frame, flat_infos
from leadscore.training.next_touchpoint import NextTouchpointModel
from leadscore.training.next_touchpoint_config import NONE, EstimatorConfig, NextTouchpointConfig
from leadscore.training.propensity import Progress, quiet

__all__ = [
    "EFFECT_LEAF_SHARE",
    "MIN_ARM_ROWS",
    "CampaignOptions",
    "CampaignTable",
    "TrainedCampaign",
    "prepare_campaign",
    "train_campaign",
]

MIN_ARM_ROWS: Final = 100
"""Rows an arm needs in the table: enough for every cross-fitting fold and the holdout."""

EFFECT_LEAF_SHARE: Final = 0.1
"""Cap of the effect regressions' leaf minimum, as a share of the training rows."""

_EFFECT_LEAF_FLOOR: Final = 20

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CampaignOptions:
    """The columns of a campaign table and whether its arms were assigned at random (the
    options of ``leadscore train --treatment``)."""

    treatment: str
    control: str
    target: str
    id_column: str | None = None
    positive: str | None = None
    exclude: tuple[str, ...] = ()
    randomized: bool = False


@dataclass(frozen=True, eq=False)
class CampaignTable:
    """A campaign table ready for training: the prepared flat table (without the treatment
    column), the arm of each row (0 = control) and the arms as spelled in the table."""

    table: FlatTable
    arm: IntArray
    arms: tuple[str, ...]
    treatment: str
    control: str

    @property
    def rows_per_arm(self) -> dict[str, int]:
        """Rows of each arm, control first."""
        counts = np.bincount(self.arm, minlength=len(self.arms))
        return {name: int(n) for name, n in zip(self.arms, counts, strict=True)}

    @property
    def shares(self) -> FloatArray:
        """Each arm's share of the rows: the known propensity of a randomised test."""
        counts = np.bincount(self.arm, minlength=len(self.arms)).astype(np.float64)
        return np.asarray(counts / counts.sum(), dtype=np.float64)


@dataclass(frozen=True)
class TrainedCampaign:
    """The fitted campaign model with what is needed to read, assess and log it.

    The holdout is ``test``, the feature columns (numbers, categories as text) the model
    reads, and ``test_keys`` for the same rows: ``id``, ``arm`` (as spelled), ``arm_code``
    (0 = control) and ``label`` (0/1).
    """

    model: NextTouchpointModel
    config: NextTouchpointConfig
    arms: tuple[str, ...]
    treatment: str
    control: str
    target: str
    positive_label: str
    randomized: bool
    shares: tuple[float, ...]
    infos: tuple[FeatureInfo, ...]
    notes: tuple[dict[str, str], ...]
    rows_per_arm: dict[str, int]
    train_rows: int
    test: pl.DataFrame
    test_keys: pl.DataFrame

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The columns the model reads, in order."""
        return tuple(info.name for info in self.infos)

    def split_summary(self) -> dict[str, object]:
        """Sizes and method of the split, for logs and JSON."""
        return {
            "train_rows": self.train_rows,
            "test_rows": self.test.height,
            "test_share": self.config.split.test_share,
            "method": "random, stratified by arm and outcome",
        }


def _arm_labels(frame: pl.DataFrame, treatment: str, control: str) -> pl.Series:
    """The treatment column as trimmed text, missing spellings as null unless they spell the
    control (a control called ``none`` is common)."""
    raw = parse_series(frame[treatment], pl.String(), ParseOptions()).str.strip_chars()
    cleaned, _ = _clean_text(frame[treatment])
    is_control = (raw.str.to_lowercase() == control.strip().lower()).fill_null(False)
    return pl.select(pl.when(is_control).then(raw).otherwise(cleaned).alias(treatment)).to_series()


def _check_roles(
    frame: pl.DataFrame,
    treatment: str,
    target: str,
    id_column: str | None,
    exclude: Sequence[str],
) -> None:
    if treatment not in frame.columns:
        raise UsageError(
            f"no column named {treatment!r} in the table; its columns are "
            f"{_quoted(frame.columns, 20)}"
        )
    if treatment in (target, id_column) or treatment in exclude:
        raise UsageError(
            f"the treatment column {treatment!r} is also named as target, id or excluded "
            "column; name each column once"
        )


def _arms(labels: pl.Series, control: str) -> tuple[IntArray, tuple[str, ...]]:
    """Arm codes (0 = control) and the arms, matched without regard to case; each arm is
    shown in its most frequent spelling, the treatments sorted by it."""
    name = labels.name
    key = labels.str.to_lowercase()
    spellings = (
        pl.DataFrame({"key": key, "shown": labels})
        .group_by("key", "shown")
        .len()
        .sort(["len", "shown"], descending=[True, False])
        .unique("key", keep="first", maintain_order=True)
    )
    shown = dict(zip(spellings["key"].to_list(), spellings["shown"].to_list(), strict=True))
    wanted = control.strip().lower()
    if wanted not in shown:
        raise UsageError(
            f"control value {control!r} is not a value of treatment column {name!r}; its "
            f"values are {_quoted(sorted(shown.values()))}"
        )
    treatments = sorted((k for k in shown if k != wanted), key=lambda k: shown[k])
    if not treatments:
        raise DataError(
            f"treatment column {name!r} holds only the control {shown[wanted]!r}; a campaign "
            "test needs at least one treatment arm besides it"
        )
    order = [wanted, *treatments]
    codes = key.replace_strict(order, list(range(len(order))), return_dtype=pl.Int64)
    return codes.to_numpy().astype(np.int64), tuple(shown[k] for k in order)


def prepare_campaign(
    frame: pl.DataFrame,
    *,
    treatment: str,
    control: str,
    target: str,
    id_column: str | None = None,
    positive: str | None = None,
    exclude: Sequence[str] = (),
) -> CampaignTable:
    """Check the treatment column, code the arms and prepare the other columns.

    Raises UsageError for an unknown or doubly named treatment column and a control value
    the column lacks; DataError for missing treatment cells, a column with the control only
    and an arm with fewer than ``MIN_ARM_ROWS`` rows (and, from
    :func:`~leadscore.training.flat.prepare_flat_table`, for a one-valued target).
    """
    _check_roles(frame, treatment, target, id_column, exclude)
    labels = _arm_labels(frame, treatment, control)
    if labels.null_count():
        raise DataError(
            f"treatment column {treatment!r} is missing in {labels.null_count():,} of "
            f"{labels.len():,} rows ({_rows(labels.is_null())}; row 1 is the first data row); "
            "every customer of a campaign test got an arm: fill or remove these rows"
        )
    arm, arms = _arms(labels, control)
    counts = np.bincount(arm, minlength=len(arms))
    small = [
        f"{arms[a]!r} ({counts[a]:,} rows)" for a in range(len(arms)) if counts[a] < MIN_ARM_ROWS
    ]
    if small:
        raise DataError(
            f"arm {', '.join(small)} of treatment column {treatment!r} has too few rows; each "
            f"arm needs at least {MIN_ARM_ROWS} for cross-fitting and a holdout. Merge or "
            "drop the small arms."
        )
    table = prepare_flat_table(
        frame.drop(treatment),
        target=target,
        id_column=id_column,
        positive=positive,
        exclude=exclude,
    )
    return CampaignTable(table, arm, arms, treatment, arms[0])


def _estimator(config: EstimatorConfig, columns: Sequence[str], train_rows: int) -> EstimatorConfig:
    """The estimator settings for a flat table (see the module docstring)."""
    named = tuple(n for n in config.effect_features or () if n in set(columns))
    leaf = min(
        config.effect_min_child_samples,
        max(_EFFECT_LEAF_FLOOR, int(EFFECT_LEAF_SHARE * train_rows)),
    )
    return config.model_copy(
        update={"effect_features": named or None, "effect_min_child_samples": leaf}
    )


def train_campaign(
    frame: pl.DataFrame,
    config: NextTouchpointConfig,
    *,
    treatment: str,
    control: str,
    target: str,
    id_column: str | None = None,
    positive: str | None = None,
    exclude: Sequence[str] = (),
    randomized: bool = False,
    progress: Progress = quiet,
) -> TrainedCampaign:
    """Prepare the campaign table, hold out a stratified test share and fit the DR-learner on
    the rest (see the module docstring)."""
    progress("preparing the campaign table")
    campaign = prepare_campaign(
        frame,
        treatment=treatment,
        control=control,
        target=target,
        id_column=id_column,
        positive=positive,
        exclude=exclude,
    )
    table, arm = campaign.table, campaign.arm
    y = table.target.astype(np.int64)
    parts = split_flat(
        table,
        test_size=config.split.test_share,
        validation_size=0.0,
        seed=config.estimator.seed,
        strata=arm * 2 + y,
    )
    features = _model_frame(table)
    infos = flat_infos(table.features)
    train = parts.train
    estimator = _estimator(config.estimator, features.columns, len(train))
    shares = campaign.shares
    how = "the known randomisation" if randomized else "an estimated logging policy"
    progress(f"fitting the doubly robust learner on {len(train):,} rows with {how}")
    model = NextTouchpointModel(config=estimator, min_category_count=20).fit(
        features[train],
        arm[train],
        y[train],
        arms=(NONE, *campaign.arms[1:]),
        infos=infos,
        groups=table.ids[train],
        known_propensity=shares if randomized else None,
    )
    keys = pl.DataFrame(
        {
            "id": table.ids.cast(pl.String)[parts.test],
            "arm": [campaign.arms[a] for a in arm[parts.test]],
            "arm_code": arm[parts.test],
            "label": y[parts.test],
        }
    )
    notes = tuple(
        {"column": n.column, "action": n.action, "reason": n.reason, "detail": n.detail}
        for n in table.notes
    )
    return TrainedCampaign(
        model=model,
        config=config.model_copy(update={"estimator": estimator}),
        arms=campaign.arms,
        treatment=treatment,
        control=campaign.control,
        target=target,
        positive_label=table.positive_label,
        randomized=randomized,
        shares=tuple(float(s) for s in shares),
        infos=infos,
        notes=notes,
        rows_per_arm=campaign.rows_per_arm,
        train_rows=len(train),
        test=features[parts.test],
        test_keys=keys,
    )
