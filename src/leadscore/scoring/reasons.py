"""Plain-language reasons from LightGBM's SHAP contributions (``pred_contrib``).

Contributions to the margin are summed per feature family (all pricing-page counts together,
all e-mail counts together, ...). The families that push the probability up most are the
lead's reasons; those that pull it down most are its risks. Each is rendered by the family's
strongest feature with the lead's own value: "4 pricing-page views in the last 7 days".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from leadscore.features import FeatureInfo

__all__ = ["Reason", "explain"]

#: Contributions smaller than this (in log-odds) are not worth telling a person about.
MIN_CONTRIBUTION = 0.02


@dataclass(frozen=True)
class Reason:
    """One reason: the family, its summed contribution (log-odds) and the sentence."""

    family: str
    contribution: float
    text: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "family": self.family,
            "contribution": round(self.contribution, 4),
            "text": self.text,
        }


def _families(infos: Sequence[FeatureInfo]) -> tuple[list[str], NDArray[np.int64]]:
    names = list(dict.fromkeys(info.family for info in infos))
    index = {family: i for i, family in enumerate(names)}
    return names, np.array([index[info.family] for info in infos], dtype=np.int64)


def explain(
    contributions: NDArray[np.float64],
    values: Sequence[Mapping[str, object]],
    infos: Sequence[FeatureInfo],
    *,
    top: int,
) -> list[tuple[list[Reason], list[Reason]]]:
    """For each row: up to ``top`` reasons for and ``top`` against, strongest first.

    ``contributions`` is ``pred_contrib`` output (one column per feature of ``infos``, then
    the bias); ``values`` the same rows' raw feature values by name.
    """
    families, family_of = _families(infos)
    per_feature = contributions[:, : len(infos)]
    summed = np.zeros((per_feature.shape[0], len(families)))
    np.add.at(summed.T, family_of, per_feature.T)
    out: list[tuple[list[Reason], list[Reason]]] = []
    for row in range(per_feature.shape[0]):
        order = np.argsort(-np.abs(summed[row]))
        up: list[Reason] = []
        down: list[Reason] = []
        for f in order:
            total = float(summed[row, f])
            if abs(total) < MIN_CONTRIBUTION:
                break
            side = up if total > 0 else down
            if len(side) >= top:
                continue
            members = np.flatnonzero(family_of == f)
            signed = per_feature[row, members] * np.sign(total)
            strongest = infos[int(members[int(np.argmax(signed))])]
            side.append(Reason(families[f], total, strongest.describe(values[row][strongest.name])))
            if len(up) >= top and len(down) >= top:
                break
        out.append((up, down))
    return out
