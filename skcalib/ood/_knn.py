"""Deep nearest-neighbour OOD detection on normalised features (Sun et al. 2022)."""

import warnings
from numbers import Integral

from ..utils._array_api import get_namespace_and_device, partition_rows
from ..utils._sklearn_compat import Interval
from ._base import BaseLearnedOODDetector

__all__ = ["KNNDetector"]

# Largest number of entries of one block of squared distances when
# batch_size=None: 2**24 entries is 64 MiB in float32, 128 MiB in float64.
_AUTO_BLOCK_ENTRIES = 2**24


def _normalize_rows(X, *, xp):
    """Rows divided by their Euclidean norm (zero rows stay zero)."""
    norms = xp.sqrt(xp.sum(X * X, axis=1, keepdims=True))
    return X / xp.where(norms > 0, norms, xp.ones_like(norms))


def _kth_largest(values, k, *, xp):
    """The ``k``-th largest entry (1-based) of every row of ``values``."""
    position = values.shape[1] - k
    return partition_rows(values, position, xp=xp)[:, position]


class KNNDetector(BaseLearnedOODDetector):
    r"""Minus the distance to the k-th nearest normalised training feature.

    Features are projected on the unit sphere, :math:`u = x / \lVert x
    \rVert`, and the score of :math:`x` is :math:`-\lVert u - u_{(k)} \rVert`
    where :math:`u_{(k)}` is the :math:`k`-th nearest of the normalised
    training features (Sun et al. 2022). No density is assumed, so it adapts
    to any shape of the in-distribution features.

    The search is exact and brute force: the test rows are processed in
    blocks of ``batch_size``; for each block one matrix product gives the dot
    products with all training features (augmented by one column, so that the
    squared distances :math:`\lVert u \rVert^2 + \lVert t \rVert^2 - 2 u
    \cdot t` follow without another pass), and a selection finds the
    :math:`k`-th nearest per row. Memory is bounded by
    one block of ``batch_size`` x ``n_train`` distances; the full test x
    train matrix is never formed.

    Parameters
    ----------
    n_neighbors : int, default=50
        Rank ``k`` of the neighbour whose distance is the score (Sun et al.
        use 50 on CIFAR-10). Capped, with a warning, at the number of fitting
        samples.
    batch_size : int or None, default=None
        Number of test rows per block. None picks the largest block with at
        most ``2**24`` distances (64 MiB in float32).
    calibration_size : float in (0, 1) or int, default=0.2
        Part of the fit data held out to calibrate ``offset_`` and the
        p-values: a fraction of the samples (rounded up) or a number of
        samples. The other samples are the stored neighbours.
    tpr : float, default=0.95
        Target true-positive rate: ``offset_`` is set so that a fresh
        in-distribution sample is accepted (``predict == 1``) with probability
        at least ``tpr``. Used when ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers; ``offset_`` is the ``contamination`` quantile of
        the scores of all fit data (a stored neighbour is scored in-sample,
        its own nearest neighbour).
    random_state : int, RandomState instance or None, default=None
        Draws the calibration split.

    Attributes
    ----------
    features_ : array of shape (n_train, n_features)
        Normalised training features (the neighbours).
    n_neighbors_ : int
        Rank of the neighbour used, ``min(n_neighbors, n_train)``.
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : array of shape (n_calibration_samples,)
        Sorted scores of the held-out calibration samples.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    MahalanobisDetector : Parametric (Gaussian) distance to class means.

    Notes
    -----
    Sun et al. subsample the training set (a fraction ``alpha`` of it) on
    large data sets; pass a subsample to ``fit`` to do the same.
    pytorch-ood's ``KNN`` returns the distance itself (higher = more OOD).

    References
    ----------
    Sun, Y., Ming, Y., Zhu, X. and Li, Y. (2022). Out-of-distribution
    detection with deep nearest neighbors. ICML.

    Examples
    --------
    >>> from skcalib.datasets import make_ood_features
    >>> from skcalib.metrics import ood_auroc
    >>> from skcalib.ood import KNNDetector
    >>> X, y = make_ood_features(1000, 100, n_features=8, random_state=0)
    >>> is_in = y != -1
    >>> detector = KNNDetector(n_neighbors=10, random_state=0).fit(X[is_in])
    >>> round(ood_auroc(is_in, detector.score_samples(X)), 3)
    0.975
    """

    _parameter_constraints: dict = {
        **BaseLearnedOODDetector._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_neighbors=50,
        batch_size=None,
        calibration_size=0.2,
        tpr=0.95,
        contamination=None,
        random_state=None,
    ):
        self.n_neighbors = n_neighbors
        self.batch_size = batch_size
        self.calibration_size = calibration_size
        self.tpr = tpr
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X, y, *, xp):
        n_train = X.shape[0]
        if self.n_neighbors > n_train:
            warnings.warn(
                f"n_neighbors={self.n_neighbors} is larger than the {n_train} "
                f"fitting sample(s); the distance to the {n_train}-th (farthest) "
                "neighbour is used instead.",
                UserWarning,
            )
        self.n_neighbors_ = min(self.n_neighbors, n_train)
        features = _normalize_rows(X, xp=xp)
        sq_norms = xp.sum(features * features, axis=1)
        # ||u - t||^2 = ||u||^2 + 1 - 2 (u . t + (1 - ||t||^2) / 2) for rows of
        # norm 1 or 0: one product of [u, 1] with the augmented rows
        # [t, (1 - ||t||^2) / 2] gives the bracket, and the nearest neighbours
        # are the largest brackets (no per-distance arithmetic).
        self._augmented = xp.concat([features, ((1 - sq_norms) / 2)[:, None]], axis=1)
        self.features_ = self._augmented[:, : X.shape[1]]

    def _score(self, X, *, xp):
        _, device = get_namespace_and_device(X)
        n, n_train = X.shape[0], self._augmented.shape[0]
        batch = self.batch_size or max(1, _AUTO_BLOCK_ENTRIES // n_train)
        U = _normalize_rows(X, xp=xp)
        sq_norms = xp.sum(U * U, axis=1)
        U = xp.concat([U, xp.ones((n, 1), dtype=U.dtype, device=device)], axis=1)
        scores = []
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            affinity = U[start:stop, ...] @ self._augmented.T
            kth = _kth_largest(affinity, self.n_neighbors_, xp=xp)
            sq_distance = sq_norms[start:stop] + 1 - 2 * kth
            scores.append(-xp.sqrt(xp.clip(sq_distance, 0.0, None)))
        return xp.concat(scores)
