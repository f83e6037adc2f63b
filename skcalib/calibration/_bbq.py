"""Bayesian Binning into Quantiles (Naeini, Cooper & Hauskrecht 2015)."""

import math
from numbers import Real
from typing import NamedTuple

import numpy as np
from scipy.special import gammaln

from ..utils._array_api import (
    float_dtype,
    get_namespace_and_device,
    logsumexp,
    move_to,
    to_numpy,
)
from ..utils._sklearn_compat import Interval
from ._base import BaseOneVsRestCalibrator
from ._histogram import _predict_histogram

# Bounds of the prior mean of a bin (its midpoint), as in a port of the
# authors' code: a bin [0, 0] or [1, 1] (ties at 0 or 1) would otherwise get a
# Beta(0, .) prior.
_PRIOR_MEAN_BOUND = 5e-3


class _BBQColumn(NamedTuple):
    """The fitted BBQ of one class (arrays of the fit namespace, NumPy scores)."""

    inner_edges: object  # sorted union of the models' inner edges
    probabilities: object  # averaged posterior mean on each interval
    log_scores: np.ndarray  # log P(D | M) of each model
    model_weights: np.ndarray  # posterior weight of each model


def _n_bins_range(total_weight, range_factor):
    """Bin counts of the BBQ models: ``N^(1/3) / C`` to ``C N^(1/3)``.

    Rounded as in netcal and a port of the authors' code: from
    ``max(1, floor(N^(1/3) / C))`` to ``min(ceil(N / 5), ceil(C N^(1/3)))``
    (so a bin holds five samples on average at least).
    """
    root = float(np.cbrt(total_weight))  # exact for perfect cubes
    low = max(1, math.floor(root / range_factor))
    high = max(low, min(math.ceil(total_weight / 5), math.ceil(range_factor * root)))
    return np.arange(low, high + 1)


def _log_marginal_likelihood_terms(w_sum, pos_sum, prior_mean, strength):
    """Per-bin terms of the log Bayesian score ``log P(D | M)`` (NumPy).

    Bin ``b`` holds the (weighted) counts ``N_b = w_sum`` and ``m_b =
    pos_sum``; its probability has the prior ``Beta(alpha_b, beta_b)`` with
    ``alpha_b = strength * p_b`` and ``beta_b = strength * (1 - p_b)``,
    ``strength = N' / B``.
    """
    alpha = strength * prior_mean
    beta = strength * (1.0 - prior_mean)
    neg_sum = np.maximum(w_sum - pos_sum, 0.0)
    return (
        gammaln(strength)
        - gammaln(w_sum + strength)
        + gammaln(pos_sum + alpha)
        - gammaln(alpha)
        + gammaln(neg_sum + beta)
        - gammaln(beta)
    )


def _average_models(inner, cum_at_edge, total, total_positive, n_bins, strength):
    """Score the binning models and average them into one histogram (NumPy).

    Parameters
    ----------
    inner : ndarray of shape (sum(n_bins - 1),)
        The inner edges of every model, model after model.
    cum_at_edge : ndarray of shape (2, sum(n_bins - 1))
        Total weight and weighted positives of the scores ``<=`` each edge.
    total, total_positive : float
        Total weight and weighted positives.
    n_bins : ndarray of shape (n_models,)
    strength : float
        The prior strength ``N'``.

    Returns
    -------
    union : ndarray of shape (n_edges,)
        The sorted distinct edges of all models.
    averaged : ndarray of shape (n_edges + 1,)
        Weighted average of the models' posterior means on each interval of
        ``union`` (closed on the right).
    log_scores : ndarray of shape (n_models,)
        ``log P(D | M)`` of each model.
    weights : ndarray of shape (n_models,)
        Posterior weight of each model.
    """
    n_models = n_bins.shape[0]
    n_edges = n_bins - 1
    edge_stop = np.cumsum(n_edges)
    edge_start = edge_stop - n_edges
    # Every bin of every model, model after model: its bounds (the outer
    # ones 0 and 1) and the weight and positives below its bounds.
    clipped = np.clip(inner, 0.0, 1.0)
    lower = np.insert(clipped, edge_start, 0.0)
    upper = np.insert(clipped, edge_stop, 1.0)
    w_sum = np.insert(cum_at_edge[0], edge_stop, total) - np.insert(
        cum_at_edge[0], edge_start, 0.0
    )
    pos_sum = np.insert(cum_at_edge[1], edge_stop, total_positive) - np.insert(
        cum_at_edge[1], edge_start, 0.0
    )
    model = np.repeat(np.arange(n_models), n_bins)
    bin_strength = strength / n_bins[model]
    prior_mean = np.clip(
        (lower + upper) / 2, _PRIOR_MEAN_BOUND, 1.0 - _PRIOR_MEAN_BOUND
    )
    terms = _log_marginal_likelihood_terms(w_sum, pos_sum, prior_mean, bin_strength)
    log_scores = np.bincount(model, weights=terms, minlength=n_models)
    weights = np.exp(log_scores - logsumexp(log_scores))
    values = (pos_sum + bin_strength * prior_mean) / (w_sum + bin_strength)
    # The average is a step function that starts at sum_m w_m v_m[0] and, at
    # each edge of model m between its bins b and b + 1, jumps by
    # w_m (v_m[b + 1] - v_m[b]) for the scores above the edge. Edge i of
    # model m sits between the bins i + m and i + m + 1 of the flat arrays.
    edge_model = np.repeat(np.arange(n_models), n_edges)
    below = np.arange(inner.shape[0]) + edge_model
    jumps = weights[edge_model] * (values[below + 1] - values[below])
    union = np.unique(inner)
    position = np.searchsorted(union, inner, side="left")
    steps = np.bincount(position + 1, weights=jumps, minlength=union.shape[0] + 1)
    first = np.sum(weights * values[edge_start + np.arange(n_models)])
    return union, first + np.cumsum(steps), log_scores, weights


class BBQ(BaseOneVsRestCalibrator):
    r"""Bayesian Binning into Quantiles (BBQ).

    BBQ (Naeini, Cooper & Hauskrecht 2015) averages many equal-frequency
    histogram-binning models that differ in their number of bins ``B``,
    weighting each by its posterior probability given the calibration data.
    Model ``M`` with ``B`` bins puts a Beta prior on the probability of the
    positive class in each bin and is scored by its marginal likelihood
    (a BDeu score)

    .. math::

        P(D \mid M) = \prod_{b=1}^{B}
        \frac{\Gamma(N'/B)}{\Gamma(N_b + N'/B)}
        \frac{\Gamma(m_b + \alpha_b)}{\Gamma(\alpha_b)}
        \frac{\Gamma(n_b + \beta_b)}{\Gamma(\beta_b)},

    with ``N_b``, ``m_b`` and ``n_b`` the numbers of samples, positives and
    negatives in bin ``b``, ``alpha_b = N'/B p_b`` and ``beta_b = N'/B (1 -
    p_b)``, ``p_b`` the midpoint of the bin's interval (so the prior mean of a
    bin is its uncalibrated probability) and ``N'`` the ``prior_strength``.
    With a uniform prior over the models, their weights are
    ``P(D | M) / sum_M' P(D | M')`` (computed in log space). The calibrated
    probability of a score is the weighted average over the models of the
    posterior mean of its bin, ``(m_b + alpha_b) / (N_b + alpha_b +
    beta_b)``.

    Two classes: one BBQ on the probability of the positive class. More
    classes: one per class on its own probability (one-vs-rest), and the
    calibrated probabilities are renormalised to sum to one, as scikit-learn's
    ``CalibratedClassifierCV`` does.

    Parameters
    ----------
    range_factor : float, default=10.0
        The constant ``C >= 1`` of the paper: the models have every number of
        bins from ``max(1, floor(N^(1/3) / C))`` to ``min(ceil(N / 5),
        ceil(C N^(1/3)))``, ``N`` the number of calibration samples (the sum
        of the sample weights). Larger values average over more models.
    prior_strength : float, default=2.0
        The equivalent sample size ``N' > 0`` of the Beta priors, shared
        between the ``B`` bins of a model.

    Attributes
    ----------
    n_bins_ : ndarray of shape (n_models,)
        The numbers of bins of the averaged models.
    log_scores_ : ndarray of shape (n_calibrators, n_models)
        Log marginal likelihood ``log P(D | M)`` of each model, for each
        calibrated class (one row for two classes, the positive class; one row
        per class otherwise). A NumPy array: it is computed on the host.
    model_weights_ : ndarray of shape (n_calibrators, n_models)
        Posterior weight of each model (each row sums to one); NumPy.
    calibrators_ : list of namedtuple
        One ``(inner_edges, probabilities, log_scores, model_weights)`` tuple
        per calibrated class: the averaged model is itself a histogram, whose
        inner edges are the union of the inner edges of all models and whose
        ``probabilities`` are the averaged posterior means on each interval
        (arrays of the namespace and device of ``X``); the last two are the
        rows of ``log_scores_`` and ``model_weights_``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for the
        probability of the positive class).

    See Also
    --------
    HistogramBinning : A single histogram, equal-width or equal-mass.

    Notes
    -----
    ``X`` holds predicted probabilities: an array of shape (n_samples,
    n_classes), or for two classes the probability of the positive class, of
    shape (n_samples,) or (n_samples, 1).

    The bins of a model with ``B`` bins are those of
    ``HistogramBinning(n_bins=B, strategy="quantile")``: their inner edges are
    the weighted inverted-CDF quantiles of the calibration probabilities at
    levels ``b / B`` and they are closed on the right, so tied probabilities
    share a bin and some bins may be empty. An empty bin contributes a factor
    1 to ``P(D | M)`` and predicts its prior mean ``p_b``. The interval of bin
    ``b`` is ``(e_b, e_{b+1}]`` with ``e_0 = 0`` and ``e_B = 1``; its midpoint
    ``p_b`` is clipped to ``[0.005, 0.995]``, as in a public port of the
    authors' MATLAB code (bins made of ties at 0 or 1 would otherwise have a
    degenerate prior). Sample
    weights enter as weighted counts (``N_b``, ``m_b``, ``n_b`` and ``N`` are
    sums of weights), so an integer weight ``w`` gives exactly the model
    fitted on the row repeated ``w`` times.

    All models come from one sort of each class's probabilities. The
    weighted average of the models is a single histogram whose edges are the
    union of the models' edges, so predicting costs one binary search per
    score. The log-gamma function is not part of the array API: the
    ``O(sum B)`` bin counts are sent to the host to score the models, and the
    fitted histogram is moved back to the device of ``X``.

    Differences from other implementations: that port of the authors' code
    keeps a prior strength of 2 per bin (``N' = 2 B``) and prunes the models
    with an "elbow" rule on their sorted scores before averaging, and netcal
    scores the models with BIC or AIC instead of the marginal likelihood.
    Here the priors follow the paper's definition above, and every model in
    the range is averaged with its exact Bayesian weight (most of them are
    negligible).

    References
    ----------
    .. [1] M. P. Naeini, G. F. Cooper and M. Hauskrecht, "Obtaining Well
       Calibrated Probabilities Using Bayesian Binning", AAAI 2015.

    Examples
    --------
    >>> from skcalib.calibration import BBQ
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.metrics import expected_calibration_error
    >>> from skcalib.utils._array_api import softmax
    >>> logits, y = make_classification_logits(4000, 2, temperature=3.0,
    ...                                        random_state=0)
    >>> proba = softmax(logits)
    >>> bbq = BBQ().fit(proba[:2000], y[:2000])
    >>> bbq.n_bins_[[0, -1]]
    array([  1, 126])
    >>> before = expected_calibration_error(y[2000:], proba[2000:])
    >>> after = expected_calibration_error(y[2000:], bbq.predict_proba(proba[2000:]))
    >>> bool(after < before / 2)
    True
    """

    _array_api_support = True
    _skcalib_input_kind = "probabilities"
    _parameter_constraints: dict = {
        "range_factor": [Interval(Real, 1, None, closed="left")],
        "prior_strength": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, *, range_factor=10.0, prior_strength=2.0):
        self.range_factor = range_factor
        self.prior_strength = prior_strength

    def _fit(self, logits, y, sample_weight, *, xp):
        total = (
            logits.shape[0] if sample_weight is None else float(xp.sum(sample_weight))
        )
        self.n_bins_ = _n_bins_range(total, self.range_factor)
        super()._fit(logits, y, sample_weight, xp=xp)
        self.log_scores_ = np.stack([c.log_scores for c in self.calibrators_])
        self.model_weights_ = np.stack([c.model_weights for c in self.calibrators_])
        return self

    def _fit_binary(self, scores, target, sample_weight, *, xp):
        _, dev = get_namespace_and_device(scores, xp=xp)
        acc = float_dtype(xp, device=dev)
        n_samples = scores.shape[0]
        order = xp.argsort(scores, stable=True)
        sorted_scores = xp.take(scores, order)
        positive = xp.astype(xp.take(target, order), acc)
        if sample_weight is None:
            weight = xp.ones((n_samples,), dtype=acc, device=dev)
        else:
            weight = xp.astype(xp.take(sample_weight, order), acc)
        cum_weight = xp.cumulative_sum(weight)
        cum_positive = xp.cumulative_sum(weight * positive)
        total, total_positive = (
            float(v) for v in to_numpy(xp.stack([cum_weight[-1], cum_positive[-1]]))
        )

        # Inner edges of every model at once: edge b of the model with B bins
        # is the first sorted score whose cumulative weight reaches b / B of
        # the total (the inverted-CDF quantile of skcalib.metrics' "quantile"
        # bins; exact for integer weights).
        n_bins = self.n_bins_
        levels = np.concatenate([np.arange(1, B) * total / B for B in n_bins])
        levels = xp.asarray(levels, dtype=acc, device=dev)
        position = xp.searchsorted(cum_weight, levels, side="left")
        position = xp.clip(position, 0, n_samples - 1)
        inner = xp.take(sorted_scores, position)
        # Weight and positives up to each edge (bins are closed on the right).
        n_upto = xp.searchsorted(sorted_scores, inner, side="right")
        cum_at_edge = xp.stack(
            [xp.take(cum_weight, n_upto - 1), xp.take(cum_positive, n_upto - 1)]
        )
        union, averaged, log_scores, weights = _average_models(
            to_numpy(inner),
            to_numpy(cum_at_edge).astype(np.float64),
            total,
            total_positive,
            n_bins,
            self.prior_strength,
        )
        return _BBQColumn(
            move_to(union, xp=xp, device=dev),
            move_to(averaged.astype(union.dtype), xp=xp, device=dev),
            log_scores,
            weights,
        )

    def _predict_binary(self, state, scores, *, xp):
        return _predict_histogram(state.inner_edges, state.probabilities, scores, xp=xp)
