"""Point-in-time features: the one feature builder and the snapshots it is applied to."""

from leadscore.features.builder import TOUCHPOINT_COLUMNS, build_features
from leadscore.features.snapshots import (
    label_snapshots,
    observed_until,
    open_snapshots,
    snapshot_grid,
)
from leadscore.features.spec import DEFAULT_FAMILIES, ExtraColumn, FeatureInfo, FeatureSpec

__all__ = [
    "DEFAULT_FAMILIES",
    "TOUCHPOINT_COLUMNS",
    "ExtraColumn",
    "FeatureInfo",
    "FeatureSpec",
    "build_features",
    "label_snapshots",
    "observed_until",
    "open_snapshots",
    "snapshot_grid",
]
