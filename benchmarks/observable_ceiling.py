"""Observable ceiling: the best ROC AUC any model can reach from the observable data alone.

The oracle (``p_true`` in the truth table) knows each lead's hidden state at ``as_of``. A
model only sees the lead's fields and its touchpoint log strictly before ``as_of``. The best
such model predicts the posterior mean of the oracle,

    p_obs = E[p_true | observations before as_of] = Σ_s P(s | observations) · V(s),

where ``V`` is the exact backward-DP value of :func:`leadscore.data.simulator.truth.
truth_values` (the same one ``p_true`` comes from) and the posterior comes from an exact
forward filter (HMM filtering) over each lead's days, built from the arrays of
:class:`~leadscore.data.simulator.world.World` in the order of one simulated day:

1. the logging policy picks the company touchpoint from ``(g, c, T, e, d)``: its probability
   of the touchpoint actually logged (``none`` on a quiet day) is a likelihood, because the
   heat ``e`` is hidden (it decays at random on quiet days) and so is the size band ``g`` of
   a lead without company size;
2. readiness jumps with the logged touchpoint;
3. the lead's own touchpoints per type are independent Poisson counts given ``(rho, r1)``; their
   total moves the heat deterministically, a quiet day lowers it with probability ``decay``;
4. the lead survives the day (neither converted nor lost: it is still open at ``as_of``);
5. readiness drifts.

Hidden and filtered: readiness ``r``, heat ``e``, the activity level ``rho`` (a per-lead
constant, prior from the population), and the size band ``g`` and fit ``f`` when a
firmographic field is missing (priors from the population's distributions; for ``g`` the
owner and the deal value are informative, and a nurture e-mail's campaign names the band).
Known: the demo flag ``d`` (demos are logged), the owner's capacity ``c``, the calendar and
the start (readiness prior by source, initial heat from the creation touchpoint). Nothing is
approximated except the deal-value likelihood (a numerical integral over company size).

The filter is checked three ways: ``p_obs`` matches the realised conversion rate; it is the
conditional mean of ``p_true`` (mean of ``p_true - p_obs`` is zero within every decile of
``p_obs``, a test with standard errors clustered by lead); and its readiness posterior puts
more mass on the true readiness the more active the lead was. The known attributes parsed
from the tables are compared with the simulator's population (re-drawn with the same seed).

    .venv/bin/python benchmarks/observable_ceiling.py [--leads 20000] [--seeds 42 1 2]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.special import logsumexp
from sklearn.metrics import brier_score_loss, roc_auc_score

from leadscore.data.simulator import SimulationConfig, simulate
from leadscore.data.simulator.calendar import Calendar
from leadscore.data.simulator.population import (
    _ACTIVITY_P,
    _INDUSTRY_FIT,
    _INDUSTRY_P,
    _JOB_FIT,
    _JOB_P,
    _START_READINESS,
    CREATION_ACTIONS,
    INDUSTRIES,
    JOB_LEVELS,
    OWNERS,
    SOURCES,
    draw,
)
from leadscore.data.simulator.tables import Tables, lead_ids
from leadscore.data.simulator.truth import Chains, truth_values
from leadscore.data.simulator.world import (
    ACTIONS,
    LEAD_ACTIONS,
    SIZE_BANDS,
    D,
    E,
    R,
    World,
    default_world,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_DAY_US = 86_400_000_000
_DEMO = ACTIONS.index("demo")
_NURTURE = ACTIONS.index("nurture_email")
_N_TYPES = len(LEAD_ACTIONS)
_N_BANDS = len(SIZE_BANDS)
_N_FIT = 3
_N_CAP = 3
_N_RHO = len(_ACTIVITY_P)
# Company size and deal value as drawn in population.draw (inline literals there):
# size = clip(ceil(exp(N(3.6, 1.7))), 1, 250_000), band cuts 50 / 1000,
# deal = round(exp(7.6 + 0.38 ln size + N(0, 0.7)), -1).
_LOG_SIZE = (3.6, 1.7)
_SIZE_MAX = 250_000
_BAND_CUTS = (50, 1000)
_DEAL = (7.6, 0.38, 0.7)
_RECENT_DAYS = 14


@dataclass(frozen=True)
class Leads:
    """What the lead table says about each lead (index = position in ``lead_ids``)."""

    created_day: IntArray
    source: IntArray
    capacity: IntArray
    band_prior: FloatArray  # [n, g]
    fit_prior: FloatArray  # [n, f]
    band_known: IntArray  # -1 when company_size is missing
    fit_known: IntArray  # -1 when industry or job level is missing


@dataclass(frozen=True)
class Log:
    """The touchpoint log by day: company touchpoints and lead-initiated counts per type."""

    company_bounds: IntArray  # company events of day t: [bounds[t], bounds[t + 1])
    company_lead: IntArray
    company_action: IntArray
    company_band: IntArray  # band named by a nurture e-mail's campaign, else -1
    lead_bounds: IntArray
    lead_lead: IntArray
    lead_type: IntArray
    lead_count: IntArray


@dataclass(frozen=True)
class Ceiling:
    """Per truth snapshot: the observable prediction and the readiness posterior."""

    leads: Leads
    p_obs: FloatArray
    readiness_posterior: FloatArray  # [snapshot, r]
    activity_posterior: FloatArray  # [snapshot, rho]
    recent_activity: IntArray  # lead-initiated touchpoints in the 14 days before as_of


def _days(ts: pl.Expr, epoch_us: int) -> pl.Expr:
    return (ts.dt.epoch("us") - epoch_us) // _DAY_US


def _lead_index() -> pl.Expr:
    return pl.col("lead_id").str.slice(1).cast(pl.Int64) - 1


def _band_prior(owner: IntArray, deal: FloatArray, band_known: IntArray) -> FloatArray:
    """``P(g | lead fields)``: a point mass where the company size is known, else
    ``P(g | owner, deal value)`` by integrating the deal-value density over company size."""
    enterprise_rep = np.array([o[1] for o in OWNERS])[owner]
    # P(owner | g): enterprise leads go to the enterprise reps, small ones to the others,
    # mid-size ones to anyone.
    n_ent = sum(o[1] for o in OWNERS)
    p_owner = np.stack(
        [
            np.where(enterprise_rep, 0.0, 1.0 / (len(OWNERS) - n_ent)),
            np.full(owner.size, 1.0 / len(OWNERS)),
            np.where(enterprise_rep, 1.0 / n_ent, 0.0),
        ],
        axis=1,
    )
    mu, sd = _LOG_SIZE
    x = np.linspace(mu - 9 * sd, mu + 9 * sd, 20_001)
    log_px = -0.5 * ((x - mu) / sd) ** 2
    size = np.clip(np.ceil(np.exp(x)), 1, _SIZE_MAX)
    band = np.searchsorted(np.array(_BAND_CUTS), size, side="right")
    deal_mean = _DEAL[0] + _DEAL[1] * np.log(size)
    out = np.eye(_N_BANDS)[np.maximum(band_known, 0)]
    rows = np.flatnonzero(band_known < 0)
    for chunk in np.array_split(rows, max(1, rows.size // 64)):
        if chunk.size == 0:
            continue
        # log density of ln(deal) given the size (the rounding width is the same for all g)
        z = (np.log(deal[chunk])[:, None] - deal_mean[None, :]) / _DEAL[2]
        joint = log_px[None, :] - 0.5 * z**2
        out[chunk] = np.stack(
            [logsumexp(joint[:, band == g], axis=1) for g in range(_N_BANDS)], axis=1
        )
    post = np.exp(out[rows] - out[rows].max(axis=1, keepdims=True)) * p_owner[rows]
    out[rows] = post / post.sum(axis=1, keepdims=True)
    return out


def _read_leads(tables: Tables, epoch_us: int) -> Leads:
    """Lead fields as codes, the known attributes and the priors of the hidden ones."""
    frame = tables.leads
    n = frame.height
    if frame["lead_id"].to_list() != lead_ids(n):
        raise ValueError("leads are not in lead_id order")
    codes = frame.select(
        _days(pl.col("created_at"), epoch_us).alias("day"),
        pl.col("source").replace_strict(SOURCES, list(range(len(SOURCES)))),
        pl.col("industry").replace_strict(INDUSTRIES, list(range(len(INDUSTRIES)))),
        pl.col("job_level").replace_strict(JOB_LEVELS, list(range(len(JOB_LEVELS)))),
        pl.col("owner").replace_strict([o[0] for o in OWNERS], list(range(len(OWNERS)))),
        pl.col("company_size"),
        pl.col("deal_value"),
    )
    owner = codes["owner"].to_numpy().astype(np.int64)
    size = codes["company_size"].to_numpy(allow_copy=True)
    size_missing = np.isnan(size.astype(np.float64))
    cut = np.searchsorted(np.array(_BAND_CUTS), np.nan_to_num(size), side="right")
    band = np.where(size_missing, -1, cut).astype(np.int64)
    band_prior = _band_prior(owner, codes["deal_value"].to_numpy(), band)

    # P(f) by marginalising a missing industry or job level over its population share.
    fit_of = np.add.outer(np.array(_INDUSTRY_FIT), np.array(_JOB_FIT))
    fit_of = np.where(fit_of <= 1, 0, np.where(fit_of == 2, 1, 2))
    one_hot = np.eye(_N_FIT)[fit_of]  # [industry, job, f]
    industry = codes["industry"].fill_null(-1).to_numpy().astype(np.int64)
    job = codes["job_level"].fill_null(-1).to_numpy().astype(np.int64)
    p_ind = np.where(
        (industry >= 0)[:, None], np.eye(len(INDUSTRIES))[industry], np.array(_INDUSTRY_P)
    )
    p_job = np.where((job >= 0)[:, None], np.eye(len(JOB_LEVELS))[job], np.array(_JOB_P))
    fit_prior = np.einsum("ni,nj,ijf->nf", p_ind, p_job, one_hot)
    fit_known = np.where((industry >= 0) & (job >= 0), fit_of[industry, job], -1)
    return Leads(
        created_day=codes["day"].to_numpy().astype(np.int64),
        source=codes["source"].to_numpy().astype(np.int64),
        capacity=np.array([o[2] for o in OWNERS], dtype=np.int64)[owner],
        band_prior=band_prior,
        fit_prior=fit_prior,
        band_known=band,
        fit_known=fit_known.astype(np.int64),
    )


def _read_log(tables: Tables, leads: Leads, days: int, epoch_us: int) -> Log:
    frame = tables.touchpoints.select(
        _lead_index().alias("lead"),
        _days(pl.col("timestamp"), epoch_us).alias("day"),
        "action",
        "initiated_by",
        "campaign",
    )
    frame = frame.with_columns(created=pl.Series(leads.created_day[frame["lead"].to_numpy()]))
    # Every lead-initiated touchpoint on the creation day is the creation touchpoint (the
    # daily steps start the day after); it carries no information beyond the source.
    lead_side = frame.filter(pl.col("initiated_by") == "lead")
    creation = lead_side.filter(pl.col("day") <= pl.col("created"))
    made = np.isin(leads.source, [SOURCES.index(s) for s in CREATION_ACTIONS])
    if creation.height != int(made.sum()):
        raise ValueError("unexpected lead-initiated touchpoints on creation days")
    counts = (
        lead_side.filter(pl.col("day") > pl.col("created"))
        .with_columns(
            pl.col("action").replace_strict(LEAD_ACTIONS, list(range(_N_TYPES))).alias("type")
        )
        .group_by("day", "lead", "type")
        .len()
        .sort("day", "lead", "type")
    )
    company = (
        frame.filter(pl.col("initiated_by") == "company")
        .with_columns(
            pl.col("action").replace_strict(ACTIONS, list(range(len(ACTIONS)))).alias("a"),
            pl.col("campaign")
            .str.strip_prefix("nurture_")
            .replace_strict(SIZE_BANDS, list(range(_N_BANDS)), default=-1)
            .alias("band"),
        )
        .sort("day", "lead")
    )
    if company.select(pl.struct("day", "lead").is_duplicated().any()).item():
        raise ValueError("more than one company touchpoint per lead and day")
    if (company["day"] <= company["created"]).any():
        raise ValueError("company touchpoint on or before a lead's creation day")
    band = np.where(company["a"].to_numpy() == _NURTURE, company["band"].to_numpy(), -1)
    grid = np.arange(days + 1)
    return Log(
        company_bounds=np.searchsorted(company["day"].to_numpy(), grid).astype(np.int64),
        company_lead=company["lead"].to_numpy().astype(np.int64),
        company_action=company["a"].to_numpy().astype(np.int64),
        company_band=band.astype(np.int64),
        lead_bounds=np.searchsorted(counts["day"].to_numpy(), grid).astype(np.int64),
        lead_lead=counts["lead"].to_numpy().astype(np.int64),
        lead_type=counts["type"].to_numpy().astype(np.int64),
        lead_count=counts["len"].to_numpy().astype(np.int64),
    )


def _end_days(tables: Tables, n: int, epoch_us: int) -> IntArray:
    """Day of each lead's outcome (the last day it steps), a large number if none."""
    out = tables.outcomes.select(
        _lead_index().alias("lead"),
        _days(pl.coalesce("converted_at", "lost_at"), epoch_us).alias("day"),
    )
    end = np.full(n, np.iinfo(np.int64).max // 2, dtype=np.int64)
    end[out["lead"].to_numpy()] = out["day"].to_numpy()
    return end


def _heat_moves(decay: float) -> FloatArray:
    """``P(e1 | e)`` given the day's total of lead-initiated touchpoints ``min(N, E-1)``."""
    out = np.zeros((E, E, E))
    for e in range(E):
        out[0, e, max(0, e - 1)] += decay if e > 0 else 1.0
        out[0, e, e] += 1.0 - decay if e > 0 else 0.0
        for k in range(1, E):
            out[k, e, min(E - 1, e + k)] = 1.0
    return out


def observable_ceiling(tables: Tables, config: SimulationConfig, world: World) -> Ceiling:
    """Filter every lead's observations and return the Bayes-optimal observable prediction
    for each row of ``tables.truth`` (in its order)."""
    calendar = Calendar.from_config(config)
    epoch_us = int(calendar.timestamp_us(np.zeros(1, np.int64), np.zeros(1, np.int64))[0])
    leads = _read_leads(tables, epoch_us)
    n = leads.created_day.size
    log = _read_log(tables, leads, calendar.days, epoch_us)
    end = _end_days(tables, n, epoch_us)
    truth = tables.truth.select(
        _lead_index().alias("lead"), _days(pl.col("as_of"), epoch_us).alias("day")
    )
    t_lead, t_day = truth["lead"].to_numpy(), truth["day"].to_numpy()
    snap_days = np.unique(t_day)

    # Exact values V[k, r, e, d] of every chain (g, f, c, rho) on every snapshot day.
    grid = np.stack(np.meshgrid(*[np.arange(3)] * 4, indexing="ij"), axis=-1).reshape(-1, 4)
    chains = Chains.of(grid[:, 0], grid[:, 1], grid[:, 2], grid[:, 3])
    chain_of = chains.of_lead.reshape(_N_BANDS, _N_FIT, _N_CAP, _N_RHO)
    values = {
        day: v.reshape(-1, R, E, D)
        for day, (_q, v, _pi) in truth_values(world, chains, calendar, snap_days).items()
    }

    # One filter row per lead and hypothesis (g, f, rho) of positive prior probability.
    prior = (
        leads.band_prior[:, :, None, None]
        * leads.fit_prior[:, None, :, None]
        * np.asarray(_ACTIVITY_P)[None, None, None, :]
    )
    row_lead, row_g, row_f, row_rho = (a.astype(np.int64) for a in np.nonzero(prior > 0))
    row_c = leads.capacity[row_lead]
    row_k = chain_of[row_g, row_f, row_c, row_rho]
    logw = np.log(prior[row_lead, row_g, row_f, row_rho])
    start_r = np.array([_START_READINESS[s] + (0.0,) * (R - 5) for s in SOURCES])
    start_e = np.isin(leads.source, [SOURCES.index(s) for s in CREATION_ACTIONS]).astype(int)
    belief = np.zeros((row_lead.size, R, E))
    belief[np.arange(row_lead.size), :, start_e[row_lead]] = start_r[leads.source[row_lead]]
    row_start, row_end = leads.created_day[row_lead] + 1, end[row_lead]

    lam = world.emission.transpose(1, 2, 3, 0)  # [rho, fair, r1, type]
    log_lam = np.log(np.maximum(lam, 1e-300))
    lam_sum = lam.sum(axis=-1)
    heat = _heat_moves(world.decay)
    survive = (1.0 - world.convert) * (1.0 - world.lose)[None, None, :]  # [g, f, r1]

    demo = np.zeros(n, dtype=np.int64)
    recent = np.zeros((_RECENT_DAYS, n), dtype=np.int64)
    p_obs = np.full(t_lead.size, np.nan)
    post_r = np.full((t_lead.size, R), np.nan)
    post_rho = np.zeros((t_lead.size, _N_RHO))
    activity = np.zeros(t_lead.size, dtype=np.int64)
    for t in range(int(snap_days.max()) + 1):
        idx = np.flatnonzero((row_start <= t) & (t <= row_end))
        lead = row_lead[idx]
        if t in values:
            rows = np.flatnonzero(t_day == t)
            if not np.array_equal(np.unique(lead), np.sort(t_lead[rows])):
                raise AssertionError(f"open leads on day {t} differ from the truth snapshot")
            top = np.full(n, -np.inf)
            np.maximum.at(top, lead, logw[idx])
            w = np.exp(logw[idx] - top[lead])
            total = np.bincount(lead, w, minlength=n)
            b = belief[idx]
            v = values[t][row_k[idx], :, :, demo[lead]]
            val = np.bincount(lead, w * (b * v).sum(axis=(1, 2)), minlength=n)
            val = np.divide(val, total, out=np.zeros(n), where=total > 0)
            tl = t_lead[rows]
            p_obs[rows] = val[tl]
            pr = b.sum(axis=2) * (w / total[lead])[:, None]
            post_r[rows] = np.stack(
                [np.bincount(lead, pr[:, r], minlength=n) for r in range(R)], axis=1
            )[tl]
            post_rho[rows] = np.stack(
                [
                    np.bincount(lead, w / total[lead] * (row_rho[idx] == k), minlength=n)
                    for k in range(_N_RHO)
                ],
                axis=1,
            )[tl]
            activity[rows] = recent.sum(axis=0)[tl]
        if idx.size == 0:
            continue
        kind = int(calendar.types[t])
        fair = kind // 2
        lo, hi = log.company_bounds[t], log.company_bounds[t + 1]
        action = np.zeros(n, dtype=np.int64)
        action[log.company_lead[lo:hi]] = log.company_action[lo:hi]
        named = np.full(n, -1, dtype=np.int64)
        named[log.company_lead[lo:hi]] = log.company_band[lo:hi]
        lo, hi = log.lead_bounds[t], log.lead_bounds[t + 1]
        counts = np.zeros((n, _N_TYPES))
        counts[log.lead_lead[lo:hi], log.lead_type[lo:hi]] = log.lead_count[lo:hi]
        day_total = counts.sum(axis=1).astype(np.int64)
        recent[t % _RECENT_DAYS] = day_total

        g, f, c, rho = row_g[idx], row_f[idx], row_c[idx], row_rho[idx]
        a, d, k_n = action[lead], demo[lead], counts[lead]
        b = belief[idx] * world.policy[g, c, kind, :, d, a][:, None, :]  # 1. policy
        b = np.einsum("nre,nrs->nse", b, world.jump[kind, a, g, d])  # 2. jump
        ll = np.einsum("nst,nt->ns", log_lam[rho, fair], k_n) - lam_sum[rho, fair]  # 3.
        ll_max = ll.max(axis=1)
        b *= np.exp(ll - ll_max[:, None])[:, :, None]
        b = np.einsum("nse,nef->nsf", b, heat[np.minimum(day_total[lead], E - 1)])
        b *= survive[g, f][:, :, None]  # 4. neither converted nor lost
        b = np.einsum("nse,nsz->nze", b, world.drift[g, f])  # 5. drift
        mass = b.sum(axis=(1, 2))
        belief[idx] = b / np.where(mass > 0, mass, 1.0)[:, None, None]
        mismatch = (named[lead] >= 0) & (named[lead] != g)  # a nurture campaign names g
        with np.errstate(divide="ignore"):
            logw[idx] += np.log(mass) + ll_max + np.where(mismatch, -np.inf, 0.0)
        demo = np.where(action == _DEMO, 1, demo)

    if np.isnan(p_obs).any():
        raise AssertionError("snapshot without a prediction")
    return Ceiling(
        leads=leads,
        p_obs=p_obs,
        readiness_posterior=post_r,
        activity_posterior=post_rho,
        recent_activity=activity,
    )


def _check_attributes(config: SimulationConfig, ceiling: Ceiling, t_lead: IntArray) -> FloatArray:
    """Compare the attributes read from the tables with the simulator's population (``draw``
    is the first use of the run's generator, so the same seed re-draws it) and return the
    posterior probability of each snapshot's true activity level."""
    people = draw(np.random.default_rng(config.seed), config.leads, Calendar.from_config(config))
    leads = ceiling.leads
    known_g, known_f = leads.band_known >= 0, leads.fit_known >= 0
    if not (
        np.array_equal(leads.band_known[known_g], people.size_band[known_g])
        and np.array_equal(leads.fit_known[known_f], people.fit[known_f])
        and np.array_equal(leads.capacity, people.capacity)
    ):
        raise AssertionError("attributes read from the tables differ from the population")
    for post in (ceiling.readiness_posterior, ceiling.activity_posterior):
        if not np.allclose(post.sum(axis=1), 1.0):
            raise AssertionError("a posterior does not sum to one")
    out: FloatArray = ceiling.activity_posterior[np.arange(t_lead.size), people.activity[t_lead]]
    return out


def _clustered_z(diff: FloatArray, cluster: IntArray) -> tuple[float, float]:
    """Mean of ``diff`` and its z-score with a standard error clustered by ``cluster``."""
    mean = float(diff.mean())
    sums = np.bincount(cluster, diff - mean)
    se = float(np.sqrt((sums**2).sum()) / diff.size)
    return mean, mean / se if se > 0 else 0.0


def _report_seed(seed: int, leads: int, show_examples: bool) -> dict[str, float]:
    config = SimulationConfig(leads=leads, seed=seed)
    start = time.perf_counter()
    tables = simulate(config)
    simulated = time.perf_counter() - start
    ceiling = observable_ceiling(tables, config, default_world())
    elapsed = time.perf_counter() - start
    truth = tables.truth
    y = truth["converted"].to_numpy().astype(np.float64)
    p_true = truth["p_true"].to_numpy()
    p_obs = ceiling.p_obs
    cluster = truth.select(_lead_index())["lead_id"].to_numpy()
    rho_mass = _check_attributes(config, ceiling, cluster)
    r_true = truth["readiness"].to_numpy()

    print(f"seed {seed}: {y.size} snapshots, simulate {simulated:.1f} s, total {elapsed:.1f} s")
    m, z = _clustered_z(p_obs - y, cluster)
    print(f"  (1) mean p_obs - realised = {m:+.4f} (z = {z:+.2f}, clustered by lead)")
    m, z = _clustered_z(p_true - y, cluster)
    print(f"      mean p_true - realised = {m:+.4f} (z = {z:+.2f})")
    m, z = _clustered_z(p_true - p_obs, cluster)
    edges = np.quantile(p_obs, np.linspace(0, 1, 11)[1:-1])
    decile = np.searchsorted(edges, p_obs)
    zs = [_clustered_z((p_true - p_obs)[decile == q], cluster[decile == q])[1] for q in range(10)]
    print(
        f"      p_obs = E[p_true | obs]: mean p_true - p_obs = {m:+.5f} (z = {z:+.2f}); "
        f"per decile of p_obs max |z| = {max(abs(v) for v in zs):.2f}"
    )
    auc = (float(roc_auc_score(y, p_true)), float(roc_auc_score(y, p_obs)))
    print(f"  (2) ROC AUC ceiling {auc[1]:.4f} <= oracle {auc[0]:.4f}: {auc[1] <= auc[0]}")
    mass_true = ceiling.readiness_posterior[np.arange(y.size), r_true]
    mean_r = ceiling.readiness_posterior @ np.arange(R)
    prior_r = np.bincount(r_true, minlength=R) / r_true.size
    parts = []
    for lo, hi in ((0, 0), (1, 4), (5, 14), (15, 10**9)):
        sel = (ceiling.recent_activity >= lo) & (ceiling.recent_activity <= hi)
        label = f"{lo}-{hi}" if hi < 10**9 else f">={lo}"
        parts.append(
            f"{label}: P(true r) {mass_true[sel].mean():.2f} "
            f"(marginal {prior_r[r_true[sel]].mean():.2f}), "
            f"|E r - r| {np.abs(mean_r - r_true)[sel].mean():.2f}"
        )
    print(f"  (3) readiness posterior by lead touchpoints in the {_RECENT_DAYS} days before as_of:")
    print("      " + "; ".join(parts))
    print(
        f"      P(true activity level) {rho_mass.mean():.2f} "
        f"(prior alone {np.asarray(_ACTIVITY_P) @ np.asarray(_ACTIVITY_P):.2f})"
    )
    if show_examples:
        print("      busiest snapshots: true r | posterior over r = 0..5 | p_true | p_obs")
        for i in np.argsort(-ceiling.recent_activity, kind="stable")[:5]:
            dist = " ".join(f"{p:.2f}" for p in ceiling.readiness_posterior[i])
            print(
                f"      {truth['lead_id'][int(i)]} ({ceiling.recent_activity[i]} events): "
                f"r={r_true[i]} | {dist} | {p_true[i]:.3f} | {p_obs[i]:.3f}"
            )
    return {
        "seed": seed,
        "snapshots": y.size,
        "conv": float(y.mean()),
        "oracle_auc": auc[0],
        "ceiling_auc": auc[1],
        "oracle_brier": float(brier_score_loss(y, p_true)),
        "ceiling_brier": float(brier_score_loss(y, p_obs)),
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    args = parser.parse_args()
    rows = [_report_seed(s, args.leads, i == 0) for i, s in enumerate(args.seeds)]
    print()
    print(
        "seed  snapshots  conv   oracle_auc  ceiling_auc  auc_gap  "
        "oracle_brier  ceiling_brier  brier_gap  seconds"
    )
    for r in rows:
        print(
            f"{r['seed']:>4}  {r['snapshots']:>9}  {r['conv']:.3f}  {r['oracle_auc']:>10.4f}  "
            f"{r['ceiling_auc']:>11.4f}  {r['oracle_auc'] - r['ceiling_auc']:>7.4f}  "
            f"{r['oracle_brier']:>12.4f}  {r['ceiling_brier']:>13.4f}  "
            f"{r['ceiling_brier'] - r['oracle_brier']:>9.4f}  {r['seconds']:>7.1f}"
        )


if __name__ == "__main__":
    main()
