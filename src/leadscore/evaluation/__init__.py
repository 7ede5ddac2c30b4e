"""Evaluation of conversion models: metrics, calibration by segment, readiness verdict, charts.

Pure functions of outcomes (0/1) and predicted probabilities; nothing here trains, logs or
loads a model. :func:`binary_metrics` and :func:`readiness_verdict` give the numbers and the
verdict for a test set, :func:`calibration_by_segment` shows where the probabilities can be
trusted, and the ``*_plot`` functions draw the charts as PNG bytes.
"""

from leadscore.evaluation.calibration import (
    calibration_by_segment,
    calibration_table,
    expected_calibration_error,
)
from leadscore.evaluation.metrics import METRIC_NAMES, binary_metrics, lift_at, oracle_metrics
from leadscore.evaluation.plots import (
    calibration_plot,
    gain_lift_plot,
    importance_plot,
    precision_recall_plot,
    roc_plot,
    shap_summary_plot,
)
from leadscore.evaluation.readiness import Verdict, readiness_verdict

__all__ = [
    "METRIC_NAMES",
    "Verdict",
    "binary_metrics",
    "calibration_by_segment",
    "calibration_plot",
    "calibration_table",
    "expected_calibration_error",
    "gain_lift_plot",
    "importance_plot",
    "lift_at",
    "oracle_metrics",
    "precision_recall_plot",
    "readiness_verdict",
    "roc_plot",
    "shap_summary_plot",
]
