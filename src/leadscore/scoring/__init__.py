"""Scoring open leads with a trained propensity model: probability, grade, trend, reasons."""

from leadscore.scoring.rank import rank_leads
from leadscore.scoring.reasons import Reason, explain
from leadscore.scoring.score import grade_of, score_leads, score_snapshots

__all__ = ["Reason", "explain", "grade_of", "rank_leads", "score_leads", "score_snapshots"]
