"""Label-powerset inductive conformal predictor for multilabel classification.

Every label set, a binary vector in ``{0, 1}^L``, is a candidate label; its
nonconformity score is a distance between the vector and the per-label
probabilities of a multilabel model (Maltoudoglou et al. 2022). The scores
offered here are separable, a sum of one term per label, so the label sets
below a threshold are listed by a search from the most conforming set that
flips the cheapest labels first, without going through the ``2^L`` sets.
"""

import warnings
from itertools import chain, pairwise
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from array_api_compat import numpy as np_compat
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target

from ..base import ConformalClassifierMixin
from ..utils._array_api import to_numpy
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
)
from ._calibration_table import ScoreTable, sets_from_mass
from ._common import (
    CALIBRATION_SIZE_CONSTRAINT,
    _CalibrationSplitMixin,
    calibration_size_text,
    host_sample_weight,
    min_calibration_size,
)

__all__ = ["LabelPowersetConformalClassifier"]

_SCORES = ("euclidean", "manhattan", "log_loss")
# Candidate label sets scored together by predict_set (bounds its memory).
_CHUNK = 65_536


def _as_host_array(y):
    if sp.issparse(y):
        return y.toarray()
    return to_numpy(y) if hasattr(y, "__array_namespace__") else np.asarray(y)


def _check_label_sets(y, *, name="y", n_labels=None, ndim=(2,)):
    """``y`` as a boolean array of label sets (0/1 or boolean entries).

    ``ndim`` lists the accepted numbers of dimensions; the last axis holds
    the labels and must have ``n_labels`` entries when given.
    """
    y = _as_host_array(y)
    if y.ndim not in ndim or y.shape[-1] < 1:
        shapes = " or ".join(
            "(n_samples, n_labels)" if d == 2 else "(n_samples, n_sets, n_labels)"
            for d in ndim
        )
        extra = ""
        if y.ndim == 1:
            kind = type_of_target(y) if y.size else "empty"
            extra = (
                f" The target is 1-D (type {kind!r}). Only binary classification "
                "is supported per label: each column holds the two classes 0 and "
                "1 of one label. For a single label pass y.reshape(-1, 1)."
            )
        raise ValueError(
            f"{name} must be a binary indicator array of shape {shapes}, one 0/1 "
            f"column per label, got shape {y.shape}.{extra}"
        )
    if n_labels is not None and y.shape[-1] != n_labels:
        raise ValueError(
            f"{name} has {y.shape[-1]} labels (last axis) but the predictor was "
            f"fitted with {n_labels}."
        )
    if y.dtype == bool:
        return y
    if y.dtype.kind not in "iuf":
        raise ValueError(
            f"Unknown label type: {name} must hold 0 (label absent) and 1 (label "
            f"present), got an array of dtype {y.dtype}."
        )
    values = np.unique(y)
    if not np.all((values == 0) | (values == 1)):
        raise ValueError(
            f"{name} must hold 0 (label absent) and 1 (label present) only, got "
            f"values {values[:10].tolist()}."
        )
    return y == 1


def _label_probabilities(estimator, X, n_labels):
    """Probability that each label is present, shape (n_samples, n_labels).

    Accepts the two layouts of scikit-learn's multilabel classifiers: an
    array of shape (n_samples, n_labels) (``OneVsRestClassifier``,
    ``MLPClassifier``) or a list of one (n_samples, n_classes_j) array per
    label (``MultiOutputClassifier``, ``KNeighborsClassifier``), whose
    column of class 1 is used (zero when the label was constant in training).
    """
    name = f"{type(estimator).__name__}.predict_proba"
    proba = estimator.predict_proba(X)
    classes = getattr(estimator, "classes_", None)
    if isinstance(proba, (list, tuple)):
        per_label = isinstance(classes, (list, tuple)) and len(classes) == len(proba)
        columns = []
        for j, p in enumerate(proba):
            p = np.asarray(to_numpy(p), dtype=np.float64)
            if p.ndim != 2:
                raise ValueError(
                    f"{name} returned a list whose entry {j} has shape {p.shape}; "
                    "expected (n_samples, n_classes) arrays."
                )
            cls = np.asarray(classes[j]) if per_label else np.arange(p.shape[1])
            hit = np.flatnonzero(cls == 1)
            columns.append(p[:, hit[0]] if hit.size else np.zeros(p.shape[0]))
        proba = np.stack(columns, axis=1) if columns else np.zeros((0, 0))
    else:
        proba = np.asarray(to_numpy(proba), dtype=np.float64)
        if proba.ndim == 2 and n_labels == 1 and proba.shape[1] == 2:
            # A binary classifier (one label): keep the column of class 1.
            cls = np.asarray(classes) if classes is not None else np.arange(2)
            hit = np.flatnonzero(cls.ravel() == 1)
            proba = proba[:, hit[:1]] if hit.size else proba[:, 1:]
    if proba.ndim != 2 or proba.shape[1] != n_labels:
        raise ValueError(
            f"{name} must give the probability of each of the {n_labels} labels: "
            "an array of shape (n_samples, n_labels) or a list of n_labels arrays "
            f"of shape (n_samples, 2); got shape {proba.shape}."
        )
    if not np.all(np.isfinite(proba)) or np.any((proba < 0) | (proba > 1)):
        raise ValueError(f"{name} must return finite probabilities in [0, 1].")
    return proba


def _decompose(proba, kind):
    """Separable form of the score: ``f(base + sum of the flipped labels' costs)``.

    Returns the most conforming label set ``best = proba >= 0.5``, the
    additive score ``base`` of that set (n_samples,) and ``flip`` (n_samples,
    n_labels), the increase of the additive score when label ``j`` differs
    from ``best``. For ``"euclidean"`` and ``"manhattan"`` the increase is
    ``|1 - 2 p_j|`` (``(1 - p)^2 - p^2 = 1 - 2 p``); for ``"log_loss"`` it is
    ``|log(p_j / (1 - p_j))|``.
    """
    best = proba >= 0.5
    if kind == "log_loss":
        tiny = np.finfo(np.float64).tiny
        log_p = np.log(np.maximum(proba, tiny))
        log_q = np.log(np.maximum(1 - proba, tiny))
        own = -np.where(best, log_p, log_q)
        flip = np.abs(log_p - log_q)
    else:
        near = np.minimum(proba, 1 - proba)
        own = near if kind == "manhattan" else near * near
        flip = np.abs(1 - 2 * proba)
    return best, np.sum(own, axis=1), flip


def _finish(kind, additive):
    return np.sqrt(additive) if kind == "euclidean" else additive


def _additive_threshold(kind, threshold):
    return threshold * threshold if kind == "euclidean" else threshold


def _set_scores(kind, base, flip, flipped):
    """Scores of label sets given which labels differ from the best set.

    ``flipped`` has shape (..., n_labels) and broadcasts against ``flip``;
    ``base`` against ``flipped.shape[:-1]``. The sum runs over contiguous
    rows, so a label set gets bit-identical scores whatever the batch it is
    scored in (calibration, p-values, search).
    """
    terms = np.ascontiguousarray(flip * flipped)
    return _finish(kind, base + np.sum(terms, axis=-1))


def _flip_subsets(costs, budget, max_sets):
    """Subsets of positions whose ``costs`` (ascending) sum to at most ``budget``.

    Depth-first over the sorted costs: a branch stops at the first cost that
    no longer fits, so the work is proportional to the number of subsets
    listed. Returns None when there are more than ``max_sets``.
    """
    if not budget >= 0:
        return []
    subsets = [()]
    stack = [(0, 0.0, ())]
    n = len(costs)
    while stack:
        start, total, subset = stack.pop()
        for k in range(start, n):
            value = total + costs[k]
            if value > budget:
                break
            grown = (*subset, k)
            subsets.append(grown)
            if len(subsets) > max_sets:
                return None
            if k + 1 < n:
                stack.append((k + 1, value, grown))
    return subsets


class LabelPowersetConformalClassifier(
    _CalibrationSplitMixin, ConformalClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    """Label-powerset inductive conformal predictor for multilabel classification.

    Every label set ``Y`` in ``{0, 1}^L`` is a candidate label (the label
    powerset). One ``fit(X, y)``, with ``y`` a binary indicator matrix of
    shape (n_samples, n_labels), trains a multilabel classifier on part of
    the data and scores the true label sets of the other, *calibration*,
    part. With ``p_j(x)`` the predicted probability of label ``j``, the
    nonconformity score of a label set is a distance between ``Y`` and
    ``p(x)``, by default the Euclidean norm
    ``alpha(x, Y) = sqrt(sum_j (Y_j - p_j(x))^2)`` (Maltoudoglou et al.
    2022). The p-value of ``Y`` is

    ``p(x, Y) = (#{i : alpha_i >= alpha(x, Y)} + 1) / (n + 1)``

    over the ``n`` calibration scores ``alpha_i``, and the prediction set at
    confidence level ``1 - eps`` holds every label set with ``p(x, Y) > eps``:
    for exchangeable data it contains the true label set with probability at
    least ``1 - eps``, whatever the model.

    The ``2^L`` label sets are never enumerated: the scores are sums of one
    term per label, so the most conforming set is ``[p_j >= 0.5]`` and every
    other set costs that set's score plus a fixed amount per label it
    changes (``|1 - 2 p_j|`` for the Euclidean and Manhattan scores). A
    depth-first search over the labels sorted by that cost lists exactly the
    sets under the conformal threshold, in time proportional to their
    number, and ``predict_label_status`` summarises the set (labels in every
    set, in none, or undecided) in ``O(L)`` per sample without listing it.

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``predict_proba``, default=None
        The multilabel classifier. ``predict_proba`` may return an array of
        shape (n_samples, n_labels) (e.g.
        :class:`~sklearn.multiclass.OneVsRestClassifier`,
        :class:`~sklearn.neural_network.MLPClassifier`) or a list of one
        (n_samples, 2) array per label (e.g.
        :class:`~sklearn.multioutput.MultiOutputClassifier`,
        :class:`~sklearn.neighbors.KNeighborsClassifier`). ``None`` uses
        ``OneVsRestClassifier(LogisticRegression())``. Wrap a fitted model in
        :class:`~sklearn.frozen.FrozenEstimator` to use it as is.
    conformity_score : {"euclidean", "manhattan", "log_loss"}, \
default="euclidean"
        The nonconformity score of a label set ``Y`` given the probabilities
        ``p``:

        - ``"euclidean"``: ``sqrt(sum_j (Y_j - p_j)^2)``, the Euclidean norm
          measure of the label-powerset ICP of Papadopoulos (2014) and
          Maltoudoglou et al. (2022);
        - ``"manhattan"``: ``sum_j |Y_j - p_j|``, the soft Hamming distance;
        - ``"log_loss"``: ``-sum_j log(p_j^Y_j (1 - p_j)^(1 - Y_j))``, minus
          the log-probability of ``Y`` when the labels are independent
          (probabilities are clipped at the smallest positive float).

        For one sample, the Euclidean and Manhattan scores order the label
        sets alike; they differ in how samples compare with each other.
    confidence_level : float or array-like of float in (0, 1), default=0.9
        Target coverage, read at prediction time. With a list, the outputs
        of all levels are returned together (see the methods).
    calibration_size : float, int or cross-validation splitter, default=0.3
        The rows that calibrate (unused with a ``FrozenEstimator``): a
        fraction in (0, 1) or a number of rows drawn at random with
        ``random_state``, or a splitter whose first split gives the training
        and calibration rows.
    randomized : bool, default=False
        Use smoothed p-values,
        ``(#{alpha_i > alpha} + U (#{alpha_i = alpha} + 1)) / (n + 1)`` with
        ``U`` uniform on [0, 1] (one draw per test sample): the coverage is
        then exactly the level on average instead of at least the level.
    max_sets : int, default=10_000
        Most label sets listed per sample by :meth:`predict_set`; a sample
        whose prediction set is larger gets ``None`` there, with a warning.
    random_state : int, RandomState instance or None, default=None
        Seeds the calibration split and the uniform draws of
        ``randomized=True`` (drawn once per test row from a seed fixed at
        fit, so predicting twice gives the same sets).

    Attributes
    ----------
    estimator_ : estimator
        The fitted (or frozen) multilabel classifier.
    classes_ : ndarray of shape (n_labels,)
        ``arange(n_labels)``: the labels are the columns of ``y``.
    n_labels_ : int
        Number of labels ``L``.
    n_features_in_ : int
        Number of features seen during ``fit`` (when ``X`` has columns).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.
    conformity_scores_ : ndarray of shape (n_calibration,)
        Nonconformity scores of the true label sets of the calibration
        samples.
    quantiles_ : ndarray
        Score thresholds at the ``confidence_level`` of fit time (0-d for one
        level, shape (n_levels,) for a list): a label set is in the
        prediction set when its score is at most the threshold. ``+inf``
        when the calibration set is too small for the level.

    See Also
    --------
    SplitConformalClassifier : prediction sets for single-label classification.

    Notes
    -----
    **Representation of the sets.** :meth:`predict_set` returns, per sample,
    the label sets as rows of a boolean array (most conforming first). The
    compact :meth:`predict_label_status` marks each label ``1`` (present in
    every set of the prediction set), ``0`` (in none) or ``-1`` (in some
    only); it is exact and cheap even when the prediction set is huge. An
    empty prediction set has ``predict_set`` rows ``(0, n_labels)`` and
    status ``0`` for every label.

    **Small calibration sets.** With fewer than ``level / (1 - level)``
    calibration samples no label set can be excluded: a warning is raised,
    every label is ``-1`` in :meth:`predict_label_status`, and
    :meth:`predict_set` lists all ``2^L`` sets when ``2^L <= max_sets``
    (``None`` otherwise).

    **Search.** Maltoudoglou et al. (2022) make the label powerset
    tractable by eliminating from consideration the label sets that surely
    have p-values below the significance level. The search here does this
    exactly and output-sensitively: it visits only the label sets under the
    threshold (plus one failed extension per visited set). Sets and p-values
    come from the same scores, so a set is listed exactly when its
    :meth:`predict_pvalues` exceeds ``1 - confidence_level``.

    **Score.** ``score(X, y)`` is the subset accuracy of :meth:`predict`, as
    ``score`` is the accuracy of ``predict`` for the other conformal
    classifiers. The coverage of the prediction sets is
    ``mean(predict_pvalues(X, y) > 1 - confidence_level)``.

    **Weights.** ``sample_weight`` weighs the calibration scores in the
    p-values and thresholds and is passed to the estimator's ``fit`` when it
    accepts it.

    Everything is computed with NumPy on the host: the search is sequential.

    References
    ----------
    Maltoudoglou, L., Paisios, A., Lenc, L., Martínek, J., Král, P. and
    Papadopoulos, H. (2022). Well-calibrated confidence measures for
    multi-label text classification with a large number of labels. Pattern
    Recognition, 122, 108271.

    Papadopoulos, H. (2014). A cross-conformal predictor for multi-label
    classification. AIAI 2014 Workshops, IFIP AICT 437, 241-250.

    Vovk, V., Gammerman, A. and Shafer, G. (2005). Algorithmic Learning in a
    Random World. Springer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.model_selection import train_test_split
    >>> from skcalib.conformal._multilabel import LabelPowersetConformalClassifier
    >>> X, y = make_multilabel_classification(
    ...     n_samples=2000, n_features=20, n_classes=4, n_labels=3, length=200,
    ...     random_state=0)
    >>> X_fit, X_test, y_fit, y_test = train_test_split(X, y, random_state=0)
    >>> clf = LabelPowersetConformalClassifier(confidence_level=0.9,
    ...                                        random_state=0).fit(X_fit, y_fit)
    >>> clf.predict(X_test[:4])
    array([[0, 0, 1, 1],
           [1, 0, 1, 1],
           [0, 1, 0, 1],
           [1, 0, 1, 1]])
    >>> sets = clf.predict_set(X_test[:4])
    >>> [len(s) for s in sets]
    [2, 1, 1, 3]
    >>> sets[3].astype(int)  # most conforming label set first
    array([[1, 0, 1, 1],
           [1, 0, 0, 1],
           [0, 0, 1, 1]])
    >>> clf.predict_label_status(X_test[:4])  # 1 in all sets, 0 in none
    array([[-1,  0,  1,  1],
           [ 1,  0,  1,  1],
           [ 0,  1,  0,  1],
           [-1,  0, -1,  1]], dtype=int8)
    >>> coverage = np.mean(clf.predict_pvalues(X_test, y_test) > 0.1)
    >>> float(coverage)
    0.886
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "conformity_score": [StrOptions(set(_SCORES))],
        "confidence_level": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "calibration_size": CALIBRATION_SIZE_CONSTRAINT,
        "randomized": ["boolean"],
        "max_sets": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        conformity_score="euclidean",
        confidence_level=0.9,
        calibration_size=0.3,
        randomized=False,
        max_sets=10_000,
        random_state=None,
    ):
        self.estimator = estimator
        self.conformity_score = conformity_score
        self.confidence_level = confidence_level
        self.calibration_size = calibration_size
        self.randomized = randomized
        self.max_sets = max_sets
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.multi_class = False
        return tags

    def _default_estimator(self):
        return OneVsRestClassifier(LogisticRegression())

    # ------------------------------------------------------------------ #
    # fit
    # ------------------------------------------------------------------ #
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train the estimator on part of the data and calibrate on the rest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like or sparse matrix of shape (n_samples, n_labels)
            Binary indicator matrix: ``y[i, j] = 1`` when label ``j`` is in the
            label set of sample ``i``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples: weighted p-values and thresholds, and
            passed to the estimator's ``fit`` when it accepts them.
        **fit_params : dict
            Passed to the estimator's ``fit`` (or routed, with metadata
            routing enabled).

        Returns
        -------
        self : object
            The fitted predictor.
        """
        X, y = self._check_fit_X_y(X, y)
        y_host = _as_host_array(y)
        label_sets = _check_label_sets(y_host)
        n, n_labels = label_sets.shape
        # The dtype's string ('<i8'), not a numpy.dtype, which skops does not trust.
        self._y_dtype = y_host.dtype.str
        sw = host_sample_weight(sample_weight, n)
        rng = check_random_state(self.random_state)
        _, rows, X_cal = self._fit_split(
            X, y_host, sample_weight, None, fit_params, rng
        )
        self.n_labels_ = n_labels
        self.classes_ = np.arange(n_labels)
        best, base, flip = _decompose(
            _label_probabilities(self.estimator_, X_cal, n_labels),
            self.conformity_score,
        )
        self.conformity_scores_ = _set_scores(
            self.conformity_score, base, flip, label_sets[rows] != best
        )
        self._table = ScoreTable(
            self.conformity_scores_,
            np.zeros(rows.shape[0], dtype=np.int64),
            1,
            None if sw is None else sw[rows],
            xp=np_compat,
            device="cpu",
        )
        self._predict_seed = int(rng.randint(np.iinfo(np.int32).max))
        levels, scalar = self._levels()
        quantiles = self._table.quantiles(levels)[0]
        self.quantiles_ = quantiles[0] if scalar else quantiles
        return self

    # ------------------------------------------------------------------ #
    # helpers
    # ------------------------------------------------------------------ #
    def _decomposed(self, X):
        self._check_X(X)
        proba = _label_probabilities(self.estimator_, X, self.n_labels_)
        return _decompose(proba, self.conformity_score)

    def _draws(self, n_samples):
        """One uniform per test row (smoothed p-values), or None."""
        if not self.randomized:
            return None
        return np.random.RandomState(self._predict_seed).uniform(size=n_samples)

    def _mass(self, scores):
        """Calibration mass with scores >= and > each entry of ``scores``."""
        at_least = self._table.mass_at_least(0, scores)
        above = self._table.mass_at_least(0, np.nextafter(scores, np.inf))
        return at_least, above

    def _pvalues(self, scores, u):
        total = float(self._table.totals[0])
        at_least, above = self._mass(scores)
        if u is None:
            return (at_least + 1) / (total + 1)
        return (above + u * (at_least - above + 1)) / (total + 1)

    def _members(self, scores, u, levels):
        """Whether label sets of these scores are in the prediction set.

        Shape ``scores.shape + (n_levels,)``; ``p > 1 - level`` with the
        integer-rank guard of the other conformal predictors when not
        randomised.
        """
        total = np.asarray(float(self._table.totals[0]))
        if u is None:
            mass = self._table.mass_at_least(0, scores)
            return sets_from_mass(mass, total, levels, xp=np_compat, device="cpu")
        at_least, above = self._mass(scores)
        smoothed = (above + u * (at_least - above + 1))[..., None]
        return smoothed > (1 - levels) * (total + 1)

    def _warn_if_full(self, quantiles, levels):
        full = ~np.isfinite(quantiles)
        if not full.any():
            return
        have = calibration_size_text(self._table.totals[0])
        needs = ", ".join(
            f"{min_calibration_size(level)} for confidence_level={float(level):g}"
            for level in levels[full]
        )
        warnings.warn(
            f"The calibration set is too small for the requested confidence level "
            f"({have} calibration samples; at least {needs}): every one of the "
            f"2^{self.n_labels_} label sets is in the prediction set. "
            "predict_label_status marks every label -1 and predict_set lists all "
            "the label sets only when they are at most max_sets.",
            UserWarning,
            stacklevel=3,
        )

    # ------------------------------------------------------------------ #
    # prediction
    # ------------------------------------------------------------------ #
    def predict(self, X):
        """Most conforming label set: the labels with probability at least 0.5.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_labels)
            Binary indicator matrix, in the dtype of ``y`` at fit.
        """
        best, _, _ = self._decomposed(X)
        return best.astype(self._y_dtype)

    def predict_pvalues(self, X, y):
        """Conformal p-values of given label sets.

        ``p(x_i, Y) = (#{calibration scores >= alpha(x_i, Y)} + 1) / (n + 1)``
        (weighted with ``sample_weight``; smoothed with ``randomized=True``).
        ``Y`` is in the prediction set at level ``1 - eps`` exactly when its
        p-value exceeds ``eps``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like of shape (n_samples, n_labels) or \
(n_samples, n_sets, n_labels)
            One candidate label set per sample (binary indicator rows), or
            ``n_sets`` candidates per sample.

        Returns
        -------
        pvalues : ndarray of shape (n_samples,) or (n_samples, n_sets)
        """
        best, base, flip = self._decomposed(X)
        label_sets = _check_label_sets(y, n_labels=self.n_labels_, ndim=(2, 3))
        n = best.shape[0]
        if label_sets.shape[0] != n:
            raise ValueError(
                f"y must have one row of label sets per sample of X ({n}), got "
                f"{label_sets.shape[0]}."
            )
        single = label_sets.ndim == 2
        if single:
            label_sets = label_sets[:, None, :]
        scores = _set_scores(
            self.conformity_score,
            base[:, None],
            flip[:, None, :],
            label_sets != best[:, None, :],
        )
        u = self._draws(n)
        pvalues = self._pvalues(scores, None if u is None else u[:, None])
        return pvalues[:, 0] if single else pvalues

    def predict_label_status(self, X):
        """Per-label summary of the prediction sets, without listing them.

        Label ``j`` is ``1`` when it is present in every label set of the
        prediction set, ``0`` when it is present in none and ``-1`` when it
        is present in some only. It is exact: the most conforming set with
        label ``j`` changed is the best set with that one label flipped, so
        ``L + 1`` scores per sample decide every label.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        status : ndarray of int8 of shape (n_samples, n_labels) or \
(n_samples, n_labels, n_levels)
            The last axis stacks the levels when ``confidence_level`` is a
            list. Rows of empty prediction sets are all ``0``.
        """
        best, base, flip = self._decomposed(X)
        levels, scalar = self._levels()
        self._warn_if_full(self._table.quantiles(levels)[0], levels)
        kind = self.conformity_score
        u = self._draws(best.shape[0])
        # A row sum with one non-zero term is that term exactly, so these are
        # the scores _set_scores gives the best set and its one-label flips.
        best_in = self._members(_finish(kind, base), u, levels)
        flip_in = self._members(
            _finish(kind, base[:, None] + flip),
            None if u is None else u[:, None],
            levels,
        )
        status = np.where(flip_in, -1, best[:, :, None].astype(np.int8))
        status = np.where(best_in[:, None, :], status, 0).astype(np.int8)
        return status[:, :, 0] if scalar else status

    def _filter_candidates(self, found, best, base, flip, order, u, levels):
        """Prediction sets at every level from the candidates of some samples.

        ``found[i]`` lists the candidate label sets of sample ``i`` as tuples
        of positions in ``order[i]`` (labels by increasing flip cost). They
        are scored together, sorted by score within each sample and kept
        where the p-value exceeds ``1 - level``.
        """
        n, n_labels = best.shape
        counts = np.fromiter(map(len, found), np.intp, n)
        owner = np.repeat(np.arange(n), counts)
        subsets = list(chain.from_iterable(found))
        lengths = np.fromiter(map(len, subsets), np.intp, len(subsets))
        positions = np.fromiter(chain.from_iterable(subsets), np.intp)
        flipped = np.zeros((len(subsets), n_labels), dtype=bool)
        rows = np.repeat(np.arange(len(subsets)), lengths)
        flipped[rows, order[owner[rows], positions]] = True
        scores = _set_scores(self.conformity_score, base[owner], flip[owner], flipped)
        ranked = np.lexsort((scores, owner))  # by sample, then score (stable)
        member = self._members(
            scores[ranked], None if u is None else u[owner[ranked]], levels
        )
        label_sets = (flipped ^ best[owner])[ranked]
        bounds = np.concatenate([[0], np.cumsum(counts)])
        return [
            [label_sets[lo:hi][member[lo:hi, k]] for k in range(levels.shape[0])]
            for lo, hi in pairwise(bounds)
        ]

    def predict_set(self, X):
        """Prediction sets: every label set whose p-value exceeds ``1 - level``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        sets : list of ndarray of bool of shape (n_sets_i, n_labels), or of \
lists of them
            ``sets[i]`` holds the label sets of sample ``i`` as rows, most
            conforming (smallest score) first; it is ``None`` when they are
            more than ``max_sets`` (with a warning). When
            ``confidence_level`` is a list, ``sets[i][k]`` is the prediction
            set of sample ``i`` at the ``k``-th level.
        """
        best, base, flip = self._decomposed(X)
        levels, scalar = self._levels()
        quantiles = self._table.quantiles(levels)[0]
        self._warn_if_full(quantiles, levels)
        kind = self.conformity_score
        n = best.shape[0]
        u = self._draws(n)
        # Levels from the largest threshold down: the search runs once per
        # sample, at the largest level whose sets fit in max_sets.
        by_size = np.argsort(-quantiles, kind="stable")
        thresholds = [float(_additive_threshold(kind, q)) for q in quantiles[by_size]]
        thresholds = [t + 1e-9 * max(1.0, abs(t)) for t in thresholds]
        order = np.argsort(flip, axis=1, kind="stable")
        costs = np.take_along_axis(flip, order, axis=1).tolist()
        sets, found, start, pending = [], [], 0, 0
        first_rank = np.full(n, len(by_size))
        overflow = np.zeros(levels.shape[0], dtype=np.int64)
        for i in range(n):
            subsets = []
            for rank, level in enumerate(by_size):
                listed = _flip_subsets(
                    costs[i], thresholds[rank] - base[i], self.max_sets
                )
                if listed is not None:
                    subsets, first_rank[i] = listed, rank
                    break
                overflow[level] += 1
            found.append(subsets)
            pending += len(subsets)
            if pending >= _CHUNK or i == n - 1:
                # Score and filter the candidates of many samples at once.
                chunk = slice(start, i + 1)
                for per_level, rank in zip(
                    self._filter_candidates(
                        found,
                        best[chunk],
                        base[chunk],
                        flip[chunk],
                        order[chunk],
                        None if u is None else u[chunk],
                        levels,
                    ),
                    first_rank[chunk],
                    strict=True,
                ):
                    for level in by_size[:rank]:
                        per_level[level] = None
                    sets.append(per_level[0] if scalar else per_level)
                found, start, pending = [], i + 1, 0
        if overflow.any():
            detail = ", ".join(
                f"{int(count)} test sample(s) at confidence_level={float(levels[k]):g}"
                for k, count in enumerate(overflow)
                if count
            )
            warnings.warn(
                f"Some prediction sets hold more than max_sets={self.max_sets} "
                f"label sets ({detail}); they are returned as None. "
                "Raise max_sets, lower confidence_level, or summarise them with "
                "predict_label_status, which is exact for any set size.",
                UserWarning,
                stacklevel=2,
            )
        return sets
