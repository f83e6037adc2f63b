"""Per-sample difficulty of a training set: EL2N scores of cross-fitted models."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_predict
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..metrics._data_quality import el2n_score
from ..utils._array_api import get_namespace_and_device, to_numpy
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    _check_feature_names,
    _fit_context,
)
from ._common import _CrossFittedClassifierMixin

__all__ = ["DataDifficultyScorer"]


def _seeded(estimator, seed):
    """``estimator`` with every ``random_state`` parameter (nested too) set."""
    names = [
        name
        for name in estimator.get_params(deep=True)
        if name == "random_state" or name.endswith("__random_state")
    ]
    return estimator.set_params(**dict.fromkeys(names, seed)) if names else estimator


class DataDifficultyScorer(
    _CrossFittedClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    r"""EL2N difficulty of every training sample, from repeated cross-fitting.

    "Deep Learning on a Data Diet" (Paul, Ganguli and Dziugaite, 2021) scores
    a training sample by the EL2N norm :math:`\mathbb{E}_m \|p_m(x) -
    e_y\|_2` (see :func:`~skcalib.metrics.el2n_score`), averaged over several
    models. ``fit(X, y)`` obtains ``n_fits`` sets of out-of-fold
    probabilities: each repetition reshuffles the folds and reseeds the
    estimator (every ``random_state`` parameter, nested ones included), and
    :func:`~sklearn.model_selection.cross_val_predict` scores every sample
    with a model that did not see it. ``scores_`` holds the average EL2N
    norm.

    Low scores mark easy, redundant samples (the paper prunes them first);
    the highest scores are dominated by mislabelled and ambiguous samples.
    The paper scores samples *in-sample*, early in the training of a deep
    network, before they are memorised; for models trained to convergence,
    out-of-fold probabilities play that role (a fitted model's probabilities
    on its own training data tend to the labels). With a
    :class:`~sklearn.frozen.FrozenEstimator` its probabilities are used once
    as they are (``n_fits`` and ``cv`` are ignored).

    There is no ``transform`` or ``score_samples``: the score needs the label
    of the sample, so it is defined for the training samples only.

    Parameters
    ----------
    estimator : classifier with ``predict_proba`` or None, default=None
        None means :class:`~sklearn.linear_model.LogisticRegression`.
    n_fits : int, default=5
        Number of repetitions (reshuffled folds, reseeded estimator).
    cv : int, cross-validation generator or iterable, default=5
        An integer means that many stratified folds, shuffled anew in every
        repetition. A splitter or an iterable of splits is used as given in
        every repetition (only the estimator's seed changes).
    random_state : int, RandomState instance or None, default=None
        Draws the fold shuffles and the estimator seeds.
    n_jobs : int or None, default=None
        Parallel fits of the folds.

    Attributes
    ----------
    scores_ : ndarray of shape (n_samples,)
        Mean EL2N score of each training sample (higher = harder).
    pred_proba_ : ndarray of shape (n_fits, n_samples, n_classes)
        The out-of-fold probabilities of every repetition (one repetition
        for a frozen estimator).
    classes_ : ndarray of shape (n_classes,)
        The labels, in the order of the last axis of ``pred_proba_``.
    n_features_in_ : int
        Number of features of ``X`` (when it is a 2-D array).

    See Also
    --------
    skcalib.metrics.el2n_score : The score from given probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from skcalib.uncertainty._data_difficulty import DataDifficultyScorer
    >>> X, y = make_classification(300, n_features=5, class_sep=2.0,
    ...                            random_state=0)
    >>> y_noisy = y.copy()
    >>> y_noisy[:15] = 1 - y_noisy[:15]  # 5% of the labels flipped
    >>> scorer = DataDifficultyScorer(n_fits=3, random_state=0).fit(X, y_noisy)
    >>> scorer.scores_.shape
    (300,)
    >>> print(f"{scorer.scores_[:15].mean():.2f} {scorer.scores_[15:].mean():.2f}")
    1.31 0.11
    >>> hardest = np.argsort(-scorer.scores_)[:15]
    >>> int(np.isin(hardest, np.arange(15)).sum())  # flipped among the top 15
    14
    >>> keep = scorer.keep_mask(0.5, offset=0.05)  # skip the hardest 5%, keep
    >>> int(keep.sum()), int(keep[:15].sum())      # the next half
    (150, 1)
    """

    _parameter_constraints: dict = {
        "estimator": [None, HasMethods(["fit", "predict_proba"])],
        "n_fits": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self, estimator=None, *, n_fits=5, cv=5, random_state=None, n_jobs=None
    ):
        self.estimator = estimator
        self.n_fits = n_fits
        self.cv = cv
        self.random_state = random_state
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Cross-fit ``n_fits`` times and compute the EL2N score of every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs of the estimator.
        y : array-like of shape (n_samples,)
            Their labels.
        **fit_params : dict
            Passed to the estimator's ``fit`` on every fold.

        Returns
        -------
        self : object
            The fitted scorer.
        """
        y_np = self._host_labels(y)
        estimator = self._get_estimator()
        if isinstance(estimator, FrozenEstimator):
            self.classes_ = np.asarray(estimator.classes_)
            runs = [estimator.predict_proba(X)]
        else:
            self.classes_ = np.unique(y_np)
            rng = check_random_state(self.random_state)
            seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_fits)
            runs = [
                cross_val_predict(
                    _seeded(clone(estimator), int(seed)),
                    X,
                    y,
                    cv=self._splitter(y_np, int(seed)),
                    method="predict_proba",
                    n_jobs=self.n_jobs,
                    params=fit_params or None,
                )
                for seed in seeds
            ]
        if hasattr(X, "shape") and len(X.shape) == 2:
            self.n_features_in_ = int(X.shape[1])
        _check_feature_names(self, X, reset=True)
        xp, _ = get_namespace_and_device(runs[0])
        self.pred_proba_ = xp.stack(runs)
        self.scores_ = el2n_score(y_np, self.pred_proba_, labels=self.classes_)
        return self

    def _splitter(self, y, seed):
        if isinstance(self.cv, Integral):
            return StratifiedKFold(self.cv, shuffle=True, random_state=seed)
        return check_cv(self.cv, y, classifier=True)

    def keep_mask(self, keep_fraction, *, offset=0.0):
        """Which training samples to keep when pruning by EL2N (Paul et al. 2021).

        The samples are sorted by decreasing score; the first ``offset``
        fraction (the hardest, often mislabelled) is dropped, the next
        ``keep_fraction`` kept and the rest (the easiest) dropped.

        Parameters
        ----------
        keep_fraction : float in (0, 1]
            Fraction of the training samples to keep.
        offset : float in [0, 1), default=0.0
            Fraction of the hardest samples to drop first;
            ``offset + keep_fraction`` must not exceed 1.

        Returns
        -------
        mask : ndarray of shape (n_samples,), dtype bool
            True for the kept samples (ties in the score: lower index first).
        """
        check_is_fitted(self, "scores_")
        for name, value, low_open in (
            ("keep_fraction", keep_fraction, True),
            ("offset", offset, False),
        ):
            if (
                not isinstance(value, Real)
                or isinstance(value, bool)
                or not (0 < value <= 1 if low_open else 0 <= value < 1)
            ):
                interval = "(0, 1]" if low_open else "[0, 1)"
                raise ValueError(
                    f"{name} must be a float in {interval}, got {value!r}."
                )
        if offset + keep_fraction > 1 + 1e-12:
            raise ValueError(
                f"offset + keep_fraction must not exceed 1, got {offset} + "
                f"{keep_fraction}."
            )
        scores = to_numpy(self.scores_)
        n = scores.shape[0]
        start = int(round(offset * n))
        stop = min(n, start + int(round(keep_fraction * n)))
        order = np.argsort(-scores, kind="stable")
        mask = np.zeros(n, dtype=bool)
        mask[order[start:stop]] = True
        return mask
