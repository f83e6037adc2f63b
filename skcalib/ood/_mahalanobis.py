"""Mahalanobis-distance detectors on features (Lee et al. 2018; Ren et al. 2021)."""

from numbers import Real

import numpy as np

from ..utils._array_api import float_dtype, get_namespace_and_device, move_to, to_numpy
from ..utils._sklearn_compat import Interval, StrOptions, _fit_context
from ._base import BaseLearnedOODDetector, _class_means, _one_hot

__all__ = ["MahalanobisDetector", "RelativeMahalanobisDetector"]


# Largest number of entries of a block of rows cast to the accumulation dtype
# in _gram: 2**22 entries is 32 MiB in float64.
_GRAM_BLOCK_ENTRIES = 2**22


def _gram(X, *, xp):
    """``X^T X`` accumulated in float64 where the device has it.

    float32 rows are cast to float64 one block of rows at a time, so that the
    extra memory stays bounded while the sums (and the covariance, Cholesky
    factor and whitening computed from them) keep float64 precision.
    """
    _, device = get_namespace_and_device(X)
    dtype = float_dtype(xp, device=device)
    if X.dtype == dtype:
        return X.T @ X
    n, d = X.shape
    rows = max(1, _GRAM_BLOCK_ENTRIES // d)
    total = xp.zeros((d, d), dtype=dtype, device=device)
    for start in range(0, n, rows):
        block = xp.astype(X[start : min(start + rows, n), ...], dtype)
        total = total + block.T @ block
    return total


def _ledoit_wolf_shrinkage(gram, n, fourth_moment, *, xp):
    """Ledoit-Wolf shrinkage of the covariance of ``n`` centred rows ``X``.

    The formula of :func:`sklearn.covariance.ledoit_wolf_shrinkage` with
    ``assume_centered=True``, from the moments ``gram = X^T X`` and
    ``fourth_moment = sum((X * X)^T (X * X)) = sum_i ||x_i||^4``.
    """
    d = gram.shape[0]
    variances = xp.linalg.diagonal(gram) / n
    mu = float(xp.sum(variances)) / d
    beta_ = float(fourth_moment)
    delta_ = float(xp.sum(gram**2)) / n**2
    beta = (beta_ / n - delta_) / (d * n)
    delta = (delta_ - 2 * mu * float(xp.sum(variances)) + d * mu**2) / d
    beta = min(beta, delta)
    return 0.0 if beta == 0 else beta / delta


def _covariance(X_centered, shrinkage, *, xp):
    """Maximum-likelihood covariance of centred rows, shrunk toward a scaled identity.

    Returns ``(covariance, shrinkage)`` with ``(1 - a) S + a (tr(S) / d) I``,
    ``a`` being ``shrinkage`` (0 for None, Ledoit-Wolf's for ``"auto"``), as
    :class:`sklearn.covariance.ShrunkCovariance` does. The covariance is in
    float64 where the device has it (see :func:`_gram`).
    """
    return _covariance_from_moments(
        _gram(X_centered, xp=xp),
        X_centered.shape[0],
        shrinkage,
        lambda: xp.sum(_gram(X_centered * X_centered, xp=xp)),
        xp=xp,
    )


def _covariance_from_moments(gram, n, shrinkage, fourth_moment, *, xp):
    """:func:`_covariance` from ``gram = X^T X`` of ``n`` centred rows.

    ``fourth_moment`` is a function returning ``sum_i ||x_i||^4``, called only
    for Ledoit-Wolf's shrinkage. (Dask arrays sum these moments over their
    blocks: :mod:`skcalib.utils._dask_fit`.)
    """
    _, device = get_namespace_and_device(gram)
    d = gram.shape[0]
    covariance = gram / n
    if shrinkage is None:
        return covariance, 0.0
    if shrinkage == "auto":
        shrinkage = _ledoit_wolf_shrinkage(gram, n, fourth_moment(), xp=xp)
    shrinkage = float(shrinkage)
    mu = float(xp.sum(xp.linalg.diagonal(covariance))) / d
    eye = xp.eye(d, dtype=covariance.dtype, device=device)
    return (1 - shrinkage) * covariance + (shrinkage * mu) * eye, shrinkage


def _whitening(covariance, *, eps, xp):
    """Matrix ``A`` with ``||x A||^2 = x^T covariance^+ x`` for every row ``x``.

    ``A = L^{-T}`` from the Cholesky factor ``covariance = L L^T``. A
    covariance that is singular at the data's precision ``eps`` (a constant
    feature, fewer samples than features, a pivot ``L_jj^2`` below ``d * eps``
    times the largest variance) falls back to ``A = V diag(lambda^{-1/2})``
    over the eigenpairs above ``d * eps * lambda_max``: the pseudo-inverse, as
    :func:`scipy.linalg.pinvh` (and so scikit-learn's ``EmpiricalCovariance``)
    computes it.
    """
    _, device = get_namespace_and_device(covariance)
    d = covariance.shape[0]
    tolerance = d * eps
    try:
        factor = xp.linalg.cholesky(covariance)
        pivots = xp.linalg.diagonal(factor) ** 2
        usable = bool(xp.all(xp.isfinite(factor))) and float(
            xp.min(pivots)
        ) > tolerance * float(xp.max(xp.linalg.diagonal(covariance)))
    except (ValueError, RuntimeError):  # not positive definite
        usable = False
    if usable:
        eye = xp.eye(d, dtype=covariance.dtype, device=device)
        return xp.linalg.solve(factor, eye).T
    eigenvalues, eigenvectors = xp.linalg.eigh(covariance)
    cutoff = float(xp.max(eigenvalues)) * tolerance
    safe = xp.where(eigenvalues > cutoff, eigenvalues, xp.ones_like(eigenvalues))
    inv_sqrt = xp.where(
        eigenvalues > cutoff, 1 / xp.sqrt(safe), xp.zeros_like(eigenvalues)
    )
    return eigenvectors * inv_sqrt[None, :]


def _fit_gaussian(X_centered, shrinkage, *, xp):
    """``(covariance, whitening, shrinkage)`` in ``X_centered``'s dtype."""
    covariance, shrinkage = _covariance(X_centered, shrinkage, xp=xp)
    return _gaussian(covariance, shrinkage, X_centered.dtype, xp=xp)


def _gaussian(covariance, shrinkage, dtype, *, xp):
    """``(covariance, whitening, shrinkage)`` in ``dtype``, from the covariance."""
    eps = float(xp.finfo(dtype).eps)
    whitening = _whitening(covariance, eps=eps, xp=xp)
    return xp.astype(covariance, dtype), xp.astype(whitening, dtype), shrinkage


class MahalanobisDetector(BaseLearnedOODDetector):
    r"""Minimum Mahalanobis distance to the class means (Lee et al. 2018).

    Class-conditional Gaussians with class means :math:`\mu_c` and one tied
    covariance :math:`\Sigma` are fitted to in-distribution features (for
    example a network's penultimate layer); the score of a feature vector
    :math:`x` is

    .. math::

        -\min_c \, (x - \mu_c)^\top \Sigma^{-1} (x - \mu_c).

    Without ``y`` all samples form one class (a single Gaussian).

    The whitening matrix :math:`A = L^{-\top}` (:math:`\Sigma = L L^\top`,
    Cholesky) is computed once in ``fit``, together with the whitened class
    means :math:`m_c = (\mu_c - \bar x) A`. Scoring is then one matrix product
    of the centred features with :math:`[A, A m^\top]`, giving :math:`z = (x -
    \bar x) A` and :math:`z \cdot m_c`; the nearest class minimises
    :math:`\lVert m_c \rVert^2 - 2 z \cdot m_c` and its squared distance
    :math:`\lVert z - m_c \rVert^2` is taken directly (no cancellation in
    float32). The covariance and its factorisation are accumulated in float64
    where the device has it. A singular covariance falls back to its
    pseudo-inverse (as scikit-learn's
    :class:`~sklearn.covariance.EmpiricalCovariance`).

    Classes can be added, or their means refined, with :meth:`partial_fit`
    without re-estimating the covariance: Lee et al.'s class-incremental use.

    Parameters
    ----------
    shrinkage : None, "auto" or float in [0, 1], default=None
        Shrinkage of the tied covariance toward :math:`(\operatorname{tr}
        \Sigma / d) I`: ``(1 - a) Sigma + a tr(Sigma) / d I``. None keeps the
        maximum-likelihood estimate (Lee et al.), ``"auto"`` uses the
        Ledoit-Wolf coefficient, a float is used as given. Shrinkage helps
        when features are many compared with samples.
    calibration_size : float in (0, 1) or int, default=0.2
        Part of the fit data held out to calibrate ``offset_`` and the
        p-values: a fraction of the samples (rounded up) or a number of
        samples. The model is fitted on the rest.
    tpr : float, default=0.95
        Target true-positive rate: ``offset_`` is set so that a fresh
        in-distribution sample is accepted (``predict == 1``) with probability
        at least ``tpr``. Used when ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers; ``offset_`` is the ``contamination`` quantile of
        the scores of all fit data (the fitting part scored in-sample).
    random_state : int, RandomState instance or None, default=None
        Draws the calibration split.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``[0]`` when fitted without ``y``).
    class_count_ : int64 array of shape (n_classes,)
        Number of fitting samples of each class.
    means_ : array of shape (n_classes, n_features)
        Class means.
    location_ : array of shape (n_features,)
        Mean of the fitting samples (the centre of the whitening).
    covariance_ : array of shape (n_features, n_features)
        Tied within-class covariance, after shrinkage.
    shrinkage_ : float
        Shrinkage coefficient applied.
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : array of shape (n_calibration_samples,)
        Sorted scores of the held-out calibration samples.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    RelativeMahalanobisDetector : Subtracts a background Gaussian's distance.
    KNNDetector : Non-parametric distance to the training features.

    Notes
    -----
    :meth:`partial_fit` keeps the held-out calibration features (one array of
    shape (n_calibration_samples, n_features)) to rescore them against the
    updated class means. pytorch-ood's ``Mahalanobis`` (without input
    perturbation) returns the negated score.

    References
    ----------
    Lee, K., Lee, K., Lee, H. and Shin, J. (2018). A simple unified framework
    for detecting out-of-distribution samples and adversarial attacks.
    NeurIPS.

    Examples
    --------
    >>> from skcalib.datasets import make_ood_features
    >>> from skcalib.ood import MahalanobisDetector
    >>> X, y = make_ood_features(1000, 100, n_features=8, random_state=0)
    >>> is_in = y != -1
    >>> detector = MahalanobisDetector(random_state=0).fit(X[is_in], y[is_in])
    >>> float((detector.predict(X[is_in]) == 1).mean()) > 0.9
    True
    >>> float((detector.predict(X[~is_in]) == -1).mean())
    1.0
    """

    _y_usage = "optional"
    _parameter_constraints: dict = {
        **BaseLearnedOODDetector._parameter_constraints,
        "shrinkage": [
            None,
            StrOptions({"auto"}),
            Interval(Real, 0, 1, closed="both"),
        ],
    }

    def __init__(
        self,
        *,
        shrinkage=None,
        calibration_size=0.2,
        tpr=0.95,
        contamination=None,
        random_state=None,
    ):
        self.shrinkage = shrinkage
        self.calibration_size = calibration_size
        self.tpr = tpr
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X, y, *, xp):
        _, device = get_namespace_and_device(X)
        y_idx = self._encode_labels(
            y,
            X.shape[0],
            xp=xp,
            device=device,
            require_two_classes=self._y_usage == "required",
        )
        self.means_, counts = _class_means(
            X, y_idx, self.classes_.shape[0], xp=xp, device=device
        )
        self.class_count_ = xp.astype(xp.round(counts), xp.int64)
        self.location_ = xp.mean(X, axis=0)
        centered = X - xp.take(self.means_, y_idx, axis=0)
        self.covariance_, self._whitening, self.shrinkage_ = _fit_gaussian(
            centered, self.shrinkage, xp=xp
        )
        self._fit_background(X, xp=xp)
        self._update_projection(xp=xp)

    def _fit_background(self, X, *, xp):
        """Hook: extra Gaussians fitted on all training rows (none here)."""

    def _update_projection(self, *, xp):
        """Fuse the whitening and the whitened class means into one matrix."""
        self._whitened_means = (self.means_ - self.location_[None, :]) @ self._whitening
        self._mean_sq_norms = xp.sum(
            self._whitened_means * self._whitened_means, axis=1
        )
        self._projection = xp.concat(
            [self._whitening, self._whitening @ self._whitened_means.T], axis=1
        )

    def _min_class_distance(self, projected, *, xp):
        """``min_c`` squared Mahalanobis distance from the fused projection.

        The product gives ``z`` and ``z . m_c``, so ``||m_c||^2 - 2 z . m_c``
        (``||z - m_c||^2`` up to the row constant ``||z||^2``) picks the
        nearest class. That expansion cancels badly when the whitened means
        are far apart (well-separated classes) in float32, so the distance to
        the chosen mean is then computed directly, ``||z - m_c||^2``: one more
        pass over ``z``, exact to the working precision.
        """
        d = self._whitening.shape[1]
        z = projected[:, :d]
        cross = projected[:, d:]
        nearest = xp.argmin(self._mean_sq_norms[None, :] - 2 * cross, axis=1)
        diff = z - xp.take(self._whitened_means, nearest, axis=0)
        return xp.sum(diff * diff, axis=1)

    def _score(self, X, *, xp):
        projected = (X - self.location_[None, :]) @ self._projection
        return -self._min_class_distance(projected, xp=xp)

    def _fit_calibrate(self, X_fit, y_fit, X_cal, *, xp):
        super()._fit_calibrate(X_fit, y_fit, X_cal, xp=xp)
        self._calibration_X = X_cal

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add classes, or refine class means, without refitting the covariance.

        On an unfitted detector this is :meth:`fit`. Otherwise ``X`` is split
        like in ``fit``: the fitting part updates the running means of the
        classes in ``y`` (new labels become new classes) while ``location_``
        and ``covariance_`` stay fixed; the calibration part joins the stored
        calibration features, all of which are rescored against the updated
        means to reset ``offset_`` and the p-values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            In-distribution features.
        y : array-like of shape (n_samples,), default=None
            Their labels (class ``0`` when fitted without ``y``).

        Returns
        -------
        self : object
            The updated detector.
        """
        if not hasattr(self, "offset_"):
            return self.fit(X, y)
        if self.contamination is not None:
            raise ValueError(
                "partial_fit recalibrates the tpr threshold only; with "
                f"contamination={self.contamination!r} the threshold depends on "
                "all fit data, so refit the detector instead."
            )
        self._check_same_namespace(X, "partial_fit")
        xp, device = get_namespace_and_device(X, self.means_)
        X = self._validate_X(X, xp=xp, reset=False)
        y = self._validate_y(y, X)
        if y is None:
            if self.classes_.shape[0] > 1:
                raise ValueError(
                    f"{type(self).__name__}.partial_fit needs y: the detector "
                    f"was fitted with {self.classes_.shape[0]} classes."
                )
            y = np.full(X.shape[0], self.classes_[0])
        X_fit, y_fit, X_cal = self._calibration_split(X, y, xp=xp)
        self._add_class_samples(X_fit, y_fit, xp=xp, device=device)
        self._calibration_X = xp.concat([self._calibration_X, X_cal], axis=0)
        self._set_thresholds(self._score(self._calibration_X, xp=xp), xp=xp)
        return self

    def _add_class_samples(self, X, y, *, xp, device):
        """Update ``classes_``, ``class_count_`` and ``means_`` with rows ``X``."""
        classes = np.union1d(self.classes_, y)
        n_classes = classes.shape[0]
        old_idx = np.searchsorted(classes, self.classes_)
        new_idx = np.searchsorted(classes, y)
        counts = np.bincount(new_idx, minlength=n_classes)
        counts[old_idx] += to_numpy(self.class_count_)
        # Per-class sums of the old means (times their counts) and the new
        # rows, gathered by one one-hot product: no indexed assignment.
        old_sums = self.means_ * xp.astype(self.class_count_, X.dtype)[:, None]
        labels = move_to(np.concatenate([old_idx, new_idx]), xp=xp, device=device)
        one_hot = _one_hot(labels, n_classes, dtype=X.dtype, xp=xp, device=device)
        sums = one_hot.T @ xp.concat([old_sums, X], axis=0)
        self.classes_ = classes
        self.class_count_ = move_to(counts.astype(np.int64), xp=xp, device=device)
        self.means_ = sums / xp.astype(self.class_count_, X.dtype)[:, None]
        self._update_projection(xp=xp)


class RelativeMahalanobisDetector(MahalanobisDetector):
    r"""Relative Mahalanobis distance (Ren et al. 2021).

    Fits, like :class:`MahalanobisDetector`, class means :math:`\mu_c` and a
    tied covariance :math:`\Sigma`, plus one *background* Gaussian
    :math:`\mathcal N(\mu_0, \Sigma_0)` on all training features regardless of
    their class. With :math:`\mathrm{MD}_c(x) = (x - \mu_c)^\top \Sigma^{-1}
    (x - \mu_c)` and :math:`\mathrm{MD}_0` the background's, the score is

    .. math::

        -\min_c \bigl[\mathrm{MD}_c(x) - \mathrm{MD}_0(x)\bigr]
        = \mathrm{MD}_0(x) - \min_c \mathrm{MD}_c(x).

    Subtracting the background distance removes the directions shared by all
    classes (dominated by generic, non-discriminative features), which makes
    near-OOD detection more reliable than the plain Mahalanobis score. Both
    whitenings and the class means enter one fused matrix product at scoring.

    Parameters
    ----------
    shrinkage : None, "auto" or float in [0, 1], default=None
        Shrinkage of both covariances toward a scaled identity (see
        :class:`MahalanobisDetector`).
    calibration_size : float in (0, 1) or int, default=0.2
        Part of the fit data held out to calibrate ``offset_`` and the
        p-values: a fraction of the samples (rounded up) or a number of
        samples. The model is fitted on the rest.
    tpr : float, default=0.95
        Target true-positive rate: ``offset_`` is set so that a fresh
        in-distribution sample is accepted (``predict == 1``) with probability
        at least ``tpr``. Used when ``contamination`` is None.
    contamination : float in (0, 0.5] or None, default=None
        scikit-learn's alternative to ``tpr``: the fraction of the fit data
        taken to be outliers; ``offset_`` is the ``contamination`` quantile of
        the scores of all fit data (the fitting part scored in-sample).
    random_state : int, RandomState instance or None, default=None
        Draws the calibration split.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    class_count_ : int64 array of shape (n_classes,)
        Number of fitting samples of each class.
    means_ : array of shape (n_classes, n_features)
        Class means.
    location_ : array of shape (n_features,)
        Mean of the fitting samples, the background mean :math:`\mu_0`.
    covariance_ : array of shape (n_features, n_features)
        Tied within-class covariance, after shrinkage.
    background_covariance_ : array of shape (n_features, n_features)
        Covariance :math:`\Sigma_0` of all fitting samples, after shrinkage.
    shrinkage_ : float
        Shrinkage coefficient applied to the tied covariance.
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : array of shape (n_calibration_samples,)
        Sorted scores of the held-out calibration samples.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    MahalanobisDetector

    References
    ----------
    Ren, J., Fort, S., Liu, J., Roy, A. G., Padhy, S. and Lakshminarayanan, B.
    (2021). A simple fix to Mahalanobis distance for improving near-OOD
    detection. arXiv:2106.09022.

    Examples
    --------
    >>> from skcalib.datasets import make_ood_features
    >>> from skcalib.ood import RelativeMahalanobisDetector
    >>> X, y = make_ood_features(1000, 100, n_features=8, random_state=0)
    >>> is_in = y != -1
    >>> detector = RelativeMahalanobisDetector(random_state=0)
    >>> detector = detector.fit(X[is_in], y[is_in])
    >>> scores = detector.score_samples(X)
    >>> bool(scores[is_in].mean() > scores[~is_in].mean())
    True
    """

    _y_usage = "required"

    def _fit_background(self, X, *, xp):
        centered = X - self.location_[None, :]
        self.background_covariance_, self._background_whitening, _ = _fit_gaussian(
            centered, self.shrinkage, xp=xp
        )

    def _update_projection(self, *, xp):
        super()._update_projection(xp=xp)
        self._projection = xp.concat(
            [self._projection, self._background_whitening], axis=1
        )

    def _score(self, X, *, xp):
        projected = (X - self.location_[None, :]) @ self._projection
        n_class_columns = self._whitening.shape[1] + self.means_.shape[0]
        z0 = projected[:, n_class_columns:]
        background = xp.sum(z0 * z0, axis=1)
        return background - self._min_class_distance(
            projected[:, :n_class_columns], xp=xp
        )
