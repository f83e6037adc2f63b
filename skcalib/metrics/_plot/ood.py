"""OOD score display: score histograms and the ROC curve with its FPR@TPR point.

matplotlib is imported only when something is drawn, so importing this module
stays cheap and works without matplotlib.
"""

import numbers

import numpy as np

from ...utils._array_api import to_numpy
from .._ood import _ood_counts, _roc_points, fpr_at_tpr, ood_auroc

__all__ = ["OODScoreDisplay"]


def _check_tpr(tpr):
    if (
        isinstance(tpr, (bool, np.bool_))
        or not isinstance(tpr, numbers.Real)
        or not 0 < tpr <= 1
    ):
        raise ValueError(f"tpr must be a float in (0, 1], got {tpr!r}.")
    return float(tpr)


class OODScoreDisplay:
    """Histograms of in-distribution and OOD scores, and the ROC curve.

    The left panel shows the distributions of the scores of in-distribution
    (ID) and out-of-distribution (OOD) samples, with the threshold that
    accepts a fraction ``tpr`` of the ID samples; the right panel shows the
    ROC curve (TPR on ID samples against FPR on OOD samples, higher score =
    in-distribution) with the AUROC and the point at that threshold, whose
    abscissa is the FPR at ``tpr`` (:func:`~skcalib.metrics.fpr_at_tpr`).

    Use :meth:`from_predictions` or :meth:`from_estimator` to create one; the
    parameters are stored as attributes.

    Parameters
    ----------
    scores_in : ndarray of shape (n_in,)
        Scores of the ID samples.
    scores_out : ndarray of shape (n_out,)
        Scores of the OOD samples.
    fpr : ndarray of shape (n_samples + 1,)
        False-positive rates of the ROC curve, from 0 to 1.
    tpr : ndarray of shape (n_samples + 1,)
        True-positive rates of the ROC curve, from 0 to 1.
    auroc : float
        Area under the ROC curve.
    target_tpr : float
        The TPR of the marked point.
    fpr_at_target : float
        FPR at ``target_tpr``.
    threshold : float
        Score threshold reaching ``target_tpr`` (samples scoring at least
        ``threshold`` are accepted).
    name : str or None, default=None
        Name of the detector, for the legend.

    Attributes
    ----------
    ax_ : ndarray of two matplotlib Axes
        The histogram and ROC axes.
    figure_ : matplotlib Figure
    roc_line_ : matplotlib Line2D
        The ROC curve.
    point_ : matplotlib Line2D
        The marked point at ``target_tpr``.

    See Also
    --------
    skcalib.metrics.ood_auroc, skcalib.metrics.fpr_at_tpr

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import OODScoreDisplay
    >>> rng = np.random.default_rng(0)
    >>> y_score = np.r_[rng.normal(2, 1, 500), rng.normal(0, 1, 200)]
    >>> y_true = np.r_[np.ones(500), np.zeros(200)]  # 1 = in-distribution
    >>> display = OODScoreDisplay.from_predictions(y_true, y_score, name="energy")
    >>> round(display.auroc, 2), round(display.fpr_at_target, 2)
    (0.92, 0.29)
    """

    def __init__(
        self,
        *,
        scores_in,
        scores_out,
        fpr,
        tpr,
        auroc,
        target_tpr,
        fpr_at_target,
        threshold,
        name=None,
    ):
        self.scores_in = scores_in
        self.scores_out = scores_out
        self.fpr = fpr
        self.tpr = tpr
        self.auroc = auroc
        self.target_tpr = target_tpr
        self.fpr_at_target = fpr_at_target
        self.threshold = threshold
        self.name = name

    @classmethod
    def from_predictions(
        cls, y_true, y_score, *, tpr=0.95, name=None, ax=None, bins=30, **kwargs
    ):
        """Compute the curve from scores and draw it.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            In-distribution indicator: ``True`` / ``1`` for ID samples,
            ``False`` / ``0`` or ``-1`` for OOD samples.
        y_score : array-like of shape (n_samples,)
            Scores, higher for more in-distribution samples (the
            ``score_samples`` of a detector).
        tpr : float in (0, 1], default=0.95
            TPR of the marked point and of the threshold.
        name : str or None, default=None
            Name of the detector, for the legend.
        ax : sequence of two matplotlib Axes or None, default=None
            Axes for the histogram and the ROC curve; new ones by default.
        bins : int, default=30
            Number of histogram bins.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot` for the ROC curve.

        Returns
        -------
        display : OODScoreDisplay
        """
        target = _check_tpr(tpr)
        xp, dtype, is_in, scores, pos, neg = _ood_counts(y_true, y_score, None)
        _, _, tpr_curve, fpr_curve = _roc_points(scores, pos, neg, xp=xp, dtype=dtype)
        tpr_curve, fpr_curve = to_numpy(tpr_curve), to_numpy(fpr_curve)
        scores_np, is_in_np = to_numpy(scores), to_numpy(is_in).astype(bool)
        # The curve's point i >= 1 accepts the i highest scores; the first one
        # reaching the target gives the threshold (its i-th highest score).
        index = int(np.searchsorted(tpr_curve, target, side="left"))
        threshold = float(np.sort(scores_np)[::-1][index - 1])
        display = cls(
            scores_in=scores_np[is_in_np],
            scores_out=scores_np[~is_in_np],
            fpr=fpr_curve,
            tpr=tpr_curve,
            auroc=ood_auroc(y_true, y_score),
            target_tpr=target,
            fpr_at_target=fpr_at_tpr(y_true, y_score, tpr=target),
            threshold=threshold,
            name=name,
        )
        return display.plot(ax=ax, bins=bins, **kwargs)

    @classmethod
    def from_estimator(
        cls, estimator, X, y_true, *, tpr=0.95, name=None, ax=None, bins=30, **kwargs
    ):
        """Score ``X`` with a fitted detector's ``score_samples`` and draw.

        Parameters
        ----------
        estimator : fitted detector
            Any estimator with ``score_samples`` (higher = in-distribution), such
            as the detectors of :mod:`skcalib.ood` or scikit-learn's outlier
            detectors.
        X : array-like of shape (n_samples, n_features)
            ID and OOD samples.
        y_true : array-like of shape (n_samples,)
            In-distribution indicator (see :meth:`from_predictions`).
        tpr : float in (0, 1], default=0.95
            TPR of the marked point and of the threshold.
        name : str or None, default=None
            Legend name; the estimator's class name by default.
        ax : sequence of two matplotlib Axes or None, default=None
            Axes for the histogram and the ROC curve.
        bins : int, default=30
            Number of histogram bins.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot` for the ROC curve.

        Returns
        -------
        display : OODScoreDisplay
        """
        if not hasattr(estimator, "score_samples"):
            raise ValueError(
                "estimator must have a score_samples method (higher = more "
                f"in-distribution); {type(estimator).__name__} has none."
            )
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y_true,
            estimator.score_samples(X),
            tpr=tpr,
            name=name,
            ax=ax,
            bins=bins,
            **kwargs,
        )

    def plot(self, ax=None, *, name=None, bins=30, **kwargs):
        """Draw the histograms and the ROC curve.

        Parameters
        ----------
        ax : sequence of two matplotlib Axes or None, default=None
            Axes for the histogram and the ROC curve; a new figure with two
            panels by default.
        name : str or None, default=None
            Legend name; ``self.name`` by default.
        bins : int, default=30
            Number of histogram bins.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot` for the ROC curve.

        Returns
        -------
        display : OODScoreDisplay
            With ``ax_``, ``figure_``, ``roc_line_`` and ``point_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
        ax = np.asarray(ax, dtype=object).ravel()
        if ax.shape != (2,):
            raise ValueError(
                "ax must hold two matplotlib Axes (histogram, ROC curve), got "
                f"{ax.shape[0]}."
            )
        hist_ax, roc_ax = ax
        name = self.name if name is None else name
        edges = np.histogram_bin_edges(
            np.concatenate([self.scores_in, self.scores_out]), bins=bins
        )
        hist_ax.hist(
            self.scores_in, bins=edges, alpha=0.6, density=True, label="in-distribution"
        )
        hist_ax.hist(self.scores_out, bins=edges, alpha=0.6, density=True, label="OOD")
        hist_ax.axvline(
            self.threshold,
            color="k",
            linestyle="--",
            label=f"threshold (TPR {self.target_tpr:.0%})",
        )
        hist_ax.set(
            xlabel="score (higher = in-distribution)",
            ylabel="density",
            title=name or "OOD scores",
        )
        hist_ax.legend(loc="best")

        label = f"AUROC = {self.auroc:.3f}"
        if name:
            label = f"{name} ({label})"
        (self.roc_line_,) = roc_ax.plot(self.fpr, self.tpr, label=label, **kwargs)
        # The first point of the curve whose TPR reaches the target.
        index = int(np.searchsorted(self.tpr, self.target_tpr, side="left"))
        (self.point_,) = roc_ax.plot(
            [self.fpr[index]],
            [self.tpr[index]],
            "o",
            color=self.roc_line_.get_color(),
            label=f"FPR at {self.target_tpr:.0%} TPR = {self.fpr_at_target:.3f}",
        )
        roc_ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=1)
        roc_ax.set(
            xlabel="FPR (OOD samples accepted)",
            ylabel="TPR (in-distribution samples accepted)",
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
            aspect="equal",
        )
        roc_ax.legend(loc="lower right")
        self.ax_ = ax
        self.figure_ = roc_ax.figure
        return self
