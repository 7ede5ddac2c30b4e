"""Exact ground truth by dynamic programming over each lead's Markov chain.

For a snapshot ``(lead, as_of)`` at the start of day ``t`` the truth is

* ``p_true``  P(convert in days t … t+H-1 | state at as_of, logging policy from as_of on);
* ``p_<a>``   the same if the company does touchpoint ``a`` on day ``t`` (``none``: nothing)
  and the logging policy acts from day ``t + 1`` on.

The chain of a lead is fixed by its attributes ``(g, f, c, rho)``; its state space is
``(r, e, d)``. The values are computed backwards over the horizon (the calendar makes the
chain time-dependent), so they are exact: no Monte Carlo error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from leadscore.data.simulator.calendar import Calendar
from leadscore.data.simulator.world import ACTIONS, N_ACTIONS, D, E, R, World

__all__ = ["Chains", "S", "TruthTable", "state_index", "truth_values"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

S = R * E * D
_DEMO = ACTIONS.index("demo")
_N_TYPES = 4


def state_index(r: IntArray, e: IntArray, d: IntArray) -> IntArray:
    """Flat index of state ``(r, e, d)``."""
    return ((r * E + e) * D + d).astype(np.int64)


@dataclass(frozen=True)
class Chains:
    """The distinct chains ``(g, f, c, rho)`` of a population and each lead's chain."""

    attributes: IntArray  # [K, 4]
    of_lead: IntArray  # [n]

    @classmethod
    def of(cls, g: IntArray, f: IntArray, c: IntArray, rho: IntArray) -> Chains:
        keys = np.stack([g, f, c, rho], axis=1)
        attributes, of_lead = np.unique(keys, axis=0, return_inverse=True)
        return cls(attributes.astype(np.int64), of_lead.reshape(-1).astype(np.int64))


@dataclass(frozen=True)
class TruthTable:
    """Truth of one snapshot day: ``p_action[i, a]`` and ``p_true[i]`` for each lead ``i``."""

    p_action: FloatArray
    p_true: FloatArray
    policy: FloatArray


def _transitions(world: World, chains: Chains, kind: int) -> tuple[FloatArray, FloatArray]:
    """Survival transitions ``M[k, a, s, s2]`` and same-day conversion ``conv[k, a, s]``."""
    hot = world.hotness_transition()
    k_n = len(chains.attributes)
    m = np.zeros((k_n, N_ACTIONS, R, E, D, R, E, D))
    conv = np.zeros((k_n, N_ACTIONS, R, E, D))
    fair = kind // 2
    for k, (g, f, _c, rho) in enumerate(chains.attributes):
        h = world.convert[g, f]
        surv = (1.0 - h) * (1.0 - world.lose)
        pe = hot[rho, fair]  # [r1, e, e1]
        drift = world.drift[g, f]  # [r1, r2]
        for a in range(N_ACTIONS):
            jump = world.jump[kind, a, g]  # [d, r, r1]
            conv[k, a] = np.einsum("dxy,y->xd", jump, h)[:, None, :]
            core = np.einsum("dxy,y,yef,yz->xedzf", jump, surv, pe, drift)
            for d in range(D):
                d1 = 1 if a == _DEMO else d
                m[k, a, :, :, d, :, :, d1] = core[:, :, d]
    return m.reshape(k_n, N_ACTIONS, S, S), conv.reshape(k_n, N_ACTIONS, S)


def _policy_rows(world: World, chains: Chains, kind: int) -> FloatArray:
    """``pi[k, s, a]``: the logging policy in every state of every chain."""
    g, c = chains.attributes[:, 0], chains.attributes[:, 2]
    pol = world.policy[g, c, kind]  # [k, e, d, a]
    return np.broadcast_to(pol[:, None], (len(g), R, E, D, N_ACTIONS)).reshape(len(g), S, N_ACTIONS)


def truth_values(
    world: World,
    chains: Chains,
    calendar: Calendar,
    days: IntArray,
) -> dict[int, tuple[FloatArray, FloatArray, FloatArray]]:
    """For each snapshot day: ``(Q[k, a, s], V[k, s], pi[k, s, a])`` over all chains and states.

    ``Q`` is the probability to convert within the horizon when touchpoint ``a`` is done on
    the day; ``V`` the same under the logging policy.
    """
    kinds = range(_N_TYPES)
    per_kind = {t: _transitions(world, chains, t) for t in kinds}
    policy = {t: _policy_rows(world, chains, t) for t in kinds}
    mixed = {
        t: (
            np.einsum("ksa,kast->kst", policy[t], per_kind[t][0]),
            np.einsum("ksa,kas->ks", policy[t], per_kind[t][1]),
        )
        for t in kinds
    }
    horizon = calendar.horizon
    out: dict[int, tuple[FloatArray, FloatArray, FloatArray]] = {}
    for day in days.tolist():
        w = np.zeros((len(chains.attributes), S))
        for j in range(horizon - 1, 0, -1):
            m_pi, c_pi = mixed[int(calendar.types[day + j])]
            w = c_pi + np.matmul(m_pi, w[:, :, None])[:, :, 0]
        kind = int(calendar.types[day])
        m, conv = per_kind[kind]
        q = conv + np.matmul(m, w[:, None, :, None])[..., 0]
        v = np.einsum("ksa,kas->ks", policy[kind], q)
        out[day] = (q, v, policy[kind])
    return out
