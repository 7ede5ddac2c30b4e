"""Training: preparing tables for models, leakage checks, fitting."""

from leadscore.training.flat import (
    KNOWN_PAIRS,
    MISSING_SPELLINGS,
    ColumnNote,
    FlatTable,
    SplitIndices,
    prepare_flat_table,
    split_flat,
)
from leadscore.training.leakage import LeakageReport, LeakageSuspect, check_leakage

__all__ = [
    "KNOWN_PAIRS",
    "MISSING_SPELLINGS",
    "ColumnNote",
    "FlatTable",
    "LeakageReport",
    "LeakageSuspect",
    "SplitIndices",
    "check_leakage",
    "prepare_flat_table",
    "split_flat",
]
