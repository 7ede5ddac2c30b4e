"""The baseline every propensity model must beat: a scikit-learn logistic regression.

It reads the same encoded matrix as LightGBM. Numeric columns are imputed (median, with a
missing indicator), sign-log transformed (counts and ages are heavy-tailed) and scaled;
categorical codes are one-hot encoded.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

__all__ = ["MAX_BASELINE_ROWS", "fit_baseline"]


def _signed_log(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.sign(x) * np.log1p(np.abs(x)), dtype=np.float64)


#: A linear model gains nothing measurable from more rows than this; larger training sets are
#: sampled (at random, with a fixed seed) so the baseline stays cheap beside LightGBM.
MAX_BASELINE_ROWS = 100_000


def fit_baseline(
    matrix: NDArray[np.float64], labels: NDArray[np.int8], categorical: list[int]
) -> Pipeline:
    """A fitted logistic-regression pipeline on the encoded feature matrix (at most
    :data:`MAX_BASELINE_ROWS` rows of it)."""
    if matrix.shape[0] > MAX_BASELINE_ROWS:
        rows = np.random.default_rng(0).choice(matrix.shape[0], MAX_BASELINE_ROWS, replace=False)
        rows.sort()
        matrix, labels = matrix[rows], labels[rows]
    numeric = [i for i in range(matrix.shape[1]) if i not in set(categorical)]
    prepare = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [
                        (
                            "impute",
                            SimpleImputer(
                                strategy="median", add_indicator=True, keep_empty_features=True
                            ),
                        ),
                        ("log", FunctionTransformer(_signed_log)),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value=-1.0)),
                        ("onehot", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            ),
        ]
    )
    model = Pipeline([("prepare", prepare), ("logit", LogisticRegression(max_iter=2000, C=1.0))])
    # A multi-threaded BLAS spends more time synchronising than computing on this small
    # problem (measured 10x slower on two busy cores).
    with threadpool_limits(limits=1, user_api="blas"):
        return model.fit(matrix, labels)
