"""Small synthetic data sets with a known ground truth.

Generators for logits with a known miscalibration and for in- and
out-of-distribution feature clusters, used in examples, tests and benchmarks.
"""

from ._synthetic import make_classification_logits, make_ood_features

__all__ = ["make_classification_logits", "make_ood_features"]
