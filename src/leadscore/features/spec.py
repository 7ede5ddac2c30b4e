"""The feature specification: which features the builder computes, declared as data.

A pipeline file (``pipelines/propensity.yaml``, section ``features``) is parsed into a
:class:`FeatureSpec`. The touchpoint vocabularies (``actions``, ``channels``) may be left out;
:meth:`FeatureSpec.resolve` then fixes them from the training data, and the *resolved* spec is
stored with the model so that scoring rebuilds exactly the same columns.

Every feature has a :class:`FeatureInfo`: its name, kind, the family it is grouped under for
reasons, and a template that renders it in plain words with the lead's own value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Final, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadscore.errors import ConfigError

__all__ = [
    "DEFAULT_FAMILIES",
    "ExtraColumn",
    "FeatureInfo",
    "FeatureSpec",
]

#: Families of actions used for recency features and for grouping reasons.
DEFAULT_FAMILIES: Final[dict[str, tuple[str, ...]]] = {
    "email": ("email_open", "email_click"),
    "web": ("page_view", "content_download"),
    "pricing": ("pricing_page_view",),
    "webinar": ("webinar_attendance",),
    "conversation": ("chat_message", "call"),
    "social": ("social_engagement",),
    "trade_fair": ("booth_visit",),
    "sales": ("demo", "offer_sent"),
    "marketing": ("nurture_email", "webinar_invitation", "trade_fair_invitation"),
}

#: Plain-language plural of known actions and channels; others are derived from their names.
DEFAULT_LABELS: Final[dict[str, str]] = {
    "email_open": "e-mail opens",
    "email_click": "e-mail clicks",
    "page_view": "page views",
    "pricing_page_view": "pricing-page views",
    "content_download": "content downloads",
    "webinar_attendance": "webinar attendances",
    "chat_message": "chat messages",
    "social_engagement": "social engagements",
    "booth_visit": "trade-fair booth visits",
    "call": "calls",
    "demo": "demos",
    "offer_sent": "offers sent",
    "webinar_invitation": "webinar invitations",
    "trade_fair_invitation": "trade-fair invitations",
    "nurture_email": "nurture e-mails",
}

Kind = Literal["numeric", "categorical"]
PositiveInt = Annotated[int, Field(gt=0, le=3650)]


def _singular(plural: str) -> str:
    """ "pricing-page views" -> "pricing-page view", "offers sent" -> "offer sent"."""
    words = plural.split(" ")
    at = 0 if len(words) > 1 and words[-1] in {"sent", "received"} else len(words) - 1
    if words[at].endswith("s"):
        words[at] = words[at][:-1]
    return " ".join(words)


class ExtraColumn(BaseModel):
    """A column of the leads table beyond the contract, declared as a feature."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    kind: Kind
    label: str | None = None


@dataclass(frozen=True)
class FeatureInfo:
    """What one feature column is: for the model (kind) and for people (family, template)."""

    name: str
    kind: Kind
    family: str
    template: str
    missing: str = ""
    template_one: str = ""

    def describe(self, value: object) -> str:
        """The feature in plain words with the lead's own value."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.missing or f"{self.name.replace('_', ' ')} unknown"
        if isinstance(value, float):
            value = round(value, 1) if abs(value) < 10 else round(value)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
        if value == 1 and self.template_one:
            return self.template_one.format(value=value)
        return self.template.format(value=value)


class FeatureSpec(BaseModel):
    """The declared feature set; see ``pipelines/propensity.yaml`` for each field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    windows_days: tuple[PositiveInt, ...] = (3, 7, 14, 30, 90, 180)
    categorical: tuple[str, ...] = ("source", "industry", "country", "job_level")
    numeric: tuple[str, ...] = ("company_size", "deal_value")
    extra_columns: tuple[ExtraColumn, ...] = ()
    actions: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    max_vocabulary: PositiveInt = 40
    families: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_FAMILIES))
    labels: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LABELS))
    trend_recent_days: PositiveInt = 7
    trend_previous_days: PositiveInt = 21
    trade_fair_channel: str = "trade_fair"
    exclude: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> FeatureSpec:
        if len(set(self.windows_days)) != len(self.windows_days):
            raise ValueError(
                f"windows_days must not repeat a window; got {list(self.windows_days)}"
            )
        names = [*self.categorical, *self.numeric, *(c.name for c in self.extra_columns)]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"lead columns declared twice: {doubled}")
        return self

    # -- vocabulary ------------------------------------------------------------------------

    @property
    def is_resolved(self) -> bool:
        """Whether the touchpoint vocabularies are fixed (required to build features)."""
        return self.actions is not None and self.channels is not None

    def resolve(self, touchpoints: pl.DataFrame | pl.LazyFrame) -> FeatureSpec:
        """Fix missing vocabularies from the data: the most frequent actions and channels."""
        if self.is_resolved:
            return self
        frame = touchpoints.lazy()
        update: dict[str, tuple[str, ...]] = {}
        for field, column in (("actions", "action"), ("channels", "channel")):
            if getattr(self, field) is None:
                counts = (
                    frame.group_by(column)
                    .len()
                    .sort(["len", column], descending=[True, False])
                    .head(self.max_vocabulary)
                    .collect()
                )
                update[field] = tuple(sorted(counts[column].drop_nulls().to_list()))
        return self.model_copy(update=update)

    @property
    def lead_columns(self) -> tuple[tuple[str, Kind], ...]:
        """Lead-table columns used as features, with their kind."""
        declared: tuple[tuple[str, Kind], ...] = (
            *((name, "categorical") for name in self.categorical),
            *((name, "numeric") for name in self.numeric),
            *((c.name, c.kind) for c in self.extra_columns),
        )
        return tuple((name, kind) for name, kind in declared if name not in self.exclude)

    @property
    def offsets_days(self) -> tuple[int, ...]:
        """Look-back offsets (days before ``as_of``) at which cumulative counts are read."""
        trend = (self.trend_recent_days, self.trend_recent_days + self.trend_previous_days)
        return tuple(sorted({0, *self.windows_days, *trend}))

    def label(self, key: str) -> str:
        """Plain-language plural of an action, channel or family."""
        return self.labels.get(key) or key.replace("_", " ") + " events"

    # -- the feature list ------------------------------------------------------------------

    def features(self) -> tuple[FeatureInfo, ...]:
        """Every feature column, in the order of the feature matrix."""
        if not self.is_resolved:
            raise ConfigError(
                "The feature spec has no action or channel vocabulary yet; "
                "resolve it from training data with FeatureSpec.resolve(touchpoints)."
            )
        assert self.actions is not None and self.channels is not None
        out: list[FeatureInfo] = [
            FeatureInfo("lead_age_days", "numeric", "lead age", "lead known for {value} days")
        ]
        extra_labels = {c.name: c.label for c in self.extra_columns}
        for name, kind in self.lead_columns:
            label = extra_labels.get(name) or name.replace("_", " ")
            out.append(FeatureInfo(name, kind, name, f"{label}: {{value}}", f"{label} unknown"))
        for window in self.windows_days:
            for action in self.actions:
                out.append(
                    FeatureInfo(
                        f"n_{action}_{window}d",
                        "numeric",
                        self.family_of(action),
                        f"{{value}} {self.label(action)} in the last {window} days",
                        template_one=f"1 {_singular(self.label(action))} in the last {window} days",
                    )
                )
            for channel in self.channels:
                out.append(
                    FeatureInfo(
                        f"n_channel_{channel}_{window}d",
                        "numeric",
                        f"channel {channel}",
                        f"{{value}} touchpoints on {channel.replace('_', ' ')} "
                        f"in the last {window} days",
                    )
                )
            for side in ("lead", "company"):
                who = "by the lead" if side == "lead" else "by us"
                out.append(
                    FeatureInfo(
                        f"n_{side}_initiated_{window}d",
                        "numeric",
                        f"{side}-initiated activity",
                        f"{{value}} touchpoints started {who} in the last {window} days",
                    )
                )
        widest = max(self.windows_days)
        out += [
            FeatureInfo(
                "n_lead_initiated_total",
                "numeric",
                "lead-initiated activity",
                "{value} touchpoints started by the lead so far",
            ),
            FeatureInfo(
                "n_company_initiated_total",
                "numeric",
                "company-initiated activity",
                "{value} touchpoints started by us so far",
            ),
            FeatureInfo(
                f"distinct_channels_{widest}d",
                "numeric",
                "channel mix",
                f"active on {{value}} channels in the last {widest} days",
            ),
            FeatureInfo(
                "distinct_channels_total",
                "numeric",
                "channel mix",
                "active on {value} channels so far",
            ),
            FeatureInfo(
                "engagement_trend",
                "numeric",
                "engagement trend",
                f"lead activity changed by {{value}} per day (last {self.trend_recent_days} "
                f"days against the {self.trend_previous_days} before)",
            ),
            FeatureInfo(
                "trade_fair_contact",
                "numeric",
                "trade_fair",
                "met at a trade fair: {value} contacts so far",
            ),
            FeatureInfo(
                "days_since_last_touchpoint",
                "numeric",
                "recency",
                "last touchpoint {value} days ago",
                "no touchpoint yet",
            ),
        ]
        for family in self.families:
            said = self.label(family).removesuffix(" events")
            out.append(
                FeatureInfo(
                    f"days_since_{family}",
                    "numeric",
                    family,
                    f"last {said} activity {{value}} days ago",
                    f"no {said} activity yet",
                )
            )
        return tuple(info for info in out if info.name not in self.exclude)

    def family_of(self, action: str) -> str:
        """The family an action belongs to (its own name when no family lists it)."""
        for family, actions in self.families.items():
            if action in actions:
                return family
        return action

    def feature_names(self) -> tuple[str, ...]:
        """The column names of the feature matrix, in order."""
        return _names(self.model_dump_json())

    def excluding(self, names: tuple[str, ...] | list[str]) -> FeatureSpec:
        """This spec with more features left out of the matrix."""
        return self.model_copy(update={"exclude": tuple(dict.fromkeys((*self.exclude, *names)))})

    def info(self) -> Mapping[str, FeatureInfo]:
        """Feature name to its :class:`FeatureInfo`."""
        return {info.name: info for info in self.features()}


@lru_cache(maxsize=32)
def _names(spec_json: str) -> tuple[str, ...]:
    return tuple(info.name for info in FeatureSpec.model_validate_json(spec_json).features())
