"""Correctness-aware calibration (Liu et al. 2024), in score space."""

from numbers import Integral, Real

from sklearn.utils.validation import check_is_fitted

from ..utils._array_api import (
    float_dtype,
    get_namespace_and_device,
    log_softmax,
    move_to,
    softmax,
)
from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _check_feature_names,
    _fit_context,
)
from ..utils._validation import (
    check_sample_weight,
    check_scores,
    encode_labels,
)
from ._base import BaseScoreCalibrator
from ._input_dependent_temperature import (
    _fit_log_linear_temperature,
    _temperatures,
    _top_two,
)


def _view_features(views, n_top, dtype, *, xp):
    """Log-probabilities of every view at the top classes of the original view.

    For logits ``views`` of shape (n, v, k), returns shape (n, v * n_top) in
    ``dtype``: the ``n_top`` largest log-softmax values of view 0 (sorted,
    largest first), then, for each other view ``j``, its log-softmax values at
    those same ``n_top`` classes of view 0. One view at a time is converted
    to ``dtype``, so no copy of all the views is made.
    """
    top = xp.argsort(views[:, 0, :], axis=1, descending=True, stable=True)
    top = top[:, :n_top]
    return xp.concat(
        [
            xp.take_along_axis(
                log_softmax(xp.astype(views[:, j, :], dtype), axis=1, xp=xp),
                top,
                axis=1,
            )
            for j in range(views.shape[1])
        ],
        axis=1,
    )


def _top_label_rows(logits, correct, loss, *, xp):
    """Per-row correctness-aware loss of ``softmax(a_i z_i)`` and its a-derivative.

    The top-label confidence is ``conf = sigmoid(l)`` with the confidence logit
    ``l = -log sum_{j != top} exp(a (z_j - z_top))``, computed from the
    non-top logits so that it stays exact when ``conf`` is 1 to machine
    precision; ``dl / da = -E_q[z - z_top]`` with ``q`` the softmax of the
    non-top logits. The losses of the correctness indicator ``c`` (0 or 1) are
    ``(conf - c)^2`` (``"squared"``) or the binary cross-entropy
    ``c softplus(-l) + (1 - c) softplus(l)`` (``"log"``).
    """
    is_top, top, second = _top_two(logits, xp=xp)
    # z_j - z_(2) <= 0 off the top (0 at the runner-up); -inf on the top.
    runner_up = second - top  # z_(2) - z_top <= 0
    off_top = logits - second[:, None]
    masked = xp.where(is_top, -xp.inf, off_top)
    finite = xp.where(is_top, xp.zeros_like(off_top), off_top)

    def rows(a):
        q = xp.exp(a[:, None] * masked)
        s = xp.sum(q, axis=1)  # >= 1: the runner-up contributes exp(0)
        mean_off = runner_up + xp.vecdot(q, finite, axis=-1) / s  # E_q[z - z_top]
        conf_logit = -(a * runner_up + xp.log(s))
        dlogit_da = -mean_off
        # conf = sigmoid(l) and 1 - conf = sigmoid(-l), both to full relative
        # precision, so that tiny losses (and their gradients) stay exact.
        e = xp.exp(-xp.abs(conf_logit))
        positive = conf_logit >= 0
        conf = xp.where(positive, 1.0 / (1.0 + e), e / (1.0 + e))
        one_minus_conf = xp.where(positive, e / (1.0 + e), 1.0 / (1.0 + e))
        error = (1.0 - correct) * conf - correct * one_minus_conf  # conf - c
        if loss == "squared":
            values = error**2
            dloss_dlogit = 2.0 * error * conf * one_minus_conf
        else:
            # c softplus(-l) + (1 - c) softplus(l)
            tail = xp.log1p(e)
            values = correct * (xp.clip(-conf_logit, 0.0, None) + tail) + (
                1.0 - correct
            ) * (xp.clip(conf_logit, 0.0, None) + tail)
            dloss_dlogit = error
        return values, dloss_dlogit * dlogit_da

    return rows


class CorrectnessAwareCalibrator(BaseScoreCalibrator):
    """Per-sample temperature trained to separate right from wrong predictions.

    The correctness-aware (CA) calibrator of Liu et al. (2024). Its objective
    comes straight from the aim of calibration: the top-label confidence
    should be 1 on correctly classified samples and 0 on misclassified ones.
    Unlike the cross-entropy, which raises the probability of the true class,
    it lowers the confidence of every wrong prediction -- also the "narrow"
    misclassifications where the true class is a close runner-up.

    ``X`` holds logits of shape (n_samples, n_classes), or logits of several
    views of each sample, shape (n_samples, n_views, n_classes): view 0 is the
    original input and the others are transformed versions (rotated,
    greyscaled, colour-jittered, ... images; paraphrased prompts), through the
    same model. The calibrated probabilities are ``softmax(z_0 / T(x))`` of
    the original logits ``z_0``, so the predicted label (argmax) never changes.
    The temperature model is log-linear, ``log T(x) = f(x) @ coef_ +
    intercept_``, on the features ``f(x)``: the ``n_top`` largest
    log-softmax probabilities of view 0, and each other view's log-softmax
    probabilities at those same ``n_top`` classes (how much the transformed
    views agree with the original prediction, which is what tells right from
    wrong).

    It is fitted by minimising the (weighted) mean CA loss between the
    calibrated top-label confidence ``conf(x) = max softmax(z_0 / T(x))`` and
    the correctness ``c = [argmax z_0 == y]`` -- ``(conf - c)^2`` by default,
    as in the paper, or the binary cross-entropy -- plus ``alpha / 2`` times
    the squared norm of the coefficients of the standardised features, by
    L-BFGS with an analytic gradient, starting from ``T = 1``.

    Parameters
    ----------
    loss : {"squared", "log"}, default="squared"
        CA loss between the top-label confidence and the correctness: the
        squared error (the paper's choice) or the binary cross-entropy. Both
        are proper scoring rules of the event "the prediction is right".
    n_top : int, default=4
        Number of top classes of the original view whose log-probabilities
        (in every view) are the temperature model's features; capped at
        ``n_classes``.
    balanced : bool, default=False
        Whether to reweight the samples so that right and wrong predictions
        carry the same total weight (right ones weighted by the error rate,
        wrong ones by the accuracy), as the authors' code does. The loss then
        targets the probability of being right under a balanced prior, not the
        real one: the confidence ranks the samples as well (or better) but is
        pulled towards 1/2, so the model is underconfident when most
        predictions are right. Leave it off to calibrate.
    alpha : float, default=1e-2
        L2 penalty (>= 0) on the coefficients of the standardised features.
        ``alpha -> inf`` gives one global temperature fitted on the CA loss.
    max_iter : int, default=1000
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-6
        L-BFGS stops when every component of the gradient is below ``tol``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_views * n_top,)
        Coefficients of the features in ``log T``: first view 0's sorted top
        log-probabilities, then view 1's log-probabilities at those classes,
        and so on.
    intercept_ : float
        Intercept of ``log T``.
    n_top_ : int
        Number of top classes used, ``min(n_top, n_classes)``.
    n_views_ : int
        Number of views per sample at fit (1 for input of shape (n, k)).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Length of the last axis of ``X`` at fit (``n_classes``, or 1 for
        binary decision values).
    n_iter_ : int
        Number of L-BFGS iterations run.

    See Also
    --------
    TemperatureScaling : One temperature fitted on the negative log-likelihood.
    InputDependentTemperatureScaling : Per-sample temperature fitted on the
        negative log-likelihood from logit statistics.

    Notes
    -----
    What is kept from the paper: the CA loss (the authors' code minimises the
    squared error between the top-label confidence and the correctness,
    weighted as ``balanced=True`` does); a temperature predicted per sample
    from the probabilities that the transformed views give to the original
    view's top classes; calibrated probabilities ``softmax(z_0 / T)``. What is
    simplified: the authors' calibrator is a small network (in their code,
    one hidden ReLU layer of 5 units, the temperature clamped to [0.1, 10])
    trained by Adam on mini-batches, on the softmax probabilities of the
    transformed views only;
    here the model is log-linear (``log T`` clipped to [-15, 15]) in the
    log-probabilities (in which ``log T`` is closer to linear: on synthetic
    views this lowered the held-out ECE two- to threefold compared with raw
    probabilities), regularised by ``alpha``, fitted by full-batch L-BFGS, and
    the original view's own top log-probabilities are features too -- so that
    input of shape (n, k), without views, still gets a per-sample
    temperature. The views themselves (the image transformations) are outside
    skcalib: pass the model's logits on them.

    The training rows are those of a held-out validation set; ``predict_proba``
    needs the same views of each test sample. The objective is not convex in
    the parameters (with either loss); the start ``T = 1`` (the uncalibrated
    model) is deterministic, so fits are reproducible.

    Binary decision values ``x`` (shape (n,), or (n, n_views, 1)) are read as
    the logits ``[0, x]``.

    References
    ----------
    Y. Liu, L. Wang, Y. Zou, J. Zou and L. Zheng, "Optimizing Calibration by
    Gaining Aware of Prediction Correctness", arXiv:2404.13016, 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.calibration import CorrectnessAwareCalibrator
    >>> from skcalib.datasets import make_classification_logits
    >>> z, y = make_classification_logits(2000, 5, temperature=1.0,
    ...                                   random_state=0)
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.normal(size=(2000, 4, 5))  # 1 original + 3 transformed views
    >>> views = 3.0 * (z[:, None, :] + noise)
    >>> ca = CorrectnessAwareCalibrator().fit(views, y)
    >>> ca.coef_.shape
    (16,)
    >>> proba = ca.predict_proba(views)
    >>> proba.shape
    (2000, 5)
    >>> bool(np.all(proba.argmax(axis=1) == views[:, 0].argmax(axis=1)))
    True
    """

    _array_api_support = True
    _parameter_constraints: dict = {
        "loss": [StrOptions({"squared", "log"})],
        "n_top": [Interval(Integral, 1, None, closed="left")],
        "balanced": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        loss="squared",
        n_top=4,
        balanced=False,
        alpha=1e-2,
        max_iter=1000,
        tol=1e-6,
    ):
        self.loss = loss
        self.n_top = n_top
        self.balanced = balanced
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the calibrator on logits ``X`` (one or several views) and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes), (n_samples, n_views, \
n_classes) or (n_samples,)
            Logits of the original inputs, or of ``n_views`` views of each
            input (view 0 the original), or binary decision values.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; a weight of 2 counts a row twice.

        Returns
        -------
        self : object
            The fitted calibrator.
        """
        X, y_np, xp, device = self._validate_fit_data(X, y, ndim=(1, 2, 3))
        self.n_features_in_ = 1 if X.ndim == 1 else X.shape[-1]
        self.n_views_ = X.shape[1] if X.ndim == 3 else 1
        views = self._to_views(X, xp=xp)
        y_idx = move_to(encode_labels(y_np, self.classes_), xp=xp, device=device)
        sample_weight = check_sample_weight(
            sample_weight, X.shape[0], xp=xp, device=device, dtype=views.dtype
        )
        return self._fit(views, y_idx, sample_weight, xp=xp)

    def _to_views(self, X, *, xp):
        """Logits of shape (n, n_views, n_classes) from validated scores ``X``."""
        n_samples = X.shape[0]
        n_views = X.shape[1] if X.ndim == 3 else 1
        if n_views == 0:
            raise ValueError(
                "X of shape (n_samples, n_views, n_classes) must hold at least one "
                f"view (the original input), got shape {tuple(X.shape)}."
            )
        flat = xp.reshape(X, (n_samples * n_views, -1)) if X.ndim == 3 else X
        logits = self._to_logits(flat, xp=xp)
        return xp.reshape(logits, (n_samples, n_views, logits.shape[1]))

    def _fit(self, views, y, sample_weight, *, xp):
        """Fit on logits (n, n_views, k), label indices (n,) and weights or None."""
        _, dev = get_namespace_and_device(views, xp=xp)
        dtype = float_dtype(xp, device=dev)
        original = xp.astype(views[:, 0, :], dtype)
        correct = xp.astype(xp.argmax(original, axis=1) == y, dtype)
        if sample_weight is None:
            sample_weight = xp.ones_like(correct)
        else:
            sample_weight = xp.astype(sample_weight, dtype)
        if self.balanced:
            # Right rows weighted by the error rate, wrong ones by the accuracy,
            # so both groups weigh the same (nothing changes if one is empty).
            total = xp.sum(sample_weight)
            right = float(xp.sum(sample_weight * correct) / total)
            if 0.0 < right < 1.0:
                group = correct * (1.0 - right) + (1.0 - correct) * right
                sample_weight = sample_weight * group
        self.n_top_ = min(self.n_top, original.shape[1])
        self.coef_, self.intercept_, self.n_iter_ = _fit_log_linear_temperature(
            _view_features(views, self.n_top_, dtype, xp=xp),
            _top_label_rows(original, correct, self.loss, xp=xp),
            sample_weight,
            alpha=self.alpha,
            max_iter=self.max_iter,
            tol=self.tol,
            estimator_name=type(self).__name__,
            xp=xp,
        )
        return self

    def _validate_views(self, X):
        """Check ``X`` against the fitted shapes; return (views, xp)."""
        check_is_fitted(self)
        _check_feature_names(self, X, reset=False)
        xp, _ = get_namespace_and_device(X)
        X = check_scores(X, name="X", ndim=(1, 2, 3), xp=xp)
        n_features = 1 if X.ndim == 1 else X.shape[-1]
        if n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features per view, but {type(self).__name__} "
                f"is expecting {self.n_features_in_} features as input. Reshape "
                "your data: pass scores of the shape used in fit."
            )
        n_views = X.shape[1] if X.ndim == 3 else 1
        if n_views != self.n_views_:
            raise ValueError(
                f"X holds {n_views} view(s) of each sample, but "
                f"{type(self).__name__} was fitted on {self.n_views_}; pass the "
                "logits of the same views, of shape (n_samples, "
                f"{self.n_views_}, {self.n_features_in_})."
            )
        return self._to_views(X, xp=xp), xp

    def _row_temperatures(self, views, *, xp):
        _, dev = get_namespace_and_device(views, xp=xp)
        features = _view_features(
            views, self.n_top_, float_dtype(xp, device=dev), xp=xp
        )
        return _temperatures(features, self.coef_, self.intercept_, xp=xp)

    def _predict_proba(self, views, *, xp):
        """Calibrated probabilities from logits (n, n_views, k)."""
        original = views[:, 0, :]
        t = xp.astype(self._row_temperatures(views, xp=xp), original.dtype)
        return softmax(original / t[:, None], xp=xp)

    def predict_proba(self, X):
        """Calibrated class probabilities ``softmax(z_0 / T(x))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes), (n_samples, n_views, \
n_classes) or (n_samples,)
            Scores of the same kind and number of views as in ``fit``.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
            In ``X``'s namespace, device and floating dtype.
        """
        views, xp = self._validate_views(X)
        return self._predict_proba(views, xp=xp)

    def predict_temperature(self, X):
        """Temperature of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes), (n_samples, n_views, \
n_classes) or (n_samples,)
            Scores of the same kind and number of views as in ``fit``.

        Returns
        -------
        temperature : array of shape (n_samples,)
            ``T(x) > 0``, in ``X``'s namespace, device and floating dtype.
        """
        views, xp = self._validate_views(X)
        return xp.astype(self._row_temperatures(views, xp=xp), views.dtype)
