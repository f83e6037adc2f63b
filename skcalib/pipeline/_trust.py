"""``TrustPipeline``: classifier, calibrator, conformal sets and OOD gate in one."""

import copy
import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from ..base import ConformalClassifierMixin
from ..calibration._calibrated_classifier_cv import CALIBRATORS, CalibratedClassifierCV
from ..conformal._classification import (
    SplitConformalClassifier,
    _ClassificationFitMixin,
)
from ..conformal.scores import BaseClassificationScore
from ..conformal.scores._classification import ALIASES
from ..ood._wrappers import METHODS, ClassifierOODDetector
from ..utils._array_api import get_namespace_and_device, to_numpy
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    _fit_context,
    _safe_indexing,
)

__all__ = ["TrustPipeline"]

_SIZE_CONSTRAINT = [
    Interval(RealNotInt, 0, 1, closed="neither"),
    Interval(Integral, 1, None, closed="left"),
]


def _n_rows(size, n_samples):
    """Number of rows of a ``*_size`` parameter: a fraction or a count."""
    if isinstance(size, Integral):
        return int(size)
    return math.ceil(size * n_samples)


def _draw(pool, y, n_rows, rng, stratify):
    """``(drawn, rest)``: ``n_rows`` rows of ``pool`` drawn at random, sorted.

    Stratified on ``y`` when ``stratify`` and the pool allows it (every class
    of the pool has two rows, and both parts can hold every class).
    """
    if n_rows == 0:
        return pool[:0], pool
    if n_rows == pool.shape[0]:
        return pool, pool[:0]
    y_pool = y[pool]
    _, counts = np.unique(y_pool, return_counts=True)
    n_classes = counts.shape[0]
    stratified = (
        stratify
        and counts.min() >= 2
        and n_classes <= n_rows <= pool.shape[0] - n_classes
    )
    splitter = (StratifiedShuffleSplit if stratified else ShuffleSplit)(
        n_splits=1, test_size=n_rows, random_state=rng
    )
    rest, drawn = next(splitter.split(np.zeros((pool.shape[0], 1)), y_pool))
    return np.sort(pool[drawn]), np.sort(pool[rest])


def _has_detector(pipeline):
    return pipeline.ood_detector is not None


class TrustPipeline(
    _ClassificationFitMixin, ConformalClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    r"""Classifier -> calibrator -> conformal sets -> OOD gate, in one estimator.

    One ``fit(X, y)`` splits the rows into disjoint parts and fits each stage
    of the chain on its own part, so that every stage sees data that the
    stages before it did not learn from:

    - the *training* rows (``train_indices_``) fit ``estimator``;
    - the *calibration* rows (``calibration_indices_``) fit the calibrator,
      on the estimator's scores;
    - the *conformal* rows (``conformal_indices_``) give the conformity
      scores of the calibrated probabilities;
    - the *OOD* rows (``ood_indices_``) fit the OOD detector and set its
      acceptance threshold ``offset_``.

    With :math:`n` rows, the calibration, conformal and OOD parts hold
    :math:`n_c`, :math:`n_q` and :math:`n_o` rows (``calibration_size``,
    ``conformal_size``, ``ood_size``: a fraction of :math:`n`, rounded up, or
    a number of rows) and the training part the other
    :math:`n - n_c - n_q - n_o`. A part whose stage is switched off takes no
    rows (``calibrator=None``: :math:`n_c = 0`; ``ood_detector=None``:
    :math:`n_o = 0`). With a :class:`~sklearn.frozen.FrozenEstimator` nothing
    is trained: ``conformal_size`` is ignored and the conformal part takes
    every row the calibration and OOD parts do not. The parts are drawn in
    the order calibration, OOD, conformal, with ``random_state``, stratified
    on ``y`` when ``stratify`` (and the rows allow it).

    The stages are the library's own estimators, fitted on their rows:

    1. the calibrated classifier ``calibrated_``, a
       :class:`~skcalib.calibration.CalibratedClassifierCV` whose single
       split is (training rows, calibration rows): a clone of ``estimator``
       learns on the training rows and the calibrator on its scores of the
       calibration rows;
    2. the conformal predictor ``conformal_``, a
       :class:`~skcalib.conformal.SplitConformalClassifier` around the frozen
       calibrated classifier: the conformal rows give the conformity scores
       :math:`s_i = s(\hat p(x_i), y_i)` of the *calibrated* probabilities
       :math:`\hat p`, and ``predict_set`` keeps the labels whose score is at
       most the :math:`\lceil (n_q + 1)\,\ell \rceil`-th smallest
       :math:`s_i`, at the level :math:`\ell` = ``confidence_level`` read at
       prediction time. For exchangeable data
       :math:`P(y \in C(x)) \geq \ell`;
    3. the OOD gate ``detector_``, a
       :class:`~skcalib.ood.ClassifierOODDetector` around the frozen trained
       classifier (its logits or features, not the calibrated
       probabilities), fitted on the OOD rows: a detector without learned
       parameters (``"msp"``, ``"energy"``, ...) takes all of them to set
       ``offset_`` so that a fresh in-distribution input is accepted with
       probability at least ``tpr``; a detector that learns holds out a part
       of them to set it.

    No row serves two stages, so each guarantee (conformal coverage, the
    detector's true-positive rate) holds as if its stage were fitted alone
    on fresh data.

    Parameters
    ----------
    estimator : classifier or None, default=None
        The classifier, with ``predict_proba`` or ``decision_function``. Wrap
        a fitted classifier in :class:`~sklearn.frozen.FrozenEstimator` to use
        it as is (no training rows are taken). None means
        :class:`~sklearn.linear_model.LogisticRegression`.
    calibrator : str, calibrator instance or None, default="temperature"
        The calibrator, by the name
        :class:`~skcalib.calibration.CalibratedClassifierCV` accepts as
        ``method`` (``"temperature"``, ``"sigmoid"``, ``"isotonic"``,
        ``"dirichlet"``, ...) or as an instance (tunable as
        ``calibrator__<param>``). None: no calibration, the conformal stage
        works on the classifier's own probabilities.
    conformity_score : str or BaseClassificationScore, default="lac"
        The conformity score of the conformal stage, by alias (``"lac"``,
        ``"aps"``, ``"raps"``, ``"topk"``) or instance.
    confidence_level : float or array-like of float in (0, 1), default=0.9
        Target coverage of ``predict_set``, read at prediction time (a list
        stacks the sets of all levels on a last axis).
    ood_detector : str, detector instance or None, default="msp"
        The OOD detector on the classifier's outputs (``"msp"``,
        ``"max_logit"``, ``"energy"``, ``"entropy"``, ``"gen"``), as ``method`` of
        :class:`~skcalib.ood.ClassifierOODDetector` (``"energy"`` and
        ``"max_logit"`` need a ``decision_function``; feature detectors such
        as :class:`~skcalib.ood.MahalanobisDetector` need a transformer or a
        pipeline). None: no OOD gate.
    tpr : float in (0, 1), default=0.95
        Target fraction of in-distribution inputs that the OOD gate accepts.
    reject_label : int, float, str or None, default=None
        What ``predict`` returns for the inputs the OOD gate rejects; with a
        label, ``predict_set`` also returns an empty set (a row of False) for
        them, as an abstention. None: ``predict`` and ``predict_set`` do not
        reject (see :meth:`predict_ood`). Ignored without ``ood_detector``.
    calibration_size : float in (0, 1) or int, default=0.2
        Rows that fit the calibrator: a fraction of the rows or a number.
    conformal_size : float in (0, 1) or int, default=0.2
        Rows that compute the conformity scores (ignored with a
        ``FrozenEstimator``, see above).
    ood_size : float in (0, 1) or int, default=0.1
        Rows that fit the OOD detector and set its threshold.
    stratify : bool, default=True
        Draw the parts stratified on ``y``, so that each holds the classes in
        their proportions. It falls back to a plain random draw where a class
        has a single row left, or a part has fewer rows than there are
        classes.
    random_state : int, RandomState instance or None, default=None
        Draws the parts, and seeds the randomised conformity scores and the
        split of a learning OOD detector.

    Attributes
    ----------
    train_indices_ : ndarray of int
        Sorted rows of ``X`` that trained the estimator (empty when frozen).
    calibration_indices_ : ndarray of int
        Sorted rows that fitted the calibrator (empty without calibrator).
    conformal_indices_ : ndarray of int
        Sorted rows that gave the conformity scores.
    ood_indices_ : ndarray of int
        Sorted rows that fitted the OOD detector (empty without detector).
    estimator_ : estimator
        The trained (or frozen) classifier.
    calibrated_ : CalibratedClassifierCV or None
        The calibrated classifier (None without calibrator).
    conformal_ : SplitConformalClassifier
        The conformal predictor on the calibrated probabilities.
    detector_ : ClassifierOODDetector or None
        The OOD gate (None without detector).
    offset_ : float
        Threshold of the OOD gate on :meth:`score_samples` (with a detector).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit`` (when ``X`` has columns).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    skcalib.calibration.CalibratedClassifierCV : the calibration stage.
    skcalib.conformal.SplitConformalClassifier : the conformal stage.
    skcalib.ood.OODRejectClassifier : a classifier with an OOD gate only.

    Notes
    -----
    The OOD gate scores the trained classifier's outputs, whichever the
    calibrator: temperature scaling does not change the ranking of MSP or
    entropy scores, and energy needs the raw logits.

    ``predict_proba`` and ``predict`` are those of the calibrated classifier
    (the argmax can differ from the uncalibrated one for calibrators other
    than temperature scaling).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skcalib.datasets import make_ood_features
    >>> from skcalib.metrics import coverage_score
    >>> from skcalib.ood import MahalanobisDetector
    >>> from skcalib.pipeline import TrustPipeline
    >>> X, y = make_ood_features(2000, 200, n_features=8, random_state=0)
    >>> is_in = y != -1
    >>> X_in, y_in = X[is_in], y[is_in]
    >>> model = make_pipeline(StandardScaler(), LogisticRegression())
    >>> pipe = TrustPipeline(model, ood_detector=MahalanobisDetector(),
    ...                      random_state=0).fit(X_in[:1000], y_in[:1000])
    >>> [len(pipe.train_indices_), len(pipe.calibration_indices_),
    ...  len(pipe.conformal_indices_), len(pipe.ood_indices_)]
    [500, 200, 200, 100]
    >>> pipe.predict_proba(X_in[1000:1002]).round(2)
    array([[0.37, 0.63, 0.  ],
           [0.  , 1.  , 0.  ]])
    >>> coverage_score(y_in[1000:], pipe.predict_set(X_in[1000:]))
    0.908
    >>> float(pipe.predict_ood(X[~is_in]).mean())  # share of OOD inputs flagged
    1.0

    With a ``reject_label``, rejected inputs get it as their label and an
    empty prediction set:

    >>> pipe.set_params(reject_label=-1).predict(X[~is_in][:3])
    array([-1, -1, -1])
    >>> pipe.predict_set(X[~is_in][:2])
    array([[False, False, False],
           [False, False, False]])
    """

    _parameter_constraints: dict = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
            None,
        ],
        "calibrator": [
            StrOptions(set(CALIBRATORS)),
            HasMethods(["fit", "predict_proba"]),
            None,
        ],
        "conformity_score": [StrOptions(set(ALIASES)), BaseClassificationScore],
        "confidence_level": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "ood_detector": [
            StrOptions(set(METHODS)),
            HasMethods(["fit", "score_samples"]),
            None,
        ],
        "tpr": [Interval(Real, 0, 1, closed="neither")],
        "reject_label": [Integral, float, str, None],
        "calibration_size": _SIZE_CONSTRAINT,
        "conformal_size": _SIZE_CONSTRAINT,
        "ood_size": _SIZE_CONSTRAINT,
        "stratify": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        calibrator="temperature",
        conformity_score="lac",
        confidence_level=0.9,
        ood_detector="msp",
        tpr=0.95,
        reject_label=None,
        calibration_size=0.2,
        conformal_size=0.2,
        ood_size=0.1,
        stratify=True,
        random_state=None,
    ):
        self.estimator = estimator
        self.calibrator = calibrator
        self.conformity_score = conformity_score
        self.confidence_level = confidence_level
        self.ood_detector = ood_detector
        self.tpr = tpr
        self.reject_label = reject_label
        self.calibration_size = calibration_size
        self.conformal_size = conformal_size
        self.ood_size = ood_size
        self.stratify = stratify
        self.random_state = random_state

    def _splitter(self):
        return None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.ood_detector is not None:
            gate = ClassifierOODDetector(self.estimator, method=self.ood_detector)
            tags.input_tags.sparse = gate.__sklearn_tags__().input_tags.sparse
        return tags

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Split the rows and fit each stage of the chain on its own part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted pipeline.
        """
        X, y, _, _ = self._validate_fit_data(X, y, None, None)
        rng = check_random_state(self.random_state)
        estimator = self._get_estimator()
        self._split_rows(y, isinstance(estimator, FrozenEstimator), rng)
        if self.calibrator is None and not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"calibrator=None needs an estimator with predict_proba; "
                f"{type(estimator).__name__} has none. Choose a calibrator (for "
                "example calibrator='temperature'), which turns its "
                "decision_function into probabilities."
            )
        if self.calibrator is None:
            self.calibrated_ = None
            if isinstance(estimator, FrozenEstimator):
                self.estimator_ = estimator
            else:
                self.estimator_ = self._fit_estimator(X, y, {}, self.train_indices_)
            model = self.estimator_
        else:
            fit_rows = self.train_indices_
            if isinstance(estimator, FrozenEstimator):
                fit_rows = self.calibration_indices_  # not refitted
            self.calibrated_ = CalibratedClassifierCV(
                estimator,
                method=self.calibrator,
                cv=[(fit_rows, self.calibration_indices_)],
                ensemble=True,
            ).fit(X, y)
            self.estimator_ = self.calibrated_.calibrated_classifiers_[0].estimator
            model = self.calibrated_
        seed = rng.randint(np.iinfo(np.int32).max, size=2)
        self.conformal_ = SplitConformalClassifier(
            FrozenEstimator(model),
            conformity_score=self.conformity_score,
            confidence_level=self.confidence_level,
            random_state=int(seed[0]),
        ).fit(*self._rows(X, y, self.conformal_indices_))
        self.classes_ = self.conformal_.classes_
        self.detector_ = None
        if self.ood_detector is not None:
            self.detector_ = ClassifierOODDetector(
                FrozenEstimator(self.estimator_),
                method=self.ood_detector,
                tpr=self.tpr,
                random_state=int(seed[1]),
            ).fit(*self._rows(X, y, self.ood_indices_))
            self.offset_ = self.detector_.offset_
            if (
                self.reject_label is not None
                and np.isin(
                    np.asarray([self.reject_label], dtype=object), self.classes_
                ).any()
            ):
                raise ValueError(
                    f"reject_label={self.reject_label!r} is one of the classes "
                    f"{self.classes_.tolist()[:10]}; choose a label that is not."
                )
        return self

    @staticmethod
    def _rows(X, y, rows):
        return _safe_indexing(X, rows), y[rows]

    def _split_rows(self, y, frozen, rng):
        """Draw the disjoint row sets and store them as ``*_indices_``."""
        n_samples = y.shape[0]
        sizes = {
            "calibration_size": 0 if self.calibrator is None else self.calibration_size,
            "ood_size": 0 if self.ood_detector is None else self.ood_size,
            "conformal_size": 0 if frozen else self.conformal_size,
        }
        counts = {name: _n_rows(size, n_samples) for name, size in sizes.items()}
        # Training rows (conformal rows when frozen) take what is left.
        n_left = n_samples - sum(counts.values())
        if n_left < 1:
            used = ", ".join(f"{k}={v!r}" for k, v in sizes.items() if v)
            part = "conformal" if frozen else "training"
            raise ValueError(
                f"{used} take {n_samples - n_left} of the {n_samples} rows, leaving "
                f"no {part} rows: make them smaller."
            )
        rest = np.arange(n_samples)
        parts = {}
        for name, count in counts.items():
            parts[name], rest = _draw(rest, y, count, rng, self.stratify)
        if frozen:
            parts["conformal_size"], rest = rest, rest[:0]
        self.calibration_indices_ = parts["calibration_size"]
        self.ood_indices_ = parts["ood_size"]
        self.conformal_indices_ = parts["conformal_size"]
        self.train_indices_ = rest

    def _conformal(self):
        """The conformal predictor at the current ``confidence_level``."""
        conformal = copy.copy(self.conformal_)
        conformal.confidence_level = self.confidence_level
        return conformal

    def _rejected(self, X):
        """Host mask of the inputs rejected by the gate, or None (no rejection)."""
        if self.detector_ is None or self.reject_label is None:
            return None
        return self.predict_ood(X)

    def predict_proba(self, X):
        """Calibrated probabilities of the classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of ``classes_`` (of the classifier itself without
            calibrator). The OOD gate does not change them.
        """
        self._check_X(X)
        model = self.estimator_ if self.calibrated_ is None else self.calibrated_
        return model.predict_proba(X)

    def predict(self, X):
        """Most probable class after calibration; ``reject_label`` if rejected.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Labels from ``classes_``, and ``reject_label`` for the inputs the
            OOD gate rejects when it is set (object dtype when it does not fit
            the classes' dtype).
        """
        self._check_X(X)
        labels = np.asarray(to_numpy(self.conformal_.predict(X)))
        rejected = self._rejected(X)
        if rejected is None:
            return labels
        reject = np.asarray(self.reject_label)
        numeric = labels.dtype.kind in "biuf" and reject.dtype.kind in "biuf"
        dtype = np.result_type(labels, reject) if numeric else object
        return np.where(rejected, reject.astype(dtype), labels.astype(dtype))

    def predict_set(self, X):
        """Conformal prediction sets on the calibrated probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        sets : ndarray of bool of shape (n_samples, n_classes) or \
(n_samples, n_classes, n_levels)
            ``sets[i, j]`` says whether ``classes_[j]`` is in the set of
            sample ``i`` at ``confidence_level`` (the last axis stacks the
            levels when it is a list). With ``reject_label`` set, the sets
            of the inputs the OOD gate rejects are empty.
        """
        self._check_X(X)
        sets = self._conformal().predict_set(X)
        rejected = self._rejected(X)
        if rejected is None:
            return sets
        xp, device = get_namespace_and_device(sets)
        keep = xp.asarray(~rejected, device=device)
        return sets & xp.reshape(keep, (-1,) + (1,) * (sets.ndim - 1))

    @available_if(_has_detector)
    def score_samples(self, X):
        """In-distribution score of the OOD gate (higher = more in-distribution).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Inputs scoring below ``offset_`` are rejected.
        """
        self._check_X(X)
        return self.detector_.score_samples(X)

    @available_if(_has_detector)
    def predict_ood(self, X):
        """Whether the OOD gate rejects each input (``score_samples < offset_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the estimator.

        Returns
        -------
        is_ood : ndarray of bool of shape (n_samples,)
            True for the inputs flagged out-of-distribution.
        """
        self._check_X(X)
        return np.asarray(to_numpy(self.detector_.predict(X))) == -1
