r"""Top-two answers and confusion probabilities from multi-choice crowd answers.

:class:`TopTwoCrowdAggregator` implements the top-two model and the two-stage
algorithm of Jeong & Chung, "Recovering Top-Two Answers and Confusion
Probability in Multi-Choice Crowdsourcing" (ICML 2023), followed by an
alternating maximisation of the same model's likelihood.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ..base import _SkcalibTagsMixin
from ..utils._sklearn_compat import Interval, _fit_context
from ..utils._validation import encode_labels

__all__ = ["TopTwoCrowdAggregator"]

# Parameter ranges of the authors' reference implementation: reliabilities in
# [0.001, 0.999], probabilities of the true answer within the top two in
# [0.501, 0.999]. They keep every likelihood term finite and the top-two order
# strict.
_P_MIN, _P_MAX = 0.001, 0.999
_Q_MIN, _Q_MAX = 0.501, 0.999
# Inner iterations: task step (pair / q alternation) and bracketed Newton.
_TASK_ITER = 50
_NEWTON_ITER = 50
_NEWTON_TOL = 1e-12


def _top2(scores):
    """Indices of the largest and second largest entry of each row.

    Ties go to the smallest index (like a stable sort of ``-scores``).
    """
    rows = np.arange(scores.shape[0])
    first = np.argmax(scores, axis=1)
    rest = scores.copy()
    rest[rows, first] = -np.inf
    return first, np.argmax(rest, axis=1)


def _bracketed_newton(derivatives, lo, hi, x0):
    """Maximise concave functions of one variable on ``[lo, hi]``, elementwise.

    ``derivatives(x, sel)`` returns the first and second derivatives (the
    second negative) of the functions ``sel`` (an index array) at ``x``. Newton
    steps are kept inside a bracket of the root of the first derivative
    (bisection when they leave it), so the iteration converges whatever the
    curvature; only the functions not yet converged are evaluated.
    """
    everything = np.arange(x0.shape[0])
    d_lo, _ = derivatives(np.full_like(x0, lo), everything)
    d_hi, _ = derivatives(np.full_like(x0, hi), everything)
    x = np.clip(x0, lo, hi)
    x = np.where(d_lo <= 0, lo, np.where(d_hi >= 0, hi, x))
    sel = np.flatnonzero((d_lo > 0) & (d_hi < 0))
    a = np.full(sel.shape[0], lo)
    b = np.full(sel.shape[0], hi)
    for _ in range(_NEWTON_ITER):
        if sel.shape[0] == 0:
            break
        xs = x[sel]
        d1, d2 = derivatives(xs, sel)
        a = np.where(d1 > 0, xs, a)
        b = np.where(d1 <= 0, xs, b)
        new = xs - d1 / np.where(d2 < 0, d2, -np.inf)
        new = np.where((new > a) & (new < b), new, 0.5 * (a + b))
        x[sel] = new
        going = (np.abs(new - xs) > _NEWTON_TOL) & (b - a > _NEWTON_TOL)
        sel, a, b = sel[going], a[going], b[going]
    return x


class TopTwoCrowdAggregator(_SkcalibTagsMixin, BaseEstimator):
    r"""Top-two answers, confusion probabilities and worker reliabilities.

    Aggregates the answers of crowd workers to multiple-choice tasks under the
    *top-two model* of Jeong & Chung (ICML 2023). Each task ``i`` has a true
    answer ``g_i`` and a most confusing answer ``h_i != g_i``, and a
    probability ``q_i`` in ``(1/2, 1]`` of telling them apart; each worker
    ``j`` has a reliability ``p_j`` in ``[0, 1]``. With ``K`` answer choices,
    worker ``j`` answers task ``i`` with

    .. math::

        P(a_{ij} = k) = \frac{1 - p_j}{K}
            + p_j \left(q_i [k = g_i] + (1 - q_i) [k = h_i]\right),

    i.e. with probability ``p_j`` the worker answers among the top two (the
    true answer with probability ``q_i``), otherwise uniformly at random
    among the ``K`` choices; answers are independent given the parameters.
    The *confusion probability* of the task is ``1 - q_i``.

    **Algorithm.** Stages 1 and 2 follow the paper and the authors' reference
    implementation (MATLAB, github.com/Hyeonsu-Jeong/TopTwo):

    1. *Spectral stage.* For each threshold ``k = 1 .. K - 1`` the answers
       become a tasks x workers matrix of ``-1`` (answer among the first
       ``k`` choices), ``+1`` (other answers) and ``0`` (missing), centred by
       its expectation under random guessing, ``s (K - 2k) / K`` with ``s``
       the fraction of answered entries. Its expectation has rank one with
       worker factor ``p``; the top right singular vectors (sign fixed to a
       positive sum) are averaged over the thresholds and clipped to
       ``[0, 1]``. Projecting the matrices on this vector and differencing
       over consecutive thresholds gives, per task, a score for each choice
       proportional to ``q_i [k = g_i] + (1 - q_i) [k = h_i] - 1/K``; its two
       largest entries are the initial top two, and each worker's initial
       reliability is ``(f_j - 2/K) / (1 - 2/K)``, ``f_j`` the fraction of its
       answers among the initial top two.
    2. *Maximum likelihood stage* (the *task step*, given the reliabilities
       ``p``). Each ``q_i`` starts from the moment estimate
       ``1/K + sum_j p_j ([a_ij = g_i] - 1/K) / sum_j p_j^2`` at the top two
       ``(g_i, h_i)`` of the reliability-weighted vote (the paper's stage-1
       estimate of ``q_i``, with the reliabilities in place of the spectral
       vector), then the top two maximise the task's likelihood,
       ``(g_i, h_i) = argmax_{a != b} sum_{j: a_ij = a} log(1 + K q_i p_j / (1 - p_j))
       + sum_{j: a_ij = b} log(1 + K (1 - q_i) p_j / (1 - p_j))``
       (the paper's stage 2, solved exactly in ``O(K)`` per task). Beyond the
       paper, this pair maximisation and the exact maximisation over ``q_i``
       given the pair (concave in one variable, bracketed Newton) then
       alternate until neither changes.

    Beyond the paper, the reliabilities are then refined by coordinate ascent
    on the joint likelihood: a *worker step* sets each ``p_j`` to the
    maximiser of ``sum_i log((1 - p_j)/K + p_j c_ij)``, ``c_ij`` the
    probability the task estimates give to the worker's answer among the top
    two (concave in one variable, bracketed Newton), and the task step is run
    again, until no reliability changes by more than ``tol`` (at most
    ``max_iter`` worker steps; ``max_iter=0`` keeps the stage-1 reliabilities).
    The results are those of the last task step, a function of ``A`` and the
    reliabilities only. As in the reference implementation, reliabilities are
    kept in ``[0.001, 0.999]`` and ``q_i`` in ``[0.501, 0.999]``, so
    ``confusion_`` is in ``[0.001, 0.499]``.

    Parameters
    ----------
    classes : array-like of shape (n_classes,), default=None
        The answer choices (numbers). By default the distinct answers found in
        ``A``. Pass them when some choice was never picked: the number of
        choices ``K`` enters the model through random guessing. At least
        three are needed (with two choices the top two are both choices and
        only the products ``p_j (2 q_i - 1)`` are identifiable).
    missing_value : int, float or None, default=-1
        The entry of ``A`` that marks a task a worker did not answer. ``NaN``
        entries are always missing as well; ``None`` means only ``NaN``.
    max_iter : int, default=100
        Maximum number of worker steps of the refinement (0: none).
    tol : float, default=1e-6
        Stop the refinement when no reliability changes by more than ``tol``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The answer choices, sorted.
    top_two_ : ndarray of shape (n_tasks, 2)
        Estimated true answer (column 0) and most confusing answer (column 1)
        of each task of the fitted matrix, as labels from ``classes_``.
    confusion_ : ndarray of shape (n_tasks,)
        Estimated confusion probability ``1 - q_i`` of each fitted task.
    worker_reliability_ : ndarray of shape (n_workers,)
        Estimated reliability ``p_j`` of each worker (``0.001`` for a worker
        without answers: treated as a spammer).
    n_features_in_ : int
        Number of workers (columns of ``A``).
    n_iter_ : int
        Number of worker steps run by the refinement.

    See Also
    --------
    BradleyTerryConfidence : Confidence scores from pairwise preferences.

    Notes
    -----
    **Transductive use.** ``A`` is the tasks x workers answer matrix, so the
    rows are the samples and the workers are the features. ``fit`` estimates
    every parameter from ``A``; the per-task results are the attributes above
    (and :meth:`fit_predict`). :meth:`predict` and :meth:`predict_proba` take
    answers to *tasks* (new or not) by the *same workers*, in the same column
    order, and run the task step with the fitted reliabilities: on the fitted
    matrix they reproduce ``top_two_`` and ``confusion_`` exactly. New answers
    do not update the reliabilities; refit on the stacked matrix for that.

    **Soft labels.** :meth:`predict_proba` returns the top-two soft labels of
    the paper: ``q_i`` on the top answer, ``1 - q_i`` on the second and zero
    elsewhere, i.e. the distribution of a reliable worker's answer.

    A task nobody answered has no information: it gets the first two classes
    and confusion ``0.499``.

    The algorithm works on integer answer codes with data-dependent loops;
    it runs on NumPy (no array-API dispatch).

    References
    ----------
    Jeong, H. and Chung, H. W. (2023). Recovering top-two answers and
    confusion probability in multi-choice crowdsourcing. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.uncertainty._crowd import TopTwoCrowdAggregator
    >>> A = np.array([[0, 0, 0, 1, 2],
    ...               [1, 1, 1, 1, 0],
    ...               [2, 2, 0, 2, -1],
    ...               [0, 1, 0, 0, 0]])
    >>> agg = TopTwoCrowdAggregator().fit(A)
    >>> agg.top_two_
    array([[0, 1],
           [1, 0],
           [2, 0],
           [0, 1]])
    >>> agg.confusion_.round(3)
    array([0.25 , 0.001, 0.25 , 0.25 ])
    >>> agg.worker_reliability_
    array([0.999, 0.999, 0.999, 0.999, 0.001])
    >>> agg.predict(A)
    array([0, 1, 2, 0])
    >>> agg.predict_proba(A[:1]).round(3)
    array([[0.75, 0.25, 0.  ]])
    """

    _skcalib_family = "uncertainty"

    _parameter_constraints: dict = {
        "classes": ["array-like", None],
        "missing_value": [Real, None],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, classes=None, missing_value=-1, max_iter=100, tol=1e-6):
        self.classes = classes
        self.missing_value = missing_value
        self.max_iter = max_iter
        self.tol = tol

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = False
        return tags

    # ------------------------------------------------------------------ input
    def _missing_mask(self, A):
        missing = np.isnan(A) if A.dtype.kind == "f" else np.zeros(A.shape, bool)
        if self.missing_value is not None and not np.isnan(self.missing_value):
            missing = missing | (A == self.missing_value)
        return missing

    def _fit_classes(self, A, missing):
        observed = np.unique(A[~missing])
        if self.classes is None:
            classes = observed
        else:
            classes = np.asarray(self.classes)
            if classes.ndim != 1 or classes.dtype.kind not in "biuf":
                raise ValueError(
                    "classes must be a 1-D array of numeric answer choices, got "
                    f"{self.classes!r}."
                )
            if np.unique(classes).shape[0] != classes.shape[0]:
                raise ValueError(f"classes must not repeat a choice, got {classes}.")
            if self.missing_value is not None and np.any(classes == self.missing_value):
                raise ValueError(
                    f"classes contains missing_value={self.missing_value!r}; pick "
                    "another missing_value."
                )
            classes = np.sort(classes)
            unknown = np.setdiff1d(observed, classes)
            if unknown.size:
                raise ValueError(
                    f"A contains answers that are not in classes: "
                    f"{unknown[:10].tolist()}; expected answers among "
                    f"{classes.tolist()} (or missing_value={self.missing_value!r})."
                )
        if classes.shape[0] < 3:
            raise ValueError(
                "TopTwoCrowdAggregator needs at least 3 answer choices, got "
                f"{classes.shape[0]} ({classes.tolist()}): with two choices the "
                "top two are both choices and only p_j (2 q_i - 1) is "
                "identifiable. Pass classes= if some choices were never picked."
            )
        return classes

    def _encode(self, A, missing, classes):
        idx = np.full(A.shape, -1, dtype=np.int64)
        idx[~missing] = encode_labels(A[~missing], classes, name="A")
        return idx

    # ------------------------------------------------------------- algorithm
    @staticmethod
    def _spectral_top_two(idx, n_classes):
        """Stage 1 of Jeong & Chung: spectral scores, initial top two."""
        n_tasks, n_workers = idx.shape
        observed = idx >= 0
        frac = observed.mean()
        us, mats = [], []
        for k in range(1, n_classes):
            B = np.where(observed, np.where(idx < k, -1.0, 1.0), 0.0)
            B -= frac * (n_classes - 2 * k) / n_classes
            if n_workers <= n_tasks:
                _, vecs = np.linalg.eigh(B.T @ B)
                u = vecs[:, -1]
            else:
                _, vecs = np.linalg.eigh(B @ B.T)
                u = B.T @ vecs[:, -1]
                norm = np.linalg.norm(u)
                u = u / norm if norm > 0 else np.ones(n_workers) / n_workers**0.5
            us.append(u if u.sum() > 0 else -u)
            mats.append(B)
        u = np.clip(np.mean(us, axis=0), 0.0, 1.0)
        w = np.zeros((n_tasks, n_classes + 1))
        for k, B in enumerate(mats, start=1):
            w[:, k] = B @ u / (2 * frac)
        scores = -(w[:, 1:] - w[:, :-1])
        return _top2(scores)

    @staticmethod
    def _initial_reliability(idx, g, h, n_classes):
        observed = idx >= 0
        in_top2 = (idx == g[:, None]) | (idx == h[:, None])
        degree = observed.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = in_top2.sum(axis=0) / degree
        p = (frac - 2 / n_classes) / (1 - 2 / n_classes)
        return np.where(degree > 0, np.clip(p, _P_MIN, _P_MAX), _P_MIN)

    @staticmethod
    def _class_sums(idx, values, n_classes):
        """``out[i, k] = sum_j values[i, j] [idx[i, j] == k]`` (missing: skipped)."""
        n_tasks = idx.shape[0]
        rows = np.broadcast_to(np.arange(n_tasks)[:, None], idx.shape)
        observed = idx >= 0
        flat = rows[observed] * n_classes + idx[observed]
        vals = np.broadcast_to(values, idx.shape)[observed]
        return np.bincount(flat, weights=vals, minlength=n_tasks * n_classes).reshape(
            n_tasks, n_classes
        )

    def _task_step(self, idx, p, n_classes):
        """Top two and ``q`` of each task given the reliabilities ``p``."""
        observed = idx >= 0
        r = n_classes * p / (1 - p)
        # Moment start: reliability-weighted vote and the paper's q estimate.
        votes = self._class_sums(idx, p[None, :], n_classes)
        g, h = _top2(votes)
        rows = np.arange(idx.shape[0])
        p_obs = np.where(observed, p[None, :], 0.0)
        denom = np.sum(p_obs**2, axis=1)
        centred = votes[rows, g] - p_obs.sum(axis=1) / n_classes
        with np.errstate(invalid="ignore", divide="ignore"):
            q = 1 / n_classes + centred / denom
        q = np.where(denom > 0, np.clip(q, _Q_MIN, _Q_MAX), _Q_MIN)
        for _ in range(_TASK_ITER):
            # Exact pair step: argmax_{a != b} G_a + H_b.
            G = self._class_sums(idx, np.log1p(q[:, None] * r[None, :]), n_classes)
            H = self._class_sums(
                idx, np.log1p((1 - q)[:, None] * r[None, :]), n_classes
            )
            a1, a2 = _top2(G)
            b1, b2 = _top2(H)
            same = a1 == b1
            keep_a1 = G[rows, a1] + H[rows, b2] >= G[rows, a2] + H[rows, b1]
            new_g = np.where(same & ~keep_a1, a2, a1)
            new_h = np.where(same, np.where(keep_a1, b2, b1), b1)
            # Exact q step given the pair.
            is_g = (idx == new_g[:, None]) & observed
            is_h = (idx == new_h[:, None]) & observed
            r_g = np.where(is_g, r[None, :], 0.0)
            r_h = np.where(is_h, r[None, :], 0.0)

            def derivatives(x, sel, r_g=r_g, r_h=r_h):
                rg, rh = r_g[sel], r_h[sel]
                tg = rg / (1 + rg * x[:, None])
                th = rh / (1 + rh * (1 - x)[:, None])
                return (
                    tg.sum(axis=1) - th.sum(axis=1),
                    -(tg**2).sum(axis=1) - (th**2).sum(axis=1),
                )

            new_q = _bracketed_newton(derivatives, _Q_MIN, _Q_MAX, q)
            done = (
                np.array_equal(new_g, g)
                and np.array_equal(new_h, h)
                and np.max(np.abs(new_q - q), initial=0.0) <= 1e-10
            )
            g, h, q = new_g, new_h, new_q
            if done:
                break
        return g, h, q

    @staticmethod
    def _worker_step(idx, g, h, q, p, n_classes):
        """Reliabilities maximising the likelihood given the task estimates."""
        observed = idx >= 0
        c = np.where(
            idx == g[:, None],
            q[:, None],
            np.where(idx == h[:, None], (1 - q)[:, None], 0.0),
        )
        d = np.where(observed, c - 1 / n_classes, 0.0).T
        has_answers = observed.any(axis=0)

        def derivatives(x, sel):
            ds = d[sel]
            t = ds / (1 / n_classes + x[:, None] * ds)
            return t.sum(axis=1), -(t**2).sum(axis=1)

        new_p = _bracketed_newton(derivatives, _P_MIN, _P_MAX, p)
        return np.where(has_answers, new_p, _P_MIN)

    # ------------------------------------------------------------------- API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, A, y=None):
        """Estimate the top two answers, confusions and worker reliabilities.

        Parameters
        ----------
        A : array-like of shape (n_tasks, n_workers)
            ``A[i, j]`` is worker ``j``'s answer to task ``i`` (a number among
            the answer choices), or ``missing_value`` / ``NaN`` when worker
            ``j`` did not answer task ``i``. Not modified.
        y : None
            Ignored; there are no labels.

        Returns
        -------
        self : TopTwoCrowdAggregator
            Fitted estimator.
        """
        A = validate_data(self, A, dtype="numeric", ensure_all_finite="allow-nan")
        missing = self._missing_mask(A)
        if missing.all():
            raise ValueError(
                "A has no answers: every entry is missing (NaN or "
                f"missing_value={self.missing_value!r})."
            )
        self.classes_ = self._fit_classes(A, missing)
        n_classes = self.classes_.shape[0]
        idx = self._encode(A, missing, self.classes_)

        g, h = self._spectral_top_two(idx, n_classes)
        p = self._initial_reliability(idx, g, h, n_classes)
        g, h, q = self._task_step(idx, p, n_classes)
        self.n_iter_, converged = 0, self.max_iter == 0
        while self.n_iter_ < self.max_iter and not converged:
            new_p = self._worker_step(idx, g, h, q, p, n_classes)
            delta = float(np.max(np.abs(new_p - p)))
            p = new_p
            g, h, q = self._task_step(idx, p, n_classes)
            self.n_iter_ += 1
            converged = delta <= self.tol
        if not converged:
            warnings.warn(
                f"TopTwoCrowdAggregator did not converge in max_iter="
                f"{self.max_iter} worker steps (last change of a reliability "
                f"{delta:.3g} > tol={self.tol}); increase max_iter.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.worker_reliability_ = p
        self.top_two_ = self.classes_[np.stack([g, h], axis=1)]
        self.confusion_ = 1 - q
        return self

    def fit_predict(self, A, y=None):
        """Fit on ``A`` and return the estimated true answer of each task.

        Parameters
        ----------
        A : array-like of shape (n_tasks, n_workers)
            Answer matrix, as in :meth:`fit`.
        y : None
            Ignored.

        Returns
        -------
        answers : ndarray of shape (n_tasks,)
            ``top_two_[:, 0]``.
        """
        return self.fit(A).top_two_[:, 0].copy()

    def _predict_tasks(self, A):
        check_is_fitted(self)
        A = validate_data(
            self, A, dtype="numeric", ensure_all_finite="allow-nan", reset=False
        )
        missing = self._missing_mask(A)
        idx = self._encode(A, missing, self.classes_)
        return self._task_step(idx, self.worker_reliability_, self.classes_.shape[0])

    def predict(self, A):
        """Estimated true answer of each task, given the fitted reliabilities.

        Parameters
        ----------
        A : array-like of shape (n_tasks, n_workers)
            Answers of the fitted workers (same columns) to some tasks; on the
            fitted matrix this returns ``top_two_[:, 0]``.

        Returns
        -------
        answers : ndarray of shape (n_tasks,)
            Labels from ``classes_``.
        """
        g, _, _ = self._predict_tasks(A)
        return self.classes_[g]

    def predict_proba(self, A):
        """Top-two soft labels of each task, given the fitted reliabilities.

        Parameters
        ----------
        A : array-like of shape (n_tasks, n_workers)
            Answers of the fitted workers (same columns) to some tasks.

        Returns
        -------
        proba : ndarray of shape (n_tasks, n_classes)
            ``1 - confusion`` on the estimated true answer, ``confusion`` on
            the most confusing answer, 0 elsewhere; columns follow
            ``classes_``.
        """
        g, h, q = self._predict_tasks(A)
        proba = np.zeros((g.shape[0], self.classes_.shape[0]))
        rows = np.arange(g.shape[0])
        proba[rows, g] = q
        proba[rows, h] = 1 - q
        return proba
