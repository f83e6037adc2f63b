r"""Confidence scores from pairwise confidence preferences (Bradley-Terry / Elo).

:class:`BradleyTerryConfidence` turns judgments "more confident about item
``a`` than about item ``b``" into one confidence score per item, as in
relative confidence estimation (Shrivastava, Kumar & Liang, 2025, "Language
Models Prefer What They Know: Relative Confidence Estimation via Confidence
Preferences"): questions are players, preferences are match outcomes, and a
rank-aggregation model turns the matches into scores.
"""

import math
import warnings
from numbers import Integral, Real

import array_api_compat
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from ..base import _SkcalibTagsMixin
from ..utils._array_api import (
    bincount,
    float_dtype,
    get_namespace_and_device,
    move_to,
    sigmoid,
    to_numpy,
)
from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _check_feature_names,
    _fit_context,
)
from ..utils._validation import check_sample_weight

__all__ = ["BradleyTerryConfidence"]

# Elo's logistic scale: a difference of 400 rating points is a factor 10 in
# the odds of winning.
_ELO_SCALE = 400.0
# Sufficient decrease constant of the backtracking line search.
_ARMIJO = 1e-4


def _as_array(a):
    return a if array_api_compat.is_array_api_obj(a) else np.asarray(a)


class BradleyTerryConfidence(_SkcalibTagsMixin, BaseEstimator):
    r"""Per-item confidence scores from pairwise preferences.

    Each comparison says which of two items (for example two questions a
    language model answered) is preferred -- "more confident about ``a`` than
    about ``b``". Under the Bradley-Terry model item ``i`` has a log-strength
    ``s_i`` and

    .. math::

        P(i \text{ preferred to } j) = \sigma(s_i - s_j)
            = \frac{1}{1 + e^{-(s_i - s_j)}}.

    ``method="bradley_terry"`` maximises the penalised log-likelihood

    .. math::

        \sum_c w_c \left[y_c \log \sigma(s_{a_c} - s_{b_c})
            + (1 - y_c) \log \sigma(s_{b_c} - s_{a_c})\right]
            - \frac{\alpha}{2} \lVert s \rVert^2

    by Newton's method: the Hessian is a weighted graph Laplacian plus
    ``alpha`` times the identity, solved by Jacobi-preconditioned conjugate
    gradients (only sums over the comparisons, never an items x items
    matrix), with a backtracking line search. The L2 penalty (a Gaussian
    prior of variance ``1 / alpha``) makes the maximiser unique and finite,
    also for items that always win or always lose and for items never
    compared (score 0); it has mean zero. ``alpha=0`` gives the plain maximum
    likelihood estimate, which exists only when the graph "``a`` beat ``b``
    at least once" is strongly connected (Ford, 1957; otherwise a
    ``ValueError`` asks for ``alpha > 0``); its scores are centred to mean
    zero.

    ``method="elo"`` runs the Elo rating system: all ratings start equal
    and, for each comparison in turn, the expected outcome
    ``E = 1 / (1 + 10^{(R_b - R_a) / 400})`` moves the ratings by
    ``R_a += k w (y - E)`` and ``R_b -= k w (y - E)``, ``k = k_factor``.
    Elo is an online method: the result depends on the order of the
    comparisons (later matches weigh more), which the Bradley-Terry estimate
    does not. Comparisons are processed in the given order, or in a new
    random order drawn from ``random_state`` at each of the ``n_epochs``
    passes when ``shuffle=True``. Ratings are reported on the Bradley-Terry
    scale, ``scores_ = (R - mean(R)) log(10) / 400``, so ``predict_proba`` is
    Elo's expected score. A ``sample_weight`` of 2 doubles the update of a
    comparison, which is not the same as playing it twice.

    Parameters
    ----------
    method : {"bradley_terry", "elo"}, default="bradley_terry"
        Rank-aggregation model.
    n_items : int or None, default=None
        Number of items; item indices run over ``0 .. n_items - 1``. By
        default one more than the largest index in ``pairs``.
    alpha : float, default=0.01
        L2 penalty on the log-strengths (``method="bradley_terry"``); 0 for
        the unpenalised maximum likelihood estimate.
    max_iter : int, default=100
        Maximum number of Newton iterations (``method="bradley_terry"``).
    tol : float, default=1e-8
        Stop when the Newton step changes no score by more than ``tol``
        (at least a hundred times the floating-point resolution of the
        computation dtype).
    k_factor : float, default=32.0
        Elo's K-factor (``method="elo"``), the largest change of a rating, in
        rating points, after one comparison; 32 is the classic value.
    n_epochs : int, default=1
        Passes over the comparisons (``method="elo"``); the classic Elo system
        makes one.
    shuffle : bool, default=False
        Process the comparisons in a random order at each pass
        (``method="elo"``).
    random_state : int, RandomState instance or None, default=None
        Seeds the order of the comparisons when ``shuffle=True``.

    Attributes
    ----------
    scores_ : array of shape (n_items,)
        Log-strengths ``s_i``, mean zero, in the namespace and on the device
        of ``pairs``. Higher means preferred (more confident).
    confidence_ : array of shape (n_items,)
        ``sigmoid(scores_)``, in ``(0, 1)``: the probability that the item is
        preferred to an item of average log-strength. Monotone in
        ``scores_``, so rankings (and AURC, selective AUC) are the same.
    n_items_ : int
        Number of items.
    n_features_in_ : int
        Always 2 (the two columns of ``pairs``).
    n_iter_ : int
        Newton iterations (Bradley-Terry) or passes (Elo) run.

    See Also
    --------
    TopTwoCrowdAggregator : Aggregates multiple-choice crowd answers.

    Notes
    -----
    The Bradley-Terry fit runs in the namespace and on the device of
    ``pairs`` (one pass over the comparisons per matrix-vector product, a
    few scalars to the host per iteration). Elo is sequential by nature: it
    runs on the host in NumPy and its scores are moved to the input's
    device. The strong-connectivity check for ``alpha=0`` is done on the
    host.

    References
    ----------
    Bradley, R. A. and Terry, M. E. (1952). Rank analysis of incomplete block
    designs: I. The method of paired comparisons. Biometrika.

    Ford, L. R. (1957). Solution of a ranking problem from binary
    comparisons. The American Mathematical Monthly.

    Hunter, D. R. (2004). MM algorithms for generalized Bradley-Terry
    models. The Annals of Statistics.

    Elo, A. E. (1978). The Rating of Chessplayers, Past and Present.

    Shrivastava, V., Kumar, A. and Liang, P. (2025). Language models prefer
    what they know: relative confidence estimation via confidence
    preferences. arXiv:2502.01126.

    Examples
    --------
    Item 0 is preferred to item 1 twice, item 1 to item 2 twice, and each of
    items 0 and 2 once to the other:

    >>> import numpy as np
    >>> from skcalib.uncertainty._bradley_terry import BradleyTerryConfidence
    >>> pairs = np.array([[0, 1], [0, 1], [1, 2], [1, 2], [0, 2], [2, 0]])
    >>> bt = BradleyTerryConfidence(alpha=0).fit(pairs)
    >>> bt.scores_.round(4)  # (x, 0, -x), e^x the real root of t^3 - t^2 - t - 3
    array([ 0.7563,  0.    , -0.7563])
    >>> bt.confidence_.round(3)
    array([0.681, 0.5  , 0.319])
    >>> bt.predict_proba(np.array([[0, 2], [2, 0]])).round(3)
    array([0.819, 0.181])
    """

    _skcalib_family = "uncertainty"
    _skcalib_input_kind = "pairs"

    _parameter_constraints: dict = {
        "method": [StrOptions({"bradley_terry", "elo"})],
        "n_items": [Interval(Integral, 1, None, closed="left"), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "k_factor": [Interval(Real, 0, None, closed="neither")],
        "n_epochs": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        method="bradley_terry",
        n_items=None,
        alpha=0.01,
        max_iter=100,
        tol=1e-8,
        k_factor=32.0,
        n_epochs=1,
        shuffle=False,
        random_state=None,
    ):
        self.method = method
        self.n_items = n_items
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.k_factor = k_factor
        self.n_epochs = n_epochs
        self.shuffle = shuffle
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.target_tags.required = False
        return tags

    # ------------------------------------------------------------------ input
    @staticmethod
    def _check_pairs(pairs, n_items, *, xp, device, fit=False):
        """Validate item-index pairs; return ``(first, second, n_items)``."""
        pairs = _as_array(pairs) if not sp.issparse(pairs) else pairs
        if sp.issparse(pairs) or isinstance(pairs, np.ndarray):
            # scikit-learn's checks: standard messages for sparse, complex,
            # empty, NaN / inf and object inputs.
            pairs = check_array(
                pairs, dtype="numeric", ensure_2d=False, input_name="pairs"
            )
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise ValueError(
                "pairs must have shape (n_comparisons, 2) -- one row of two item "
                f"indices per comparison -- got shape {tuple(pairs.shape)}."
            )
        if pairs.shape[0] == 0:
            raise ValueError("pairs is empty: at least one comparison is needed.")
        pairs = move_to(pairs, xp=xp, device=device)
        if xp.isdtype(pairs.dtype, "real floating"):
            if not bool(xp.all(xp.isfinite(pairs))):
                raise ValueError("Input pairs contains NaN or infinity.")
            if not bool(xp.all(xp.floor(pairs) == pairs)):
                raise ValueError(
                    "pairs must hold integer item indices; got non-integer values."
                )
        elif not xp.isdtype(pairs.dtype, "integral"):
            raise ValueError(
                f"pairs must hold integer item indices, got dtype {pairs.dtype}."
            )
        pairs = xp.astype(pairs, xp.int64)
        low, high = int(xp.min(pairs)), int(xp.max(pairs))
        if low < 0:
            raise ValueError(f"pairs must hold item indices >= 0, got {low}.")
        if n_items is None:
            n_items = high + 1
        elif high >= n_items:
            raise ValueError(
                f"pairs holds item index {high} but n_items={n_items}: indices "
                f"must be in [0, {n_items - 1}]."
            )
        first, second = pairs[:, 0], pairs[:, 1]
        same = first == second
        if fit and bool(xp.any(same)):
            row = int(to_numpy(xp.argmax(xp.astype(same, xp.int8))))
            raise ValueError(
                f"pairs compares an item with itself (row {row}: item "
                f"{int(first[row])}); each comparison needs two distinct items."
            )
        return first, second, n_items

    @staticmethod
    def _check_outcomes(y, n, *, xp, device, dtype):
        if y is None:
            return xp.ones((n,), dtype=dtype, device=device)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(
                f"y must have shape ({n},) -- one outcome per row of pairs -- got "
                f"shape {tuple(y.shape)}."
            )
        if not xp.isdtype(y.dtype, ("bool", "numeric")):
            raise ValueError(f"y must be numeric outcomes in [0, 1], got {y.dtype}.")
        y = xp.astype(y, dtype)
        if not bool(xp.all(xp.isfinite(y))) or not bool(xp.all((y >= 0) & (y <= 1))):
            raise ValueError(
                "y must hold outcomes in [0, 1]: 1 when the first item of the pair "
                "is preferred, 0 when the second is, 0.5 for a tie."
            )
        return y

    # ------------------------------------------------------------- algorithm
    def _check_mle_exists(self, first, second, y, w, n_items):
        """Ford's condition for alpha=0: the win graph is strongly connected."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        a, b = to_numpy(first), to_numpy(second)
        y, w = to_numpy(y), to_numpy(w)
        keep_ab = (y > 0) & (w > 0)  # a beat b (at least partly)
        keep_ba = (y < 1) & (w > 0)
        rows = np.concatenate([a[keep_ab], b[keep_ba]])
        cols = np.concatenate([b[keep_ab], a[keep_ba]])
        graph = coo_matrix(
            (np.ones(rows.shape[0]), (rows, cols)), shape=(n_items, n_items)
        )
        n_comp, _ = connected_components(graph, directed=True, connection="strong")
        if n_comp > 1:
            raise ValueError(
                "With alpha=0 the Bradley-Terry maximum likelihood estimate does "
                "not exist for these comparisons: some items always win (or lose, "
                "or were never compared) against the rest, so their scores go to "
                "infinity (the graph 'a was preferred to b' has "
                f"{n_comp} strongly connected components, 1 is needed). Use "
                "alpha > 0."
            )

    def _fit_bradley_terry(self, first, second, y, w, n_items, *, xp, device, dtype):
        alpha = float(self.alpha)
        tol = max(float(self.tol), 100 * float(xp.finfo(dtype).eps))

        def differences(v):
            return xp.take(v, first) - xp.take(v, second)

        def scatter(t):
            return bincount(first, weights=t, minlength=n_items, xp=xp) - bincount(
                second, weights=t, minlength=n_items, xp=xp
            )

        def objective(s):
            d = differences(s)
            nll = xp.sum(w * (xp.logaddexp(xp.zeros_like(d), d) - y * d))
            return float(nll) + 0.5 * alpha * float(xp.sum(s * s))

        s = xp.zeros((n_items,), dtype=dtype, device=device)
        value = objective(s)
        converged = False
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            prob = sigmoid(differences(s), xp=xp)
            grad = scatter(w * (prob - y)) + alpha * s
            curv = w * prob * (1 - prob)
            diag = (
                bincount(first, weights=curv, minlength=n_items, xp=xp)
                + bincount(second, weights=curv, minlength=n_items, xp=xp)
                + alpha
            )
            diag = xp.where(diag > 0, diag, xp.ones_like(diag))
            step = self._conjugate_gradient(
                lambda v, curv=curv: scatter(curv * differences(v)) + alpha * v,
                -grad,
                diag,
                xp=xp,
            )
            slope = float(xp.sum(grad * step))
            if slope >= 0:  # no descent direction left: converged to precision
                converged = True
                break
            t = 1.0
            for _ in range(40):
                new_value = objective(s + t * step)
                if new_value <= value + _ARMIJO * t * slope:
                    break
                t *= 0.5
            else:
                converged = True  # no decrease possible in this precision
                break
            s = s + t * step
            value = new_value
            if t * float(xp.max(xp.abs(step))) <= tol:
                converged = True
                break
        if not converged:
            warnings.warn(
                f"BradleyTerryConfidence did not converge in max_iter={self.max_iter}"
                " Newton iterations; increase max_iter or alpha.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.n_iter_ = n_iter
        return s - xp.mean(s)

    @staticmethod
    def _conjugate_gradient(matvec, b, diag, *, xp):
        """Jacobi-preconditioned CG for ``H x = b`` (inexact Newton tolerance)."""
        b_norm = float(xp.linalg.vector_norm(b))
        x = xp.zeros_like(b)
        if b_norm == 0:
            return x
        eta = min(0.1, b_norm)
        r = b
        z = r / diag
        p = z
        rz = float(xp.sum(r * z))
        for _ in range(max(10, min(b.shape[0], 1000))):
            Ap = matvec(p)
            pAp = float(xp.sum(p * Ap))
            if pAp <= 0:
                break
            step = rz / pAp
            x = x + step * p
            r = r - step * Ap
            if float(xp.linalg.vector_norm(r)) <= eta * b_norm:
                break
            z = r / diag
            rz_new = float(xp.sum(r * z))
            p = z + (rz_new / rz) * p
            rz = rz_new
        return x

    def _fit_elo(self, first, second, y, w, n_items):
        a = to_numpy(first).tolist()
        b = to_numpy(second).tolist()
        y = to_numpy(y).astype(float).tolist()
        w = to_numpy(w).astype(float).tolist()
        rng = check_random_state(self.random_state)
        k = float(self.k_factor)
        ratings = [0.0] * n_items  # all equal (1500 on the usual scale)
        order = list(range(len(a)))
        for _ in range(self.n_epochs):
            if self.shuffle:
                order = rng.permutation(len(a)).tolist()
            for c in order:
                i, j = a[c], b[c]
                expected = 1.0 / (
                    1.0 + 10.0 ** ((ratings[j] - ratings[i]) / _ELO_SCALE)
                )
                delta = k * w[c] * (y[c] - expected)
                ratings[i] += delta
                ratings[j] -= delta
        self.n_iter_ = self.n_epochs
        ratings = np.asarray(ratings)
        return (ratings - ratings.mean()) * (math.log(10.0) / _ELO_SCALE)

    # ------------------------------------------------------------------- API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, pairs, y=None, sample_weight=None):
        """Fit one score per item from pairwise preferences.

        Parameters
        ----------
        pairs : array-like of shape (n_comparisons, 2)
            Integer item indices ``(a, b)``: by default "``a`` is preferred to
            ``b``" (winner first). Not modified.
        y : array-like of shape (n_comparisons,), default=None
            Outcome of each comparison, in [0, 1]: 1 when ``a`` is preferred,
            0 when ``b`` is, 0.5 for a tie (fractions are fractional wins).
            None means all ones (every row lists the winner first).
        sample_weight : array-like of shape (n_comparisons,), default=None
            Weight of each comparison (integer weights count repeated
            comparisons for Bradley-Terry).

        Returns
        -------
        self : BradleyTerryConfidence
            Fitted estimator.
        """
        _check_feature_names(self, pairs, reset=True)
        xp, device = get_namespace_and_device(
            *(
                a
                for a in (pairs, y, sample_weight)
                if array_api_compat.is_array_api_obj(a)
            )
        )
        first, second, n_items = self._check_pairs(
            pairs, self.n_items, xp=xp, device=device, fit=True
        )
        n = first.shape[0]
        y_in = None if y is None else move_to(_as_array(y), xp=xp, device=device)
        sw_in = sample_weight
        if sample_weight is not None and not isinstance(sample_weight, Real):
            sw_in = move_to(_as_array(sample_weight), xp=xp, device=device)
        dtype = float_dtype(
            xp, *(a for a in (y_in, sw_in) if hasattr(a, "dtype")), device=device
        )
        y = self._check_outcomes(y_in, n, xp=xp, device=device, dtype=dtype)
        w = check_sample_weight(sw_in, n, xp=xp, device=device, dtype=dtype)
        if w is None:
            w = xp.ones((n,), dtype=dtype, device=device)
        self.n_items_ = n_items
        self.n_features_in_ = 2
        if self.method == "elo":
            scores = move_to(
                self._fit_elo(first, second, y, w, n_items), xp=xp, device=device
            )
            scores = xp.astype(scores, dtype)
        else:
            if self.alpha == 0:
                self._check_mle_exists(first, second, y, w, n_items)
            scores = self._fit_bradley_terry(
                first, second, y, w, n_items, xp=xp, device=device, dtype=dtype
            )
        self.scores_ = scores
        self.confidence_ = sigmoid(scores, xp=xp)
        return self

    def decision_function(self, pairs):
        """Log-odds ``s_a - s_b`` that ``a`` is preferred to ``b``, per row.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2)
            Integer item indices in ``[0, n_items_)``.

        Returns
        -------
        logit : array of shape (n_pairs,)
            ``scores_[a] - scores_[b]``, in the namespace of ``pairs``.
        """
        check_is_fitted(self)
        _check_feature_names(self, pairs, reset=False)
        xp, device = get_namespace_and_device(_as_array(pairs), self.scores_)
        first, second, _ = self._check_pairs(pairs, self.n_items_, xp=xp, device=device)
        return xp.take(self.scores_, first) - xp.take(self.scores_, second)

    def predict_proba(self, pairs):
        """Probability that the first item of each pair is preferred.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2)
            Integer item indices in ``[0, n_items_)``.

        Returns
        -------
        proba : array of shape (n_pairs,)
            ``sigmoid(s_a - s_b)``; for Elo, the expected score
            ``1 / (1 + 10^{(R_b - R_a) / 400})``.
        """
        logit = self.decision_function(pairs)
        return sigmoid(logit, xp=get_namespace_and_device(logit)[0])
