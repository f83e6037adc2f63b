"""OOD scores computed from a classifier's logits.

Each detector maps logits ``z`` of shape (n_samples, n_classes) to one score
per sample, higher for more in-distribution inputs. None of them learns
anything from the fit data: ``fit`` only validates the logits of
in-distribution samples and uses all their scores to calibrate the threshold
``offset_`` and the conformal p-values.
"""

from numbers import Integral, Real

from ..utils._array_api import get_namespace_and_device, log_softmax, logsumexp
from ..utils._sklearn_compat import Interval
from ._base import BaseOODDetector

__all__ = [
    "EnergyDetector",
    "EntropyDetector",
    "GENDetector",
    "MSPDetector",
    "MaxLogitDetector",
]

_TEMPERATURE = [Interval(Real, 0, None, closed="neither")]


class _LogitDetector(BaseOODDetector):
    """Logit-space detector: no learned parameters, X holds logits."""

    _skcalib_input_kind = "logits"


class MSPDetector(_LogitDetector):
    r"""Maximum softmax probability, optionally temperature-scaled (ODIN).

    The score of logits :math:`z` is :math:`\max_k \operatorname{softmax}(z /
    T)_k`. With ``temperature=1`` this is the baseline of Hendrycks & Gimpel
    (2017); a large temperature (ODIN uses ``T = 1000``) is the ODIN score of
    Liang et al. (2018) without its input perturbation, which needs gradients
    of the network and is out of scope for a score-space detector.

    Parameters
    ----------
    temperature : float, default=1.0
        Temperature ``T > 0`` dividing the logits.
    tpr : float, default=0.95
        Target true-positive rate: ``offset_`` is set so that a fresh
        in-distribution sample is accepted (``predict == 1``) with probability
        at least ``tpr``. Used when ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers; ``offset_`` is the ``contamination`` quantile of
        their scores.

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples -
        offset_``.
    calibration_scores_ : array of shape (n_samples,)
        Sorted scores of the fit data, used by :meth:`score_pvalues`.
    n_features_in_ : int
        Number of logit columns seen in ``fit``.

    See Also
    --------
    MaxLogitDetector, EnergyDetector, GENDetector

    Notes
    -----
    pytorch-ood's ``MaxSoftmax`` and ``TemperatureScaling`` return the negated
    score (higher = more OOD).

    References
    ----------
    Hendrycks, D. and Gimpel, K. (2017). A baseline for detecting misclassified
    and out-of-distribution examples in neural networks. ICLR.

    Liang, S., Li, Y. and Srikant, R. (2018). Enhancing the reliability of
    out-of-distribution image detection in neural networks. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.ood import MSPDetector
    >>> logits, _ = make_classification_logits(1000, 3, random_state=0)
    >>> detector = MSPDetector().fit(logits)
    >>> X = np.array([[6.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    >>> detector.score_samples(X)
    array([0.99506695, 0.33333333])
    >>> detector.predict(X)
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **BaseOODDetector._parameter_constraints,
        "temperature": _TEMPERATURE,
    }

    def __init__(self, *, temperature=1.0, tpr=0.95, contamination=None):
        self.temperature = temperature
        self.tpr = tpr
        self.contamination = contamination

    def _score(self, X, *, xp):
        z = X / self.temperature
        return xp.exp(xp.max(z, axis=1) - logsumexp(z, axis=1, xp=xp))


class MaxLogitDetector(_LogitDetector):
    r"""Maximum logit score :math:`\max_k z_k` (Hendrycks et al. 2022).

    Unlike the softmax probability, the maximum logit keeps the scale of the
    logits, which carries information about how familiar the input is.

    Parameters
    ----------
    tpr : float, default=0.95
        Target true-positive rate: ``offset_`` is set so that a fresh
        in-distribution sample is accepted (``predict == 1``) with probability
        at least ``tpr``. Used when ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers; ``offset_`` is the ``contamination`` quantile of
        their scores.

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : array of shape (n_samples,)
        Sorted scores of the fit data, used by :meth:`score_pvalues`.
    n_features_in_ : int
        Number of logit columns seen in ``fit``.

    See Also
    --------
    EnergyDetector : A smooth maximum of the logits.

    References
    ----------
    Hendrycks, D., Basart, S., Mazeika, M., Zou, A., Kwon, J., Mostajabi, M.,
    Steinhardt, J. and Song, D. (2022). Scaling out-of-distribution detection
    for real-world settings. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.ood import MaxLogitDetector
    >>> logits, _ = make_classification_logits(1000, 3, random_state=0)
    >>> detector = MaxLogitDetector().fit(logits)
    >>> X = np.array([[6.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    >>> detector.score_samples(X)
    array([6., 1.])
    >>> detector.predict(X)
    array([ 1, -1])
    """

    def __init__(self, *, tpr=0.95, contamination=None):
        self.tpr = tpr
        self.contamination = contamination

    def _score(self, X, *, xp):
        return xp.max(X, axis=1)


class EnergyDetector(_LogitDetector):
    r"""Negative free energy :math:`T \log \sum_k \exp(z_k / T)` (Liu et al. 2020).

    The free energy of the logits is :math:`E(z) = -T \log \sum_k e^{z_k/T}`;
    in-distribution inputs have low energy, so the score (higher =
    in-distribution) is :math:`-E(z)`. It is a smooth maximum of the logits
    that tends to :class:`MaxLogitDetector` as ``T`` goes to 0.

    Parameters
    ----------
    temperature : float, default=1.0
        Temperature ``T > 0``.
    tpr : float, default=0.95
        Target true-positive rate: ``offset_`` is set so that a fresh
        in-distribution sample is accepted (``predict == 1``) with probability
        at least ``tpr``. Used when ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers; ``offset_`` is the ``contamination`` quantile of
        their scores.

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : array of shape (n_samples,)
        Sorted scores of the fit data, used by :meth:`score_pvalues`.
    n_features_in_ : int
        Number of logit columns seen in ``fit``.

    See Also
    --------
    MaxLogitDetector, LearnedTemperatureEnergyDetector

    Notes
    -----
    pytorch-ood's ``EnergyBased`` returns the energy :math:`E(z)` itself, the
    negated score.

    References
    ----------
    Liu, W., Wang, X., Owens, J. and Li, Y. (2020). Energy-based
    out-of-distribution detection. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.ood import EnergyDetector
    >>> logits, _ = make_classification_logits(1000, 3, random_state=0)
    >>> detector = EnergyDetector().fit(logits)
    >>> X = np.array([[6.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    >>> detector.score_samples(X)
    array([6.00494526, 2.09861229])
    >>> detector.predict(X)
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **BaseOODDetector._parameter_constraints,
        "temperature": _TEMPERATURE,
    }

    def __init__(self, *, temperature=1.0, tpr=0.95, contamination=None):
        self.temperature = temperature
        self.tpr = tpr
        self.contamination = contamination

    def _score(self, X, *, xp):
        return self.temperature * logsumexp(X / self.temperature, axis=1, xp=xp)


class EntropyDetector(_LogitDetector):
    r"""Minus the entropy of the softmax probabilities, :math:`\sum_k p_k \log p_k`.

    A confident (low-entropy) prediction scores high; the uniform distribution
    over ``K`` classes scores lowest, :math:`-\log K`.

    Parameters
    ----------
    tpr : float, default=0.95
        Target true-positive rate: ``offset_`` is set so that a fresh
        in-distribution sample is accepted (``predict == 1``) with probability
        at least ``tpr``. Used when ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers; ``offset_`` is the ``contamination`` quantile of
        their scores.

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : array of shape (n_samples,)
        Sorted scores of the fit data, used by :meth:`score_pvalues`.
    n_features_in_ : int
        Number of logit columns seen in ``fit``.

    See Also
    --------
    GENDetector : A generalised entropy that weighs the top classes.

    Notes
    -----
    pytorch-ood's ``Entropy`` returns the entropy itself, the negated score.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.ood import EntropyDetector
    >>> logits, _ = make_classification_logits(1000, 3, random_state=0)
    >>> detector = EntropyDetector().fit(logits)
    >>> X = np.array([[6.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    >>> detector.score_samples(X)
    array([-0.03454355, -1.09861229])
    >>> detector.predict(X)
    array([ 1, -1])
    """

    def __init__(self, *, tpr=0.95, contamination=None):
        self.tpr = tpr
        self.contamination = contamination

    def _score(self, X, *, xp):
        log_p = log_softmax(X, axis=1, xp=xp)
        return xp.sum(xp.exp(log_p) * log_p, axis=1)


class GENDetector(_LogitDetector):
    r"""Generalised entropy (GEN) of the top softmax probabilities (Liu et al. 2023).

    With :math:`p = \operatorname{softmax}(z)` sorted in decreasing order, the
    score is

    .. math::

        -\sum_{j=1}^{M} p_{(j)}^\gamma \, (1 - p_{(j)})^\gamma,

    minus a generalised entropy over the :math:`M` largest probabilities
    (:math:`M` = ``min(n_top, n_classes)``). Each term is largest at
    :math:`p = 1/2`, so mass spread over several classes lowers the score;
    ignoring the tail of tiny probabilities makes it robust with many classes.
    :math:`1 - p_{(1)}` is computed as the sum of the other probabilities, so
    that confident predictions keep their (small but, with :math:`\gamma =
    0.1`, far from negligible) term in float32 too.

    Parameters
    ----------
    gamma : float, default=0.1
        Exponent :math:`\gamma` in (0, 1]; the paper's default 0.1.
    n_top : int, default=100
        Number :math:`M` of largest probabilities entering the sum, capped at
        the number of classes; the paper uses 100 on ImageNet and all classes
        for CIFAR.
    tpr : float, default=0.95
        Target true-positive rate: ``offset_`` is set so that a fresh
        in-distribution sample is accepted (``predict == 1``) with probability
        at least ``tpr``. Used when ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers; ``offset_`` is the ``contamination`` quantile of
        their scores.

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : array of shape (n_samples,)
        Sorted scores of the fit data, used by :meth:`score_pvalues`.
    n_features_in_ : int
        Number of logit columns seen in ``fit``.

    See Also
    --------
    EntropyDetector : The Shannon entropy of all probabilities.

    References
    ----------
    Liu, X., Lochman, Y. and Zach, C. (2023). GEN: Pushing the limits of
    softmax-based out-of-distribution detection. CVPR.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.ood import GENDetector
    >>> logits, _ = make_classification_logits(1000, 3, random_state=0)
    >>> detector = GENDetector().fit(logits)
    >>> X = np.array([[6.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    >>> detector.score_samples(X)
    array([-1.68442998, -2.58107131])
    >>> detector.predict(X)
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **BaseOODDetector._parameter_constraints,
        "gamma": [Interval(Real, 0, 1, closed="right")],
        "n_top": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, gamma=0.1, n_top=100, tpr=0.95, contamination=None):
        self.gamma = gamma
        self.n_top = n_top
        self.tpr = tpr
        self.contamination = contamination

    def _score(self, X, *, xp):
        _, device = get_namespace_and_device(X)
        n_classes = X.shape[1]
        # e = exp(z - max z) and, for each class j, the sum of the others'
        # exponentials, so that 1 - p_j is computed without cancellation: for
        # the top class it is the sum of the other classes, which stays
        # accurate when p_max rounds to 1 (and (1 - p)^gamma is far from 0).
        top = xp.argmax(X, axis=1)
        is_top = xp.arange(n_classes, device=device)[None, :] == top[:, None]
        e = xp.exp(X - xp.max(X, axis=1, keepdims=True))
        total = xp.sum(e, axis=1, keepdims=True)
        others_of_top = xp.sum(xp.where(is_top, xp.zeros_like(e), e), axis=1)
        others = xp.where(is_top, others_of_top[:, None], total - e)
        order = xp.argsort(e, axis=1, descending=True)
        order = order[:, : min(self.n_top, n_classes)]
        p = xp.take_along_axis(e, order, axis=1) / total
        q = xp.take_along_axis(others, order, axis=1) / total
        return -xp.sum(p**self.gamma * q**self.gamma, axis=1)
