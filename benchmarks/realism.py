"""Realism of the simulator at 20,000 leads on several seeds (the bar is checked on seed 42
by the test suite; this reports the others too).

    .venv/bin/python benchmarks/realism.py [--leads 20000] [--seeds 42 1 2]
"""

from __future__ import annotations

import argparse
import json

from leadscore.data.simulator import SimulationConfig, simulate, summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    args = parser.parse_args()
    print("seed  conv(snap)  conv(new)  oracle_auc  best_signal_auc  uplift_mean  uplift_max")
    rows = []
    for seed in args.seeds:
        config = SimulationConfig(leads=args.leads, seed=seed)
        s = summarize(simulate(config), config.horizon_days)
        rows.append({"seed": seed, **s})
        best, up = s["best_single_signal"], s["best_touchpoint_uplift"]
        print(
            f"{seed:>4}  {s['conversion_rate_snapshots']:>10.3f}  "
            f"{s['conversion_rate_from_creation']:>9.3f}  {s['oracle_roc_auc']:>10.4f}  "
            f"{best['roc_auc']:>15.4f}  {up['mean']:>11.4f}  {up['max']:>10.4f}"
        )
    print(json.dumps(rows, default=str))


if __name__ == "__main__":
    main()
