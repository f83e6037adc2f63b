"""Shared pieces of the estimators that cross-fit a wrapped classifier."""

import array_api_compat
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets

from ..base import _SkcalibTagsMixin
from ..utils._array_api import to_numpy

__all__ = ["_CrossFittedClassifierMixin"]


class _CrossFittedClassifierMixin(_SkcalibTagsMixin):
    """Default model and tags of an estimator that cross-fits a classifier.

    The wrapped ``estimator`` (a :class:`~sklearn.linear_model.LogisticRegression`
    when None) decides which inputs are accepted; labels are required.
    """

    _skcalib_family = "uncertainty"

    def _get_estimator(self):
        return LogisticRegression() if self.estimator is None else self.estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self._get_estimator().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.array_api_support = False
        return tags

    def _host_labels(self, y):
        """``y`` as a NumPy array of classification targets (required)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        y = to_numpy(y) if array_api_compat.is_array_api_obj(y) else np.asarray(y)
        check_classification_targets(y)
        return y
