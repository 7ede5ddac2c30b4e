"""The feature encoder: a large frame exported in one piece equals the smaller frames' paths."""

from __future__ import annotations

import numpy as np
import polars as pl

from leadscore.training.encoding import BLOCK_ROWS, FeatureEncoder


def test_the_block_export_equals_the_small_frame_path() -> None:
    rows = 3 * BLOCK_ROWS
    rng = np.random.default_rng(1)
    frame = pl.DataFrame(
        {
            "score": rng.random(rows),
            "count": pl.Series(rng.integers(0, 5, rows), dtype=pl.Int64),
            "country": pl.Series(
                ["XX" if i % 50 == 1 else ["DE", "FR", "IT", None][i % 4] for i in range(rows)]
            ),
            "gap": pl.Series([None if i % 7 == 0 else float(i) for i in range(rows)]),
            "source": pl.Series([["web", "fair"][i % 2] for i in range(rows)]),
        }
    )
    encoder = FeatureEncoder(min_category_count=rows // 10).fit(
        frame, ["country", "score", "count", "source", "gap"], ["country", "source"]
    )
    block = encoder.transform(frame)
    assert block.dtype == np.float64 and block.flags["C_CONTIGUOUS"]
    # Pieces of 100 rows look categories up in Python, of 600 rows code them with a query.
    for size in (100, 600):
        pieces = [encoder.transform(frame.slice(i, size)) for i in range(0, rows, size)]
        np.testing.assert_array_equal(block, np.vstack(pieces))
    # "XX" is rarer than the vocabulary's threshold: it is coded as "other", missing as NaN.
    assert encoder.vocabularies_["country"][:-1] == ("DE", "FR", "IT")
    country, values = block[:, 0], frame["country"]
    assert np.isnan(country[values.is_null().to_numpy()]).all()
    assert (country[(values == "XX").fill_null(False).to_numpy()] == 3).all()
    assert (country[(values == "IT").fill_null(False).to_numpy()] == 2).all()
