"""Venn-ABERS predictors: inductive (Vovk & Petej 2014) and cross (Vovk et al. 2015)."""

import warnings
from dataclasses import replace
from numbers import Integral
from typing import NamedTuple

import numpy as np
from array_api_compat import numpy as np_compat
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, check_cv, train_test_split
from sklearn.utils import column_or_1d, get_tags, indexable
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from ..utils._array_api import get_namespace_and_device, move_to, to_numpy
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    _fit_context,
)
from ..utils._validation import check_sample_weight, check_scores, encode_labels
from ._base import BaseScoreCalibrator


class VennAbersCalibrator(BaseScoreCalibrator):
    """Venn-ABERS calibration: inductive (IVAP) and cross (CVAP) predictors.

    For a test score ``s``, the inductive Venn-ABERS predictor (Vovk & Petej
    2014) fits isotonic regression twice on the calibration set: once with the
    test object added with label 0, once with label 1. The two fitted values
    at ``s`` form the interval ``(p0, p1)``, ``p0 < p1``. It is a Venn
    predictor, so the value obtained with the true label is perfectly
    calibrated; the width ``p1 - p0`` measures how much one more calibration
    sample can move the estimate. ``predict_proba`` merges the two into the
    probability that is minimax-optimal for the log-loss,
    ``p = p1 / (1 - p0 + p1)``, and ``predict_proba_interval`` returns the
    interval itself.

    The intervals of all test scores come from one pass over the sorted
    calibration scores (Vovk, Petej & Fedorova 2015): fit is ``O(n log n)`` and
    a prediction is a binary search, so no isotonic regression is refitted per
    test object.

    Two modes, chosen by ``estimator``:

    - ``estimator=None`` (score space): ``X`` holds the scores of a model that
      is already trained, and the data passed to ``fit`` is the calibration
      set. Only the inductive predictor exists in this mode.
    - ``estimator`` given: ``X`` holds features. With ``inductive=True`` a
      stratified split keeps ``cal_size`` of the rows for calibration and a
      clone of ``estimator`` is trained on the rest (the proper training set).
      With ``inductive=False`` (cross Venn-ABERS), for each fold of ``cv`` a
      clone is trained on the other folds and calibrated on the fold; the
      folds' intervals are combined by the log-loss rule of Vovk et al.
      (2015), ``p = GM(p1) / (GM(1 - p0) + GM(p1))`` with geometric means
      ``GM`` over the folds. The scores are ``predict_proba``, or
      ``decision_function`` for estimators without it.

    With more than two classes the problem is split into binary ones
    (``multiclass``) whose probabilities are combined.

    Parameters
    ----------
    estimator : estimator instance, default=None
        Classifier with ``fit`` and ``predict_proba`` or ``decision_function``,
        cloned and trained by ``fit``. ``None``: ``X`` holds scores.
    inductive : bool, default=True
        Inductive (one split) or cross (``cv`` folds) Venn-ABERS. Cross
        Venn-ABERS needs an ``estimator`` to retrain on each fold.
    cv : int, cross-validation generator, iterable or None, default=5
        Folds of cross Venn-ABERS (``inductive=False``): an int ``k >= 2`` for
        ``StratifiedKFold(k, shuffle=True, random_state=random_state)`` (the
        folds of the ``venn-abers`` package; ``None`` means 5), a splitter with
        ``split`` (called without groups), or an iterable of
        ``(train, calibration)`` index arrays.
    cal_size : float or int, default=0.2
        Inductive mode with an ``estimator``: fraction (float in (0, 1)) or
        number (int) of the rows kept for calibration.
    multiclass : {"ovr", "pairwise"}, default="ovr"
        How more than two classes are calibrated (ignored for two classes):

        - ``"ovr"``: one binary Venn-ABERS predictor per class on its own
          column of scores (class ``j`` against the rest); the merged
          probabilities are renormalised to sum to one.
        - ``"pairwise"``: one binary predictor per pair of classes ``i < j``,
          calibrated on the rows of those two classes with the score
          ``X[:, j] / (X[:, i] + X[:, j])`` (0.5 where both are zero), as in
          Manokhin (2017) and the ``venn-abers`` package. The pairwise
          probabilities ``r_ij`` of class ``i`` against ``j`` are coupled by
          ``q_i = 1 / (sum_{j != i} 1 / r_ij - (n_classes - 2))`` (Price et
          al. 1995) and renormalised. Scores must be non-negative
          (probabilities).
    random_state : int, RandomState instance or None, default=None
        Seeds the stratified split (inductive) or the shuffling of the folds
        (cross, integer ``cv``) when an ``estimator`` is given; unused with
        scores.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (scores, or features seen by the
        estimator).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features, when the estimator was fitted on a DataFrame
        with string column names.
    estimators_ : list of estimator instances
        With an ``estimator`` only: the clone trained on the proper training
        set (inductive), or one clone per fold (cross).
    calibrators_ : list of list of tuple
        ``calibrators_[f][m]`` is the Venn-ABERS table of binary problem ``m``
        calibrated on split ``f`` (one split with scores or in inductive
        mode): a named tuple ``(scores, p0, p1)`` of the sorted distinct
        calibration scores (``n_distinct``,) and the values of ``p0`` and
        ``p1`` (``n_distinct + 1``,) on the intervals between them. The binary
        problems are: the positive class (two classes), each class (``"ovr"``)
        or each pair ``(i, j)``, ``i < j``, in lexicographic order
        (``"pairwise"``).

    See Also
    --------
    sklearn.isotonic.IsotonicRegression : The regression fitted (virtually)
        twice per test object.

    Notes
    -----
    Binary scores: ``X`` of shape (n,) or (n, 1) holds one score per sample
    (a probability of the positive class or a decision value); for (n, 2) the
    second column is the positive-class score, as in the ``venn-abers``
    package. Only the order of the scores matters: any increasing transform
    gives the same result. More classes: ``X`` has one column per class.

    Ties: a test score equal to a calibration score is pooled with it, as in
    isotonic regression. ``p1`` is constant on each interval
    ``(c_{k-1}, c_k]`` between consecutive distinct calibration scores and
    ``p0`` on each ``[c_{k-1}, c_k)``. Always ``0 <= p0 < p1 <= 1``.

    Sample weights count calibration samples (a weight of 2 is a duplicate
    sample) and the test object has weight 1, so scaling all weights changes
    the intervals as duplicating the calibration set would. With an
    ``estimator``, they are also passed to its ``fit`` when it accepts them.

    Cross mode: ``predict_proba`` merges the folds by the geometric-mean rule
    above, which is in general not the merge of the averaged interval.

    Multiclass with an ``estimator``: one clone is trained per split on all
    classes and its scores feed the scheme above. The ``venn-abers`` package's
    wrapper instead trains one binary model per pair of classes, so its
    multiclass results with an estimator differ (binary ones coincide, given
    the same split).

    ``predict_proba_interval`` returns the interval of each binary problem
    (cross mode: averaged over the folds), combined per class:

    - two classes: shape (n_samples, 2), the interval ``[p0, p1]`` of the
      positive class ``classes_[1]``;
    - ``"ovr"``: shape (n_samples, n_classes, 2), ``[:, j]`` is the interval of
      class ``j`` against the rest, before the renormalisation of
      ``predict_proba``;
    - ``"pairwise"``: shape (n_samples, n_classes, 2), the coupling formula
      applied to the lower ends and to the upper ends of the pairwise
      intervals; as the coupling increases in each ``r_ij``, it brackets the
      coupled probability before renormalisation.

    In score space, ``fit`` runs its sequential pass on the host (NumPy) and
    stores the tables on ``X``'s device; ``predict_proba`` and
    ``predict_proba_interval`` run in ``X``'s namespace. There is no rounding
    option (the ``precision`` of the ``venn-abers`` package): the exact
    algorithm is already ``O(n log n)``.

    References
    ----------
    .. [1] V. Vovk and I. Petej, "Venn-Abers predictors", Proceedings of the
       30th Conference on Uncertainty in Artificial Intelligence (UAI), 2014.
    .. [2] V. Vovk, I. Petej and V. Fedorova, "Large-scale probabilistic
       predictors with and without guarantees of validity", Advances in Neural
       Information Processing Systems 28 (NeurIPS), 2015.
    .. [3] V. Manokhin, "Multi-class probabilistic classification using
       inductive and cross Venn-Abers predictors", Proceedings of Machine
       Learning Research 60 (COPA), 2017.
    .. [4] D. Price, S. Knerr, L. Personnaz and G. Dreyfus, "Pairwise neural
       network classifiers with probabilistic outputs", NeurIPS 7, 1995.

    Examples
    --------
    Scores of a trained model on a calibration set:

    >>> import numpy as np
    >>> from skcalib.calibration import VennAbersCalibrator
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.utils._array_api import softmax
    >>> logits, y = make_classification_logits(2000, 3, temperature=2.0,
    ...                                        random_state=0)
    >>> proba = softmax(logits)
    >>> va = VennAbersCalibrator().fit(proba[:1000], y[:1000])
    >>> va.predict_proba(proba[1000:]).shape
    (1000, 3)
    >>> interval = va.predict_proba_interval(proba[1000:])
    >>> interval.shape
    (1000, 3, 2)
    >>> bool(np.all(interval[..., 0] < interval[..., 1]))
    True

    Cross Venn-ABERS around a classifier trained on features:

    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(500, random_state=0)
    >>> cvap = VennAbersCalibrator(LogisticRegression(), inductive=False, cv=5,
    ...                            random_state=0).fit(X, y)
    >>> len(cvap.estimators_)
    5
    >>> cvap.predict_proba_interval(X[:2]).shape
    (2, 2)
    """

    _skcalib_input_kind = "probabilities"
    _array_api_support = True
    _parameter_constraints: dict = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
            None,
        ],
        "inductive": ["boolean"],
        "cv": ["cv_object"],
        "cal_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "multiclass": [StrOptions({"ovr", "pairwise"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        inductive=True,
        cv=5,
        cal_size=0.2,
        multiclass="ovr",
        random_state=None,
    ):
        self.estimator = estimator
        self.inductive = inductive
        self.cv = cv
        self.cal_size = cal_size
        self.multiclass = multiclass
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.estimator is not None:
            estimator_tags = get_tags(self.estimator)
            tags.array_api_support = False
            tags.input_tags.sparse = estimator_tags.input_tags.sparse
            tags.input_tags.allow_nan = estimator_tags.input_tags.allow_nan
            tags.classifier_tags.poor_score = False
        return tags

    def _check_input_kind(self, X, *, xp):
        """Scores need not be probabilities: only their order matters.

        (Pairwise coupling checks that scores are non-negative itself.)
        """

    def __skcalib_tags__(self):
        tags = super().__skcalib_tags__()
        if self.estimator is not None:
            tags = replace(tags, input_kind="features")
        return tags

    @_fit_context(
        # The estimator's parameters are validated by its own fit.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None):
        """Fit the Venn-ABERS predictor.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes), (n_samples,) or \
(n_samples, n_features)
            Calibration scores (``estimator=None``; see Notes for binary
            scores), or features passed to ``estimator``.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, counted as repetitions of the calibration samples
            (the test object has weight 1).

        Returns
        -------
        self : object
            The fitted calibrator.
        """
        if self.estimator is None:
            if not self.inductive:
                raise ValueError(
                    "inductive=False (cross Venn-ABERS) retrains a model on each "
                    "fold, so it needs an estimator; with estimator=None, X holds "
                    "the scores of a trained model and only the inductive "
                    "predictor (inductive=True) is available."
                )
            return super().fit(X, y, sample_weight)
        return self._fit_estimator(X, y, sample_weight)

    def _fit(self, logits, y, sample_weight, *, xp):
        self.calibrators_ = [self._fit_tables(logits, y, sample_weight, xp=xp)]
        return self

    def _fit_estimator(self, X, y, sample_weight):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        X, y = indexable(X, y)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least two classes; y "
                f"contains one class only: {self.classes_.tolist()}."
            )
        y_idx = encode_labels(y, self.classes_)
        n_samples = y.shape[0]
        sample_weight = check_sample_weight(
            sample_weight, n_samples, xp=np_compat, device="cpu", dtype=np.float64
        )
        fit_params = {}
        if sample_weight is not None:
            if has_fit_parameter(self.estimator, "sample_weight"):
                fit_params["sample_weight"] = sample_weight
            else:
                warnings.warn(
                    f"{type(self.estimator).__name__}.fit does not accept "
                    "sample_weight: the weights are only used in the calibration.",
                    UserWarning,
                )
        if self.inductive:
            splits = [
                train_test_split(
                    np.arange(n_samples),
                    test_size=self.cal_size,
                    random_state=self.random_state,
                    stratify=y,
                )
            ]
        elif self.cv is None or isinstance(self.cv, Integral):
            folds = StratifiedKFold(
                n_splits=5 if self.cv is None else self.cv,
                shuffle=True,
                random_state=self.random_state,
            )
            splits = folds.split(np.zeros((n_samples, 1)), y)
        else:
            splits = check_cv(self.cv, y, classifier=True).split(
                np.zeros((n_samples, 1)), y
            )
        self.estimators_, self.calibrators_ = [], []
        for train, cal in splits:
            estimator = clone(self.estimator).fit(
                _take_rows(X, train),
                y[train],
                **{key: value[train] for key, value in fit_params.items()},
            )
            if not np.array_equal(estimator.classes_, self.classes_):
                raise ValueError(
                    f"The {type(estimator).__name__} trained on a split saw the "
                    f"classes {estimator.classes_.tolist()[:10]} instead of "
                    f"{self.classes_.tolist()[:10]}: every class needs samples in "
                    "each training split. Use fewer folds or a larger data set."
                )
            scores = self._estimator_scores(estimator, _take_rows(X, cal))
            self.calibrators_.append(
                self._fit_tables(
                    scores,
                    y_idx[cal],
                    None if sample_weight is None else sample_weight[cal],
                    xp=np_compat,
                )
            )
            self.estimators_.append(estimator)
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimators_[0], name):
                setattr(self, name, getattr(self.estimators_[0], name))
        return self

    def predict_proba(self, X):
        """Calibrated class probabilities (merged Venn-ABERS intervals).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes), (n_samples,) or \
(n_samples, n_features)
            Scores of the same kind as in ``fit``, or features.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
            Rows sum to one. With scores: in ``X``'s namespace, device and
            floating dtype.
        """
        if self.estimator is None:
            return super().predict_proba(X)
        return self._predict_proba_folds(self._all_estimator_scores(X), xp=np_compat)

    def _predict_proba(self, logits, *, xp):
        return self._predict_proba_folds([logits], xp=xp)

    def predict_proba_interval(self, X):
        """Venn-ABERS intervals ``(p0, p1)`` of the binary problems, per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes), (n_samples,) or \
(n_samples, n_features)
            Scores of the same kind as in ``fit``, or features.

        Returns
        -------
        interval : array of shape (n_samples, 2) or (n_samples, n_classes, 2)
            Lower and upper ends in the last axis: for two classes, the
            interval of the positive class ``classes_[1]``; otherwise one
            interval per class (see Notes). In cross mode, the folds'
            intervals are averaged.
        """
        if self.estimator is None:
            logits, xp = self._validate_predict_scores(X)
            fold_scores = [logits]
        else:
            xp = np_compat
            fold_scores = self._all_estimator_scores(X)
        p0, p1 = self._fold_intervals(fold_scores, xp=xp)
        lower, upper = xp.mean(p0, axis=0), xp.mean(p1, axis=0)
        n_classes = self.classes_.shape[0]
        if n_classes == 2:
            return xp.stack([lower[:, 0], upper[:, 0]], axis=1)
        if self.multiclass == "ovr":
            return xp.stack([lower, upper], axis=2)
        return xp.stack(
            [
                _couple(1.0 - upper, lower, n_classes, xp=xp),
                _couple(1.0 - lower, upper, n_classes, xp=xp),
            ],
            axis=2,
        )

    def _predict_proba_folds(self, fold_scores, *, xp):
        p0, p1 = self._fold_intervals(fold_scores, xp=xp)
        if p0.shape[0] == 1:
            p = p1[0, ...] / (1.0 - p0[0, ...] + p1[0, ...])
        else:
            # Vovk et al. (2015), eq. (11): geometric means over the folds.
            g1 = xp.exp(xp.mean(xp.log(p1), axis=0))
            g0 = xp.exp(xp.mean(xp.log(1.0 - p0), axis=0))
            p = g1 / (g0 + g1)
        n_classes = self.classes_.shape[0]
        if n_classes == 2:
            return xp.stack([1.0 - p[:, 0], p[:, 0]], axis=1)
        if self.multiclass == "pairwise":
            p = _couple(1.0 - p, p, n_classes, xp=xp)
        # Every merged probability is in (0, 1): the sums are positive.
        return p / xp.sum(p, axis=1, keepdims=True)

    def _problem_scores(self, scores, *, xp):
        """Scores of the binary problems, (n_problems, n_samples).

        One contiguous row per problem, as the binary searches want them.
        """
        n_classes = scores.shape[1]
        if n_classes == 2:
            return xp.stack([scores[:, 1]], axis=0)
        if self.multiclass == "ovr":
            return xp.stack([scores[:, j] for j in range(n_classes)], axis=0)
        if bool(xp.any(scores < 0)):
            raise ValueError(
                'multiclass="pairwise" needs non-negative scores (class '
                f"probabilities) in X; got a minimum of {float(xp.min(scores)):.6g}. "
                'Pass probabilities, or use multiclass="ovr".'
            )
        columns = []
        for i, j in _pairs(n_classes):
            total = scores[:, i] + scores[:, j]
            safe = xp.where(total > 0, total, xp.ones_like(total))
            columns.append(
                xp.where(total > 0, scores[:, j] / safe, xp.full_like(total, 0.5))
            )
        return xp.stack(columns, axis=0)

    def _fit_tables(self, scores, y, sample_weight, *, xp):
        """Fit one table per binary problem on one calibration split."""
        _, device = get_namespace_and_device(scores, xp=xp)
        problem_scores = to_numpy(self._problem_scores(scores, xp=xp))
        y = to_numpy(y)
        weight = None if sample_weight is None else to_numpy(sample_weight)
        n_classes = scores.shape[1]
        if n_classes == 2:
            problems = [(slice(None), y == 1)]
        elif self.multiclass == "ovr":
            problems = [(slice(None), y == j) for j in range(n_classes)]
        else:
            problems = []
            for i, j in _pairs(n_classes):
                rows = (y == i) | (y == j)
                problems.append((rows, y[rows] == j))
        tables = []
        for m, (rows, target) in enumerate(problems):
            table = _fit_table(
                problem_scores[m, rows],
                target,
                None if weight is None else weight[rows],
            )
            tables.append(
                _VennAbersTable(
                    *(
                        xp.astype(move_to(a, xp=xp, device=device), scores.dtype)
                        for a in table
                    )
                )
            )
        return tables

    def _fold_intervals(self, fold_scores, *, xp):
        """``(p0, p1)``, each of shape (n_folds, n_samples, n_problems)."""
        p0, p1 = [], []
        for scores, tables in zip(fold_scores, self.calibrators_, strict=True):
            problem_scores = self._problem_scores(scores, xp=xp)
            ends = [
                _lookup(table, problem_scores[m, :], xp=xp)
                for m, table in enumerate(tables)
            ]
            p0.append(xp.stack([lower for lower, _ in ends], axis=1))
            p1.append(xp.stack([upper for _, upper in ends], axis=1))
        return xp.stack(p0, axis=0), xp.stack(p1, axis=0)

    def _all_estimator_scores(self, X):
        check_is_fitted(self)
        X = indexable(X)[0]
        return [self._estimator_scores(estimator, X) for estimator in self.estimators_]

    def _estimator_scores(self, estimator, X):
        """Scores of a fitted estimator as (n_samples, n_classes) NumPy logits."""
        if hasattr(estimator, "predict_proba"):
            scores = estimator.predict_proba(X)
        else:
            scores = estimator.decision_function(X)
        scores = check_scores(scores, name="estimator scores", xp=np_compat)
        return self._to_logits(scores, xp=np_compat)


class _VennAbersTable(NamedTuple):
    """Sorted distinct calibration scores and the ``p0``/``p1`` between them."""

    scores: object
    p0: object
    p1: object


def _pairs(n_classes):
    return [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]


def _fit_table(scores, target, sample_weight):
    """Venn-ABERS table of one binary problem (NumPy).

    Returns the sorted distinct scores ``c`` (in ``scores``' dtype) and
    ``p0``, ``p1`` of shape (len(c) + 1,) in float64, such that a test score
    ``s`` has ``p0[searchsorted(c, s, "right")]`` and
    ``p1[searchsorted(c, s, "left")]``.
    """
    target = target.astype(np.float64)
    if sample_weight is None:
        weight = np.ones(scores.shape[0])
    else:
        # A zero weight is an absent sample: dropping it keeps the cumulative
        # weights strictly increasing.
        keep = sample_weight > 0
        scores, target, weight = scores[keep], target[keep], sample_weight[keep]
    distinct, group = np.unique(scores, return_inverse=True)
    group_weight = np.bincount(group, weights=weight, minlength=distinct.shape[0])
    group_positive = np.bincount(
        group, weights=weight * target, minlength=distinct.shape[0]
    )
    p1 = _upper_values(group_weight, group_positive)
    # Label symmetry: isotonic regression of 1 - y on -s is 1 - (that of y on
    # s), so p0 is p1 of the mirrored problem read backwards.
    p0 = (
        1.0
        - _upper_values(group_weight[::-1], (group_weight - group_positive)[::-1])[::-1]
    )
    return distinct, p0, p1


def _upper_values(weight, positive):
    """Isotonic value of each group after adding a positive of weight 1 to it.

    Groups ``k = 0, ..., K-1`` are the distinct calibration scores in
    increasing order, with total weight ``weight[k] > 0`` and weighted label
    sum ``positive[k]``. The isotonic regression of the labels with one extra
    sample (label 1, weight 1) tied with group ``k`` takes at group ``k`` the
    value ``v[k]`` returned here; ``v[K] = 1`` is the value for a test score
    above all calibration scores. Entry ``k`` is ``p1`` for test scores in
    ``(c_{k-1}, c_k]``: a score strictly between two groups gets the value of
    the group above it.

    The isotonic value is a slope of the greatest convex minorant of the
    cumulative sum diagram ``Q_i = (W_i, Y_i)`` (cumulative weights and label
    sums of groups ``< i``). Adding the sample to group ``k`` shifts
    ``Q_{k+1}, ..., Q_K`` by ``(1, 1)``; equivalently, ``Q_0, ..., Q_k`` move
    by ``(-1, -1)``, and ``v[k]`` is the slope of the minorant's edge that
    leaves the shifted ``Q_k``, the bridge between the shifted left points and
    the fixed right points. As ``k`` grows, one point moves from the right
    set to the left set; the bridge's left end then only moves right, so a
    stack of the right points' lower hull (leftmost last) is updated in
    amortised constant time per group (Vovk, Petej & Fedorova 2015,
    algorithms 1-2). Every slope is at most 1 because labels are in [0, 1].
    """
    n_groups = weight.shape[0]
    values = np.ones(n_groups + 1)
    xs = np.concatenate([[0.0], np.cumsum(weight)]).tolist()
    ys = np.concatenate([[0.0], np.cumsum(positive)]).tolist()

    def convex(x, y, a, b):
        # (x, y) -> Q_a -> Q_b turns strictly left: Q_a is a hull vertex.
        return (xs[a] - x) * (ys[b] - ys[a]) - (ys[a] - y) * (xs[b] - xs[a]) > 0

    # Lower hull of Q_1, ..., Q_K, leftmost vertex last.
    hull = []
    for r in range(n_groups, 0, -1):
        while len(hull) >= 2 and not convex(xs[r], ys[r], hull[-1], hull[-2]):
            hull.pop()
        hull.append(r)
    # Left end of the bridge: Q_0 shifted by (-1, -1).
    left_x, left_y = -1.0, -1.0
    while len(hull) >= 2 and not convex(left_x, left_y, hull[-1], hull[-2]):
        hull.pop()
    for k in range(n_groups):
        right = hull[-1]
        slope = (ys[right] - left_y) / (xs[right] - left_x)
        values[k] = slope
        moved = k + 1
        if moved == n_groups:
            break
        # Q_moved leaves the right set for the left one, shifted by (-1, -1).
        x, y = xs[moved] - 1.0, ys[moved] - 1.0
        if right != moved and y > left_y + slope * (x - left_x):
            continue  # above the bridge: the bridge is unchanged
        if right == moved:
            hull.pop()
        while len(hull) >= 2 and not convex(x, y, hull[-1], hull[-2]):
            hull.pop()
        left_x, left_y = x, y
    return values


def _lookup(table, scores, *, xp):
    """``(p0, p1)`` of test ``scores`` (n,) from a table, in ``scores``' dtype."""
    distinct = table.scores
    if distinct.dtype != scores.dtype:
        dtype = xp.result_type(distinct.dtype, scores.dtype)
        distinct, scores = xp.astype(distinct, dtype), xp.astype(scores, dtype)
    p0 = xp.take(table.p0, xp.searchsorted(distinct, scores, side="right"))
    p1 = xp.take(table.p1, xp.searchsorted(distinct, scores, side="left"))
    return xp.astype(p0, scores.dtype), xp.astype(p1, scores.dtype)


def _reciprocal(p, *, xp):
    """``1 / p`` with ``inf`` where ``p == 0`` (no division warning)."""
    positive = p > 0
    inverse = 1.0 / xp.where(positive, p, xp.ones_like(p))
    return xp.where(positive, inverse, xp.full_like(p, xp.inf))


def _couple(first, second, n_classes, *, xp):
    """Pairwise coupling of Price et al. (1995).

    ``first[:, m]`` and ``second[:, m]`` are the probabilities of classes ``i``
    and ``j`` in pair ``m = (i, j)`` (lexicographic order). Returns
    ``q[:, c] = 1 / (sum_{pairs with c} 1 / r_c - (n_classes - 2))``,
    unnormalised; a zero ``r_c`` gives ``q[:, c] = 0``.
    """
    _, device = get_namespace_and_device(first, xp=xp)
    inverse = {0: _reciprocal(first, xp=xp), 1: _reciprocal(second, xp=xp)}
    pairs = _pairs(n_classes)
    columns = []
    for c in range(n_classes):
        total = xp.zeros(first.shape[0], dtype=first.dtype, device=device)
        for side in (0, 1):
            members = [m for m, pair in enumerate(pairs) if pair[side] == c]
            if members:
                index = xp.asarray(members, device=device)
                total = total + xp.sum(xp.take(inverse[side], index, axis=1), axis=1)
        columns.append(1.0 / (total - (n_classes - 2)))
    return xp.stack(columns, axis=1)


def _take_rows(X, indices):
    """Rows ``indices`` of an array, sparse matrix, DataFrame or list."""
    if hasattr(X, "iloc"):
        return X.iloc[indices]
    if isinstance(X, list | tuple):
        return [X[i] for i in indices]
    return X[indices]
