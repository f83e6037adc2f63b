"""Reliability diagram display (binned or kernel-smoothed), with bootstrap bands.

matplotlib is imported only when something is drawn, so importing this module
(and :mod:`skcalib.metrics`) stays cheap and works without matplotlib.
"""

import numbers
import weakref

import array_api_compat
import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ...utils._array_api import to_numpy
from ...utils._validation import check_proba_targets
from .._bootstrap import bootstrap_confidence_interval
from .._calibration import (
    _smooth_reliability_curve,
    reliability_curve,
    smooth_ece,
)

__all__ = ["ReliabilityDisplay"]

_MULTI_CLASS = ("top_label", "classwise")
_STRATEGIES = ("uniform", "quantile")
_REF_LINE_LABEL = "Perfectly calibrated"
# Parts of the smoothed curve where the kernel density of the predictions is
# below this (the uniform density on [0, 1] is 1) are not drawn: with no data
# there, the curve is an artefact of the density regulariser.
_MIN_SMOOTH_DENSITY = 0.02

# Histogram axes attached below a reliability axes, so that a second display
# plotted on the same axes adds its histogram to the same panel.
_HIST_AXES = weakref.WeakKeyDictionary()


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _as_numpy(a):
    """Any array-API array, list or pandas object -> NumPy array (or None)."""
    if a is None:
        return None
    if array_api_compat.is_array_api_obj(a):
        return to_numpy(a)
    return np.asarray(a)


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a bool, got {value!r}.")
    return bool(value)


def _check_int(value, name, *, min_value):
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or value < min_value
    ):
        raise ValueError(f"{name} must be an integer >= {min_value}, got {value!r}.")
    return int(value)


def _check_option(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}."
        )
    return value


def _check_confidence_level(value):
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not 0 < value < 1
    ):
        raise ValueError(f"confidence_level must be a float in (0, 1), got {value!r}.")
    return float(value)


def _check_class_index(class_index, n_classes):
    """None -> all classes; int or sequence of ints -> validated list."""
    if class_index is None:
        return list(range(n_classes))
    scalar = isinstance(class_index, numbers.Integral) and not isinstance(
        class_index, (bool, np.bool_)
    )
    indices = [class_index] if scalar else class_index
    try:
        indices = list(indices)
    except TypeError:
        indices = [class_index]
    ok = len(indices) > 0 and all(
        isinstance(i, numbers.Integral)
        and not isinstance(i, (bool, np.bool_))
        and 0 <= i < n_classes
        for i in indices
    )
    if not ok:
        raise ValueError(
            "class_index must be None, an integer or a non-empty sequence of "
            f"integers in [0, n_classes) = [0, {n_classes}); got {class_index!r}."
        )
    return [int(i) for i in indices]


def _as_list(value, n):
    """A per-curve attribute as a list of length ``n``."""
    if n == 1 and not isinstance(value, list):
        return [value]
    if value is None:
        return [None] * n
    return list(value)


def _pack(values, as_list):
    if not values:
        return None
    return values if as_list else values[0]


# --------------------------------------------------------------------------
# The display
# --------------------------------------------------------------------------


class ReliabilityDisplay:
    """Reliability diagram (calibration curve) visualization.

    Plots the observed frequency of the outcome against the predicted
    probability, binned (the usual reliability diagram) or kernel-smoothed
    (Blasiok & Nakkiran, 2023), optionally with a bootstrap band and, in a panel
    below, a histogram of the predictions. The legend reports the expected
    calibration error (ECE, and smECE for the smoothed curve). Three kinds of
    curve are supported:

    - binary: ``y_prob`` of shape ``(n_samples,)``, the probability of
      ``pos_label``, against the fraction of positives;
    - top-label: the confidence ``max_k p_k`` against the accuracy;
    - classwise: one curve per class, ``p_k`` against the fraction of class
      ``k``, all on the same axes.

    Use :meth:`from_predictions` or :meth:`from_estimator` to create one; all
    parameters are stored as attributes. For a classwise display each per-curve
    parameter is a list with one entry per plotted class.

    Parameters
    ----------
    prob_true : ndarray of shape (n_nonempty_bins,) or list of ndarray
        Observed frequency (accuracy) in each non-empty bin, as returned by
        :func:`~skcalib.metrics.reliability_curve`.
    prob_pred : ndarray of shape (n_nonempty_bins,) or list of ndarray
        Mean predicted probability in each non-empty bin.
    bin_weight : ndarray of shape (n_nonempty_bins,) or list of ndarray
        Fraction of the total weight in each bin.
    ece : float or list of float, default=None
        Expected calibration error of each curve, shown in the legend.
    confidence : ndarray of shape (n_samples,) or list of ndarray, default=None
        The predicted probability of every sample on the x-axis (positive-class
        probability, top-label confidence or class probability), used for the
        histogram.
    sample_weight : ndarray of shape (n_samples,), default=None
        Weights of the histogram counts.
    smooth_grid : ndarray of shape (n_points,), default=None
        Evaluation grid of the smoothed curve; ``None`` when not smoothed.
    smooth_prob_true : ndarray of shape (n_points,) or list of ndarray, default=None
        Kernel-smoothed observed frequency on ``smooth_grid``.
    smooth_density : ndarray of shape (n_points,) or list of ndarray, default=None
        Kernel density of the predictions on ``smooth_grid`` (parts of the
        curve where it is below 0.02 are not drawn).
    smece : float or list of float, default=None
        Smooth ECE of each curve, shown in the legend.
    band_low, band_high : ndarray or list of ndarray, default=None
        Bootstrap band of the drawn curve, at ``prob_pred`` (binned) or
        ``smooth_grid`` (smoothed).
    confidence_level : float, default=None
        Nominal coverage of the band.
    curve_labels : list of str, default=None
        Label of each curve (``"Class 2"`` ...) for classwise displays.
    estimator_name : str, default=None
        Name shown in the legend.
    pos_label : int, float, bool or str, default=None
        Positive class of a binary display (shown in the axis labels); ``None``
        for top-label and classwise displays.
    multi_class : {"top_label", "classwise"}, default="top_label"
        Kind of multiclass curve, used for the axis labels.
    n_bins : int, default=15
        Number of equal-width histogram bins.

    Attributes
    ----------
    line_ : matplotlib Line2D or list of Line2D
        The calibration curve (the smoothed one when smoothed); a list with
        one line per class for classwise displays.
    points_ : matplotlib Line2D, list of Line2D or None
        The binned points drawn as markers under a smoothed curve.
    band_ : matplotlib PolyCollection, list of PolyCollection or None
        The bootstrap band.
    hist_ : matplotlib StepPatch, list of StepPatch or None
        The histogram of the predictions.
    ax_ : matplotlib Axes
        Axes with the calibration curve.
    hist_ax_ : matplotlib Axes or None
        Axes with the histogram (below ``ax_``, sharing its x-axis).
    figure_ : matplotlib Figure
        Figure containing the axes.

    See Also
    --------
    skcalib.metrics.reliability_curve : The binned curve.
    skcalib.metrics.expected_calibration_error : The ECE in the legend.
    skcalib.metrics.smooth_ece : The smECE in the legend.
    sklearn.calibration.CalibrationDisplay : scikit-learn's binary display.

    References
    ----------
    .. [1] Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural
       Networks", ICML 2017.
    .. [2] Blasiok and Nakkiran, "Smooth ECE: Principled Reliability Diagrams
       via Kernel Smoothing", ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics import ReliabilityDisplay, reliability_curve
    >>> y_true = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    >>> y_prob = np.array([0.1, 0.8, 0.7, 0.4, 0.9, 0.3, 0.6, 0.8])
    >>> prob_true, prob_pred, bin_weight = reliability_curve(
    ...     y_true, y_prob, n_bins=5)
    >>> disp = ReliabilityDisplay(prob_true, prob_pred, bin_weight,
    ...                           confidence=y_prob, pos_label=1, n_bins=5)
    >>> disp = disp.plot()
    >>> disp.line_.get_xdata().tolist() == prob_pred.tolist()
    True
    """

    def __init__(
        self,
        prob_true,
        prob_pred,
        bin_weight,
        *,
        ece=None,
        confidence=None,
        sample_weight=None,
        smooth_grid=None,
        smooth_prob_true=None,
        smooth_density=None,
        smece=None,
        band_low=None,
        band_high=None,
        confidence_level=None,
        curve_labels=None,
        estimator_name=None,
        pos_label=None,
        multi_class="top_label",
        n_bins=15,
    ):
        self.prob_true = prob_true
        self.prob_pred = prob_pred
        self.bin_weight = bin_weight
        self.ece = ece
        self.confidence = confidence
        self.sample_weight = sample_weight
        self.smooth_grid = smooth_grid
        self.smooth_prob_true = smooth_prob_true
        self.smooth_density = smooth_density
        self.smece = smece
        self.band_low = band_low
        self.band_high = band_high
        self.confidence_level = confidence_level
        self.curve_labels = curve_labels
        self.estimator_name = estimator_name
        self.pos_label = pos_label
        self.multi_class = multi_class
        self.n_bins = n_bins

    # ------------------------------------------------------------------ plot

    def _n_curves(self):
        return len(self.prob_true) if isinstance(self.prob_true, list) else 1

    def _legend_label(self, name, curve_label, ece, smece):
        parts = [p for p in (name, curve_label) if p is not None]
        label = ": ".join(str(p) for p in parts)
        scores = []
        if ece is not None:
            scores.append(f"ECE = {ece:.3f}")
        if smece is not None:
            scores.append(f"smECE = {smece:.3f}")
        if scores:
            label = f"{label} ({', '.join(scores)})" if label else ", ".join(scores)
        return label or None

    def _axis_labels(self):
        if self.pos_label is not None:
            info = f" (positive class: {self.pos_label})"
            return f"Predicted probability{info}", f"Fraction of positives{info}"
        if self.multi_class == "classwise":
            return "Predicted probability of the class", "Fraction of the class"
        return "Confidence (top-label probability)", "Accuracy"

    def _get_axes(self, ax, show_histogram):
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(
                f"{type(self).__name__}.plot requires matplotlib: install it with "
                "`pip install matplotlib` (or `pip install skcalib[plot]`)."
            ) from exc

        if ax is None:
            if show_histogram:
                _, (ax, hist_ax) = plt.subplots(
                    2,
                    1,
                    sharex=True,
                    height_ratios=(3, 1),
                    figsize=(6.0, 6.6),
                    layout="constrained",
                )
                _HIST_AXES[ax] = hist_ax
            else:
                _, ax = plt.subplots(figsize=(6.0, 5.4), layout="constrained")
        hist_ax = _HIST_AXES.get(ax)
        if show_histogram and hist_ax is None:
            from mpl_toolkits.axes_grid1 import make_axes_locatable

            hist_ax = make_axes_locatable(ax).append_axes(
                "bottom", size="28%", pad=0.12, sharex=ax
            )
            _HIST_AXES[ax] = hist_ax
        return ax, hist_ax

    def plot(self, ax=None, *, name=None, ref_line=True, show_histogram=True, **kwargs):
        """Plot the reliability diagram.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; a new figure is created when ``None``. Plotting
            several displays on the same axes overlays their curves (and
            their histograms, in the shared panel below).
        name : str, default=None
            Name of the curve in the legend; by default ``estimator_name``.
        ref_line : bool, default=True
            Whether to draw the diagonal of perfect calibration (only once per
            axes).
        show_histogram : bool, default=True
            Whether to draw a histogram of the predictions in a panel below the
            diagram (needs ``confidence``).
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve(s).

        Returns
        -------
        display : ReliabilityDisplay
            The display, with ``line_``, ``ax_``, ``figure_`` ... set.
        """
        ref_line = _check_bool(ref_line, "ref_line")
        show_histogram = _check_bool(show_histogram, "show_histogram")
        n = self._n_curves()
        confidences = _as_list(self.confidence, n)
        if show_histogram and any(c is None for c in confidences):
            raise ValueError(
                "show_histogram=True needs the per-sample predictions in "
                "`confidence`; pass show_histogram=False or build the display "
                "with from_predictions or from_estimator."
            )
        name = self.estimator_name if name is None else name
        ax, hist_ax = self._get_axes(ax, show_histogram)

        smoothed = self.smooth_grid is not None
        prob_true = _as_list(self.prob_true, n)
        prob_pred = _as_list(self.prob_pred, n)
        eces = _as_list(self.ece, n)
        smeces = _as_list(self.smece, n)
        smooth_true = _as_list(self.smooth_prob_true, n)
        densities = _as_list(self.smooth_density, n)
        lows = _as_list(self.band_low, n)
        highs = _as_list(self.band_high, n)
        curve_labels = (
            list(self.curve_labels) if self.curve_labels is not None else [None] * n
        )

        if ref_line and _REF_LINE_LABEL not in ax.get_legend_handles_labels()[1]:
            ax.plot(
                [0, 1],
                [0, 1],
                linestyle=":",
                color="0.35",
                linewidth=1.2,
                label=_REF_LINE_LABEL,
                zorder=1,
            )

        lines, points, bands, hists = [], [], [], []
        for i in range(n):
            label = self._legend_label(name, curve_labels[i], eces[i], smeces[i])
            line_kwargs = {"label": label, "zorder": 3}
            if smoothed:
                line_kwargs.update(linewidth=2.0)
                x = np.asarray(self.smooth_grid)
                y = np.asarray(smooth_true[i], dtype=float)
                if densities[i] is not None:
                    y = np.where(
                        np.asarray(densities[i]) >= _MIN_SMOOTH_DENSITY, y, np.nan
                    )
            else:
                line_kwargs.update(marker="o", markersize=5, linewidth=1.5)
                x, y = prob_pred[i], prob_true[i]
            line_kwargs.update(kwargs)
            line = ax.plot(x, y, **line_kwargs)[0]
            color = line.get_color()
            lines.append(line)
            if smoothed:
                points.append(
                    ax.plot(
                        prob_pred[i],
                        prob_true[i],
                        linestyle="none",
                        marker="o",
                        markersize=4,
                        color=color,
                        alpha=0.55,
                        zorder=2,
                    )[0]
                )
            if lows[i] is not None and highs[i] is not None:
                low, high = np.asarray(lows[i]), np.asarray(highs[i])
                if smoothed and densities[i] is not None:
                    keep = np.asarray(densities[i]) >= _MIN_SMOOTH_DENSITY
                    low = np.where(keep, low, np.nan)
                    high = np.where(keep, high, np.nan)
                bands.append(
                    ax.fill_between(
                        x, low, high, color=color, alpha=0.2, linewidth=0, zorder=1.5
                    )
                )
            if show_histogram:
                edges = np.linspace(0.0, 1.0, int(self.n_bins) + 1)
                counts, _ = np.histogram(
                    np.asarray(confidences[i]),
                    bins=edges,
                    weights=self.sample_weight,
                )
                hists.append(
                    hist_ax.stairs(
                        counts,
                        edges,
                        fill=True,
                        color=color,
                        alpha=0.35 if n == 1 else 0.15,
                    )
                )
                hist_ax.stairs(counts, edges, color=color, linewidth=1.0)

        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01))
        xlabel, ylabel = self._axis_labels()
        ax.set_ylabel(ylabel)
        if hist_ax is not None:
            ax.set_xlabel("")
            ax.tick_params(labelbottom=False)
            hist_ax.set_xlabel(xlabel)
            hist_ax.set_ylabel("Count")
            hist_ax.set_ylim(bottom=0)
        else:
            ax.set_xlabel(xlabel)
        ax.grid(True, linewidth=0.5, alpha=0.4)
        if ax.get_legend_handles_labels()[1]:
            ax.legend(loc="best", fontsize="small")

        self.ax_ = ax
        self.hist_ax_ = hist_ax
        self.figure_ = ax.figure
        as_list = isinstance(self.prob_true, list)
        self.line_ = _pack(lines, as_list)
        self.points_ = _pack(points, as_list)
        self.band_ = _pack(bands, as_list)
        self.hist_ = _pack(hists, as_list)
        return self

    # ------------------------------------------------------------ factories

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_prob,
        *,
        n_bins=15,
        strategy="uniform",
        multi_class="top_label",
        class_index=None,
        smooth=False,
        n_bootstrap=0,
        confidence_level=0.9,
        show_histogram=True,
        labels=None,
        pos_label=None,
        sample_weight=None,
        name=None,
        ref_line=True,
        ax=None,
        random_state=None,
        **kwargs,
    ):
        """Plot a reliability diagram from true labels and predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
            Predicted probabilities: a 1-D array is the probability of
            ``pos_label`` (binary diagram; ``multi_class`` and ``class_index``
            are then ignored), a 2-D array holds one column per class of
            ``labels``. Arrays of any array-API namespace are accepted and
            copied to NumPy for plotting.
        n_bins : int, default=15
            Number of bins of the binned curve (and of the histogram).
        strategy : {"uniform", "quantile"}, default="uniform"
            Equal-width or equal-mass bins, as in
            :func:`~skcalib.metrics.reliability_curve`.
        multi_class : {"top_label", "classwise"}, default="top_label"
            For a 2-D ``y_prob``: ``"top_label"`` plots the confidence of the
            predicted class against the accuracy; ``"classwise"`` plots one
            curve per class (``p_k`` against ``1[y = k]``) on the same axes.
        class_index : int or list of int, default=None
            With ``multi_class="classwise"``, the column(s) to plot; all
            classes by default.
        smooth : bool, default=False
            Draw the kernel-smoothed curve (with the smooth-ECE bandwidth,
            reported as smECE in the legend) and the binned points as markers.
        n_bootstrap : int, default=0
            Number of bootstrap resamples for a pointwise percentile band
            around the curve; 0 draws no band. Each resampled curve is
            evaluated at the drawn curve's x positions (binned curves by
            linear interpolation; smoothed curves with the bandwidth of the
            full data).
        confidence_level : float in (0, 1), default=0.9
            Nominal pointwise coverage of the band.
        show_histogram : bool, default=True
            Draw a histogram of the predictions below the diagram.
        labels : array-like of shape (n_classes,), default=None
            Sorted classes the columns of a 2-D ``y_prob`` stand for.
        pos_label : int, float, bool or str, default=None
            Positive class of a 1-D ``y_prob``; by default 1 (or True).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, used by every statistic and the histogram.
        name : str, default=None
            Name of the curve in the legend.
        ref_line : bool, default=True
            Whether to draw the diagonal of perfect calibration.
        ax : matplotlib Axes, default=None
            Axes to plot on; a new figure is created when ``None``.
        random_state : int, RandomState instance or None, default=None
            Seed of the bootstrap resampling (for a reproducible band).
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve(s).

        Returns
        -------
        display : ReliabilityDisplay

        Examples
        --------
        >>> import numpy as np
        >>> from skcalib.datasets import make_classification_logits
        >>> from skcalib.metrics import ReliabilityDisplay
        >>> logits, y = make_classification_logits(2000, 3, temperature=2.0,
        ...                                        random_state=0)
        >>> proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        >>> disp = ReliabilityDisplay.from_predictions(
        ...     y, proba, n_bins=10, smooth=True, name="overconfident")
        >>> round(disp.ece, 3), round(disp.smece, 3)
        (0.095, 0.099)
        """
        n_bins = _check_int(n_bins, "n_bins", min_value=1)
        _check_option(strategy, "strategy", _STRATEGIES)
        _check_option(multi_class, "multi_class", _MULTI_CLASS)
        smooth = _check_bool(smooth, "smooth")
        n_bootstrap = _check_int(n_bootstrap, "n_bootstrap", min_value=0)
        confidence_level = _check_confidence_level(confidence_level)
        show_histogram = _check_bool(show_histogram, "show_histogram")
        ref_line = _check_bool(ref_line, "ref_line")

        y_true_np = _as_numpy(y_true)
        y_prob_np = _as_numpy(y_prob)
        sw_np = _as_numpy(sample_weight)
        if y_prob_np.ndim not in (1, 2):
            raise ValueError(
                "y_prob must have shape (n_samples,) or (n_samples, n_classes), "
                f"got {y_prob_np.shape}."
            )
        y_idx, proba, classes, sw = check_proba_targets(
            y_true_np,
            y_prob_np,
            labels=labels,
            pos_label=pos_label,
            sample_weight=sw_np,
        )
        y_idx = np.asarray(y_idx)
        proba = np.asarray(proba)
        sw = None if sw is None else np.asarray(sw)

        # Every curve is a (confidence, 0/1 outcome) pair, binned by
        # reliability_curve as a binary problem: this is exactly the binning
        # reliability_curve applies for top-label and classwise curves.
        if y_prob_np.ndim == 1:
            resolved_pos_label = classes[1]
            curves = [(None, proba[:, 1], (y_idx == 1).astype(np.int64))]
            multi_class_used = "top_label"
        elif multi_class == "top_label":
            resolved_pos_label = None
            if class_index is not None:
                raise ValueError(
                    "class_index is only used with multi_class='classwise'; got "
                    f"class_index={class_index!r}."
                )
            conf = proba.max(axis=1)
            correct = (proba.argmax(axis=1) == y_idx).astype(np.int64)
            curves = [(None, conf, correct)]
            multi_class_used = "top_label"
        else:
            resolved_pos_label = None
            indices = _check_class_index(class_index, proba.shape[1])
            curves = [
                (f"Class {classes[k]}", proba[:, k], (y_idx == k).astype(np.int64))
                for k in indices
            ]
            multi_class_used = "classwise"

        rng = check_random_state(random_state) if n_bootstrap else None
        data = {
            key: []
            for key in (
                "prob_true",
                "prob_pred",
                "bin_weight",
                "ece",
                "confidence",
                "smooth_prob_true",
                "smooth_density",
                "smece",
                "band_low",
                "band_high",
            )
        }
        grid = None
        for _, conf, outcome in curves:
            prob_true, prob_pred, bin_weight = reliability_curve(
                outcome,
                conf,
                n_bins=n_bins,
                strategy=strategy,
                pos_label=1,
                sample_weight=sw,
            )
            data["prob_true"].append(prob_true)
            data["prob_pred"].append(prob_pred)
            data["bin_weight"].append(bin_weight)
            # The identity documented by reliability_curve: the l1 ECE.
            gaps = np.abs(prob_true - prob_pred)
            data["ece"].append(float(np.sum(bin_weight * gaps)))
            data["confidence"].append(conf)
            if smooth:
                smece, sigma = smooth_ece(
                    outcome,
                    conf,
                    pos_label=1,
                    sample_weight=sw,
                    return_bandwidth=True,
                )
                grid, smooth_true, density, _ = _smooth_reliability_curve(
                    conf, outcome, sample_weight=sw, bandwidth=sigma
                )
                data["smece"].append(smece)
                data["smooth_prob_true"].append(smooth_true)
                data["smooth_density"].append(density)
            if n_bootstrap:
                if smooth:

                    def metric(o, c, sample_weight=None, _sigma=sigma, _n=grid.size):
                        return _smooth_reliability_curve(
                            c,
                            o,
                            sample_weight=sample_weight,
                            bandwidth=_sigma,
                            n_points=_n,
                        )[1]
                else:

                    def metric(o, c, sample_weight=None, _x=prob_pred):
                        pt, pp, _ = reliability_curve(
                            o,
                            c,
                            n_bins=n_bins,
                            strategy=strategy,
                            pos_label=1,
                            sample_weight=sample_weight,
                        )
                        return np.interp(_x, pp, pt)

                res = bootstrap_confidence_interval(
                    metric,
                    outcome,
                    conf,
                    n_resamples=n_bootstrap,
                    confidence_level=confidence_level,
                    random_state=rng,
                    sample_weight=sw,
                )
                data["band_low"].append(np.atleast_1d(res.low))
                data["band_high"].append(np.atleast_1d(res.high))

        def pack(values):
            if not values:
                return None
            return values[0] if multi_class_used == "top_label" else values

        disp = cls(
            prob_true=pack(data["prob_true"]),
            prob_pred=pack(data["prob_pred"]),
            bin_weight=pack(data["bin_weight"]),
            ece=pack(data["ece"]),
            confidence=pack(data["confidence"]),
            sample_weight=sw,
            smooth_grid=grid,
            smooth_prob_true=pack(data["smooth_prob_true"]),
            smooth_density=pack(data["smooth_density"]),
            smece=pack(data["smece"]),
            band_low=pack(data["band_low"]),
            band_high=pack(data["band_high"]),
            confidence_level=confidence_level if n_bootstrap else None,
            curve_labels=(
                None
                if multi_class_used == "top_label"
                else [label for label, _, _ in curves]
            ),
            estimator_name=name,
            pos_label=resolved_pos_label,
            multi_class=multi_class_used,
            n_bins=n_bins,
        )
        return disp.plot(
            ax=ax, name=name, ref_line=ref_line, show_histogram=show_histogram, **kwargs
        )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        response_method="predict_proba",
        n_bins=15,
        strategy="uniform",
        multi_class="top_label",
        class_index=None,
        smooth=False,
        n_bootstrap=0,
        confidence_level=0.9,
        show_histogram=True,
        pos_label=None,
        sample_weight=None,
        name=None,
        ref_line=True,
        ax=None,
        random_state=None,
        **kwargs,
    ):
        """Plot a reliability diagram of a fitted classifier on data.

        For a binary classifier the probability of ``pos_label`` (by default
        ``estimator.classes_[1]``) is plotted, as
        :class:`sklearn.calibration.CalibrationDisplay` does, and
        ``multi_class`` is ignored; for more classes the columns of the
        response stand for ``estimator.classes_``.

        Parameters
        ----------
        estimator : estimator instance
            Fitted classifier (or calibrator, or pipeline ending in one) with
            a ``classes_`` attribute and the ``response_method``.
        X : array-like of shape (n_samples, n_features)
            Input passed to the response method.
        y : array-like of shape (n_samples,)
            True labels.
        response_method : str, default="predict_proba"
            Name of the estimator's method returning class probabilities of
            shape (n_samples, n_classes).
        n_bins, strategy, multi_class, class_index, smooth, n_bootstrap, \
confidence_level, show_histogram, pos_label, sample_weight, ref_line, ax, \
random_state, **kwargs
            See :meth:`from_predictions`.
        name : str, default=None
            Name of the curve in the legend; by default the estimator's class
            name.

        Returns
        -------
        display : ReliabilityDisplay

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skcalib.metrics import ReliabilityDisplay
        >>> X, y = make_classification(n_samples=400, random_state=0)
        >>> clf = LogisticRegression().fit(X[:200], y[:200])
        >>> disp = ReliabilityDisplay.from_estimator(clf, X[200:], y[200:],
        ...                                          n_bins=5)
        >>> disp.line_.get_label()[:18]
        'LogisticRegression'
        """
        if not isinstance(response_method, str):
            raise ValueError(
                f"response_method must be a method name (str), got {response_method!r}."
            )
        check_is_fitted(estimator)
        method = getattr(estimator, response_method, None)
        if method is None or not callable(method):
            raise ValueError(
                f"{type(estimator).__name__} has no method {response_method!r}; "
                "response_method must name a method returning class "
                "probabilities, such as 'predict_proba'."
            )
        classes = getattr(estimator, "classes_", None)
        if classes is None:
            raise ValueError(
                f"{type(estimator).__name__} has no classes_ attribute: "
                "from_estimator needs a fitted classifier."
            )
        classes = _as_numpy(classes)
        y_prob = _as_numpy(method(X))
        if y_prob.ndim != 2 or y_prob.shape[1] != classes.shape[0]:
            raise ValueError(
                f"{type(estimator).__name__}.{response_method} must return an "
                f"array of shape (n_samples, {classes.shape[0]}) (one column per "
                f"class), got shape {y_prob.shape}."
            )
        labels = None
        if classes.shape[0] == 2:
            if pos_label is None:
                pos_label = classes[1]
            matches = np.flatnonzero(classes == pos_label)
            if matches.size != 1:
                raise ValueError(
                    f"pos_label={pos_label!r} is not one of the estimator's "
                    f"classes {classes.tolist()}."
                )
            y_prob = y_prob[:, int(matches[0])]
        else:
            labels = classes
            if pos_label is not None:
                raise ValueError(
                    "pos_label is only used for binary classifiers; the "
                    f"estimator has {classes.shape[0]} classes."
                )
        if name is None:
            name = type(estimator).__name__
        return cls.from_predictions(
            y,
            y_prob,
            n_bins=n_bins,
            strategy=strategy,
            multi_class=multi_class,
            class_index=class_index,
            smooth=smooth,
            n_bootstrap=n_bootstrap,
            confidence_level=confidence_level,
            show_histogram=show_histogram,
            labels=labels,
            pos_label=pos_label,
            sample_weight=sample_weight,
            name=name,
            ref_line=ref_line,
            ax=ax,
            random_state=random_state,
            **kwargs,
        )
