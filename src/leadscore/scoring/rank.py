"""The ranked lead list sales works from: scored open leads, filtered, best first."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from leadscore.errors import UsageError

__all__ = ["rank_leads"]


def rank_leads(
    scores: pl.DataFrame,
    *,
    owner: str | None = None,
    grades: Sequence[str] = (),
    limit: int | None = None,
) -> pl.DataFrame:
    """Open leads by probability (highest first, ties by lead id) with a ``rank`` column.

    ``owner`` and ``grades`` filter; ``limit`` keeps the first rows. The rank is the position
    in the filtered list, starting at 1.
    """
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be a positive number of leads; got {limit}.")
    ranked = scores
    if owner is not None:
        if "owner" not in scores.columns:
            raise UsageError("These scores carry no owner column, so --owner cannot filter.")
        ranked = ranked.filter(pl.col("owner") == owner)
    if grades:
        ranked = ranked.filter(pl.col("grade").is_in(list(grades)))
    ranked = ranked.sort(["probability", "lead_id"], descending=[True, False])
    if limit is not None:
        ranked = ranked.head(limit)
    return ranked.with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int64))
