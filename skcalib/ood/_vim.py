"""Virtual-logit matching (ViM, Wang et al. 2022)."""

from numbers import Integral

from ..utils._array_api import float_dtype, get_namespace_and_device, logsumexp
from ..utils._sklearn_compat import Interval
from ._base import BaseLearnedOODDetector, check_linear_head

__all__ = ["ViMDetector"]


def _default_n_components(n_features):
    """Principal dimension of Wang et al.'s code: 1000, 512 or half the features."""
    if n_features >= 2048:
        return 1000
    if n_features >= 768:
        return 512
    return n_features // 2


class ViMDetector(BaseLearnedOODDetector):
    r"""Virtual-logit matching: feature residual plus logits (Wang et al. 2022).

    With the classifier's last linear layer :math:`z = W x + b` (``coef``,
    ``intercept``), features are centred at :math:`o = -W^{+} b` (the point
    whose logits are all zero) and the principal subspace :math:`P` of the
    centred training features (top ``n_components`` eigenvectors of their
    second-moment matrix) is computed. The norm of the residual outside it,
    :math:`\lVert x^{P^\perp} \rVert`, scaled by
    :math:`\alpha = \overline{\max_k z_k} / \overline{\lVert x^{P^\perp}
    \rVert}` (means over the training features) becomes the logit of a
    virtual OOD class. The score

    .. math::

        \log \sum_k e^{z_k} - \alpha \lVert x^{P^\perp} \rVert

    is a decreasing function of the softmax probability of the virtual class,
    :math:`p_0 = e^{\alpha \lVert x^{P^\perp} \rVert} / (e^{\alpha \lVert
    x^{P^\perp} \rVert} + \sum_k e^{z_k})`, which is ViM's OOD score.

    Without ``coef`` only the residual is used: the features are centred at
    their mean and the score is :math:`-\lVert x^{P^\perp} \rVert`, the
    "Residual" baseline of Wang et al.

    Parameters
    ----------
    coef : array-like of shape (n_classes, n_features) or None, default=None
        Weights of the classifier's last linear layer (``coef_`` of a
        scikit-learn linear model, the weight of a network's last layer). A
        single row stands for binary logits ``[0, w x + b]``.
    intercept : array-like of shape (n_classes,) or None, default=None
        Its biases (zeros when None).
    n_components : int or None, default=None
        Dimension of the principal subspace, in ``[0, n_features)``. None
        follows Wang et al.'s code: 1000 for 2048 features or more, 512 for
        768 or more, half the features otherwise.
    calibration_size : float in (0, 1) or int, default=0.2
        Part of the fit data held out to calibrate ``offset_`` and the
        p-values: a fraction of the samples (rounded up) or a number of
        samples. The subspace and :math:`\alpha` are fitted on the rest.
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
    origin_ : array of shape (n_features,)
        Centre :math:`o` of the features.
    residual_components_ : array of shape (n_residual, n_features)
        Orthonormal basis (rows) of the residual space :math:`P^\perp`, with
        ``n_residual = n_features - n_components_``.
    n_components_ : int
        Dimension of the principal subspace.
    alpha_ : float or None
        Scale :math:`\alpha` of the virtual logit (None without ``coef``).
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : array of shape (n_calibration_samples,)
        Sorted scores of the held-out calibration samples.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    EnergyDetector : The logit part of the score alone.
    MahalanobisDetector : A Gaussian model of the same features.

    Notes
    -----
    pytorch-ood's ``ViM`` returns minus this score (higher = more OOD).

    References
    ----------
    Wang, H., Li, Z., Feng, L. and Zhang, W. (2022). ViM: Out-of-distribution
    with virtual-logit matching. CVPR.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcalib.datasets import make_ood_features
    >>> from skcalib.metrics import ood_auroc
    >>> from skcalib.ood import ViMDetector
    >>> X, y = make_ood_features(1000, 100, n_features=16, random_state=0)
    >>> is_in = y != -1
    >>> clf = LogisticRegression().fit(X[is_in], y[is_in])
    >>> vim = ViMDetector(coef=clf.coef_, intercept=clf.intercept_, random_state=0)
    >>> vim = vim.fit(X[is_in])
    >>> vim.n_components_
    8
    >>> round(ood_auroc(is_in, vim.score_samples(X)), 3)
    1.0
    """

    _parameter_constraints: dict = {
        **BaseLearnedOODDetector._parameter_constraints,
        "coef": ["array-like", None],
        "intercept": ["array-like", None],
        "n_components": [None, Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        coef=None,
        intercept=None,
        n_components=None,
        calibration_size=0.2,
        tpr=0.95,
        contamination=None,
        random_state=None,
    ):
        self.coef = coef
        self.intercept = intercept
        self.n_components = n_components
        self.calibration_size = calibration_size
        self.tpr = tpr
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X, y, *, xp):
        _, device = get_namespace_and_device(X)
        n_samples, n_features = X.shape
        n_components = self.n_components
        if n_components is None:
            n_components = _default_n_components(n_features)
        if n_components >= n_features:
            raise ValueError(
                f"n_components={n_components} must be smaller than the number of "
                f"features, n_features={n_features}: the residual space would be "
                "empty."
            )
        self.n_components_ = int(n_components)
        wide = float_dtype(xp, device=device)
        if self.coef is None:
            self._head = None
            self.origin_ = xp.mean(X, axis=0)
        else:
            # The origin (a pseudo-inverse) and, below, the principal subspace
            # are computed in float64 where the device has it: in float32 both
            # lose several digits.
            W, b = check_linear_head(
                self.coef,
                self.intercept,
                n_features,
                xp=xp,
                device=device,
                dtype=wide,
            )
            self.origin_ = xp.astype(-(xp.linalg.pinv(W) @ b), X.dtype)
            self._head = (xp.astype(W, X.dtype), xp.astype(b, X.dtype))
        centered = xp.astype(X - self.origin_[None, :], wide)
        eigenvalues, eigenvectors = xp.linalg.eigh((centered.T @ centered) / n_samples)
        smallest = xp.argsort(eigenvalues)[: n_features - self.n_components_]
        self.residual_components_ = xp.astype(
            xp.take(eigenvectors, smallest, axis=1).T, X.dtype
        )
        if self._head is None:
            self.alpha_ = None
            return
        residual = float(xp.mean(self._residual_norms(X, xp=xp)))
        max_logit = float(xp.mean(xp.max(self._logits(X), axis=1)))
        if max_logit <= 0 or residual <= 0:
            raise ValueError(
                "ViM scales the virtual logit by alpha = mean max logit / mean "
                f"residual norm of the training features = {max_logit:.6g} / "
                f"{residual:.6g}, which must be positive; check that coef and "
                "intercept are the classifier's last layer for these features."
            )
        self.alpha_ = max_logit / residual

    def _logits(self, X):
        W, b = self._head
        return X @ W.T + b[None, :]

    def _residual_norms(self, X, *, xp):
        residual = (X - self.origin_[None, :]) @ self.residual_components_.T
        return xp.sqrt(xp.sum(residual * residual, axis=1))

    def _score(self, X, *, xp):
        residual = self._residual_norms(X, xp=xp)
        if self._head is None:
            return -residual
        return logsumexp(self._logits(X), axis=1, xp=xp) - self.alpha_ * residual
