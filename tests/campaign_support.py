"""A synthetic campaign test as marketing teams keep it: one row per customer, the arm, the
outcome, and messy columns. The effect of each arm depends on one column (``tenure``), so a
model that finds it ranks customers better than chance; the true uplift of every row is
returned beside the table."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

ARMS = ("control", "email", "call")


class Campaign(NamedTuple):
    """The table as a CSV would hold it (text cells) and, per row, the true uplift of each
    treatment arm and the arm each row got."""

    frame: pl.DataFrame
    true_uplift: dict[str, np.ndarray]
    arm: np.ndarray


def campaign_table(rows: int = 6_000, seed: int = 0, *, confounded: bool = False) -> Campaign:
    """``rows`` customers; randomised 40/30/30 over control, email and call, or (with
    ``confounded``) assigned mostly by ``tenure``: long-standing customers get the call,
    which also converts them more often without it."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 60, rows)
    region = rng.choice(["north", "south", "east", "west"], rows)
    spend = rng.gamma(2.0, 400.0, rows)
    base = 0.08 + 0.04 * (region == "north") + 0.002 * tenure
    effect = {
        "email": np.where(tenure < 12, 0.15, -0.03),
        "call": np.where(tenure >= 36, 0.15, 0.0),
    }
    if confounded:
        logits = np.column_stack([np.zeros(rows), np.zeros(rows), (tenure - 30) / 8])
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        arm = (rng.random(rows)[:, None] > p.cumsum(axis=1)).sum(axis=1)
        base = base + 0.004 * tenure
    else:
        arm = rng.choice(3, rows, p=[0.4, 0.3, 0.3])
    p_convert = base.copy()
    for code, name in enumerate(ARMS[1:], start=1):
        p_convert += np.where(arm == code, effect[name], 0.0)
    converted = rng.random(rows) < np.clip(p_convert, 0, 1)

    spelled_arm = np.array(ARMS, dtype=object)[arm]
    messy = rng.random(rows)
    spelled_arm[(arm == 1) & (messy < 0.2)] = "Email "
    spelled_arm[(arm == 0) & (messy < 0.1)] = "Control"
    region_text = np.array(
        [r.title() if m < 0.3 else r for r, m in zip(region, messy, strict=True)]
    )
    region_text[messy > 0.97] = "n/a"
    spend_text = np.array([f"{s:,.2f}" for s in spend], dtype=object)
    spend_text[messy < 0.02] = "-"
    tenure_text = tenure.astype(str).astype(object)
    tenure_text[(messy > 0.5) & (messy < 0.51)] = "unknown"
    frame = pl.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(rows)],
            "tenure": tenure_text.tolist(),
            "region": region_text.tolist(),
            "spend": spend_text.tolist(),
            "country": ["DE"] * rows,
            "treatment": spelled_arm.tolist(),
            "converted": np.where(converted, "Yes", "No").tolist(),
        }
    )
    return Campaign(frame, effect, arm)
