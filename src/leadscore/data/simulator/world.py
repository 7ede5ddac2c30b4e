"""The customer-journey process: every probability the simulator draws from, as arrays.

A lead is a small Markov chain, one step per day. Its state at the start of a day is

* ``r`` latent buying readiness, 0 (cold) … ``R-1`` (ready to sign); stage early / mid / late;
* ``e`` how hot the lead *looks* to sales: a leaky bucket of its recent lead-initiated
  activity, 0 … ``E-1``; it is what reps act on (observable through the touchpoint log);
* ``d`` whether the lead has had a demo.

Fixed per lead: size band ``g`` (small < 50 employees, mid < 1000, enterprise), fit ``f``
(industry and job level), activity level ``rho`` (how much a lead clicks around at a given
readiness), and the capacity ``c`` of its owner.

One day, in this order (the forward simulation and the exact truth both follow it):

1. the logging policy picks a company touchpoint ``a`` (or none) from ``(e, d, g, c)`` and the
   trade-fair calendar: reps work the leads that look hot, within their capacity, with
   randomness, and every touchpoint keeps a positive probability in every state;
2. ``a`` moves readiness: ``r -> r1`` with a probability that depends on the touchpoint,
   segment, stage and demo history (an offer sent too early hurts; a demo helps late-stage
   enterprise leads; a nurture e-mail helps cold small leads, annoys enterprise ones);
3. the lead emits lead-initiated touchpoints, Poisson with rates growing with ``r1`` and scaled
   by ``rho`` (booth visits only on trade-fair days); their number updates ``e``;
4. it converts with hazard ``h(g, f, r1)``, else it is lost with hazard ``l(r1)``;
5. readiness drifts: up with ``up(g, f, r1)``, down (going cold) with ``down(r1)``.

All numbers live in :class:`World`; :func:`default_world` is the documented default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ACTIONS",
    "ACTION_CHANNELS",
    "LEAD_ACTIONS",
    "LEAD_ACTION_CHANNELS",
    "N_ACTIONS",
    "SIZE_BANDS",
    "STAGES",
    "D",
    "E",
    "R",
    "World",
    "day_type",
    "default_world",
    "stage_of",
]

FloatArray = NDArray[np.float64]

R: Final = 6  # readiness levels
E: Final = 6  # perceived-hotness levels
D: Final = 2  # demo done or not
STAGES: Final = ("early", "mid", "late")
SIZE_BANDS: Final = ("small", "mid", "enterprise")

#: Company-initiated touchpoints a rep can choose; index 0 is "none" (no touchpoint that day).
ACTIONS: Final = (
    "none",
    "call",
    "demo",
    "offer_sent",
    "webinar_invitation",
    "trade_fair_invitation",
    "nurture_email",
)
N_ACTIONS: Final = len(ACTIONS)
ACTION_CHANNELS: Final = {
    "call": "phone",
    "demo": "meeting",
    "offer_sent": "email",
    "webinar_invitation": "email",
    "trade_fair_invitation": "email",
    "nurture_email": "email",
}

#: Lead-initiated touchpoints and their channels.
LEAD_ACTIONS: Final = (
    "email_open",
    "email_click",
    "page_view",
    "pricing_page_view",
    "content_download",
    "webinar_attendance",
    "chat_message",
    "social_engagement",
    "booth_visit",
)
LEAD_ACTION_CHANNELS: Final = {
    "email_open": "email",
    "email_click": "email",
    "page_view": "web",
    "pricing_page_view": "web",
    "content_download": "web",
    "webinar_attendance": "webinar",
    "chat_message": "chat",
    "social_engagement": "social",
    "booth_visit": "trade_fair",
}
_BOOTH: Final = LEAD_ACTIONS.index("booth_visit")


def stage_of(r: NDArray[np.int64] | int) -> NDArray[np.int64]:
    """Stage index (0 early, 1 mid, 2 late) of readiness level(s) ``r``."""
    r = np.asarray(r)
    return np.where(r < 2, 0, np.where(r < 4, 1, 2)).astype(np.int64)


def day_type(fair_today: NDArray[np.bool_], fair_soon: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Index of a day's calendar type: 2 × (trade fair today) + (trade fair within 30 days)."""
    return (2 * fair_today.astype(np.int64) + fair_soon.astype(np.int64)).astype(np.int64)


@dataclass(frozen=True)
class World:
    """Every probability of the daily step, as arrays indexed by state and lead attributes.

    Shapes: ``policy[g, c, T, e, d, a]``, ``jump[T, a, g, d, r, r1]``,
    ``emission[type, rho, fair_today, r1]`` (Poisson rates per day), ``decay`` (probability
    that a quiet day lowers ``e`` by one), ``convert[g, f, r1]``, ``lose[r1]``,
    ``drift[g, f, r1, r2]``. ``T`` is :func:`day_type`.
    """

    policy: FloatArray
    jump: FloatArray
    emission: FloatArray
    decay: float
    convert: FloatArray
    lose: FloatArray
    drift: FloatArray
    capacity: tuple[float, ...]
    activity: tuple[float, ...]

    def hotness_transition(self) -> FloatArray:
        """``P(e1 | rho, fair_today, r1, e)`` as ``[rho, fair, r1, e, e1]``.

        The lead's daily count of lead-initiated touchpoints is Poisson with the summed rate;
        ``e1 = min(E-1, e + n)`` when ``n > 0``, else ``e - 1`` with probability ``decay``.
        """
        total = self.emission.sum(axis=0)  # [rho, fair, r1]
        n = np.arange(E)
        log_fact = np.cumsum(np.log(np.maximum(n, 1)))
        pmf = np.exp(-total[..., None] + n * np.log(total[..., None]) - log_fact)
        pmf[..., E - 1] = np.maximum(0.0, 1.0 - pmf[..., : E - 1].sum(axis=-1))
        out = np.zeros((*total.shape, E, E))
        for e in range(E):
            quiet = pmf[..., 0]
            if e > 0:
                out[..., e, e - 1] += quiet * self.decay
                out[..., e, e] += quiet * (1 - self.decay)
            else:
                out[..., e, e] += quiet
            for k in range(1, E):
                out[..., e, min(E - 1, e + k)] += pmf[..., k]
        return out


def _policy(capacity: tuple[float, ...]) -> FloatArray:
    """The sales team's logging policy ``P(a | g, c, T, e, d)``.

    Reps look at the lead's visible heat ``x = e / (E-1)``: calls and demos go to hot leads,
    offers mostly after a demo, nurture e-mails to cold leads, trade-fair invitations when a
    fair is near; enterprise leads get more attention; each rep's capacity scales everything.
    """
    x = np.arange(E) / (E - 1)
    out = np.zeros((len(SIZE_BANDS), len(capacity), 4, E, D, N_ACTIONS))
    attention = (0.8, 1.0, 1.3)
    for g in range(len(SIZE_BANDS)):
        for c, cap in enumerate(capacity):
            for t in range(4):
                fair_soon = t % 2 == 1
                for d in range(D):
                    w = np.zeros((E, N_ACTIONS))
                    w[:, 1] = 0.010 + 0.060 * x
                    w[:, 2] = 0.002 + 0.030 * x**2 if d == 0 else 0.002 + 0.002 * x
                    w[:, 3] = 0.001 + 0.010 * x if d == 0 else 0.003 + 0.050 * x**2
                    w[:, 4] = 0.008
                    w[:, 5] = 0.002 + (0.020 if fair_soon else 0.0)
                    w[:, 6] = 0.003 + 0.012 * (1 - x)
                    w *= attention[g] * cap
                    w[:, 0] = 1.0 - w[:, 1:].sum(axis=1)
                    out[g, c, t, :, d, :] = w
    return out


def _jump() -> FloatArray:
    """Effect of each touchpoint on readiness: ``P(r1 | T, a, g, d, r)``.

    Entries give the probability of moving up (+1, +2) or down (-1) one day; the rest stays.
    """
    n_t, n_g = 4, len(SIZE_BANDS)
    out = np.zeros((n_t, N_ACTIONS, n_g, D, R, R))
    for t in range(n_t):
        fair_soon = t % 2 == 1
        for a, name in enumerate(ACTIONS):
            for g in range(n_g):
                for d in range(D):
                    for r in range(R):
                        stage = int(stage_of(r))
                        up, up2, down = _effect(name, g, d, stage, fair_soon)
                        row = np.zeros(R)
                        row[min(R - 1, r + 1)] += up
                        row[min(R - 1, r + 2)] += up2
                        row[max(0, r - 1)] += down
                        row[r] += 1.0 - up - up2 - down
                        out[t, a, g, d, r] = row
    return out


def _effect(name: str, g: int, d: int, stage: int, fair_soon: bool) -> tuple[float, float, float]:
    """(P(+1), P(+2), P(-1)) of readiness for touchpoint ``name`` in this segment and stage."""
    small, mid, enterprise = g == 0, g == 1, g == 2
    early, middle, late = stage == 0, stage == 1, stage == 2
    if name == "call":
        return (0.06 if early else 0.10 if middle else 0.07), 0.0, 0.0
    if name == "demo":
        if early:
            return 0.03, 0.0, 0.02
        if middle:
            return (0.18 if enterprise else 0.12), 0.0, 0.0
        return (0.35 if enterprise else 0.22 if mid else 0.12), (0.08 if enterprise else 0.0), 0.0
    if name == "offer_sent":
        if early:
            return 0.0, 0.0, 0.30
        if middle:
            return (0.12, 0.0, 0.02) if d else (0.02, 0.0, 0.20)
        return (0.30, 0.04, 0.0) if d else (0.12, 0.0, 0.08)
    if name == "webinar_invitation":
        return (0.08 if early else 0.05 if middle else 0.01), 0.0, 0.0
    if name == "trade_fair_invitation":
        if not fair_soon:
            return 0.01, 0.0, 0.0
        return (0.10 if not small else 0.05), 0.0, 0.0
    if name == "nurture_email":
        if enterprise:
            return 0.0, 0.0, 0.05
        if late:
            return 0.0, 0.0, 0.03
        if early:
            return (0.12 if small else 0.05), 0.0, 0.0
        return 0.03, 0.0, 0.0
    return 0.0, 0.0, 0.0


def _emission(activity: tuple[float, ...]) -> FloatArray:
    """Poisson rates per day of each lead-initiated touchpoint: ``[type, rho, fair, r1]``."""
    base = {
        "email_open": (0.015, 0.030, 0.060, 0.100, 0.150, 0.180),
        "email_click": (0.002, 0.006, 0.015, 0.035, 0.070, 0.100),
        "page_view": (0.008, 0.025, 0.070, 0.160, 0.300, 0.450),
        "pricing_page_view": (0.0005, 0.002, 0.008, 0.030, 0.120, 0.300),
        "content_download": (0.001, 0.006, 0.025, 0.050, 0.050, 0.030),
        "webinar_attendance": (0.0005, 0.002, 0.006, 0.010, 0.008, 0.005),
        "chat_message": (0.0002, 0.0005, 0.002, 0.008, 0.030, 0.080),
        "social_engagement": (0.004, 0.010, 0.020, 0.030, 0.040, 0.050),
        "booth_visit": (0.0,) * R,
    }
    out = np.zeros((len(LEAD_ACTIONS), len(activity), 2, R))
    for i, name in enumerate(LEAD_ACTIONS):
        for k, rho in enumerate(activity):
            out[i, k, :, :] = np.asarray(base[name]) * rho * 1.5
    out[_BOOTH, :, 1, :] = np.array([0.04, 0.06, 0.10, 0.14, 0.18, 0.20])[None, :]
    return out


def _drift() -> FloatArray:
    """Natural readiness drift ``P(r2 | g, f, r1)``: up with fit, down as leads go cold."""
    out = np.zeros((len(SIZE_BANDS), 3, R, R))
    for g in range(len(SIZE_BANDS)):
        for f in range(3):
            for r in range(R):
                up = (0.005 + 0.003 * f) * (0.8 if g == 2 else 1.0) if r < R - 1 else 0.0
                down = (0.006 if r < 4 else 0.010) if r > 0 else 0.0
                out[g, f, r, min(R - 1, r + 1)] += up
                out[g, f, r, max(0, r - 1)] += down
                out[g, f, r, r] += 1.0 - up - down
    return out


def _convert() -> FloatArray:
    """Daily conversion hazard ``[g, f, r1]``: steep in readiness, higher with fit, faster for
    small firms (none at readiness 0)."""
    per_level = np.array([0.0, 0.00015, 0.0006, 0.0022, 0.0068, 0.015])
    fit = np.array([0.5, 1.0, 1.6])
    size = np.array([1.3, 1.0, 0.6])
    out: FloatArray = size[:, None, None] * fit[None, :, None] * per_level[None, None, :]
    return out


def default_world() -> World:
    """The documented default world of the simulator."""
    capacity = (0.6, 1.0, 1.4)
    activity = (0.7, 1.0, 1.4)
    lose = np.where(np.arange(R) == 0, 0.004, np.where(np.arange(R) == 1, 0.002, 0.0007))
    return World(
        policy=_policy(capacity),
        jump=_jump(),
        emission=_emission(activity),
        decay=0.25,
        convert=_convert(),
        lose=lose.astype(np.float64),
        drift=_drift(),
        capacity=capacity,
        activity=activity,
    )
