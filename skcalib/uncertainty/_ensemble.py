r"""Uncertainty of an ensemble: total = aleatoric + epistemic (mutual information).

For an ensemble of ``m`` members that give class probabilities
:math:`p_1(x), \dots, p_m(x)` over ``k`` classes, with mean
:math:`\bar p(x) = \frac1m \sum_j p_j(x)` and Shannon entropy :math:`H`
(in nats, with :math:`0 \log 0 = 0`):

- the *total* uncertainty is the entropy of the mean,
  :math:`H(\bar p)`;
- the *aleatoric* part is the expected entropy of the members,
  :math:`\frac1m \sum_j H(p_j)`: what every member already finds ambiguous;
- the *epistemic* part is their difference, the mutual information between
  the label and the member (Houlsby et al. 2011; Depeweg et al. 2018):
  :math:`H(\bar p) - \frac1m \sum_j H(p_j) \ge 0` (Jensen), zero exactly
  when all members agree, large when confident members disagree;
- the *variation ratio* is :math:`1 - f`, with :math:`f` the fraction of
  members whose most probable class is the modal one (Freeman 1965).

:func:`ensemble_uncertainty` computes the four from stacked member
probabilities, on any array-API namespace; :class:`EnsembleUncertainty` fits
(or takes a fitted) bagging / forest ensemble and uses one of them as an
out-of-distribution score, with the thresholds, p-values and FDR control of
the OOD detectors.
"""

from collections import namedtuple

import numpy as np
from array_api_compat import numpy as np_compat
from sklearn.base import MetaEstimatorMixin, clone
from sklearn.ensemble import (
    BaggingClassifier,
    ExtraTreesClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.frozen import FrozenEstimator
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.random_projection import GaussianRandomProjection
from sklearn.utils import indexable
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    column_or_1d,
    validate_data,
)

from ..conformal._common import _ConformalFitMixin
from ..ood._base import BaseLearnedOODDetector
from ..utils._array_api import entr, get_namespace_and_device
from ..utils._sklearn_compat import HasMethods, StrOptions, _fit_context, _safe_indexing
from ..utils._validation import check_probabilities, check_scores, encode_labels

__all__ = ["EnsembleUncertainty", "EnsembleUncertaintyResult", "ensemble_uncertainty"]

#: The measures, in the order of :class:`EnsembleUncertaintyResult`.
MEASURES = (
    "total_entropy",
    "expected_entropy",
    "mutual_information",
    "variation_ratio",
)

EnsembleUncertaintyResult = namedtuple("EnsembleUncertaintyResult", MEASURES)
EnsembleUncertaintyResult.__doc__ = """Uncertainty measures of an ensemble, per sample.

Attributes
----------
total_entropy : array of shape (n_samples,)
    Entropy of the mean member probabilities (total uncertainty).
expected_entropy : array of shape (n_samples,)
    Mean of the members' entropies (aleatoric part).
mutual_information : array of shape (n_samples,)
    ``total_entropy - expected_entropy`` (epistemic part), clipped at 0.
variation_ratio : array of shape (n_samples,)
    One minus the fraction of members voting for the modal class.
"""

# scikit-learn ensembles that fit their members on class indices 0..k-1.
_INDEX_ENCODED = (
    BaggingClassifier,
    ExtraTreesClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
# ... and pass them validated arrays (no feature names).
_ARRAY_MEMBERS = (BaggingClassifier, ExtraTreesClassifier, RandomForestClassifier)


def ensemble_uncertainty(member_proba):
    r"""Total, aleatoric and epistemic uncertainty of an ensemble's predictions.

    With member probabilities :math:`p_j` (``j = 1..m``), their mean
    :math:`\bar p` and the entropy :math:`H(p) = -\sum_c p_c \log p_c` (nats,
    :math:`0 \log 0 = 0`):

    - ``total_entropy`` :math:`= H(\bar p)`;
    - ``expected_entropy`` :math:`= \frac1m \sum_j H(p_j)` (aleatoric);
    - ``mutual_information`` :math:`= H(\bar p) - \frac1m \sum_j H(p_j)`
      (epistemic; non-negative by Jensen's inequality, and clipped at 0 to
      remove rounding errors);
    - ``variation_ratio`` :math:`= 1 - \max_c \#\{j : \arg\max p_j = c\} / m`
      (a member's vote is its first most probable class).

    All are in :math:`[0, \log k]` except the variation ratio, in
    :math:`[0, 1 - 1/k]`.

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_samples[, n_classes])
        Class probabilities of each member (rows on the simplex). A 2-D array
        holds the probability of the positive class of a binary problem.
        Any array-API namespace under scikit-learn's
        ``array_api_dispatch=True``.

    Returns
    -------
    result : EnsembleUncertaintyResult
        Named tuple ``(total_entropy, expected_entropy, mutual_information,
        variation_ratio)`` of arrays of shape (n_samples,), in the input's
        namespace, device and floating dtype.

    See Also
    --------
    EnsembleUncertainty : Fits an ensemble and scores inputs with these
        measures (OOD detection).

    References
    ----------
    Houlsby, N., Huszár, F., Ghahramani, Z. and Lengyel, M. (2011). Bayesian
    active learning for classification and preference learning.
    arXiv:1112.5745.

    Depeweg, S., Hernández-Lobato, J. M., Doshi-Velez, F. and Udluft, S.
    (2018). Decomposition of uncertainty in Bayesian deep learning for
    efficient and risk-sensitive learning. ICML.

    Examples
    --------
    Two members that agree have no epistemic uncertainty; two confident
    members that disagree have no aleatoric uncertainty:

    >>> import numpy as np
    >>> from skcalib.uncertainty import ensemble_uncertainty
    >>> member_proba = np.array([[[0.5, 0.5], [1.0, 0.0]],
    ...                          [[0.5, 0.5], [0.0, 1.0]]])
    >>> result = ensemble_uncertainty(member_proba)
    >>> result.total_entropy  # log 2 for both samples
    array([0.69314718, 0.69314718])
    >>> result.expected_entropy
    array([0.69314718, 0.        ])
    >>> result.mutual_information
    array([0.        , 0.69314718])
    >>> result.variation_ratio
    array([0. , 0.5])
    """
    xp, dev = get_namespace_and_device(member_proba)
    proba = check_scores(member_proba, name="member_proba", ndim=(2, 3), xp=xp)
    if proba.ndim == 2:
        flat = xp.reshape(proba, (proba.shape[0] * proba.shape[1],))
        check_probabilities(flat, name="member_proba", ndim=(1,), xp=xp)
        proba = xp.stack([1 - proba, proba], axis=-1)
    n_members, n_samples, n_classes = proba.shape
    if n_samples and n_classes:
        # The rows of every member on the simplex (one check over all rows).
        check_probabilities(
            xp.reshape(proba, (n_members * n_samples, n_classes)),
            name="member_proba",
            ndim=(2,),
            xp=xp,
        )
    mean = xp.mean(proba, axis=0)
    total = xp.sum(entr(mean, xp=xp), axis=-1)
    expected = xp.mean(xp.sum(entr(proba, xp=xp), axis=-1), axis=0)
    information = xp.maximum(total - expected, xp.zeros_like(total))
    votes = xp.argmax(proba, axis=-1)
    classes = xp.arange(n_classes, dtype=votes.dtype, device=dev)
    counts = xp.sum(xp.astype(votes[..., None] == classes, proba.dtype), axis=0)
    if n_samples:
        variation = 1 - xp.max(counts, axis=-1) / n_members
    else:
        variation = xp.zeros((0,), dtype=proba.dtype, device=dev)
    return EnsembleUncertaintyResult(total, expected, information, variation)


class EnsembleUncertainty(MetaEstimatorMixin, BaseLearnedOODDetector):
    r"""Ensemble disagreement as an uncertainty and out-of-distribution score.

    Fits a classifier ensemble whose members each give probabilities
    (scikit-learn's :class:`~sklearn.ensemble.BaggingClassifier`,
    :class:`~sklearn.ensemble.RandomForestClassifier`,
    :class:`~sklearn.ensemble.ExtraTreesClassifier`, a soft
    :class:`~sklearn.ensemble.VotingClassifier`, or any classifier with
    ``estimators_`` and ``classes_``), and scores inputs with one of the
    measures of :func:`ensemble_uncertainty` on the members' probabilities.
    :meth:`predict_uncertainty` returns all of them, :meth:`predict_epistemic`
    the mutual information.

    As an OOD detector it follows the family's API: ``score_samples`` is
    **minus** the chosen measure (higher = more in-distribution),
    ``decision_function = score_samples - offset_``, ``predict`` gives +1 /
    -1, and :meth:`score_pvalues` / :meth:`predict_fdr` give conformal
    p-values and Benjamini-Hochberg selection. Fitting follows
    :class:`~skcalib.ood.ClassifierOODDetector`: a
    :class:`~sklearn.frozen.FrozenEstimator` (fitted on other data) is used as
    it is and all of ``X`` calibrates the thresholds; otherwise a clone is
    fitted on a random part of ``X`` and the held-out ``calibration_size``
    part calibrates them.

    Parameters
    ----------
    estimator : classifier or None, default=None
        A classifier with ``estimators_`` after fit: the ensemble, unfitted
        (cloned and fitted here) or a
        :class:`~sklearn.frozen.FrozenEstimator` of a fitted one. Its members
        must have ``predict_proba``; they are weighted equally. None means a
        random-projection ensemble (Cannings and Samworth 2017): a
        :class:`~sklearn.ensemble.BaggingClassifier` of 50 pipelines
        ``GaussianRandomProjection(n_components=2)`` +
        ``KNeighborsClassifier(n_neighbors=15)`` (fewer components or
        neighbours on tiny data), seeded by ``random_state`` (see Notes).
    measure : str, default="mutual_information"
        The uncertainty whose negative is ``score_samples``:
        ``"mutual_information"``, ``"total_entropy"``, ``"expected_entropy"``
        or ``"variation_ratio"``.
    calibration_size : float in (0, 1) or int, default=0.2
        Part of ``X`` held out to calibrate ``offset_`` and the p-values when
        the ensemble is fitted here (unused with a frozen ensemble).
    tpr : float, default=0.95
        Target true-positive rate: a fresh in-distribution sample is accepted
        (``predict == 1``) with probability at least ``tpr``. Used when
        ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers.
    random_state : int, RandomState instance or None, default=None
        Draws the calibration split, and seeds the default ensemble (a given
        ``estimator`` keeps its own ``random_state``).

    Attributes
    ----------
    estimator_ : classifier
        The fitted (or frozen) ensemble.
    classes_ : ndarray of shape (n_classes,)
        The ensemble's classes.
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : ndarray of shape (n_calibration_samples,)
        Sorted scores of the calibration samples.
    n_features_in_ : int
        Number of features of ``X`` (when it has columns).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    ensemble_uncertainty : The decomposition from stacked member
        probabilities, on any array-API namespace.
    skcalib.ood.ClassifierOODDetector : Scores of a single model's outputs.

    Notes
    -----
    **Which ensembles flag OOD inputs.** The mutual information is large
    only where members that are each confident disagree; members that
    extrapolate alike agree confidently far from the data, and then no
    measure flags those inputs. On the far shift of
    :func:`~skcalib.datasets.make_ood_features` (8 features, 40 draws, 700
    training rows) the mutual information of the default random-projection
    ensemble (Cannings and Samworth 2017), whose members see a far input in
    different places, reaches an AUROC of 0.97 on average (above 0.9 in 90%
    of the draws, 0.60 at worst), while its expected entropy ranks the OOD
    inputs the wrong way round (AUROC 0.21: each member is *more* confident
    there) -- the decomposition at work. A random forest of fully grown
    trees (pure leaves: expected entropy 0, mutual information = total
    entropy) averages 0.87 but falls to 0.28 when the shift runs along a
    direction its axis-aligned trees extrapolate alike; linear and neural
    members far beyond a class behave the same way. Choose the ensemble for
    the shifts you expect.

    **Members and classes.** Members of scikit-learn's bagging, forest and
    voting ensembles are fitted on class indices, and their columns are
    placed by index (a bootstrap sample missing a class gets probability 0
    for it); members of other ensembles are matched to ``classes_`` by
    label. Bagging members read their own feature subset
    (``estimators_features_``).

    Fitting and scoring run on NumPy (scikit-learn models);
    :func:`ensemble_uncertainty` itself takes any array-API namespace.

    References
    ----------
    Cannings, T. I. and Samworth, R. J. (2017). Random-projection ensemble
    classification. JRSS B, 79(4), 959-1035.

    Lakshminarayanan, B., Pritzel, A. and Blundell, C. (2017). Simple and
    scalable predictive uncertainty estimation using deep ensembles. NeurIPS.

    Examples
    --------
    >>> from skcalib.datasets import make_ood_features
    >>> from skcalib.metrics import ood_auroc
    >>> from skcalib.uncertainty._ensemble import EnsembleUncertainty
    >>> X, y = make_ood_features(1000, 200, n_features=8, random_state=0)
    >>> is_in = y != -1
    >>> detector = EnsembleUncertainty(random_state=0).fit(X[:800], y[:800])
    >>> X_test, is_in_test = X[800:], is_in[800:]
    >>> round(ood_auroc(is_in_test, detector.score_samples(X_test)), 2)
    1.0
    >>> result = detector.predict_uncertainty(X_test)
    >>> sorted(result._fields)
    ['expected_entropy', 'mutual_information', 'total_entropy', 'variation_ratio']
    """

    _parameter_constraints: dict = {
        **BaseLearnedOODDetector._parameter_constraints,
        "estimator": [None, HasMethods(["fit", "predict_proba"])],
        "measure": [StrOptions(set(MEASURES))],
    }
    _array_api_support = False
    _y_usage = "required"

    def __init__(
        self,
        estimator=None,
        *,
        measure="mutual_information",
        calibration_size=0.2,
        tpr=0.95,
        contamination=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.measure = measure
        self.calibration_size = calibration_size
        self.tpr = tpr
        self.contamination = contamination
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        frozen = isinstance(self.estimator, FrozenEstimator)
        tags.target_tags.required = not frozen
        if self.estimator is not None:
            sub = self.estimator.__sklearn_tags__().input_tags
            tags.input_tags.sparse = sub.sparse
            tags.input_tags.allow_nan = sub.allow_nan
        else:
            tags.input_tags.sparse = True
        return tags

    def _default_estimator(self, n_samples, n_features):
        members = make_pipeline(
            GaussianRandomProjection(n_components=max(1, min(2, n_features))),
            KNeighborsClassifier(n_neighbors=max(1, min(15, n_samples))),
        )
        return BaggingClassifier(
            members, n_estimators=50, random_state=self.random_state
        )

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the ensemble (unless frozen) and calibrate the thresholds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            In-distribution inputs of the ensemble.
        y : array-like of shape (n_samples,), default=None
            Their labels; required unless the ensemble is frozen.

        Returns
        -------
        self : object
            The fitted detector.
        """
        frozen = isinstance(self.estimator, FrozenEstimator)
        if y is None and not frozen:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        X, y = indexable(X, y)
        validate_data(self, X, reset=True, skip_check_array=True)
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        if frozen:
            self.estimator_ = self.estimator
            X_fit, X_cal = None, X
        else:
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            fit_rows, cal_rows = self._split_indices(n_samples)
            X_fit = _safe_indexing(X, fit_rows)
            X_cal = _safe_indexing(X, cal_rows)
            estimator = self.estimator
            if estimator is None:
                n_features = getattr(self, "n_features_in_", 2)
                estimator = self._default_estimator(fit_rows.shape[0], n_features)
            self.estimator_ = clone(estimator).fit(X_fit, y[fit_rows])
        ensemble = self._ensemble()
        missing = [a for a in ("estimators_", "classes_") if not hasattr(ensemble, a)]
        if missing:
            missing = " nor ".join(missing)
            raise ValueError(
                "estimator must be an ensemble classifier with fitted members in "
                f"estimators_ and classes_ (bagging, forests, voting); "
                f"{type(ensemble).__name__} has no {missing}."
            )
        self.classes_ = np.asarray(ensemble.classes_)
        if self.classes_.ndim != 1:
            raise ValueError(
                "EnsembleUncertainty supports single-output classifiers; the "
                "ensemble's classes_ is not a 1-D array of labels."
            )
        calibration = self._score(self._member_proba(X_cal), xp=np_compat)
        fit_scores = None
        if self.contamination is not None and X_fit is not None:
            fit_scores = self._score(self._member_proba(X_fit), xp=np_compat)
        self._set_thresholds(calibration, fit_scores, xp=np_compat)
        return self

    def _ensemble(self):
        estimator = self.estimator_
        return (
            estimator.estimator if isinstance(estimator, FrozenEstimator) else estimator
        )

    def _member_proba(self, X):
        """Probabilities of every member, shape (n_members, n_samples, n_classes)."""
        ensemble = self._ensemble()
        classes = self.classes_
        by_index = isinstance(ensemble, _INDEX_ENCODED)
        if isinstance(ensemble, _ARRAY_MEMBERS):
            X = check_array(
                X, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite=False
            )
        features = getattr(ensemble, "estimators_features_", None)
        members = ensemble.estimators_
        # (a list, or an array of models in gradient boosting)
        members = list(members.ravel() if hasattr(members, "ravel") else members)
        if not members:
            raise ValueError("The ensemble has no fitted member in estimators_.")
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        out = np.zeros((len(members), n_samples, classes.shape[0]))
        for j, member in enumerate(members):
            if not hasattr(member, "predict_proba"):
                raise ValueError(
                    "Every member of the ensemble must have predict_proba; "
                    f"{type(member).__name__} has not."
                )
            X_member = X if features is None else _safe_indexing(X, features[j], axis=1)
            proba = np.asarray(member.predict_proba(X_member), dtype=np.float64)
            columns = self._member_columns(member, by_index)
            out[j][:, columns] = proba
        return out

    def _member_columns(self, member, by_index):
        """Columns of ``classes_`` that the member's ``predict_proba`` gives."""
        member_classes = np.asarray(getattr(member, "classes_", self.classes_))
        n_classes = self.classes_.shape[0]
        if by_index:
            index = member_classes.astype(np.int64)
            if (
                np.any(index != member_classes)
                or index.min() < 0
                or index.max() >= n_classes
            ):
                raise ValueError(
                    "The members of a scikit-learn ensemble are fitted on class "
                    f"indices 0..{n_classes - 1}, but a member has classes_ "
                    f"{member_classes.tolist()[:10]}."
                )
            return index
        return encode_labels(member_classes, self.classes_, name="member classes_")

    def _detector_input(self, X):
        # (fitted state, 1-D inputs, number and names of the features)
        _ConformalFitMixin._check_X(self, X)
        return self._member_proba(X)

    def _validate_X(self, X, *, xp, reset):
        return X

    def _score(self, X, *, xp):
        return -getattr(ensemble_uncertainty(X), self.measure)

    def predict_uncertainty(self, X):
        """All four uncertainty measures of the ensemble on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        result : EnsembleUncertaintyResult
            Named tuple ``(total_entropy, expected_entropy,
            mutual_information, variation_ratio)`` of arrays of shape
            (n_samples,) (see :func:`ensemble_uncertainty`).
        """
        return ensemble_uncertainty(self._detector_input(X))

    def predict_epistemic(self, X):
        """Epistemic uncertainty: the mutual information between label and member.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        mutual_information : ndarray of shape (n_samples,)
            In nats, in ``[0, log(n_classes)]``.
        """
        return self.predict_uncertainty(X).mutual_information
