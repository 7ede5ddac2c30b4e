"""The forward simulation: every lead's daily step, vectorised over the open leads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from leadscore.data.simulator.calendar import Calendar
from leadscore.data.simulator.population import CREATION_ACTIONS, SOURCES, Population
from leadscore.data.simulator.world import ACTIONS, E, World

__all__ = ["Journeys", "Snapshot", "simulate_journeys"]

IntArray = NDArray[np.int64]

_DEMO = ACTIONS.index("demo")
_NOT_DECIDED = -1


@dataclass(frozen=True)
class Snapshot:
    """The hidden state of every open lead at the start of a truth day."""

    day: int
    lead: IntArray
    readiness: IntArray
    hotness: IntArray
    demo: IntArray


@dataclass(frozen=True)
class Journeys:
    """What happened: events as parallel arrays, outcome days per lead, truth snapshots."""

    company_lead: IntArray
    company_day: IntArray
    company_action: IntArray
    company_readiness: IntArray
    lead_lead: IntArray
    lead_day: IntArray
    lead_type: IntArray
    lead_count: IntArray
    converted_day: IntArray
    lost_day: IntArray
    snapshots: tuple[Snapshot, ...]


def _pick(rng: np.random.Generator, probs: NDArray[np.float64]) -> IntArray:
    """One categorical draw per row of ``probs``."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    picked: IntArray = np.minimum((cum <= u[:, None]).sum(axis=1), probs.shape[1] - 1)
    return picked.astype(np.int64)


def simulate_journeys(
    rng: np.random.Generator, world: World, people: Population, calendar: Calendar
) -> Journeys:
    """Run the daily step of :mod:`world` for every lead from its arrival to the period's end."""
    n = len(people)
    g, f, c, rho = people.size_band, people.fit, people.capacity, people.activity
    r = people.readiness.copy()
    creation = np.isin(people.source, [SOURCES.index(s) for s in CREATION_ACTIONS])
    e = creation.astype(np.int64)
    d = np.zeros(n, dtype=np.int64)
    converted = np.full(n, _NOT_DECIDED, dtype=np.int64)
    lost = np.full(n, _NOT_DECIDED, dtype=np.int64)
    active = np.zeros(n, dtype=bool)
    # A lead created on day t takes its first step on day t + 1.
    starts = np.searchsorted(people.created_day + 1, np.arange(calendar.days + 1), side="left")
    truth_days = set(calendar.truth_days.tolist())
    decay = world.decay
    type_share = world.emission / np.maximum(world.emission.sum(axis=0, keepdims=True), 1e-300)

    company: list[tuple[IntArray, ...]] = []
    emitted: list[tuple[IntArray, ...]] = []
    snapshots: list[Snapshot] = []
    for t in range(calendar.days):
        active[starts[t] : starts[t + 1]] = True
        idx = np.flatnonzero(active)
        if t in truth_days:
            snapshots.append(Snapshot(t, idx, r[idx].copy(), e[idx].copy(), d[idx].copy()))
        if idx.size == 0:
            continue
        kind = int(calendar.types[t])
        fair_today = kind // 2
        gi, fi, ri, ei, di, rhoi = g[idx], f[idx], r[idx], e[idx], d[idx], rho[idx]

        action = _pick(rng, world.policy[gi, c[idx], kind, ei, di])
        r1 = _pick(rng, world.jump[kind, action, gi, di, ri])
        d1 = np.where(action == _DEMO, 1, di)

        rates = world.emission[:, rhoi, fair_today, r1].sum(axis=0)
        total = rng.poisson(rates)
        busy = np.flatnonzero(total > 0)
        if busy.size:
            share = type_share[:, rhoi[busy], fair_today, r1[busy]].T
            counts = rng.multinomial(total[busy], share / share.sum(axis=1, keepdims=True))
            rows, types = np.nonzero(counts)
            emitted.append(
                (idx[busy][rows], np.full(rows.size, t), types, counts[rows, types].astype(int))
            )
        quiet_decay = (total == 0) & (ei > 0) & (rng.random(idx.size) < decay)
        e1 = np.where(total > 0, np.minimum(E - 1, ei + total), ei - quiet_decay)

        did = action > 0
        if did.any():
            company.append((idx[did], np.full(int(did.sum()), t), action[did], ri[did]))

        u = rng.random(idx.size)
        conv = u < world.convert[gi, fi, r1]
        gone = ~conv & (rng.random(idx.size) < world.lose[r1])
        r2 = _pick(rng, world.drift[gi, fi, r1])

        r[idx], e[idx], d[idx] = r2, e1, d1
        converted[idx[conv]] = t
        lost[idx[gone]] = t
        active[idx[conv | gone]] = False

    def stack(parts: list[tuple[IntArray, ...]], k: int) -> list[IntArray]:
        if not parts:
            return [np.zeros(0, dtype=np.int64) for _ in range(k)]
        return [np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(k)]

    c_lead, c_day, c_action, c_r = stack(company, 4)
    l_lead, l_day, l_type, l_count = stack(emitted, 4)
    return Journeys(
        company_lead=c_lead,
        company_day=c_day,
        company_action=c_action,
        company_readiness=c_r,
        lead_lead=l_lead,
        lead_day=l_day,
        lead_type=l_type,
        lead_count=l_count,
        converted_day=converted,
        lost_day=lost,
        snapshots=tuple(snapshots),
    )
