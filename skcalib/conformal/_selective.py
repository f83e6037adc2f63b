"""Selective conformal classification: abstain so that accepted predictions err rarely.

:class:`SelectiveConformalClassifier` calibrates a threshold on an
uncertainty score so that the error rate among the predictions it accepts
(does not abstain on) is controlled at a target level, following SCOPE
(Badshah, Emami and Sajjad, 2026). :func:`bidirectional_preference_entropy`
is SCOPE's order-invariant uncertainty of a pairwise judge.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils import check_random_state

from ..base import _SkcalibTagsMixin
from ..metrics._ood import _tie_aware_cumsums
from ..metrics._selective import selective_risk
from ..utils._array_api import (
    entr,
    float_dtype,
    get_namespace_and_device,
    move_to,
    to_numpy,
)
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
)
from ..utils._validation import (
    check_confidence_level,
    check_consistent_length,
    check_probabilities,
    check_scores,
    encode_labels,
)
from ._classification import (
    _ClassificationFitMixin,
    _predict_proba,
    _predicted_labels,
)
from ._common import CALIBRATION_SIZE_CONSTRAINT, _CalibrationSplitMixin

__all__ = ["SelectiveConformalClassifier", "bidirectional_preference_entropy"]

UNCERTAINTIES = ("entropy", "1-max", "margin")


def _uncertainty(proba, kind):
    """Uncertainty of each row of ``proba`` (higher = less trusted)."""
    xp, dev = get_namespace_and_device(proba)
    if kind == "entropy":
        return xp.sum(entr(proba, xp=xp), axis=1)
    if kind == "1-max":
        return 1 - xp.max(proba, axis=1)
    if proba.shape[1] < 2:
        return xp.zeros((proba.shape[0],), dtype=proba.dtype, device=dev)
    top = xp.sort(proba, axis=1)
    return 1 - (top[:, -1] - top[:, -2])


def bidirectional_preference_entropy(p_ab, p_ba, *, return_preference=False):
    r"""Bidirectional Preference Entropy (BPE) of a pairwise judge (SCOPE).

    A judge compares responses A and B twice, once in each order, and each
    time gives the probability that the response shown *first* is better:
    ``p_ab`` with A shown first, ``p_ba`` with B shown first. The two orders
    imply the preferences ``p_ab`` and ``1 - p_ba`` for A; their average

    .. math:: \bar p = \tfrac12 \left(p_{AB} + 1 - p_{BA}\right)

    does not depend on which response is shown first, and BPE is its binary
    entropy (in nats), :math:`-\bar p \log \bar p - (1 - \bar p) \log (1 -
    \bar p)`, in :math:`[0, \log 2]`. A judge whose preference flips with the
    order gets :math:`\bar p` near 1/2 and a high entropy, however confident
    each single query was (Badshah et al., 2026).

    Parameters
    ----------
    p_ab : array-like of shape (n_pairs,)
        Probability that the first response is better, with A shown first.
    p_ba : array-like of shape (n_pairs,)
        Probability that the first response is better, with B shown first.
    return_preference : bool, default=False
        Also return :math:`\bar p`, the order-averaged probability that A is
        better (the judgment is A when it exceeds 1/2).

    Returns
    -------
    entropy : array of shape (n_pairs,)
        In the namespace and device of the inputs.
    preference : array of shape (n_pairs,)
        :math:`\bar p`; only when ``return_preference`` is True.

    See Also
    --------
    SelectiveConformalClassifier : calibrates an acceptance threshold on an
        uncertainty such as this one; with ``uncertainty="entropy"`` and
        probabilities ``[1 - p_bar, p_bar]`` its uncertainty is BPE.

    References
    ----------
    Badshah, S., Emami, A. and Sajjad, H. (2026). SCOPE: Selective Conformal
    Optimized Pairwise LLM Judging. ICML. arXiv:2602.13110.

    Examples
    --------
    >>> from skcalib.conformal._selective import bidirectional_preference_entropy
    >>> # consistent judge; position-biased judge (always prefers the first)
    >>> bidirectional_preference_entropy([0.9, 0.9], [0.1, 0.9])
    array([0.32508297, 0.69314718])
    >>> _, p_bar = bidirectional_preference_entropy(
    ...     [0.9, 0.9], [0.1, 0.9], return_preference=True)
    >>> p_bar
    array([0.9, 0.5])
    """
    p_ab = check_probabilities(p_ab, name="p_ab", ndim=(1,))
    p_ba = check_probabilities(p_ba, name="p_ba", ndim=(1,))
    check_consistent_length(p_ab=p_ab, p_ba=p_ba)
    xp, _ = get_namespace_and_device(p_ab, p_ba)
    dtype = xp.result_type(p_ab.dtype, p_ba.dtype)
    p_bar = (xp.astype(p_ab, dtype) + 1 - xp.astype(p_ba, dtype)) / 2
    entropy = entr(p_bar, xp=xp) + entr(1 - p_bar, xp=xp)
    return (entropy, p_bar) if return_preference else entropy


def _check_target_risk(target_risk):
    if isinstance(target_risk, bool) or not isinstance(target_risk, Real):
        raise ValueError(
            f"target_risk must be a float in the open interval (0, 1), got "
            f"{target_risk!r}."
        )
    return float(check_confidence_level(target_risk, name="target_risk")[0])


class SelectiveConformalClassifier(
    _CalibrationSplitMixin,
    _ClassificationFitMixin,
    _SkcalibTagsMixin,
    ClassifierMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """Selective classifier with a conformal bound on the error of accepted predictions.

    One ``fit(X, y)`` trains the estimator on part of the data and, on the
    held-out *calibration* part, chooses the largest threshold ``t`` on an
    uncertainty score (``uncertainty``) such that accepting the predictions
    with uncertainty at most ``t`` keeps the error rate among them at most
    ``target_risk`` with a finite-sample correction: this is SCOPE (Badshah,
    Emami and Sajjad, 2026), written for any classifier (a pairwise judge is
    the binary case). Predictions above the threshold are abstentions.
    ``target_risk`` is read when predicting: changing it needs no refit.

    With a :class:`~sklearn.frozen.FrozenEstimator` (an already fitted model)
    nothing is refitted and all of ``X`` calibrates.

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``predict_proba``, default=None
        The classifier. ``None`` uses
        :class:`~sklearn.linear_model.LogisticRegression`. Wrap a fitted model
        in :class:`~sklearn.frozen.FrozenEstimator` to use it as is.
    uncertainty : {"entropy", "1-max", "margin"} or callable, default="entropy"
        The uncertainty ``u(x)`` of a prediction, computed from the
        probabilities ``p = predict_proba(x)`` (higher = less trusted):
        ``"entropy"`` is ``-sum_k p_k log p_k`` (for a pairwise judge whose
        probabilities are order-averaged, this is the Bidirectional
        Preference Entropy, see :func:`bidirectional_preference_entropy`);
        ``"1-max"`` is ``1 - max_k p_k``; ``"margin"`` is one minus the gap
        between the two largest probabilities. A callable gets the
        probabilities (n_samples, n_classes) and returns the uncertainties
        (n_samples,).
    target_risk : float in (0, 1), default=0.1
        The level ``alpha`` of the error rate among accepted predictions,
        read at prediction time.
    calibration_size : float, int or cross-validation splitter, default=0.3
        The rows that calibrate (unused with a ``FrozenEstimator``): a
        fraction in (0, 1) or a number of rows drawn at random with
        ``random_state``, or a splitter (e.g.
        :class:`~sklearn.model_selection.GroupShuffleSplit`) whose first
        split gives the training and calibration rows. A threshold exists
        only with at least ``ceil(1 / target_risk)`` calibration rows.
    abstain_label : int, float, str or None, default=-1
        What :meth:`predict` returns for abstentions; it must not be a class.
        The result has the classes' dtype when both are numbers (or both
        strings) and object dtype otherwise. ``None`` makes :meth:`predict`
        return the estimator's label for every sample (the acceptance mask
        is then :meth:`accept`).
    random_state : int, RandomState instance or None, default=None
        Seeds the calibration split.

    Attributes
    ----------
    estimator_ : estimator
        The fitted (or frozen) classifier.
    classes_ : ndarray of shape (n_classes,)
        Class labels (those of the frozen estimator when it is frozen).
    n_features_in_ : int
        Number of features seen during ``fit`` (when ``X`` has columns).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.
    threshold_ : float
        Acceptance threshold on the uncertainty at the ``target_risk`` of
        fit time: predictions with ``uncertainty <= threshold_`` are
        accepted. ``-inf`` (nothing accepted) when no threshold reaches
        ``target_risk``. Prediction methods recompute it when
        ``target_risk`` changes.
    calibration_coverage_ : float
        Fraction of the calibration samples accepted at ``threshold_``.
    calibration_risk_ : float
        Error rate of the accepted calibration samples at ``threshold_`` (NaN
        when none is accepted).
    calibration_uncertainties_ : array of shape (n_calibration,)
        Uncertainties of the calibration samples, in the namespace and device
        of the estimator's probabilities.
    calibration_errors_ : array of bool of shape (n_calibration,)
        Whether the estimator's prediction of each calibration sample is
        wrong.

    See Also
    --------
    bidirectional_preference_entropy : SCOPE's uncertainty of a pairwise judge.
    SplitConformalClassifier : prediction sets instead of abstentions.
    skcalib.metrics.selective_risk : error rate among accepted predictions.
    skcalib.metrics.selective_coverage : fraction of predictions accepted.

    Notes
    -----
    **The rule.** Let ``u_i`` be the uncertainties of the ``n`` calibration
    samples, ``err_i = 1`` when the estimator's label is wrong, and for a
    candidate threshold ``t`` let ``A(t) = #{i : u_i <= t}`` and ``E(t) =
    #{i : u_i <= t, err_i = 1}``. With ``alpha = target_risk``, SCOPE's
    threshold is the largest calibration uncertainty ``t`` with

    ``sum_i 1[u_i <= t] (err_i - alpha) <= -1``, i.e. ``(E(t) + 1) / A(t) <= alpha``:

    the linearised selective loss of the calibration set must leave a budget
    of one for the unseen test point (its loss is at most ``1 - alpha``).
    Equivalently, the empirical error rate among accepted calibration samples
    *with one extra error* is at most ``alpha``. The constraint is not
    monotone in ``t``; the largest feasible ``t`` is taken (the feasible set
    is searched over all ``n`` candidates, ties accepted together). If no
    ``t`` qualifies (fewer than ``1 / alpha`` calibration samples, or an
    estimator that errs too often), nothing is accepted and a warning is
    raised.

    **The guarantee.** For exchangeable calibration and test samples, with
    ``c_hat = (A(threshold_) + 1) / (n + 1)`` the fraction of the ``n + 1``
    samples with uncertainty at most ``threshold_``,

    ``E[ 1{test sample accepted and misclassified} / c_hat ] <= alpha``.

    *Proof sketch.* Let ``T*`` be the largest threshold with ``sum_{i<=n+1}
    1[u_i <= t] (err_i - alpha) <= -alpha`` over all ``n + 1`` samples, a
    symmetric function of them. If the test sample is wrong, its term is
    ``1 - alpha``, so for ``t >= u_{n+1}`` this constraint is the calibration
    one: when the test sample is accepted, ``T* = threshold_`` and
    ``A* = A(threshold_) + 1``. Hence the left-hand side is at most
    ``E[err_{n+1} 1(u_{n+1} <= T*) (n + 1) / A*]``, which by exchangeability
    is ``E[E*/A*] <= alpha``, with ``E*`` and ``A*`` the errors and
    acceptances of all ``n + 1`` samples at ``T*``. (The same proof holds with
    the looser budget ``-(1 - alpha)``, i.e. ``(E + 1) / (A + 1) <= alpha``.)

    As ``c_hat`` estimates the probability of acceptance, this is the error
    rate among accepted predictions normalised by the calibration coverage.
    The quantity SCOPE reports, the realised error rate among accepted test
    predictions averaged over calibration draws (counted as 0 when none is
    accepted, like a false discovery rate), is not covered by this proof but
    stays below ``alpha`` in the tests. Neither is ``P(wrong | accepted) <=
    alpha``, which no rule that ever accepts can guarantee: if the
    uncertainty says nothing about correctness and the error rate is slightly
    above ``alpha``, every accepted prediction is wrong with that rate. The
    tests check the bound and the averaged error rate over many random splits.

    **Weights and groups.** ``fit`` passes its extra parameters (such as
    ``sample_weight``) to the estimator's ``fit``; calibration is unweighted.
    ``groups`` are only passed to a splitter given as ``calibration_size``.

    **Array API.** Uncertainties and acceptance are computed in the namespace
    and device of the estimator's ``predict_proba`` output (for example a
    ``FrozenEstimator`` returning PyTorch tensors, with
    ``sklearn.config_context(array_api_dispatch=True)``); labels stay NumPy.

    References
    ----------
    Badshah, S., Emami, A. and Sajjad, H. (2026). SCOPE: Selective Conformal
    Optimized Pairwise LLM Judging. ICML. arXiv:2602.13110.

    Angelopoulos, A. N., Bates, S., Fisch, A., Lei, L. and Schuster, T.
    (2024). Conformal risk control. ICLR.

    Geifman, Y. and El-Yaniv, R. (2017). Selective classification for deep
    neural networks. NeurIPS.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> from skcalib.conformal._selective import SelectiveConformalClassifier
    >>> from skcalib.metrics import selective_coverage, selective_risk
    >>> X, y = make_classification(n_samples=3000, n_informative=4, class_sep=0.5,
    ...                            n_clusters_per_class=1, random_state=0)
    >>> X_fit, X_test, y_fit, y_test = train_test_split(X, y, random_state=0)
    >>> clf = SelectiveConformalClassifier(target_risk=0.05, random_state=0)
    >>> clf = clf.fit(X_fit, y_fit)
    >>> print(f"{clf.calibration_risk_:.3f} {clf.calibration_coverage_:.3f}")
    0.044 0.268
    >>> clf.predict(X_test[:8])  # -1: abstention
    array([-1, -1, -1, -1,  0, -1,  1, -1])
    >>> y_pred = clf.predict(X_test)
    >>> selective_risk(y_test, y_pred, abstain_label=-1)
    0.0317...
    >>> selective_coverage(y_pred, abstain_label=-1)
    0.252
    >>> y_pred = clf.set_params(target_risk=0.1).predict(X_test)  # no refit
    >>> selective_risk(y_test, y_pred, abstain_label=-1)
    0.0887...
    >>> selective_coverage(y_pred, abstain_label=-1)
    0.796
    """

    _skcalib_family = "selective_classifier"

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "uncertainty": [StrOptions(set(UNCERTAINTIES)), callable],
        "target_risk": [Interval(Real, 0, 1, closed="neither")],
        "calibration_size": CALIBRATION_SIZE_CONSTRAINT,
        "abstain_label": [Integral, Real, str, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        uncertainty="entropy",
        target_risk=0.1,
        calibration_size=0.3,
        abstain_label=-1,
        random_state=None,
    ):
        self.estimator = estimator
        self.uncertainty = uncertainty
        self.target_risk = target_risk
        self.calibration_size = calibration_size
        self.abstain_label = abstain_label
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None, **fit_params):
        """Train the estimator on part of the data and calibrate the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like of shape (n_samples,)
            Class labels.
        groups : array-like of shape (n_samples,), default=None
            Passed to a splitter given as ``calibration_size``.
        **fit_params : dict
            Passed to the estimator's ``fit`` (or routed, with metadata
            routing enabled), for example ``sample_weight``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y, _, groups = self._validate_fit_data(X, y, None, groups)
        rng = check_random_state(self.random_state)
        _, rows, X_cal = self._fit_split(X, y, None, groups, fit_params, rng)
        self._set_classes(y)
        if (
            self.abstain_label is not None
            and np.isin(
                np.asarray([self.abstain_label], dtype=object), self.classes_
            ).any()
        ):
            raise ValueError(
                f"abstain_label={self.abstain_label!r} is one of the classes "
                f"{self.classes_.tolist()[:10]}; choose a label that is not, or "
                "None."
            )
        proba = _predict_proba(self.estimator_, X_cal, self.classes_)
        self._calibrate(proba, encode_labels(y[rows], self.classes_))
        return self

    def _calibrate(self, proba, y_cal):
        """Calibration uncertainties, errors, their sorted sums and the threshold."""
        xp, dev = get_namespace_and_device(proba)
        u = self._uncertainty_of(proba)
        errors = xp.argmax(proba, axis=1) != move_to(y_cal, xp=xp, device=dev)
        self.calibration_uncertainties_ = u
        self.calibration_errors_ = errors
        n = u.shape[0]
        _, sorted_confidence, _, (n_errors, n_accepted) = _tie_aware_cumsums(
            -u,
            xp.astype(errors, xp.int64),
            xp.ones((n,), dtype=xp.int64, device=dev),
            xp=xp,
        )
        self._sorted_uncertainties = -sorted_confidence
        self._cumulative_errors = n_errors
        self._cumulative_accepted = n_accepted
        self.threshold_, accepted, wrong = self._threshold(self.target_risk)
        self._fitted_target_risk = self.target_risk
        self.calibration_coverage_ = accepted / n
        self.calibration_risk_ = wrong / accepted if accepted else float("nan")

    def _uncertainty_of(self, proba):
        if not callable(self.uncertainty):
            return _uncertainty(proba, self.uncertainty)
        u = self.uncertainty(proba)
        u = check_scores(u, name="uncertainty(proba)", ndim=(1,), allow_inf=True)
        if u.shape[0] != proba.shape[0]:
            raise ValueError(
                f"uncertainty must return one value per sample: got shape "
                f"{tuple(u.shape)} for {proba.shape[0]} samples."
            )
        return u

    def _threshold(self, target_risk, *, warn=True):
        """Threshold at ``target_risk``, with the accepted and wrong counts.

        Warns (when ``warn``) if no threshold reaches ``target_risk``.
        """
        alpha = _check_target_risk(target_risk)
        xp, dev = get_namespace_and_device(self._sorted_uncertainties)
        n_accepted = self._cumulative_accepted
        n_errors = self._cumulative_errors
        dtype = float_dtype(xp, device=dev)
        bound = alpha * xp.astype(n_accepted, dtype)
        # (E + 1) <= alpha * A, tolerant to the rounding of alpha * A.
        feasible = xp.astype(n_errors, dtype) + 1 <= bound + 1e-9 * (bound + 1)
        position = xp.arange(feasible.shape[0], device=dev)
        last = int(xp.max(xp.where(feasible, position, -xp.ones_like(position))))
        if last < 0:
            if not warn:
                return -math.inf, 0, 0
            warnings.warn(
                f"No threshold keeps the error rate among accepted predictions "
                f"at target_risk={alpha}: no calibration threshold has (errors + "
                f"1) / accepted <= {alpha} (this needs at least "
                f"{math.ceil(1 / alpha)} accepted calibration samples, out of "
                f"{feasible.shape[0]} calibration samples), so every prediction "
                "abstains. Raise "
                "target_risk, calibrate on more samples or use a more accurate "
                "estimator.",
                UserWarning,
                stacklevel=3,
            )
            return -math.inf, 0, 0
        return (
            float(self._sorted_uncertainties[last]),
            int(n_accepted[last]),
            int(n_errors[last]),
        )

    def _current_threshold(self):
        """Threshold at the current ``target_risk`` (fit warned for its own)."""
        warn = self.target_risk != self._fitted_target_risk
        return self._threshold(self.target_risk, warn=warn)[0]

    def _accepted(self, proba):
        """Host mask of the predictions of ``proba`` accepted at ``target_risk``."""
        return to_numpy(self._uncertainty_of(proba) <= self._current_threshold())

    def predict_proba(self, X):
        """Class probabilities of the underlying estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
            One column per class of ``classes_``.
        """
        self._check_X(X)
        return _predict_proba(self.estimator_, X, self.classes_)

    def predict_uncertainty(self, X):
        """Uncertainty of each prediction (higher = less trusted).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        uncertainty : array of shape (n_samples,)
            In the namespace and device of the estimator's probabilities.
        """
        return self._uncertainty_of(self.predict_proba(X))

    def accept(self, X):
        """Which predictions are accepted at ``target_risk``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        accepted : array of bool of shape (n_samples,)
            ``predict_uncertainty(X) <= threshold``, in the namespace and
            device of the estimator's probabilities.
        """
        return self.predict_uncertainty(X) <= self._current_threshold()

    def predict(self, X):
        """Predicted labels, ``abstain_label`` where the classifier abstains.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Labels from ``classes_`` for accepted predictions and
            ``abstain_label`` for the others (every label when
            ``abstain_label`` is None).
        """
        proba = self.predict_proba(X)
        labels = _predicted_labels(proba, self.classes_)
        if self.abstain_label is None:
            return labels
        accepted = self._accepted(proba)
        abstain = np.asarray(self.abstain_label)
        kinds = {labels.dtype.kind, abstain.dtype.kind}
        same_kind = kinds <= set("iuf") or kinds == {"U"}
        dtype = np.result_type(labels, abstain) if same_kind else object
        return np.where(accepted, labels.astype(dtype), abstain.astype(dtype))

    def score(self, X, y, sample_weight=None):
        """Selective accuracy: the accuracy of the accepted predictions.

        ``1 - selective_risk`` at ``target_risk``; NaN (with a warning) when
        nothing is accepted. The fraction accepted is
        ``accept(X).mean()`` (see :func:`skcalib.metrics.selective_coverage`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the test samples in the selective accuracy.

        Returns
        -------
        score : float
            Accuracy among the accepted predictions, in [0, 1].
        """
        proba = self.predict_proba(X)
        labels = _predicted_labels(proba, self.classes_)
        accepted = self._accepted(proba)
        y = to_numpy(y) if hasattr(y, "__array_namespace__") else np.asarray(y)
        risk = selective_risk(y, labels, accepted=accepted, sample_weight=sample_weight)
        return 1 - risk
