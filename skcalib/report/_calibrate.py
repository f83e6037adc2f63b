"""Calibrate a model's stored scores with any method of ``CalibratedClassifierCV``."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.frozen import FrozenEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..calibration import CalibratedClassifierCV
from ..utils._array_api import softmax

__all__ = ["ScoreModel", "fit_score_calibrator"]


class ScoreModel(ClassifierMixin, BaseEstimator):
    """A classifier whose input *is* its output: stored scores of some model.

    It lets every calibrator of
    :class:`~skcalib.calibration.CalibratedClassifierCV` work on scores read
    from a file, with the conversions that class applies to a live model:
    probabilities are returned by :meth:`predict_proba`; logits by
    :meth:`decision_function` (the difference of the two logits for two
    classes), and softmaxed by :meth:`predict_proba`.

    Parameters
    ----------
    logits : bool, default=False
        Whether the input holds logits (else probabilities).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        One class per input column.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.report import ScoreModel
    >>> model = ScoreModel(logits=True).fit(np.zeros((2, 3)), [0, 1, 2])
    >>> model.predict_proba(np.array([[0.0, 0.0, np.log(2)]])).round(2)
    array([[0.25, 0.25, 0.5 ]])
    """

    def __init__(self, *, logits=False):
        self.logits = logits

    def fit(self, X, y):
        """Store the classes of ``y`` (sorted) and the number of columns of ``X``.

        Returns
        -------
        self : ScoreModel
        """
        self.classes_ = np.unique(np.asarray(y))
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_proba(self, X):
        """The probabilities: ``X`` itself, or the softmax of logits ``X``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = np.asarray(X, dtype=float)
        return softmax(X, axis=1) if self.logits else X

    @available_if(lambda self: self.logits)
    def decision_function(self, X):
        """The logits ``X``; for two classes, the difference of the two logits.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
        """
        check_is_fitted(self)
        X = np.asarray(X, dtype=float)
        return X[:, 1] - X[:, 0] if X.shape[1] == 2 else X

    def predict(self, X):
        """The class of the largest score in each row."""
        return self.classes_[np.argmax(np.asarray(X), axis=1)]


def fit_score_calibrator(scores, y, *, method, logits=False):
    """Fit a calibrator of ``CalibratedClassifierCV`` on stored scores.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Probabilities or logits of some model, one column per class.
    y : array-like of shape (n_samples,)
        True labels.
    method : str or estimator
        Any ``method`` of :class:`~skcalib.calibration.CalibratedClassifierCV`
        (``"temperature"``, ``"isotonic"``, ``"dirichlet"`` ...).
    logits : bool, default=False
        Whether ``scores`` holds logits.

    Returns
    -------
    model : CalibratedClassifierCV
        Fitted; its ``predict_proba`` takes scores of the same kind and returns
        calibrated probabilities. It pickles (joblib) and saves with skops.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.report import fit_score_calibrator
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> margin = 4 * (2 * y - 1) + rng.normal(0, 4, 200)  # overconfident logits
    >>> logits = np.column_stack([np.zeros(200), margin])
    >>> model = fit_score_calibrator(logits, y, method="temperature", logits=True)
    >>> model.predict_proba(logits).shape
    (200, 2)
    """
    n_labels, n_columns = np.unique(np.asarray(y)).shape[0], np.shape(scores)[1]
    if n_labels != n_columns:
        raise ValueError(
            f"y has {n_labels} distinct labels but scores has {n_columns} columns "
            "(one per class): every class needs labelled rows to fit a calibrator."
        )
    model = ScoreModel(logits=logits).fit(scores, y)
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method=method, cv=2)
    return calibrated.fit(scores, y)
