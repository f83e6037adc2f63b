"""Split and cross conformal classifiers."""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    ShuffleSplit,
    StratifiedShuffleSplit,
    check_cv,
)
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ..base import ConformalClassifierMixin
from ..utils._array_api import (
    get_namespace_and_device,
    move_to,
    to_numpy,
)
from ..utils._dask import is_dask_array
from ..utils._dask_fit import fit_split_conformal_classifier_dask
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _safe_indexing,
)
from ..utils._validation import (
    check_confidence_level,
    check_probabilities,
    encode_labels,
)
from ._calibration_table import (
    CategoryLayout,
    ScoreTable,
    encode_categories,
    sets_from_mass,
    warn_small_categories,
)
from ._common import (
    CALIBRATION_SIZE_CONSTRAINT,
    _CalibrationSplitMixin,
    _ConformalFitMixin,
    host_sample_weight,
    weights_like,
)
from .scores import BaseClassificationScore, resolve_conformity_score
from .scores._classification import ALIASES

__all__ = ["CrossConformalClassifier", "SplitConformalClassifier"]


def _predict_proba(estimator, X, classes):
    """``estimator.predict_proba(X)`` validated, one column per class of ``classes``.

    Columns of classes the estimator did not see (absent from a training
    fold) are zero.
    """
    proba = check_probabilities(
        estimator.predict_proba(X), name=f"{type(estimator).__name__}.predict_proba"
    )
    xp, dev = get_namespace_and_device(proba)
    if proba.ndim != 2:
        raise ValueError(
            "The estimator's predict_proba must return an array of shape "
            f"(n_samples, n_classes), got shape {tuple(proba.shape)}."
        )
    est_classes = np.asarray(estimator.classes_)
    if est_classes.shape == classes.shape and np.all(est_classes == classes):
        return proba
    column = encode_categories(
        classes, est_classes, n_samples=classes.shape[0], name="classes"
    )
    padded = xp.concat(
        [proba, xp.zeros((proba.shape[0], 1), dtype=proba.dtype, device=dev)], axis=1
    )
    return xp.take(padded, move_to(column, xp=xp, device=dev), axis=1)


def _check_test_weight(test_weight, proba):
    """Non-negative finite test weights on the device of ``proba``, or None."""
    if test_weight is None:
        return None
    xp, dev = get_namespace_and_device(proba)
    w = move_to(
        test_weight if hasattr(test_weight, "shape") else np.asarray(test_weight),
        xp=xp,
        device=dev,
    )
    if w.ndim != 1 or w.shape[0] != proba.shape[0]:
        raise ValueError(
            f"test_weight must have shape ({proba.shape[0]},), one weight per test "
            f"sample, got shape {tuple(w.shape)}."
        )
    w = xp.astype(w, proba.dtype)
    if not bool(xp.all(xp.isfinite(w) & (w >= 0))):
        raise ValueError("test_weight must hold finite, non-negative weights.")
    return w


def _tuning_split(y, size, rng):
    """Held-out (tuning) and remaining calibration rows, stratified when possible."""
    _, counts = np.unique(y, return_counts=True)
    splitter_cls = StratifiedShuffleSplit if counts.min() >= 2 else ShuffleSplit
    splitter = splitter_cls(n_splits=1, test_size=size, random_state=rng)
    keep, tune = next(splitter.split(np.zeros((y.shape[0], 1)), y))
    return np.sort(tune), np.sort(keep)


def _predicted_labels(proba, classes):
    """The class of ``classes`` with the largest probability, per row (host)."""
    xp, _ = get_namespace_and_device(proba)
    return classes[to_numpy(xp.argmax(proba, axis=1))]


class _ClassificationFitMixin(_ConformalFitMixin):
    """Default classifier, fit validation and classes of the conformal classifiers.

    Shared by the split and cross conformal classifiers and
    :class:`~skcalib.conformal._selective.SelectiveConformalClassifier`.
    """

    def _default_estimator(self):
        return LogisticRegression()

    def _validate_fit_data(self, X, y, sample_weight, groups):
        """Return ``X``, ``y`` (host labels), weights and groups as host arrays."""
        X, y = self._check_fit_X_y(X, y)
        y = column_or_1d(
            to_numpy(y) if hasattr(y, "__array_namespace__") else y, warn=True
        )
        check_classification_targets(y)
        n = y.shape[0]
        if len(np.unique(y)) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least two classes; y "
                f"contains one class only: {np.unique(y).tolist()}."
            )
        sample_weight = host_sample_weight(sample_weight, n)
        if groups is not None:
            groups = np.asarray(to_numpy(groups) if hasattr(groups, "ndim") else groups)
            if groups.ndim != 1 or groups.shape[0] != n:
                raise ValueError(
                    f"groups must have shape ({n},), one group per sample, got "
                    f"shape {groups.shape}."
                )
        return X, y, sample_weight, groups

    def _set_classes(self, y):
        """``classes_``: those of a frozen ``estimator_``, else the labels of ``y``."""
        if isinstance(self.estimator_, FrozenEstimator):
            self.classes_ = np.asarray(self.estimator_.classes_)
        else:
            self.classes_ = np.unique(y)


class _BaseConformalClassifier(
    _ClassificationFitMixin,
    ConformalClassifierMixin,
    MetaEstimatorMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Conformalisation, conditioning (groups / classes) and prediction of both."""

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "conformity_score": [StrOptions(set(ALIASES)), BaseClassificationScore],
        "confidence_level": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "class_conditional": ["boolean"],
        "random_state": ["random_state"],
    }

    # ------------------------------------------------------------------ #
    # fit helpers
    # ------------------------------------------------------------------ #
    def _conformalize(self, proba, y_cal, sample_weight, groups, rng):
        """Tune the score, compute calibration scores and build the score tables.

        ``proba`` holds the calibration probabilities (device array), ``y_cal``
        their encoded labels (host ints), ``sample_weight`` and ``groups`` are
        host arrays or None. Returns the calibration rows kept (after the
        tuning part of the score, if any, is held out), their categories and
        their weights (device array or None), so that subclasses can split the
        table further.
        """
        xp, dev = get_namespace_and_device(proba)
        score = resolve_conformity_score(self.conformity_score)
        levels = check_confidence_level(self.confidence_level)
        rows = np.arange(proba.shape[0])
        if score._tuning_size() > 0:
            tune, rows = _tuning_split(y_cal, score._tuning_size(), rng)
            needs_u = score._needs_u_at_fit() or score._needs_u_at_predict()
            score = score.tune(
                xp.take(proba, move_to(tune, xp=xp, device=dev), axis=0),
                move_to(y_cal[tune], xp=xp, device=dev),
                levels,
                u=rng.uniform(size=tune.shape[0]) if needs_u else None,
            )
            proba = xp.take(proba, move_to(rows, xp=xp, device=dev), axis=0)
        y_kept = y_cal[rows]
        u = rng.uniform(size=rows.shape[0]) if score._needs_u_at_fit() else None
        self.conformity_score_ = score
        self.conformity_scores_ = score.conformity_scores(
            proba, move_to(y_kept, xp=xp, device=dev), u=u
        )
        if groups is None:
            self.groups_ = None
            group_index = np.zeros(rows.shape[0], dtype=np.int64)
        else:
            self.groups_ = np.unique(groups)
            group_index = encode_categories(
                groups[rows], self.groups_, n_samples=rows.shape[0]
            )
        self._layout = CategoryLayout(
            1 if groups is None else len(self.groups_),
            self.classes_.shape[0],
            self.class_conditional,
        )
        categories = self._layout.calibration_categories(group_index, y_kept)
        weights = weights_like(sample_weight, rows, self.conformity_scores_)
        self._table = ScoreTable(
            self.conformity_scores_,
            categories,
            self._layout.n_categories,
            weights,
            xp=xp,
            device=dev,
        )
        self._predict_seed = int(rng.randint(np.iinfo(np.int32).max))
        return rows, categories, weights

    def _fitted_quantiles(self):
        """Thresholds at the fit-time level, without the unseen-groups block."""
        levels, scalar = self._levels()
        q = self._table.quantiles(levels)
        xp, _ = get_namespace_and_device(q)
        layout = self._layout
        shape = (layout.n_groups + 1, layout.n_label_categories, levels.shape[0])
        q = xp.reshape(q, shape)[: layout.n_groups, ...]
        if layout.n_label_categories == 1:
            q = q[:, 0, :]
        if self.groups_ is None:
            q = q[0, ...]
        return q[..., 0] if scalar else q

    # ------------------------------------------------------------------ #
    # prediction helpers
    # ------------------------------------------------------------------ #
    def _group_index(self, groups, n_samples):
        if self.groups_ is None:
            if groups is not None:
                raise ValueError(
                    f"groups were passed to predict, but {type(self).__name__} was "
                    "fitted without groups."
                )
            return None
        if groups is None:
            raise ValueError(
                f"{type(self).__name__} was fitted with groups (Mondrian conformal "
                "prediction): pass the groups of the test samples, "
                "predict_set(X, groups=...)."
            )
        return encode_categories(groups, self.groups_, n_samples=n_samples)

    def _used_categories(self, group_index):
        layout = self._layout
        groups = np.zeros(1, dtype=np.int64) if group_index is None else group_index
        blocks = np.unique(groups) * layout.n_label_categories
        return (blocks[:, None] + np.arange(layout.n_label_categories)).ravel()

    def _check_sizes(self, quantiles, group_index, levels):
        warn_small_categories(
            quantiles,
            self._used_categories(group_index),
            levels,
            lambda c: self._layout.describe(c, self.groups_, self.classes_),
            self._table.totals,
        )

    def _test_draws(self, n_samples, *, xp, device, dtype):
        if not self.conformity_score_._needs_u_at_predict():
            return None
        u = np.random.RandomState(self._predict_seed).uniform(size=n_samples)
        return xp.astype(move_to(u, xp=xp, device=device), dtype)

    def _threshold_sets(self, proba, group_index, levels, test_weight=None):
        """Sets of ``proba`` at the conformal quantiles of the calibration table."""
        xp, dev = get_namespace_and_device(proba)
        if test_weight is None:
            quantiles = self._table.quantiles(levels)
            self._check_sizes(quantiles, group_index, levels)
            thresholds = self._layout.thresholds(
                quantiles, group_index, xp=xp, device=dev
            )
        else:
            thresholds = self._layout.test_weighted_thresholds(
                self._table, levels, test_weight, group_index, xp=xp, device=dev
            )
            infinite = ~xp.isfinite(xp.reshape(thresholds, (thresholds.shape[0], -1)))
            if bool(xp.any(infinite)):
                n_rows = int(xp.count_nonzero(xp.any(infinite, axis=1)))
                warnings.warn(
                    f"For {n_rows} test sample(s) the weighted conformal quantile "
                    "does not exist: their test_weight is too large for the "
                    "calibration weights at the requested confidence_level. Their "
                    "prediction sets contain every class.",
                    UserWarning,
                    stacklevel=3,
                )
        u = self._test_draws(proba.shape[0], xp=xp, device=dev, dtype=proba.dtype)
        return self.conformity_score_.prediction_sets(proba, thresholds, u=u)

    def _mass(self, table, proba, group_index, u):
        """Calibration mass of ``table`` not exceeded by each label's statistic."""
        xp, dev = get_namespace_and_device(proba)
        return self._layout.mass_at_least(
            table,
            self.conformity_score_.label_scores(proba, u=u),
            group_index,
            xp=xp,
            device=dev,
        )

    def _totals(self, mass, group_index):
        """Calibration mass of the category of each test entry, on the device."""
        xp, dev = get_namespace_and_device(mass)
        totals = self._layout.totals(self._table.totals, group_index)
        return xp.astype(move_to(totals, xp=xp, device=dev), mass.dtype)

    def _pvalues(self, mass, group_index, test_weight=None):
        """``(mass + w) / (total + w)``, with ``w`` the test weight (1 by default)."""
        xp, _ = get_namespace_and_device(mass)
        w = 1 if test_weight is None else xp.astype(test_weight, mass.dtype)[:, None]
        return (mass + w) / (self._totals(mass, group_index) + w)

    @abstractmethod
    def _test_proba(self, X):
        """Probabilities used to predict labels, shape (n_samples, n_classes)."""

    def predict(self, X):
        """Most probable class according to the underlying model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        self._check_X(X)
        return _predicted_labels(self._test_proba(X), self.classes_)


class SplitConformalClassifier(_CalibrationSplitMixin, _BaseConformalClassifier):
    """Split (inductive) conformal classifier: prediction sets with guaranteed coverage.

    One ``fit(X, y)`` trains the estimator on part of the data and computes
    the conformity scores of the other, held-out *calibration* part. For a
    confidence level ``1 - alpha``, ``predict_set(X)`` returns the labels
    whose score is at most the ``ceil((n + 1)(1 - alpha))``-th smallest of the
    ``n`` calibration scores (Vovk et al. 2005; Lei et al. 2018; Angelopoulos
    and Bates 2021), so that for exchangeable data
    ``P(y in set) >= 1 - alpha``, whatever the model and the distribution.
    ``confidence_level`` is read when predicting: changing it needs no refit,
    and a list of levels gives all the sets at once (nested: higher levels
    give larger sets).

    With a :class:`~sklearn.frozen.FrozenEstimator` (an already fitted model)
    nothing is refitted and all of ``X`` calibrates.

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``predict_proba``, default=None
        The classifier. ``None`` uses
        :class:`~sklearn.linear_model.LogisticRegression`. Wrap a fitted model
        in :class:`~sklearn.frozen.FrozenEstimator` to use it as is.
    conformity_score : {"lac", "aps", "raps", "topk"} or \
BaseClassificationScore, default="lac"
        The conformity score, by alias or as an instance (cloned in ``fit``):
        :class:`~skcalib.conformal.scores.LACScore` (smallest sets),
        :class:`~skcalib.conformal.scores.APSScore` (adaptive),
        :class:`~skcalib.conformal.scores.RAPSScore` (adaptive and small),
        :class:`~skcalib.conformal.scores.TopKScore`.
    confidence_level : float or array-like of float in (0, 1), default=0.9
        Target coverage, read at prediction time. With a list, the sets of
        all levels are stacked on a last axis.
    calibration_size : float, int or cross-validation splitter, default=0.3
        The rows that calibrate (unused with a ``FrozenEstimator``): a
        fraction in (0, 1) or a number of rows drawn at random with
        ``random_state``, or a splitter (e.g.
        :class:`~sklearn.model_selection.GroupShuffleSplit`) whose first
        split gives the training and calibration rows.
    class_conditional : bool, default=False
        Calibrate each class separately (label-conditional, or Mondrian by
        class, Vovk 2003): coverage holds within every true class, not only
        on average. Needs calibration samples of every class.
    random_state : int, RandomState instance or None, default=None
        Seeds the calibration split, the tuning split of
        :class:`~skcalib.conformal.scores.RAPSScore` and the uniform draws of
        randomised scores (made with NumPy, then moved to the device).

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
    conformity_score_ : BaseClassificationScore
        The score used, with any ``"auto"`` parameter replaced by its value.
    conformity_scores_ : array of shape (n_calibration,)
        Scores of the calibration samples, in the namespace and device of the
        estimator's probabilities.
    quantiles_ : array
        Thresholds at the ``confidence_level`` set at fit time: shape
        ``(n_levels,)`` (0-d for one level) for marginal coverage, with a
        leading ``n_groups`` axis with groups and a ``n_classes`` axis (before
        the level) when ``class_conditional``. ``predict_set`` recomputes them
        when the level changes.
    groups_ : ndarray or None
        The groups seen at fit (Mondrian conformal prediction), or None.

    See Also
    --------
    CrossConformalClassifier : uses every sample to train and calibrate.
    skcalib.metrics.coverage_score : fraction of true labels in their set.
    skcalib.metrics.mean_set_size : average number of labels in a set.

    Notes
    -----
    **Weights.** With ``sample_weight``, the threshold is the weighted
    conformal quantile: the smallest score ``s`` with
    ``sum_{s_i <= s} w_i >= level * (sum_i w_i + w)``, with ``w = 1`` for
    frequency weights. Under covariate shift, pass the likelihood ratios
    ``dP_test / dP_train`` of the calibration inputs as ``sample_weight`` and
    those of the test inputs as ``predict_set(X, test_weight=...)``: each test
    point then gets its own threshold and the sets cover under the test
    distribution (Tibshirani et al. 2019). The weights are also passed to the
    estimator's ``fit`` when it accepts them.

    **Groups.** ``fit(X, y, groups=g)`` calibrates each group separately
    (Mondrian conformal prediction): ``predict_set(X, groups=g_test)`` then
    covers at the level within every group. Groups unseen at fit get full
    sets, with a warning. With metadata routing enabled, request them with
    ``set_fit_request(groups=True)``.

    **Small calibration sets.** If a (group or class) calibration set has
    fewer than ``level / (1 - level)`` samples, the finite-sample quantile
    does not exist: a warning is raised and the sets contain every class.

    **Randomised sets** (``include_last_label="randomized"``) use one uniform
    draw per test row, generated from a seed fixed at fit: predicting twice
    gives the same sets, and the draw of a row depends on its position.

    **Array API.** Scores, thresholds and sets are computed on the namespace
    and device of the estimator's ``predict_proba`` output (a
    ``FrozenEstimator`` whose ``predict_proba`` returns CuPy or PyTorch
    arrays, with ``sklearn.config_context(array_api_dispatch=True)``); the
    sets come back there.

    References
    ----------
    Vovk, V., Gammerman, A. and Shafer, G. (2005). Algorithmic Learning in a
    Random World. Springer.

    Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J. and Wasserman, L.
    (2018). Distribution-free predictive inference for regression. JASA.

    Vovk, V. (2003). Conditional validity of inductive conformal predictors.
    ACML (Mondrian conformal prediction).

    Tibshirani, R. J., Foygel Barber, R., Candès, E. J. and Ramdas, A.
    (2019). Conformal prediction under covariate shift. NeurIPS.

    Angelopoulos, A. N. and Bates, S. (2021). A gentle introduction to
    conformal prediction and distribution-free uncertainty quantification.
    arXiv:2107.07511.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> from skcalib.conformal import SplitConformalClassifier
    >>> from skcalib.metrics import coverage_score, mean_set_size
    >>> X, y = make_classification(n_samples=2000, n_classes=3, n_informative=4,
    ...                            random_state=0)
    >>> X_fit, X_test, y_fit, y_test = train_test_split(X, y, random_state=0)
    >>> clf = SplitConformalClassifier(confidence_level=0.9, random_state=0)
    >>> clf.fit(X_fit, y_fit).predict_set(X_test[:3])
    array([[False,  True,  True],
           [False, False,  True],
           [ True,  True,  True]])
    >>> sets = clf.set_params(confidence_level=[0.8, 0.95]).predict_set(X_test)
    >>> sets.shape
    (500, 3, 2)
    >>> coverage_score(y_test, sets)
    array([0.768, 0.942])
    >>> mean_set_size(sets)
    array([1.126, 1.9  ])
    """

    _parameter_constraints: dict = {
        **_BaseConformalClassifier._parameter_constraints,
        "calibration_size": CALIBRATION_SIZE_CONSTRAINT,
    }

    def __init__(
        self,
        estimator=None,
        *,
        conformity_score="lac",
        confidence_level=0.9,
        calibration_size=0.3,
        class_conditional=False,
        random_state=None,
    ):
        self.estimator = estimator
        self.conformity_score = conformity_score
        self.confidence_level = confidence_level
        self.calibration_size = calibration_size
        self.class_conditional = class_conditional
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, groups=None, **fit_params):
        """Train the estimator on part of the data and calibrate on the rest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples: weighted conformal quantile, and passed to
            the estimator's ``fit`` when it accepts them.
        groups : array-like of shape (n_samples,), default=None
            Group of each sample for Mondrian (group-conditional) coverage;
            also passed to a splitter given as ``calibration_size``.
        **fit_params : dict
            Passed to the estimator's ``fit`` (or routed, with metadata
            routing enabled).

        Returns
        -------
        self : object
            The fitted predictor.
        """
        if is_dask_array(X):
            return fit_split_conformal_classifier_dask(
                self, X, y, sample_weight, groups
            )
        X, y, sw, groups = self._validate_fit_data(X, y, sample_weight, groups)
        rng = check_random_state(self.random_state)
        _, rows, X_cal = self._fit_split(X, y, sample_weight, groups, fit_params, rng)
        self._set_classes(y)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:  # only with a frozen estimator
            raise ValueError(
                f"y contains labels {unknown.tolist()[:10]} that the frozen "
                f"estimator does not predict (its classes_ are "
                f"{self.classes_.tolist()[:10]})."
            )
        proba = _predict_proba(self.estimator_, X_cal, self.classes_)
        self._conformalize(
            proba,
            encode_labels(y[rows], self.classes_),
            None if sw is None else sw[rows],
            None if groups is None else groups[rows],
            rng,
        )
        self.quantiles_ = self._fitted_quantiles()
        return self

    def _test_proba(self, X):
        return _predict_proba(self.estimator_, X, self.classes_)

    def predict_set(self, X, groups=None, test_weight=None):
        """Prediction sets: the labels whose score is below the conformal threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        groups : array-like of shape (n_samples,), default=None
            Groups of the test samples; required when fitted with groups.
        test_weight : array-like of shape (n_samples,), default=None
            Weight of each test sample in its own quantile: with the
            likelihood ratio ``w(x) = dP_test / dP_train`` of the test inputs
            here and of the calibration inputs as ``sample_weight`` in
            ``fit``, the sets cover under covariate shift (Tibshirani et al.
            2019). ``None`` is a weight of 1.

        Returns
        -------
        sets : array of bool of shape (n_samples, n_classes) or \
(n_samples, n_classes, n_levels)
            ``sets[i, j]`` says whether ``classes_[j]`` is in the set of
            sample ``i``; the last axis stacks the levels when
            ``confidence_level`` is a list. In the namespace and device of the
            estimator's probabilities.
        """
        self._check_X(X)
        proba = self._test_proba(X)
        levels, scalar = self._levels()
        group_index = self._group_index(groups, proba.shape[0])
        test_weight = _check_test_weight(test_weight, proba)
        sets = self._threshold_sets(proba, group_index, levels, test_weight)
        return sets[:, :, 0] if scalar else sets

    def predict_pvalues(self, X, groups=None, test_weight=None):
        """Conformal p-value of every candidate label.

        ``p[i, j] = (1 + #{calibration scores >= s(x_i, j)}) / (n + 1)``,
        within the category of ``(x_i, j)`` (its group, and class ``j`` when
        ``class_conditional``); with weights,
        ``(w_i + sum of the weights of those scores) / (w_i + total weight)``
        where ``w_i`` is the test weight (1 by default). ``s`` is the score's
        :meth:`~skcalib.conformal.scores.BaseClassificationScore.label_scores`.
        Label ``j`` is in the prediction set at level ``1 - alpha`` exactly
        when ``p[i, j] > alpha``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), default=None
            Groups of the test samples; required when fitted with groups.
        test_weight : array-like of shape (n_samples,), default=None
            Weights of the test samples, as in :meth:`predict_set`.

        Returns
        -------
        pvalues : array of shape (n_samples, n_classes)
        """
        self._check_X(X)
        proba = self._test_proba(X)
        xp, dev = get_namespace_and_device(proba)
        group_index = self._group_index(groups, proba.shape[0])
        test_weight = _check_test_weight(test_weight, proba)
        u = self._test_draws(proba.shape[0], xp=xp, device=dev, dtype=proba.dtype)
        mass = self._mass(self._table, proba, group_index, u)
        return self._pvalues(mass, group_index, test_weight)


class CrossConformalClassifier(_BaseConformalClassifier):
    """Cross-conformal classifier (CV+): every sample trains and calibrates.

    The data is split into folds (``cv``); a clone of the estimator is fitted
    on all folds but one and gives the *out-of-fold* conformity score of every
    sample of the remaining fold. For a test sample ``x`` and a candidate
    label ``y``, with ``s_k(x, y)`` its score under the model of fold ``k``
    and ``s_i`` the out-of-fold scores:

    - ``method="cv+"`` (default): the cross-conformal p-value (Vovk 2015),
      which is the CV+ set for classification of Romano et al. (2020,
      Algorithm 2; MAPIE's ``agg_scores="crossval"``)

      ``p(x, y) = (1 + #{i : s_i >= s_{k(i)}(x, y)}) / (n + 1)``,

      and the set at level ``1 - alpha`` holds the labels with
      ``p(x, y) > alpha``. Coverage is guaranteed to be at least
      ``1 - 2 alpha`` (Barber et al. 2021) and is about ``1 - alpha`` in
      practice.
    - ``method="mean"``: MAPIE's default ``agg_scores="mean"``: the
      probabilities of the fold models are averaged, and the set keeps the
      labels whose score is below the split-conformal quantile of the
      out-of-fold scores. No finite-sample guarantee, but close to the level
      in practice and faster to predict.

    Both use :meth:`~skcalib.conformal.scores.BaseClassificationScore.label_scores`
    of the conformity score, so ``include_last_label`` of APS and RAPS
    applies as in :class:`SplitConformalClassifier`.

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``predict_proba``, default=None
        The classifier, cloned for every fold. ``None`` uses
        :class:`~sklearn.linear_model.LogisticRegression`.
    conformity_score : {"lac", "aps", "raps", "topk"} or \
BaseClassificationScore, default="lac"
        The conformity score, by alias or as an instance (cloned in ``fit``).
    confidence_level : float or array-like of float in (0, 1), default=0.9
        Target coverage, read at prediction time; a list stacks the sets of
        all levels on a last axis.
    cv : int, cross-validation generator or iterable, default=5
        As in scikit-learn: an int is the number of folds of
        :class:`~sklearn.model_selection.StratifiedKFold`. Rows in no test
        fold are not used for calibration; a row may be in at most one.
    method : {"cv+", "mean"}, default="cv+"
        How the fold models are combined for a test sample (see above).
    class_conditional : bool, default=False
        Calibrate each class separately (label-conditional coverage).
    random_state : int, RandomState instance or None, default=None
        Seeds the tuning split of :class:`~skcalib.conformal.scores.RAPSScore`
        and the uniform draws of randomised scores.
    n_jobs : int, default=None
        Number of folds fitted in parallel (joblib); ``None`` means 1.

    Attributes
    ----------
    estimators_ : list of estimators
        The model of each fold.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Number of features seen during ``fit`` (when ``X`` has columns).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.
    conformity_score_ : BaseClassificationScore
        The score used, with any ``"auto"`` parameter replaced by its value.
    conformity_scores_ : array of shape (n_calibration,)
        Out-of-fold scores of the calibration samples.
    fold_indices_ : ndarray of int of shape (n_calibration,)
        Fold of each entry of ``conformity_scores_``.
    quantiles_ : array
        Split-conformal quantiles of the out-of-fold scores at the
        ``confidence_level`` of fit time (the thresholds of
        ``method="mean"``), shaped as in :class:`SplitConformalClassifier`.
    groups_ : ndarray or None
        The groups seen at fit (Mondrian conformal prediction), or None.

    See Also
    --------
    SplitConformalClassifier : one model, one held-out calibration set.

    Notes
    -----
    ``predict`` returns the most probable class of the averaged fold
    probabilities (MAPIE refits a model on all the data for it). MAPIE's
    ``"crossval"`` sets keep a label when ``#{i : s_i >= s(x, y)} >=
    alpha (n - 1)``; the rule here, ``> alpha (n + 1) - 1``, is the
    cross-conformal p-value of Vovk (2015) and Romano et al. (2020). The two
    differ only when an integer lies between the bounds, for which the rule
    here keeps the label. ``sample_weight`` weighs the out-of-fold scores
    in the p-values (and the quantiles) and is passed to each fold's
    ``fit``; ``groups`` give Mondrian coverage, as in
    :class:`SplitConformalClassifier`, and are passed to ``cv.split``.

    References
    ----------
    Vovk, V. (2015). Cross-conformal predictors. Annals of Mathematics and
    Artificial Intelligence, 74, 9-28.

    Romano, Y., Sesia, M. and Candès, E. J. (2020). Classification with valid
    and adaptive coverage. NeurIPS 33.

    Barber, R. F., Candès, E. J., Ramdas, A. and Tibshirani, R. J. (2021).
    Predictive inference with the jackknife+. Annals of Statistics, 49(1).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> from skcalib.conformal import CrossConformalClassifier
    >>> from skcalib.metrics import coverage_score
    >>> X, y = make_classification(n_samples=2000, n_classes=3, n_informative=4,
    ...                            random_state=0)
    >>> X_fit, X_test, y_fit, y_test = train_test_split(X, y, random_state=0)
    >>> clf = CrossConformalClassifier(confidence_level=0.9).fit(X_fit, y_fit)
    >>> clf.predict_set(X_test[:3])
    array([[False,  True,  True],
           [False, False,  True],
           [ True,  True,  True]])
    >>> coverage_score(y_test, clf.predict_set(X_test))
    0.896
    """

    _parameter_constraints: dict = {
        **_BaseConformalClassifier._parameter_constraints,
        "cv": ["cv_object"],
        "method": [StrOptions({"cv+", "mean"})],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        conformity_score="lac",
        confidence_level=0.9,
        cv=5,
        method="cv+",
        class_conditional=False,
        random_state=None,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.conformity_score = conformity_score
        self.confidence_level = confidence_level
        self.cv = cv
        self.method = method
        self.class_conditional = class_conditional
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _splitter(self):
        return check_cv(self.cv)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, groups=None, **fit_params):
        """Fit one model per fold and compute the out-of-fold conformity scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples (calibration, and each fold's ``fit`` when
            the estimator accepts them).
        groups : array-like of shape (n_samples,), default=None
            Groups for Mondrian coverage; also passed to ``cv.split``.
        **fit_params : dict
            Passed to the estimator's ``fit`` (or routed, with metadata
            routing enabled).

        Returns
        -------
        self : object
            The fitted predictor.
        """
        X, y, sw, groups = self._validate_fit_data(X, y, sample_weight, groups)
        if isinstance(self._get_estimator(), FrozenEstimator):
            raise ValueError(
                "CrossConformalClassifier fits one model per fold and cannot use a "
                "FrozenEstimator; use SplitConformalClassifier for a fitted model."
            )
        rng = check_random_state(self.random_state)
        self.classes_ = np.unique(y)
        cv = check_cv(self.cv, y, classifier=True)
        routed = self._route(sample_weight, groups, fit_params, cv)
        folds = list(cv.split(X, y, **routed.splitter.split))
        rows = np.concatenate([test for _, test in folds])
        if np.unique(rows).shape[0] != rows.shape[0]:
            raise ValueError(
                "cv must put every sample in at most one test fold (as KFold does); "
                "some samples are in several."
            )
        fold_of = np.concatenate(
            [np.full(test.shape[0], k) for k, (_, test) in enumerate(folds)]
        )
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(self._fit_estimator)(X, y, routed.estimator.fit, train)
            for train, _ in folds
        )
        probas = [
            _predict_proba(estimator, _safe_indexing(X, test), self.classes_)
            for estimator, (_, test) in zip(self.estimators_, folds, strict=True)
        ]
        # Calibration rows in their original order (the uniform draws of
        # randomised scores then go to the same rows as in MAPIE).
        order = np.argsort(rows, kind="stable")
        rows, fold_of = rows[order], fold_of[order]
        xp, dev = get_namespace_and_device(probas[0])
        kept, categories, weights = self._conformalize(
            xp.take(
                xp.concat(probas, axis=0), move_to(order, xp=xp, device=dev), axis=0
            ),
            encode_labels(y[rows], self.classes_),
            None if sw is None else sw[rows],
            None if groups is None else groups[rows],
            rng,
        )
        self.fold_indices_ = fold_of[kept]
        self._fold_tables = [
            self._sub_table(
                np.flatnonzero(self.fold_indices_ == k), categories, weights
            )
            for k in range(len(folds))
        ]
        self.quantiles_ = self._fitted_quantiles()
        return self

    def _sub_table(self, rows, categories, weights):
        """Score table of the calibration entries ``rows`` (one fold)."""
        xp, dev = get_namespace_and_device(self.conformity_scores_)
        index = move_to(rows, xp=xp, device=dev)
        return ScoreTable(
            xp.take(self.conformity_scores_, index),
            categories[rows],
            self._layout.n_categories,
            None if weights is None else xp.take(weights, index),
            xp=xp,
            device=dev,
        )

    def _mean_proba(self, probas):
        xp, _ = get_namespace_and_device(probas[0])
        return xp.mean(xp.stack(probas, axis=0), axis=0)

    def _test_proba(self, X):
        return self._mean_proba(
            [_predict_proba(e, X, self.classes_) for e in self.estimators_]
        )

    def _cross_mass(self, probas, group_index):
        """Calibration mass not exceeded by each test label's statistic.

        ``"cv+"``: each fold model's statistic against that fold's
        out-of-fold scores, summed over the folds; ``"mean"``: the statistic
        of the averaged probabilities against all out-of-fold scores.
        """
        xp, dev = get_namespace_and_device(probas[0])
        n_samples, dtype = probas[0].shape[0], probas[0].dtype
        u = self._test_draws(n_samples, xp=xp, device=dev, dtype=dtype)
        if self.method == "mean":
            return self._mass(self._table, self._mean_proba(probas), group_index, u)
        mass = None
        for table, proba in zip(self._fold_tables, probas, strict=True):
            fold_mass = self._mass(table, proba, group_index, u)
            mass = fold_mass if mass is None else mass + fold_mass
        return mass

    def predict_set(self, X, groups=None):
        """Prediction sets at ``confidence_level``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), default=None
            Groups of the test samples; required when fitted with groups.

        Returns
        -------
        sets : array of bool of shape (n_samples, n_classes) or \
(n_samples, n_classes, n_levels)
            The last axis stacks the levels when ``confidence_level`` is a
            list.
        """
        self._check_X(X)
        probas = [_predict_proba(e, X, self.classes_) for e in self.estimators_]
        xp, dev = get_namespace_and_device(probas[0])
        levels, scalar = self._levels()
        group_index = self._group_index(groups, probas[0].shape[0])
        if self.method == "mean":
            sets = self._threshold_sets(self._mean_proba(probas), group_index, levels)
        else:
            self._check_sizes(self._table.quantiles(levels), group_index, levels)
            mass = self._cross_mass(probas, group_index)
            totals = self._totals(mass, group_index)
            sets = sets_from_mass(mass, totals, levels, xp=xp, device=dev)
        return sets[:, :, 0] if scalar else sets

    def predict_pvalues(self, X, groups=None):
        """Conformal p-value of every candidate label.

        With ``method="cv+"`` the cross-conformal p-values
        ``(1 + #{i : s_i >= s_{k(i)}(x, y)}) / (n + 1)`` (within the category
        of the label, weighted with ``sample_weight``); with ``"mean"`` the
        split-conformal p-values of the averaged probabilities against the
        out-of-fold scores. Label ``j`` is in the set at level ``1 - alpha``
        when ``p[:, j] > alpha``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), default=None
            Groups of the test samples; required when fitted with groups.

        Returns
        -------
        pvalues : array of shape (n_samples, n_classes)
        """
        self._check_X(X)
        probas = [_predict_proba(e, X, self.classes_) for e in self.estimators_]
        group_index = self._group_index(groups, probas[0].shape[0])
        mass = self._cross_mass(probas, group_index)
        return self._pvalues(mass, group_index)
