"""Uncertainty and data quality: what a model does not know, and which labels to doubt.

Estimators for evidential opinions on logits (ignorance and confusion), label
issues found by confident learning, per-sample difficulty (EL2N), crowd answers
with their top-two confusion, and relative confidence from pairwise preferences.
"""

from ._bradley_terry import BradleyTerryConfidence
from ._crowd import TopTwoCrowdAggregator
from ._data_difficulty import DataDifficultyScorer
from ._label_issues import (
    LabelIssueDetector,
    confident_joint,
    find_label_issues,
    label_quality_scores,
)
from ._subjective_logic import SubjectiveLogicClassifier

__all__ = [
    "BradleyTerryConfidence",
    "DataDifficultyScorer",
    "LabelIssueDetector",
    "SubjectiveLogicClassifier",
    "TopTwoCrowdAggregator",
    "confident_joint",
    "find_label_issues",
    "label_quality_scores",
]
