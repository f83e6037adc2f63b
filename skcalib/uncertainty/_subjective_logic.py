r"""Subjective-logic opinions from logits: belief, confusion and ignorance.

:class:`SubjectiveLogicClassifier` reads a classifier's logits (or evidence)
as a subjective-logic opinion (Jøsang 2016; evidential deep learning, Sensoy
et al. 2018), separates *ignorance* (lack of evidence) from *confusion*
(evidence that does not discriminate between labels), and makes flexible
decisions in the spirit of Fan et al. (ICCV 2023): a single label, a set of
labels when confused, or a rejection when ignorant, with both thresholds
fitted on labelled data.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ..base import _SkcalibTagsMixin
from ..calibration._base import BaseScoreCalibrator
from ..metrics._ood import _tie_aware_cumsums
from ..utils._array_api import (
    conformal_quantile,
    get_namespace_and_device,
    logsumexp,
    move_to,
    to_numpy,
)
from ..utils._sklearn_compat import Interval, StrOptions, _fit_context
from ..utils._validation import check_sample_weight, encode_labels

__all__ = ["SubjectiveLogicClassifier"]

EVIDENCE_FUNCTIONS = ("exp", "softplus", "relu", "identity")
CONFUSION_MEASURES = ("composite", "dissonance")

# Elements of the (rows, k, k) temporaries of the dissonance, per row block.
_DISSONANCE_BLOCK = 1 << 20


def _softplus(x, xp):
    """``log(1 + exp(x))`` without overflow."""
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def _evidence(logits, kind, xp):
    """Evidence ``e >= 0`` of each label (``exp`` may overflow to ``inf``)."""
    if kind == "exp":
        return xp.exp(logits)
    if kind == "softplus":
        return _softplus(logits, xp)
    if kind == "relu":
        return xp.maximum(logits, xp.zeros_like(logits))
    return logits


def _belief_ignorance(logits, kind, xp):
    """Singleton belief masses ``e / S`` (n, k) and ignorance ``K / S`` (n,).

    ``S = sum(e) + K`` is the Dirichlet strength (``alpha = e + 1``). With
    exponential evidence everything is computed from ``log S =
    logaddexp(logsumexp(z), log K)``, so no logit overflows.
    """
    n_classes = logits.shape[1]
    if kind == "exp":
        lse = logsumexp(logits, axis=1, keepdims=True, xp=xp)
        log_k = xp.full_like(lse, math.log(n_classes))
        log_s = xp.logaddexp(lse, log_k)
        return xp.exp(logits - log_s), xp.exp(log_k - log_s)[:, 0]
    e = _evidence(logits, kind, xp)
    strength = xp.sum(e, axis=1, keepdims=True) + n_classes
    return e / strength, n_classes / strength[:, 0]


def _nested_masses(belief, xp):
    """Masses of the nested sets of top labels, and the sorted beliefs.

    Column ``j`` holds the mass of the set of the ``j + 1`` labels of largest
    belief: ``(j + 1) (b_(j+1) - b_(j+2))`` with ``b_(1) >= b_(2) >= ...`` and
    ``b_(k+1) = 0``.
    """
    n, k = belief.shape
    _, dev = get_namespace_and_device(belief)
    ordered = xp.sort(belief, axis=1, descending=True)
    zeros = xp.zeros((n, 1), dtype=belief.dtype, device=dev)
    gaps = ordered - xp.concat([ordered[:, 1:], zeros], axis=1)
    sizes = xp.arange(1, k + 1, dtype=belief.dtype, device=dev)
    return gaps * sizes, ordered


def _composite_confusion(belief, xp):
    """Mass on composite sets: ``b_(2) + sum_{j >= 2} b_(j)``."""
    ordered = xp.sort(belief, axis=1, descending=True)
    return xp.sum(ordered[:, 1:], axis=1) + ordered[:, 1]


def _dissonance(belief, xp):
    """Jøsang's belief dissonance, in row blocks of bounded memory."""
    n, k = belief.shape
    total = xp.sum(belief, axis=1)
    block = max(1, _DISSONANCE_BLOCK // (k * k))
    parts = []
    for start in range(0, n, block):
        stop = min(start + block, n)
        b = belief[start:stop, :]
        bx, by = b[:, :, None], b[:, None, :]
        pair = bx + by
        positive = pair > 0
        balance = xp.where(
            positive,
            2 * xp.minimum(bx, by) / xp.where(positive, pair, xp.ones_like(pair)),
            xp.zeros_like(pair),
        )
        # Bal(x, x) = 1 where b_x > 0: remove the diagonal term b_x Bal(x, x).
        weighted = xp.sum(by * balance, axis=2) - b
        others = total[start:stop, None] - b
        has_others = others > 0
        term = xp.where(
            has_others,
            b * weighted / xp.where(has_others, others, xp.ones_like(others)),
            xp.zeros_like(b),
        )
        parts.append(xp.sum(term, axis=1))
    return xp.concat(parts) if len(parts) > 1 else parts[0]


def _confused_sets(belief, xp):
    """Boolean (n, k): the composite nested set of largest mass, per row.

    Labels tied in belief with the last label of that set are included too.
    """
    masses, ordered = _nested_masses(belief, xp)
    # argmax over the composite sets (sizes 2..k); ties go to the smaller set.
    size_index = xp.argmax(masses[:, 1:], axis=1) + 1
    cutoff = xp.take_along_axis(ordered, size_index[:, None], axis=1)
    return belief >= cutoff


class SubjectiveLogicClassifier(_SkcalibTagsMixin, ClassifierMixin, BaseEstimator):
    r"""Flexible classification from subjective-logic opinions on logits.

    Each row of logits ``z`` (n, k) becomes evidence ``e_k >= 0``
    (``evidence="exp"``, ``"softplus"``, ``"relu"``, or ``"identity"`` when
    ``X`` already holds evidence), a Dirichlet ``alpha = e + 1`` of strength
    ``S = sum(alpha) = sum(e) + K``, and a multinomial opinion (Jøsang 2016;
    Sensoy et al. 2018):

    .. math::

        b_k = e_k / S \quad \text{(belief masses)}, \qquad
        u = K / S \quad \text{(ignorance)}, \qquad \sum_k b_k + u = 1,

    with projected probabilities ``alpha / S = b + u / K``
    (:meth:`predict_proba`). The singleton evidence is then re-read as a
    *hyper-opinion* on nested sets of labels, which gives the *confusion*
    (see Notes). Decisions follow Fan et al. (2023):

    - **reject** (ignorant) when ``u > ignorance_threshold_``;
    - otherwise a **set of labels** when ``confusion > confusion_threshold_``;
    - otherwise a **single label**, the one of largest belief.

    Both thresholds are fitted on labelled data (``fit(X, y)``) or given.

    Parameters
    ----------
    evidence : {"exp", "softplus", "relu", "identity"}, default="exp"
        Map from logits to evidence. ``"exp"`` suits networks trained with
        cross-entropy: its ignorance ``K / (sum(exp(z)) + K)`` is a decreasing
        function of ``logsumexp(z)``, i.e. of the negative free energy, a
        standard OOD score (Liu et al. 2020). ``"softplus"`` and ``"relu"``
        are the usual outputs of evidential networks (Sensoy et al. 2018).
        ``"identity"`` takes ``X`` as evidence itself (non-negative).
    confusion_measure : {"composite", "dissonance"}, default="composite"
        ``"composite"``: the mass that the nested hyper-opinion puts on sets
        of two labels or more, ``b_(2) + sum_{j >= 2} b_(j)`` (Notes).
        ``"dissonance"``: Jøsang's belief dissonance, ``sum_x b_x
        sum_{y != x} b_y Bal(x, y) / sum_{y != x} b_y`` with ``Bal(x, y) = 1
        - |b_x - b_y| / (b_x + b_y)`` (Jøsang, Cho and Chen 2018), which
        costs ``O(n k^2)`` (computed in row blocks of bounded memory).
    tpr : float in (0, 1), default=0.95
        When ``ignorance_threshold`` is None: fraction of in-distribution
        inputs to accept. ``ignorance_threshold_`` is the conformal
        ``ceil((n + 1) tpr)``-th smallest ignorance of the ``n`` fit rows
        (weighted with ``sample_weight``), so that a fresh exchangeable input
        is accepted with probability at least ``tpr``.
    target_accuracy : float in (0, 1), default=0.95
        When ``confusion_threshold`` is None: required accuracy of the single
        labels. ``confusion_threshold_`` is the largest confusion of an
        accepted fit row such that the (weighted) accuracy of the accepted fit
        rows with confusion up to it is at least ``target_accuracy``: the
        most single predictions at that accuracy. This is an empirical
        (plug-in) criterion, not a finite-sample guarantee: on fresh data the
        accuracy is ``target_accuracy`` up to sampling error. If no threshold
        reaches it, every accepted input gets a set (with a warning).
    ignorance_threshold : float in [0, 1] or None, default=None
        Fixed ignorance threshold (``tpr`` is then ignored); 1 never rejects.
    confusion_threshold : float in [0, 1] or None, default=None
        Fixed confusion threshold (``target_accuracy`` is then ignored); 1
        never returns a set.
    reject_label : int, float, str or None, default=-1
        Label that :meth:`predict` returns for rejected inputs; it must not be
        a class. None: :meth:`predict` returns the label of largest belief
        for every input (rejections still show in :meth:`predict_set`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` at fit (``n_classes``, or 1 for binary
        decision values).
    ignorance_threshold_ : float
        Inputs with ignorance above it are rejected (``inf`` when too few fit
        rows reach ``tpr``, with a warning).
    confusion_threshold_ : float
        Accepted inputs with confusion above it get a set of labels (``-inf``
        when ``target_accuracy`` is out of reach).
    rejection_rate_ : float
        Fraction of the (weighted) fit rows rejected.
    set_rate_ : float
        Fraction of the (weighted) fit rows given a set of labels.
    single_accuracy_ : float
        Accuracy of the single labels on the fit rows (NaN if none).
    set_coverage_ : float
        Fraction of the fit sets of labels that hold the true label (NaN if
        none).

    See Also
    --------
    skcalib.ood.OODRejectClassifier : Rejects inputs flagged by an OOD
        detector.
    skcalib.conformal.SelectiveConformalClassifier : Abstains to control the
        error rate of accepted predictions.

    Notes
    -----
    **Confusion from singleton evidence.** Sort the evidence ``e_(1) >=
    e_(2) >= ... >= e_(K)`` (``e_(K+1) = 0``) and write it as a sum of
    indicator vectors of the nested sets ``A_j`` of the ``j`` labels with most
    evidence: ``e = sum_j (e_(j) - e_(j+1)) 1_{A_j}``. The amount ``e_(j) -
    e_(j+1)`` supports every label of ``A_j`` equally: it is *conflicting*
    evidence that does not discriminate inside ``A_j``. Counting the ``j``
    units it holds as evidence for the set ``A_j`` gives a hyper-opinion with
    masses

    .. math::

        m(A_j) = j \, (e_{(j)} - e_{(j+1)}) / S = j \, (b_{(j)} - b_{(j+1)}),
        \qquad \sum_j m(A_j) + u = 1,

    whose projected probabilities are exactly ``alpha / S``: the re-reading
    changes no probability, it only says which part of the belief is
    discriminative (``m(A_1) = b_(1) - b_(2)``, the margin) and which is
    shared by several labels. The **confusion** is the mass on composite sets
    (``j >= 2``, what Jøsang calls vagueness),

    .. math:: c = \sum_{j \ge 2} m(A_j) = b_{(2)} + \sum_{j \ge 2} b_{(j)},

    so that ``b_(1) - b_(2) + c + u = 1``: margin, confusion and ignorance
    split the unit mass and are comparable across inputs. The confused set
    returned by :meth:`predict_set` is the composite ``A_j`` of largest mass
    (ties to the smaller set; labels tied in belief with its last label are
    included).

    **Relation to Fan et al. (2023).** They train a network to predict
    Dirichlet parameters of singletons and obtain opinions on label subsets,
    with confusion and ignorance, "via further evidence combinations", using
    ``K`` plausibility functions to span a ``K``-dimensional hypothesis space
    instead of all ``2^K - 2`` subsets. We could not consult their exact
    combination rule and loss; the decomposition above is our reconstruction:
    the ``K`` singleton evidences act as the contour (plausibility) function of
    a consonant evidence assignment over ``K`` nested sets. It departs from
    the paper in that (i) it is post hoc, on the logits of any trained
    classifier, with no subset-aware training, so confusion only reflects how
    evenly the network spreads its evidence; (ii) the subsets are the nested
    top-``j`` sets only; (iii) the thresholds are fitted on labelled data by
    the criteria above rather than chosen by hand.

    For two classes, binary decision values ``x`` of shape (n,) are read as
    the logits ``[0, x]``, as the calibrators do. Everything runs with
    array-API operations on the input's namespace and device (the one used in
    ``fit``: another one raises a ValueError); the thresholds are Python
    floats, and labels from :meth:`predict` are NumPy arrays.

    References
    ----------
    Fan, L., Liu, B., Li, H., Wu, Y. and Hua, G. (2023). Flexible Visual
    Recognition by Evidential Modeling of Confusion and Ignorance. ICCV.

    Sensoy, M., Kaplan, L. and Kandemir, M. (2018). Evidential Deep Learning
    to Quantify Classification Uncertainty. NeurIPS.

    Jøsang, A. (2016). Subjective Logic: A Formalism for Reasoning Under
    Uncertainty. Springer.

    Jøsang, A., Cho, J.-H. and Chen, F. (2018). Uncertainty Characteristics of
    Subjective Opinions. FUSION.

    Liu, W., Wang, X., Owens, J. and Li, Y. (2020). Energy-based
    Out-of-distribution Detection. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.uncertainty._subjective_logic import SubjectiveLogicClassifier
    >>> logits, y = make_classification_logits(4000, 3, random_state=0)
    >>> clf = SubjectiveLogicClassifier(target_accuracy=0.95).fit(logits, y)
    >>> opinion = clf.predict_opinion(np.array([[6.0, 0.0, 0.0],
    ...                                         [5.0, 5.0, 0.0],
    ...                                         [-3.0, -3.0, -3.0]]))
    >>> np.round(opinion.ignorance, 3)
    array([0.007, 0.01 , 0.953])
    >>> np.round(opinion.confusion, 3)
    array([0.007, 0.99 , 0.047])
    >>> clf.predict(np.array([[6.0, 0.0, 0.0], [-3.0, -3.0, -3.0]]))
    array([ 0, -1])
    >>> clf.predict_set(np.array([[6.0, 0.0, 0.0], [5.0, 5.0, 0.0],
    ...                           [-3.0, -3.0, -3.0]]))
    array([[ True, False, False],
           [ True,  True, False],
           [False, False, False]])
    """

    _skcalib_family = "uncertainty"
    _skcalib_input_kind = "logits"

    _parameter_constraints: dict = {
        "evidence": [StrOptions(set(EVIDENCE_FUNCTIONS))],
        "confusion_measure": [StrOptions(set(CONFUSION_MEASURES))],
        "tpr": [Interval(Real, 0, 1, closed="neither")],
        "target_accuracy": [Interval(Real, 0, 1, closed="neither")],
        "ignorance_threshold": [Interval(Real, 0, 1, closed="both"), None],
        "confusion_threshold": [Interval(Real, 0, 1, closed="both"), None],
        "reject_label": [Integral, Real, str, None],
    }

    # The calibrators' validation of logits: shapes, NaN/inf, classes.
    _to_logits = BaseScoreCalibrator._to_logits

    def __init__(
        self,
        *,
        evidence="exp",
        confusion_measure="composite",
        tpr=0.95,
        target_accuracy=0.95,
        ignorance_threshold=None,
        confusion_threshold=None,
        reject_label=-1,
    ):
        self.evidence = evidence
        self.confusion_measure = confusion_measure
        self.tpr = tpr
        self.target_accuracy = target_accuracy
        self.ignorance_threshold = ignorance_threshold
        self.confusion_threshold = confusion_threshold
        self.reject_label = reject_label

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.input_tags.positive_only = self.evidence == "identity"
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the ignorance and confusion thresholds on labelled logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Logits (or evidence with ``evidence="identity"``), or binary
            decision values for two classes.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; a weight of 2 counts a row twice.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        y_shape = getattr(y, "shape", None)
        if y_shape is None and y is not None:
            y_shape = np.asarray(y).shape
        if y_shape is not None and len(y_shape) == 2 and y_shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. "
                "Please change the shape of y to (n_samples,), for example "
                "using ravel().",
                DataConversionWarning,
                stacklevel=2,
            )
        X, y_np, xp, device = BaseScoreCalibrator._validate_fit_data(self, X, y)
        self._fit_placement = (xp.__name__, str(device))
        self.n_features_in_ = 1 if X.ndim == 1 else X.shape[1]
        self._check_input_kind(X, xp=xp)
        logits = self._to_logits(X, xp=xp)
        self._check_reject_label()
        y_idx = move_to(encode_labels(y_np, self.classes_), xp=xp, device=device)
        sample_weight = check_sample_weight(
            sample_weight, X.shape[0], xp=xp, device=device, dtype=logits.dtype
        )
        belief, ignorance = _belief_ignorance(logits, self.evidence, xp)
        confusion = self._confusion_of(belief, xp)
        weight = xp.ones_like(ignorance) if sample_weight is None else sample_weight
        self.ignorance_threshold_ = self._fit_ignorance_threshold(
            ignorance, sample_weight, xp
        )
        accepted = ignorance <= self.ignorance_threshold_
        correct = xp.argmax(belief, axis=1) == y_idx
        accepted_weight = xp.where(accepted, weight, xp.zeros_like(weight))
        if self.confusion_threshold is None:
            self.confusion_threshold_ = self._fit_confusion_threshold(
                confusion, correct, accepted_weight, xp
            )
        else:
            self.confusion_threshold_ = float(self.confusion_threshold)
        self._set_fit_statistics(
            belief, confusion, accepted, correct, y_idx, weight, xp
        )
        return self

    def _check_reject_label(self):
        """``reject_label`` must differ from every class (or be None)."""
        if self.reject_label is None:
            return
        as_object = np.asarray([self.reject_label], dtype=object)
        if np.isin(as_object, self.classes_).any():
            raise ValueError(
                f"reject_label={self.reject_label!r} is one of the classes "
                f"{self.classes_.tolist()[:10]}; choose a label that is not, or "
                "None."
            )

    def _fit_ignorance_threshold(self, ignorance, sample_weight, xp):
        if self.ignorance_threshold is not None:
            return float(self.ignorance_threshold)
        threshold = float(
            conformal_quantile(ignorance, self.tpr, sample_weight=sample_weight, xp=xp)
        )
        if math.isinf(threshold):
            warnings.warn(
                f"{type(self).__name__}: {ignorance.shape[0]} fit row(s) are too "
                f"few to reach tpr={self.tpr} with a finite ignorance threshold "
                "(at least tpr / (1 - tpr) are needed); ignorance_threshold_ is "
                "inf and no input is rejected.",
                UserWarning,
                stacklevel=3,
            )
        return threshold

    def _fit_confusion_threshold(self, confusion, correct, weight, xp):
        """Largest accepted confusion whose cumulative accuracy meets the target."""
        hits = xp.where(correct, weight, xp.zeros_like(weight))
        order, sorted_negative, _, (n_correct, n_total) = _tie_aware_cumsums(
            -confusion, hits, weight, xp=xp
        )
        bound = self.target_accuracy * n_total
        # correct >= target * total, tolerant to the rounding of the product;
        # only values of accepted rows with positive weight are candidates.
        feasible = (
            (n_correct >= bound - 1e-9 * (bound + 1))
            & (n_total > 0)
            & (xp.take(weight, order) > 0)
        )
        position = xp.arange(
            feasible.shape[0], device=get_namespace_and_device(feasible)[1]
        )
        last = int(xp.max(xp.where(feasible, position, -xp.ones_like(position))))
        if last < 0:
            warnings.warn(
                f"{type(self).__name__}: no confusion threshold gives single "
                f"labels with accuracy >= target_accuracy={self.target_accuracy} "
                "on the accepted fit rows; confusion_threshold_ is -inf and every "
                "accepted input gets a set of labels. Lower target_accuracy or "
                "give confusion_threshold.",
                UserWarning,
                stacklevel=3,
            )
            return -math.inf
        return float(-sorted_negative[last])

    def _set_fit_statistics(
        self, belief, confusion, accepted, correct, y_idx, weight, xp
    ):
        """Rejection and set rates, single accuracy and set coverage at fit."""
        confused = accepted & (confusion > self.confusion_threshold_)
        single = accepted & ~confused
        sets = _confused_sets(belief, xp)
        covered = xp.take_along_axis(sets, y_idx[:, None], axis=1)[:, 0]

        def total(mask):
            return float(xp.sum(xp.where(mask, weight, xp.zeros_like(weight))))

        def ratio(numerator, denominator):
            return numerator / denominator if denominator > 0 else math.nan

        n = total(xp.ones_like(accepted))
        self.rejection_rate_ = total(~accepted) / n
        self.set_rate_ = total(confused) / n
        self.single_accuracy_ = ratio(total(single & correct), total(single))
        self.set_coverage_ = ratio(total(confused & covered), total(confused))

    def _check_input_kind(self, X, *, xp):
        """With ``evidence="identity"``, ``X`` must be non-negative evidence."""
        if self.evidence == "identity":
            lowest = float(xp.min(X))
            if lowest < 0:
                raise ValueError(
                    "X must hold non-negative evidence when evidence='identity', "
                    f"got a minimum of {lowest:.6g}. Pass logits with "
                    "evidence='exp', 'softplus' or 'relu' instead."
                )

    def _confusion_of(self, belief, xp):
        if self.confusion_measure == "dissonance":
            return _dissonance(belief, xp)
        return _composite_confusion(belief, xp)

    def _opinion(self, X, method):
        """Validated logits, namespace, singleton beliefs and ignorance."""
        check_is_fitted(self)
        xp, device = get_namespace_and_device(X)
        if (xp.__name__, str(device)) != self._fit_placement:
            raise ValueError(
                f"Inputs passed to {type(self).__name__}.{method}() must use the "
                "same namespace and the same device as those passed to fit(): "
                f"fitted on {self._fit_placement[0]} (device "
                f"{self._fit_placement[1]}), got {xp.__name__} (device {device})."
            )
        logits, xp = BaseScoreCalibrator._validate_predict_scores(self, X)
        belief, ignorance = _belief_ignorance(logits, self.evidence, xp)
        return logits, xp, belief, ignorance

    def belief_masses(self, X):
        """Singleton belief masses ``b_k = e_k / S``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Scores of the same kind as in ``fit``.

        Returns
        -------
        belief : array of shape (n_samples, n_classes)
            Rows sum to ``1 - ignorance``; in ``X``'s namespace, device and
            floating dtype.
        """
        return self._opinion(X, "belief_masses")[2]

    def ignorance(self, X):
        """Ignorance (uncertainty mass) ``u = K / S``: high for lack of evidence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Scores of the same kind as in ``fit``.

        Returns
        -------
        ignorance : array of shape (n_samples,)
            In ``(0, 1]``, in ``X``'s namespace, device and floating dtype.
        """
        return self._opinion(X, "ignorance")[3]

    def confusion(self, X):
        """Confusion: belief that does not discriminate between labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Scores of the same kind as in ``fit``.

        Returns
        -------
        confusion : array of shape (n_samples,)
            ``confusion_measure`` of each row, in ``[0, 1 - ignorance]``, in
            ``X``'s namespace, device and floating dtype.
        """
        _, xp, belief, _ = self._opinion(X, "confusion")
        return self._confusion_of(belief, xp)

    def predict_opinion(self, X):
        """The whole subjective opinion of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Scores of the same kind as in ``fit``.

        Returns
        -------
        opinion : :class:`~sklearn.utils.Bunch`
            With arrays in ``X``'s namespace, device and floating dtype:

            - ``evidence`` (n, k): ``e`` (``inf`` where ``exp`` overflows;
              the other fields stay exact);
            - ``belief`` (n, k): singleton belief masses ``e / S``;
            - ``ignorance`` (n,): ``K / S``;
            - ``confusion`` (n,): the ``confusion_measure``;
            - ``proba`` (n, k): projected probabilities ``alpha / S``;
            - ``nested_masses`` (n, k): column ``j`` is the mass of the set of
              the ``j + 1`` labels of largest belief (Notes); rows sum to
              ``1 - ignorance``;
            - ``label_order`` (n, k): the labels' column indices by decreasing
              belief (ties by increasing index), so that the set of column
              ``j`` of ``nested_masses`` is ``label_order[:, :j + 1]``.
        """
        logits, xp, belief, ignorance = self._opinion(X, "predict_opinion")
        masses, _ = _nested_masses(belief, xp)
        return Bunch(
            evidence=_evidence(logits, self.evidence, xp),
            belief=belief,
            ignorance=ignorance,
            confusion=self._confusion_of(belief, xp),
            proba=belief + ignorance[:, None] / belief.shape[1],
            nested_masses=masses,
            label_order=xp.argsort(belief, axis=1, descending=True, stable=True),
        )

    def predict_proba(self, X):
        """Projected probabilities ``alpha / S = b + u / K`` (the Dirichlet mean).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Scores of the same kind as in ``fit``.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
            In ``X``'s namespace, device and floating dtype.
        """
        _, _, belief, ignorance = self._opinion(X, "predict_proba")
        return belief + ignorance[:, None] / belief.shape[1]

    def _decisions(self, X, method):
        """Beliefs, rejected and confused masks, and the namespace."""
        _, xp, belief, ignorance = self._opinion(X, method)
        rejected = ignorance > self.ignorance_threshold_
        confused = ~rejected & (
            self._confusion_of(belief, xp) > self.confusion_threshold_
        )
        return belief, rejected, confused, xp

    def predict(self, X):
        """Label of largest belief, ``reject_label`` for ignorant inputs.

        Confused inputs get their label of largest belief too (their set is
        given by :meth:`predict_set`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Scores of the same kind as in ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Labels from ``classes_``, and ``reject_label`` where the ignorance
            exceeds ``ignorance_threshold_`` (object dtype when
            ``reject_label`` does not fit the classes' dtype).
        """
        belief, rejected, _, xp = self._decisions(X, "predict")
        labels = self.classes_[to_numpy(xp.argmax(belief, axis=1))]
        if self.reject_label is None:
            return labels
        reject = np.asarray(self.reject_label)
        # Numbers with numbers and strings with strings keep a plain dtype.
        numeric = labels.dtype.kind in "iuf" and reject.dtype.kind in "iuf"
        text = labels.dtype.kind == reject.dtype.kind == "U"
        dtype = np.result_type(labels, reject) if numeric or text else object
        return np.where(to_numpy(rejected), reject.astype(dtype), labels.astype(dtype))

    def predict_set(self, X):
        """Flexible predictions as boolean label sets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_classes) or (n_samples,)
            Scores of the same kind as in ``fit``.

        Returns
        -------
        sets : bool array of shape (n_samples, n_classes)
            Per row: the single label of largest belief; for confused inputs
            the composite nested set of largest mass (at least two labels,
            see Notes); for rejected (ignorant) inputs the **empty** set, so
            ``~sets.any(axis=1)`` marks rejections. In ``X``'s namespace and
            device; columns follow ``classes_``.
        """
        belief, rejected, confused, xp = self._decisions(X, "predict_set")
        _, dev = get_namespace_and_device(belief)
        columns = xp.arange(belief.shape[1], device=dev)
        single = columns[None, :] == xp.argmax(belief, axis=1)[:, None]
        sets = xp.where(confused[:, None], _confused_sets(belief, xp), single)
        return sets & ~rejected[:, None]
