"""Pipelines chaining skcalib's families into one estimator.

:class:`TrustPipeline` trains a classifier, calibrates it, conformalises its
calibrated probabilities and gates out-of-distribution inputs, each stage on
its own disjoint rows of the data given to ``fit``.
"""

from ._trust import TrustPipeline

__all__ = ["TrustPipeline"]
