"""Uncertainty and data quality: what a model does not know, and which labels to doubt.

Epistemic uncertainty (DEUP, ensemble decomposition), evidential opinions on
logits (ignorance and confusion), label
issues found by confident learning, per-sample difficulty (EL2N), crowd answers
with their top-two confusion, and relative confidence from pairwise preferences.
"""

from ._bradley_terry import BradleyTerryConfidence
from ._crowd import TopTwoCrowdAggregator
from ._data_difficulty import DataDifficultyScorer
from ._deup import DEUPClassifier, DEUPRegressor
from ._ensemble import EnsembleUncertainty, ensemble_uncertainty
from ._label_issues import (
    LabelIssueDetector,
    confident_joint,
    find_label_issues,
    label_quality_scores,
)
from ._subjective_logic import SubjectiveLogicClassifier

__all__ = [
    "BradleyTerryConfidence",
    "DEUPClassifier",
    "DEUPRegressor",
    "DataDifficultyScorer",
    "EnsembleUncertainty",
    "LabelIssueDetector",
    "SubjectiveLogicClassifier",
    "TopTwoCrowdAggregator",
    "confident_joint",
    "ensemble_uncertainty",
    "find_label_issues",
    "label_quality_scores",
]
