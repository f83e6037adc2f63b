"""Shared pieces of the estimators that cross-fit a wrapped classifier."""

from sklearn.linear_model import LogisticRegression

from ..base import _SkcalibTagsMixin

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
