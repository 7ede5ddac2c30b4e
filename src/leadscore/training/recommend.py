"""Next-best-touchpoint recommendations: rank by uplift, apply business rules, explore, log.

For each open lead at ``as_of``:

1. the model's :class:`~leadscore.training.next_touchpoint.UpliftPrediction` gives every arm's
   probability, uplift over ``none`` and uncertainty;
2. the business rules of :class:`RulesConfig` decide which touchpoints are allowed (``none``
   always is): no offer before a demo, a cap of company touchpoints per 7 days, a
   do-not-contact flag and channel consent — read point in time (only touchpoints before
   ``as_of`` count);
3. the *greedy* choice is the allowed touchpoint with the largest positive uplift, else
   ``none``; with probability ``exploration_rate`` an arm is drawn uniformly from the allowed
   touchpoints and ``none`` instead; leads of the control group (``control_share``, fixed per
   lead) get ``none``;
4. every served arm carries the probability with which this procedure serves it for this
   lead (marginal over the control-group assignment), so that later off-policy evaluation
   knows the logging policy exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.errors import DataError
from leadscore.features import FeatureSpec, build_features
from leadscore.training.next_touchpoint import UpliftPrediction
from leadscore.training.next_touchpoint_config import RulesConfig

__all__ = [
    "Recommendations",
    "allowed_touchpoints",
    "contact_state",
    "control_group",
    "recommend",
    "recommendation_frame",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

_WEEK = 7


def _history_spec(demo: str) -> FeatureSpec:
    """The smallest feature spec that says whether a demo happened and how many company
    touchpoints the last 7 days held: the rules read the one feature builder too."""
    return FeatureSpec(
        windows_days=(_WEEK,),
        categorical=(),
        numeric=(),
        actions=(demo,),
        channels=(),
        families={"demo": (demo,)},
    )


def contact_state(
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame | pl.LazyFrame,
    snapshots: pl.DataFrame,
    rules: RulesConfig,
) -> pl.DataFrame:
    """What the rules read per snapshot (same order): ``had_demo``, ``company_touchpoints_7d``,
    ``do_not_contact`` and ``consent_<channel>`` per consent column.

    Touchpoints count only before ``as_of``; lead columns are read as they are.
    """
    history = build_features(
        leads,
        touchpoints,
        snapshots.select("lead_id", "as_of"),
        _history_spec(rules.demo_touchpoint),
    )
    state = history.select(
        "lead_id",
        "as_of",
        had_demo=pl.col("days_since_demo").is_not_null(),
        company_touchpoints_7d=pl.col(f"n_company_initiated_{_WEEK}d").fill_null(0.0),
    )
    flags = {
        "do_not_contact": rules.do_not_contact_column,
        **{f"consent_{ch}": col for ch, col in rules.consent_columns.items()},
    }
    wanted = {name: col for name, col in flags.items() if col is not None}
    missing = sorted({c for c in wanted.values() if c not in leads.columns})
    if missing:
        raise DataError(
            f"The leads table has no column {missing}, which the business rules name; "
            "add it or remove it from the rules."
        )
    lead_flags = leads.select(
        pl.col("lead_id").cast(pl.String),
        *(pl.col(col).cast(pl.Boolean).alias(name) for name, col in wanted.items()),
    )
    joined = state.join(lead_flags, on="lead_id", how="left", maintain_order="left")
    if "do_not_contact" not in wanted:
        joined = joined.with_columns(do_not_contact=pl.lit(False))
    return joined.with_columns(pl.col("do_not_contact").fill_null(False))


def allowed_touchpoints(
    state: pl.DataFrame, arms: tuple[str, ...], rules: RulesConfig
) -> BoolArray:
    """``(rows, arms)``: whether each arm may be served to each snapshot; ``none`` always."""
    n = state.height
    allowed = np.ones((n, len(arms)), dtype=bool)
    blocked = state["do_not_contact"].to_numpy().astype(bool)
    if rules.max_per_week is not None:
        blocked |= state["company_touchpoints_7d"].to_numpy() >= rules.max_per_week
    allowed[:, 1:] &= ~blocked[:, None]
    if rules.no_offer_before_demo and rules.offer_touchpoint in arms:
        offer = arms.index(rules.offer_touchpoint)
        allowed[:, offer] &= state["had_demo"].to_numpy().astype(bool)
    for channel in rules.consent_columns:
        consent = state[f"consent_{channel}"].fill_null(False).to_numpy().astype(bool)
        for a, arm in enumerate(arms):
            if a and rules.touchpoint_channels.get(arm) == channel:
                allowed[:, a] &= consent
    allowed[:, 0] = True
    return allowed


def control_group(lead_id: pl.Series, share: float, seed: int) -> BoolArray:
    """Whether each lead is in the control group: a uniform number from a hash of the seed and
    the lead id below ``share`` — stable across calls and processes."""
    if share <= 0:
        return np.zeros(lead_id.len(), dtype=bool)
    salt = str(seed).encode()
    draws = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(salt + str(v).encode(), digest_size=8).digest()) / 2**64
            for v in lead_id.to_list()
        ),
        dtype=np.float64,
        count=lead_id.len(),
    )
    return draws < share


@dataclass(frozen=True)
class Recommendations:
    """The served arm of each row, the policy that served it and why.

    ``policy[i, a]`` is the probability that arm ``a`` is served to row ``i`` (over the
    exploration draw and the control-group assignment); ``served_probability`` its value for
    the served arm; ``greedy`` the best allowed arm; ``control`` the control-group flag.
    """

    arms: tuple[str, ...]
    served: IntArray
    served_probability: FloatArray
    greedy: IntArray
    policy: FloatArray
    allowed: BoolArray
    control: BoolArray
    explored: BoolArray


def _greedy(uplift: FloatArray, allowed: BoolArray) -> IntArray:
    masked = np.where(allowed, uplift, -np.inf)
    masked[:, 0] = 0.0
    return np.asarray(masked.argmax(axis=1), dtype=np.int64)


def recommend(
    prediction: UpliftPrediction,
    allowed: BoolArray,
    lead_id: pl.Series,
    rules: RulesConfig,
    rng: np.random.Generator,
) -> Recommendations:
    """Serve one arm per row; see the module docstring for the procedure."""
    n, n_arms = prediction.uplift.shape
    greedy = _greedy(prediction.uplift, allowed)
    eps, share = rules.exploration_rate, rules.control_share
    uniform = allowed / allowed.sum(axis=1, keepdims=True)
    treated_policy = (1.0 - eps) * np.eye(n_arms)[greedy] + eps * uniform
    control_policy = np.eye(n_arms)[np.zeros(n, dtype=np.int64)]
    policy = (1.0 - share) * treated_policy + share * control_policy
    control = control_group(lead_id, share, rules.seed)
    explored = ~control & (rng.random(n) < eps)
    cumulative = np.cumsum(uniform, axis=1)
    draws = np.asarray(rng.random(n), dtype=np.float64)[:, None]
    random_arm = np.minimum((cumulative <= draws).sum(axis=1), n_arms - 1).astype(np.int64)
    served = np.where(control, 0, np.where(explored, random_arm, greedy)).astype(np.int64)
    return Recommendations(
        arms=prediction.arms,
        served=served,
        served_probability=policy[np.arange(n), served],
        greedy=greedy,
        policy=policy,
        allowed=allowed,
        control=control,
        explored=explored,
    )


def recommendation_frame(
    snapshots: pl.DataFrame,
    prediction: UpliftPrediction,
    served: Recommendations,
    base: NDArray[np.float64] | None = None,
) -> pl.DataFrame:
    """One row per snapshot: the served touchpoint, its probability, the control flag, the
    probability under ``none`` and ``next_best_touchpoints`` — the allowed touchpoints with
    positive uplift, best first, each ``{touchpoint, probability, uplift, uncertainty}``.

    ``base`` replaces the uplift model's own probability under ``none`` (e.g. the calibrated
    propensity of the same snapshots), so that a touchpoint's probability is ``base +
    uplift`` (clipped to [0, 1]) and agrees with the score shown beside it.
    """
    arms = prediction.arms
    none = prediction.probability[:, 0] if base is None else np.asarray(base, dtype=np.float64)
    probability = np.clip(none[:, None] + prediction.uplift, 0.0, 1.0)
    rows: list[list[dict[str, object]]] = []
    for i in range(snapshots.height):
        ranked = sorted(
            (a for a in range(1, len(arms)) if served.allowed[i, a]),
            key=lambda a: -prediction.uplift[i, a],
        )
        rows.append(
            [
                {
                    "touchpoint": arms[a],
                    "probability": float(probability[i, a]),
                    "uplift": float(prediction.uplift[i, a]),
                    "uncertainty": float(prediction.uncertainty[i, a]),
                }
                for a in ranked
                if prediction.uplift[i, a] > 0
            ]
        )
    return snapshots.select("lead_id", "as_of").with_columns(
        served=pl.Series(np.asarray(arms, dtype=object)[served.served].tolist(), dtype=pl.String),
        served_probability=pl.Series(served.served_probability),
        control=pl.Series(served.control),
        probability_none=pl.Series(none),
        next_best_touchpoints=pl.Series(
            rows,
            dtype=pl.List(
                pl.Struct(
                    {
                        "touchpoint": pl.String,
                        "probability": pl.Float64,
                        "uplift": pl.Float64,
                        "uncertainty": pl.Float64,
                    }
                )
            ),
        ),
    )
