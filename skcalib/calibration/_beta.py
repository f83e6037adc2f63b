"""Beta calibration (Kull, Silva Filho & Flach 2017)."""

import math

import numpy as np
from sklearn.linear_model import LogisticRegression

from ..utils._array_api import sigmoid, to_numpy
from ..utils._sklearn_compat import StrOptions
from ._base import BaseOneVsRestCalibrator

# Inverse regularisation of the logistic fits: the value used by the betacal
# package, which makes the L2 penalty negligible (an unpenalised fit that
# stays finite on separable data).
_C = 99999999999


def _logistic_fit(features, target, sample_weight, *, fit_intercept=True):
    """Coefficients and intercept of a (practically) unpenalised logistic fit."""
    lr = LogisticRegression(C=_C, fit_intercept=fit_intercept)
    lr.fit(features, target, sample_weight=sample_weight)
    return [float(c) for c in lr.coef_[0]], float(lr.intercept_[0])


class BetaCalibration(BaseOneVsRestCalibrator):
    """Beta calibration of probabilities.

    The calibrated probability ``p`` of the positive class is a
    three-parameter function of the uncalibrated probability ``s``
    (Kull, Silva Filho & Flach 2017)::

        logit(p) = a ln(s) - b ln(1 - s) + c,    a, b >= 0,

    the likelihood ratio of two beta distributions. Unlike the sigmoid of
    :class:`PlattScaling`, the family contains the identity (``a = b = 1``,
    ``c = 0``) and can fix probabilities that are too extreme on one side only.
    The parameters are maximum-likelihood fits of a logistic regression on the
    features ``ln(s)`` and ``-ln(1 - s)``, exactly as in the authors'
    ``betacal`` package (whose probabilities are reproduced).

    With more than two classes, one beta map is fitted per class on its own
    probability column (class against the rest) and the probabilities are
    renormalised to sum to one, as scikit-learn does for sigmoid calibration.

    Parameters
    ----------
    parameters : {"abm", "am", "ab"}, default="abm"
        Which parameters are fitted:

        - ``"abm"``: ``a``, ``b`` and ``c`` (equivalently ``a``, ``b`` and
          the midpoint ``m``, the ``s`` mapped to 1/2). If the fit gives
          ``a < 0`` (or else ``b < 0``), that parameter is set to 0 and the
          others are refitted, so that the map stays non-decreasing.
        - ``"am"``: ``a = b`` and ``c``, i.e. a sigmoid of ``logit(s)``
          (Platt scaling on the log-odds, without target smoothing).
        - ``"ab"``: ``a`` and ``b`` with ``m = 1/2`` fixed, i.e.
          ``c = (a - b) ln 2``.

    Attributes
    ----------
    calibrators_ : list of tuple of float
        The fitted ``(a, b, c)`` of each beta map: one for two classes (the
        positive class), one per class otherwise.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for the
        probabilities of the positive class).

    See Also
    --------
    PlattScaling : Sigmoid calibration of decision values.
    IsotonicCalibration : Non-parametric monotone calibration.

    Notes
    -----
    ``X`` holds probabilities in [0, 1]: those of the positive class, of shape
    (n,) or (n, 1), or one column per class (for two classes only the
    positive-class column is used). Before taking logarithms they are clipped
    to ``[eps, 1 - eps]``, with ``eps`` the machine epsilon of their floating
    dtype (about 2.2e-16 in float64, 1.2e-7 in float32), as in ``betacal``.

    The logistic fits run on the host with
    :class:`sklearn.linear_model.LogisticRegression` (L-BFGS, ``C = 1e11``,
    scikit-learn's default tolerance), which moves the probabilities of each
    column to host memory once; only the three parameters are kept.
    ``predict_proba`` then runs on the device of its input and returns
    probabilities in its namespace, device and dtype.

    References
    ----------
    .. [1] M. Kull, T. M. Silva Filho and P. Flach, "Beta calibration: a
       well-founded and easily implemented improvement on logistic calibration
       for binary classifiers", AISTATS 2017.
    .. [2] M. Kull, T. M. Silva Filho and P. Flach, "Beyond sigmoids: How to
       obtain well-calibrated probabilities from binary classifiers with beta
       calibration", Electronic Journal of Statistics 11, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.calibration import BetaCalibration
    >>> rng = np.random.default_rng(2)
    >>> s = rng.uniform(0.01, 0.99, size=20000)
    >>> p_true = s**2 / (s**2 + (1 - s) ** 0.5)  # a = 2, b = 0.5, c = 0
    >>> y = (rng.uniform(size=20000) < p_true).astype(int)
    >>> beta = BetaCalibration().fit(s, y)
    >>> [round(v, 1) for v in beta.calibrators_[0]]
    [2.0, 0.5, 0.0]
    >>> beta.predict_proba(np.array([0.5])).round(2)
    array([[0.74, 0.26]])
    """

    _array_api_support = True
    _skcalib_input_kind = "probabilities"
    _parameter_constraints: dict = {
        "parameters": [StrOptions({"abm", "am", "ab"})],
    }

    def __init__(self, parameters="abm"):
        self.parameters = parameters

    def _fit_binary(self, scores, target, sample_weight, *, xp):
        s = to_numpy(scores)
        t = to_numpy(target)
        w = None if sample_weight is None else to_numpy(sample_weight)
        eps = np.finfo(s.dtype).eps
        s = np.clip(s, eps, 1 - eps)
        if self.parameters == "am":
            (a,), c = _logistic_fit(np.log(s / (1 - s))[:, None], t, w)
            return a, a, c
        if self.parameters == "ab":
            (a, minus_b), _ = _logistic_fit(
                np.log(2 * np.stack([s, 1 - s], axis=1)), t, w, fit_intercept=False
            )
            return a, -minus_b, (a + minus_b) * math.log(2)
        features = np.stack([np.log(s), -np.log(1 - s)], axis=1)
        (a, b), c = _logistic_fit(features, t, w)
        if a < 0:
            (b,), c = _logistic_fit(features[:, 1:], t, w)
            return 0.0, b, c
        if b < 0:
            (a,), c = _logistic_fit(features[:, :1], t, w)
            return a, 0.0, c
        return a, b, c

    def _predict_binary(self, state, scores, *, xp):
        a, b, c = state
        eps = float(xp.finfo(scores.dtype).eps)
        s = xp.clip(scores, eps, 1 - eps)
        return sigmoid(a * xp.log(s) - b * xp.log(1 - s) + c, xp=xp)
