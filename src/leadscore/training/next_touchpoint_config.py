"""Settings of the next-best-touchpoint model: decision points, estimator, business rules.

One frozen pydantic object per concern, gathered in :class:`NextTouchpointConfig`. The
defaults match the simulator (``docs/simulator.md``): a rep acts on the day of ``as_of``, so
the decision window is one day, and the six company-initiated touchpoints are the arms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadscore.errors import ConfigError
from leadscore.features import ExtraColumn, FeatureSpec
from leadscore.training.config import read_pipeline_file, validate_pipeline

__all__ = [
    "DEFAULT_EFFECT_FEATURES",
    "DEFAULT_TOUCHPOINT_CHANNELS",
    "DEFAULT_UPLIFT_LIGHTGBM",
    "NONE",
    "DecisionConfig",
    "EstimatorConfig",
    "NextTouchpointConfig",
    "RulesConfig",
    "UpliftSplitConfig",
    "load_next_touchpoint_pipeline",
]

#: The arm "the company does nothing in the decision window".
NONE: Final = "none"

#: Actionable company-initiated touchpoints and the channel each one uses.
DEFAULT_TOUCHPOINT_CHANNELS: Final[dict[str, str]] = {
    "call": "phone",
    "demo": "meeting",
    "offer_sent": "email",
    "webinar_invitation": "email",
    "trade_fair_invitation": "email",
    "nurture_email": "email",
}

Days = Annotated[int, Field(gt=0, le=3650)]
Share = Annotated[float, Field(gt=0, le=1)]
OpenShare = Annotated[float, Field(ge=0, lt=1)]

#: Shallow, regularised trees with a fixed number of rounds: the models are cross-fitted, so
#: early stopping would need a fold of its own; one thread (spinning threads on a busy
#: machine cost more than they gain at this size).
DEFAULT_UPLIFT_LIGHTGBM: Final[dict[str, Any]] = {
    "learning_rate": 0.1,
    "num_leaves": 8,
    "max_depth": 3,
    "min_child_samples": 300,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10,
    "cat_l2": 20,
    "min_data_per_group": 200,
    "num_threads": 1,
}


#: The state features the uplift may vary with, beside the baseline risk ``mu_none(x)``:
#: company size, demo history and recent activity. A few modifiers keep the final regression
#: of very noisy pseudo-outcomes stable; ``None`` uses every feature.
DEFAULT_EFFECT_FEATURES: Final = (
    "company_size",
    "n_demo_180d",
    "days_since_sales",
    "n_lead_initiated_7d",
    "n_lead_initiated_30d",
)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DecisionConfig(_Section):
    """Decision points: an open lead at ``as_of`` and what the company did next.

    Every open lead gets a decision point every ``cadence_days`` (daily by default: a rep
    decides every day, and touchpoints are rare, so weekly points would waste most of them).
    Its treatment is the first of ``touchpoints`` the company initiated in
    ``[as_of, as_of + window_days)``, else ``none``. Points without a touchpoint are kept with
    probability ``none_share`` and weighted by its inverse, which keeps every touched point
    while bounding the size of the training table. ``context_days`` is the look-back of the
    company context (see :mod:`leadscore.training.decision_points`).
    """

    touchpoints: tuple[str, ...] = tuple(DEFAULT_TOUCHPOINT_CHANNELS)
    window_days: Days = 1
    cadence_days: Days = 1
    context_days: Days = 7
    none_share: Share = 0.25
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> DecisionConfig:
        if not self.touchpoints:
            raise ValueError("touchpoints must name at least one actionable touchpoint")
        if NONE in self.touchpoints or len(set(self.touchpoints)) != len(self.touchpoints):
            raise ValueError(f"touchpoints must be distinct and must not contain {NONE!r}")
        return self


class UpliftSplitConfig(_Section):
    """Temporal holdout: the latest ``test_share`` of decision dates is the test period.

    Training uses decision points at least ``gap_days`` (default: one horizon) before the first
    test date, so no training label looks into the test period.
    """

    test_share: Annotated[float, Field(gt=0, lt=1)] = 0.2
    gap_days: Annotated[int, Field(ge=0, le=3650)] | None = None


class EstimatorConfig(_Section):
    """The doubly robust learner: folds, propensity clipping, surrogate, LightGBM settings.

    ``effect_features`` are the state features the final (effect) regression reads, next to
    the baseline risk; names missing from the feature spec are skipped. ``effect_context``
    adds the company context to them: off by default, because the context takes few distinct
    values per period, so the effect regression cannot tell its effect from the period's noise
    and extrapolates it into new periods.

    ``surrogate_days``: the doubly robust pseudo-outcomes use, instead of the binary outcome,
    its expectation given what is known ``surrogate_days`` after the decision (1 or 0 if the
    lead converted or was lost by then, else a cross-fitted prediction of the outcome from the
    lead's state at that time). The touchpoint works through the lead's later behaviour, so
    the effect is kept while most of the outcome's noise is removed (see
    ``docs/next-touchpoint.md``); ``None`` uses the binary outcome. It must be shorter than
    the horizon.
    """

    folds: Annotated[int, Field(ge=2, le=10)] = 3
    clip: Annotated[float, Field(gt=0, lt=0.5)] = 0.01
    lightgbm: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_UPLIFT_LIGHTGBM))
    propensity_rounds: Annotated[int, Field(gt=0)] = 100
    outcome_rounds: Annotated[int, Field(gt=0)] = 150
    effect_rounds: Annotated[int, Field(gt=0)] = 50
    effect_min_child_samples: Annotated[int, Field(gt=0)] = 10_000
    effect_learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.02
    effect_leaves: Annotated[int, Field(ge=2)] = 4
    effect_features: tuple[str, ...] | None = DEFAULT_EFFECT_FEATURES
    effect_context: bool = False
    surrogate_days: Days | None = 14
    surrogate_rounds: Annotated[int, Field(gt=0)] = 200
    seed: int = 0


class RulesConfig(_Section):
    """Business rules, exploration and control group of the served recommendations.

    * ``no_offer_before_demo``: ``offer_touchpoint`` is not allowed for a lead without an
      earlier ``demo_touchpoint``.
    * ``max_per_week``: no touchpoint for a lead with that many company-initiated touchpoints
      in the 7 days before ``as_of`` (``None``: no cap).
    * ``do_not_contact_column``: a boolean column of the leads table; true means no touchpoint.
    * ``consent_columns``: channel to a boolean column of the leads table; a touchpoint on that
      channel needs the column to be true (missing counts as no consent).
    * ``exploration_rate``: with this probability the served touchpoint is drawn uniformly among
      the allowed ones and ``none`` instead of the best one.
    * ``control_share``: this share of leads (fixed per lead by a hash of its id and ``seed``)
      is a control group and is served ``none``.
    """

    no_offer_before_demo: bool = True
    offer_touchpoint: str = "offer_sent"
    demo_touchpoint: str = "demo"
    max_per_week: Annotated[int, Field(ge=0)] | None = None
    do_not_contact_column: str | None = None
    consent_columns: dict[str, str] = Field(default_factory=dict)
    touchpoint_channels: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_TOUCHPOINT_CHANNELS)
    )
    exploration_rate: OpenShare = 0.0
    control_share: OpenShare = 0.0
    seed: int = 0


def _default_features() -> FeatureSpec:
    """The propensity features plus the lead's owner: reps differ in how often they touch a
    lead, which makes the owner a confounder of the logged touchpoints."""
    return FeatureSpec(extra_columns=(ExtraColumn(name="owner", kind="categorical"),))


class NextTouchpointConfig(_Section):
    """Everything the next-best-touchpoint pipeline needs besides the data.

    The defaults are the shipped ``pipelines/next-touchpoint.yaml`` (a test keeps the two
    equal).
    """

    name: str = "next-touchpoint"
    kind: Literal["next-touchpoint"] = "next-touchpoint"
    horizon_days: Days = 90
    decisions: DecisionConfig = DecisionConfig()
    split: UpliftSplitConfig = UpliftSplitConfig()
    features: FeatureSpec = Field(default_factory=_default_features)
    estimator: EstimatorConfig = EstimatorConfig()
    rules: RulesConfig = RulesConfig()

    @model_validator(mode="after")
    def _check_surrogate(self) -> NextTouchpointConfig:
        days = self.estimator.surrogate_days
        if days is not None and days >= self.horizon_days:
            raise ValueError(
                f"estimator.surrogate_days ({days}) must be shorter than horizon_days "
                f"({self.horizon_days})"
            )
        return self


def load_next_touchpoint_pipeline(path: str | Path | None = None) -> NextTouchpointConfig:
    """Read a next-touchpoint pipeline file; ``None`` gives the built-in defaults."""
    if path is None:
        return NextTouchpointConfig()
    raw = read_pipeline_file(path)
    if raw.get("kind", "propensity") != "next-touchpoint":
        raise ConfigError(
            f"Pipeline file {path} is not a next-touchpoint pipeline; it needs "
            "`kind: next-touchpoint`."
        )
    return validate_pipeline(NextTouchpointConfig, raw, path)
