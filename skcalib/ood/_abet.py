"""Post-hoc ablated learned temperature energy (AbeT, LeVine et al. 2024)."""

from numbers import Integral, Real

from ..utils._array_api import float_dtype, get_namespace_and_device, logsumexp
from ..utils._sklearn_compat import Interval, StrOptions
from ._base import BaseLearnedOODDetector, _class_means, check_linear_head

__all__ = ["LearnedTemperatureEnergyDetector"]

# The log inverse temperature a.x + c is kept in [-_LOG_T_BOUND, _LOG_T_BOUND].
_LOG_T_BOUND = 15.0


def _nll_terms(shifted, shifted_sq, shifted_true, inv_temperature, *, xp):
    """Per-sample NLL of ``softmax(u_i g_i)`` and its derivatives in ``s = log u``.

    ``shifted = g - max_k g`` (rows), ``shifted_true`` its entry at the label
    and ``inv_temperature`` the per-sample ``u_i > 0``. With ``p_i =
    softmax(u_i g_i)``, ``G_i = E_p[g] - g_y`` and ``V_i = Var_p[g]``:
    ``nll_i = log sum exp(u_i shifted_i) - u_i shifted_true_i``,
    ``d nll_i / d s_i = u_i G_i`` and ``d^2 nll_i / d s_i^2 = u_i G_i +
    u_i^2 V_i``. One pass over the class scores.
    """
    e = xp.exp(inv_temperature[:, None] * shifted)
    total = xp.sum(e, axis=1)
    mean = xp.vecdot(e, shifted, axis=-1) / total
    variance = xp.clip(xp.vecdot(e, shifted_sq, axis=-1) / total - mean**2, 0.0, None)
    nll = xp.log(total) - inv_temperature * shifted_true
    return nll, mean - shifted_true, variance


class LearnedTemperatureEnergyDetector(BaseLearnedOODDetector):
    r"""Ablated learned-temperature energy (AbeT), fitted post hoc on frozen features.

    AbeT (LeVine et al. 2024) gives a classifier an input-dependent
    temperature :math:`T(x)`, learned with the ordinary cross-entropy of
    :math:`\operatorname{softmax}(g(x) / T(x))` on in-distribution data only,
    and scores inputs with the energy of the temperature-scaled class scores
    *without* the temperature factor in front ("ablated"):

    .. math::

        \mathrm{score}(x) = \log \sum_k \exp\bigl(g_k(x) / T(x)\bigr)

    (the paper's OOD score is its negation; higher here means more
    in-distribution). The usual energy :math:`T \log \sum_k e^{g_k / T}` with
    a learned :math:`T(x)` would multiply by :math:`T(x)` again, which the
    paper shows undoes much of the separation.

    The paper trains the whole network with the temperature head. This
    estimator is the **post-hoc** version for a frozen feature extractor: it
    fits only the temperature head on in-distribution features and labels.
    Precisely:

    * class scores :math:`g(x)`: the logits :math:`W x + b` of the given last
      layer (``coef``, ``intercept``); without ``coef``, a prototype head from
      the class means :math:`\mu_c` (G-ODIN's heads, Hsu et al. 2020): by
      default (``head="distance"``) minus half the squared standardised
      Euclidean distance, :math:`g_c(x) = -\tfrac12 \lVert (x - \mu_c) / s
      \rVert^2`, or (``head="cosine"``) AbeT's cosine,
      :math:`g_c(x) = \cos(x - m, \mu_c - m)` (:math:`m` and :math:`s` the
      mean and standard deviations of the fitting features);
    * temperature head: :math:`1 / T(x) = \exp(a^\top \tilde x + c)` on the
      standardised features :math:`\tilde x`, clipped at prediction time to
      the range it takes on the fitting data. The paper's head
      :math:`\sigma(\mathrm{BN}(a^\top x + c))` is a function of the same
      linear form at inference (batch norm is affine there); the log-linear
      form lets :math:`T` cover :math:`(0, \infty)`, which unbounded logits
      need, and makes the fit below well behaved;
    * fit: :math:`(a, c)` minimise the mean negative log-likelihood of the
      labels under :math:`\operatorname{softmax}(g(x) / T(x))` plus
      :math:`\tfrac{\alpha}{2} \lVert a \rVert^2`, by Newton's method on the
      device (one pass over the class scores and one :math:`(d+1)^2` system
      per iteration; negative curvature is clipped, steps are backtracked).

    Why the defaults: a temperature fitted on in-distribution data alone says
    nothing about inputs far from it, and a linear log-temperature
    extrapolates without bound. With the cosine head (no distance term) or a
    weak penalty, far-away inputs then get an arbitrary temperature and the
    detector's AUROC varies wildly with the data split (from 0.28 to 1.0
    over 40 splits of ``make_ood_features(shift="far")`` with
    ``head="cosine"``, from 0.02 with ``alpha=1e-3`` as well).
    The distance head makes the score fall like :math:`-\lVert x \rVert^2`
    far from the data, the clipped temperature cannot undo that, and
    ``alpha=0.1`` keeps the head smooth: AUROC 1.0 on all 40 far-shift
    splits and 0.71 (median) on near shift, close to
    :class:`MahalanobisDetector`'s 0.72.

    Parameters
    ----------
    head : {"distance", "cosine"}, default="distance"
        Class scores from the class means when ``coef`` is None: minus half
        the squared standardised distance to each class mean, or the cosine
        to each centred class mean (ignored with ``coef``).
    coef : array-like of shape (n_classes, n_features) or None, default=None
        Weights of the classifier's last linear layer; its rows follow the
        sorted labels of ``y``. A single row stands for binary logits
        ``[0, w x + b]``. None uses the prototype head chosen by ``head``.
    intercept : array-like of shape (n_classes,) or None, default=None
        Biases of the last layer (zeros when None).
    alpha : float, default=0.1
        L2 penalty on the temperature head's weights ``a`` (the features are
        standardised, so it does not depend on their scale). Small values
        fit the in-distribution NLL better but extrapolate worse.
    max_iter : int, default=100
        Maximum number of Newton iterations.
    tol : float, default=1e-6
        Stop when the largest Newton step component is below ``tol``.
    calibration_size : float in (0, 1) or int, default=0.2
        Part of the fit data held out to calibrate ``offset_`` and the
        p-values: a fraction of the samples (rounded up) or a number of
        samples. The temperature head is fitted on the rest.
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
    location_ : array of shape (n_features,)
        Mean of the fitting features.
    scale_ : array of shape (n_features,)
        Their standard deviations (1 for constant features).
    prototypes_ : array of shape (n_classes, n_features) or None
        Centred class means :math:`\mu_c - m` of the prototype head (None
        with ``coef``).
    temperature_coef_ : array of shape (n_features,)
        Weights ``a`` of the log inverse temperature.
    temperature_intercept_ : float
        Its intercept ``c``.
    log_inv_temperature_range_ : tuple of float
        Smallest and largest :math:`a^\top \tilde x + c` on the fitting
        data; prediction clips to it.
    n_iter_ : int
        Number of Newton iterations run.
    offset_ : float
        Threshold on ``score_samples``.
    calibration_scores_ : array of shape (n_calibration_samples,)
        Sorted scores of the held-out calibration samples.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    EnergyDetector : The energy with a fixed temperature, from logits.

    References
    ----------
    LeVine, W., Pikus, B., Phillips, J., Norman, B., Amat Gil, F. and Hendryx,
    S. (2024). Out-of-distribution detection & applications with ablated
    learned temperature energy. arXiv:2401.12129.

    Hsu, Y.-C., Shen, Y., Jin, H. and Kira, Z. (2020). Generalized ODIN:
    Detecting out-of-distribution image without learning from
    out-of-distribution data. CVPR.

    Examples
    --------
    >>> from skcalib.datasets import make_ood_features
    >>> from skcalib.metrics import ood_auroc
    >>> from skcalib.ood import LearnedTemperatureEnergyDetector
    >>> X, y = make_ood_features(1000, 100, n_features=8, random_state=0)
    >>> is_in = y != -1
    >>> abet = LearnedTemperatureEnergyDetector(random_state=0)
    >>> abet = abet.fit(X[is_in], y[is_in])
    >>> bool(ood_auroc(is_in, abet.score_samples(X)) > 0.9)
    True
    """

    _y_usage = "required"
    _parameter_constraints: dict = {
        **BaseLearnedOODDetector._parameter_constraints,
        "head": [StrOptions({"distance", "cosine"})],
        "coef": ["array-like", None],
        "intercept": ["array-like", None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        head="distance",
        coef=None,
        intercept=None,
        alpha=0.1,
        max_iter=100,
        tol=1e-6,
        calibration_size=0.2,
        tpr=0.95,
        contamination=None,
        random_state=None,
    ):
        self.head = head
        self.coef = coef
        self.intercept = intercept
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.calibration_size = calibration_size
        self.tpr = tpr
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X, y, *, xp):
        _, device = get_namespace_and_device(X)
        y_idx = self._encode_labels(
            y, X.shape[0], xp=xp, device=device, require_two_classes=True
        )
        n_classes = self.classes_.shape[0]
        self.location_ = xp.mean(X, axis=0)
        std = xp.std(X, axis=0)
        self.scale_ = xp.where(std > 0, std, xp.ones_like(std))
        if self.coef is None:
            self._head = None
            means, _ = _class_means(X, y_idx, n_classes, xp=xp, device=device)
            self.prototypes_ = means - self.location_[None, :]
        else:
            self._head = check_linear_head(
                self.coef,
                self.intercept,
                X.shape[1],
                xp=xp,
                device=device,
                dtype=X.dtype,
            )
            self.prototypes_ = None
            if self._head[0].shape[0] != n_classes:
                raise ValueError(
                    f"coef gives {self._head[0].shape[0]} logits but y has "
                    f"{n_classes} classes {self.classes_.tolist()[:10]}; the rows "
                    "of coef must follow the sorted labels."
                )
        self._fit_temperature(X, y_idx, xp=xp, device=device)

    def _class_scores(self, X, *, xp):
        """``g(x)``: the given layer's logits, or the prototype head's scores."""
        if self._head is not None:
            W, b = self._head
            return X @ W.T + b[None, :]
        centered = X - self.location_[None, :]
        if self.head == "distance":
            z = centered / self.scale_[None, :]
            p = self.prototypes_ / self.scale_[None, :]
            sq = (
                xp.sum(z * z, axis=1)[:, None]
                - 2 * (z @ p.T)
                + xp.sum(p * p, axis=1)[None, :]
            )
            return -0.5 * xp.clip(sq, 0.0, None)
        norms = xp.sqrt(xp.sum(centered * centered, axis=1))
        proto_norms = xp.sqrt(xp.sum(self.prototypes_ * self.prototypes_, axis=1))
        denom = norms[:, None] * proto_norms[None, :]
        dots = centered @ self.prototypes_.T
        return dots / xp.where(denom > 0, denom, xp.ones_like(denom))

    def _log_inv_temperature(self, X, *, xp):
        """``a . x_std + c``, clipped to the range seen on the fitting data."""
        standardized = (X - self.location_[None, :]) / self.scale_[None, :]
        s = standardized @ self.temperature_coef_ + self.temperature_intercept_
        low, high = self.log_inv_temperature_range_
        return xp.clip(s, low, high)

    def _fit_temperature(self, X, y_idx, *, xp, device):
        # The optimisation runs in float64 where the device has it, so that
        # the optimum (and the tol stopping rule) does not depend on float32
        # rounding; the fitted head is then stored in X's dtype.
        dtype = float_dtype(xp, device=device)
        n, d = X.shape
        g = xp.astype(self._class_scores(X, xp=xp), dtype)
        shifted = g - xp.max(g, axis=1, keepdims=True)
        shifted_sq = shifted * shifted
        shifted_true = xp.take_along_axis(shifted, y_idx[:, None], axis=1)[:, 0]
        design = xp.concat(
            [
                xp.astype((X - self.location_[None, :]) / self.scale_[None, :], dtype),
                xp.ones((n, 1), dtype=dtype, device=device),
            ],
            axis=1,
        )
        penalty = xp.concat(
            [
                xp.full((d,), float(self.alpha), dtype=dtype, device=device),
                xp.zeros((1,), dtype=dtype, device=device),
            ]
        )
        theta = xp.zeros((d + 1,), dtype=dtype, device=device)

        def objective(theta):
            s = xp.clip(design @ theta, -_LOG_T_BOUND, _LOG_T_BOUND)
            u = xp.exp(s)
            nll, G, V = _nll_terms(shifted, shifted_sq, shifted_true, u, xp=xp)
            value = float(xp.mean(nll)) + 0.5 * float(xp.sum(penalty * theta**2))
            return value, u, G, V

        value, u, G, V = objective(theta)
        # Tiny ridge: the intercept has no penalty and V can vanish.
        regularizer = (
            xp.eye(d + 1, dtype=dtype, device=device) * (penalty + 1e-10)[None, :]
        )
        self.n_iter_ = 0
        while self.n_iter_ < self.max_iter:
            self.n_iter_ += 1
            grad = design.T @ (u * G) / n + penalty * theta
            curvature = (u * u * V + xp.clip(u * G, 0.0, None)) / n
            hessian = (design.T * curvature[None, :]) @ design + regularizer
            step = -xp.linalg.solve(hessian, grad[:, None])[:, 0]
            if float(xp.max(xp.abs(step))) <= self.tol:
                theta = theta + step
                break
            for _ in range(30):  # backtracking: the objective must decrease
                candidate = objective(theta + step)
                if candidate[0] <= value + 1e-12 * abs(value):
                    break
                step = step / 2
            else:
                break  # no decrease along the Newton direction: converged
            theta = theta + step
            value, u, G, V = candidate
        self.temperature_coef_ = xp.astype(theta[:d], X.dtype)
        self.temperature_intercept_ = float(theta[d])
        s = xp.clip(design @ theta, -_LOG_T_BOUND, _LOG_T_BOUND)
        self.log_inv_temperature_range_ = (float(xp.min(s)), float(xp.max(s)))

    def _score(self, X, *, xp):
        inv_temperature = xp.exp(self._log_inv_temperature(X, xp=xp))
        g = self._class_scores(X, xp=xp)
        return logsumexp(inv_temperature[:, None] * g, axis=1, xp=xp)
