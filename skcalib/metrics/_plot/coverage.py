"""Coverage display of conformal prediction sets: per level, per class, per group.

matplotlib is imported only when something is drawn, so importing this module
(and :mod:`skcalib.metrics`) stays cheap and works without matplotlib.
"""

import copy

import array_api_compat
import numpy as np

from ...utils._array_api import to_numpy
from .._conformal import classwise_coverage, coverage_score, mean_set_size

__all__ = ["CoverageDisplay"]

_BY = ("level", "class", "group")


def _as_numpy(a):
    if a is None:
        return None
    return to_numpy(a) if array_api_compat.is_array_api_obj(a) else np.asarray(a)


def _levels(confidence_level, n_levels):
    levels = np.atleast_1d(np.asarray(confidence_level, dtype=float))
    if levels.ndim != 1 or np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(
            "confidence_level must be a float or a sequence of floats in (0, 1), "
            f"got {confidence_level!r}."
        )
    if levels.shape[0] != n_levels:
        raise ValueError(
            f"confidence_level has {levels.shape[0]} level(s) but y_pred_set "
            f"stacks {n_levels}."
        )
    return levels


class CoverageDisplay:
    """Coverage and mean set size of conformal prediction sets.

    Three views of the same sets, chosen by ``by``:

    - ``"level"``: coverage and mean set size against the confidence level,
      for sets stacked over several levels (``confidence_level`` a list); the
      coverage should follow the diagonal;
    - ``"class"``: per true class, at one level (class-conditional coverage,
      what ``class_conditional=True`` guarantees);
    - ``"group"``: per group of a ``groups`` array (Mondrian coverage).

    Create it with :meth:`from_estimator` or :meth:`from_predictions`, which
    compute and draw; :meth:`plot` redraws.

    Parameters
    ----------
    strata : ndarray of shape (n_strata,)
        The levels, classes or groups (the x axis).
    coverage : ndarray of shape (n_strata,)
        Coverage of each stratum (NaN for a class absent from ``y_true``).
    set_size : ndarray of shape (n_strata,)
        Mean set size of each stratum.
    by : {"level", "class", "group"}
        What the strata are.
    confidence_level : float or ndarray or None, default=None
        Target coverage(s), drawn as a reference.
    name : str or None, default=None
        Legend name.

    Attributes
    ----------
    ax_ : ndarray of two matplotlib Axes
        Coverage and set-size axes.
    figure_ : matplotlib Figure
    coverage_artist_ : matplotlib artist
        The coverage line (``by="level"``) or bar container.
    size_artist_ : matplotlib artist
        The set-size line or bar container.

    See Also
    --------
    skcalib.metrics.coverage_score : coverage of prediction sets.
    skcalib.metrics.classwise_coverage : coverage per class.
    skcalib.metrics.mean_set_size : average set size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_classification
    >>> from skcalib.conformal import SplitConformalClassifier
    >>> from skcalib.metrics import CoverageDisplay
    >>> X, y = make_classification(600, n_classes=3, n_informative=4,
    ...                            random_state=0)
    >>> clf = SplitConformalClassifier(random_state=0).fit(X[:400], y[:400])
    >>> display = CoverageDisplay.from_estimator(
    ...     clf, X[400:], y[400:], confidence_level=[0.7, 0.8, 0.9])
    >>> display.strata
    array([0.7, 0.8, 0.9])
    >>> display.coverage.shape
    (3,)
    """

    def __init__(
        self, *, strata, coverage, set_size, by, confidence_level=None, name=None
    ):
        self.strata = strata
        self.coverage = coverage
        self.set_size = set_size
        self.by = by
        self.confidence_level = confidence_level
        self.name = name

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred_set,
        *,
        confidence_level=None,
        by="level",
        labels=None,
        groups=None,
        name=None,
        ax=None,
        **kwargs,
    ):
        """Compute the coverage and set sizes of given prediction sets, and draw.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_pred_set : array-like of bool of shape (n_samples, n_classes) or \
(n_samples, n_classes, n_levels)
            Prediction sets; ``by="level"`` needs the stacked levels.
        confidence_level : float or sequence of float, default=None
            The level(s) of the sets: required for ``by="level"`` (one per
            stacked level), else drawn as the target.
        by : {"level", "class", "group"}, default="level"
            Strata of the display.
        labels : array-like of shape (n_classes,), default=None
            Sorted classes of the columns; by default ``y_true`` holds column
            indices.
        groups : array-like of shape (n_samples,), default=None
            Group of each sample; required for ``by="group"``.
        name : str or None, default=None
            Legend name.
        ax : sequence of two matplotlib Axes or None, default=None
            Axes for the coverage and the set sizes.
        **kwargs : dict
            Passed to matplotlib's ``plot`` (``by="level"``) or ``bar``.

        Returns
        -------
        display : CoverageDisplay
        """
        if by not in _BY:
            raise ValueError(f"by must be one of {_BY}, got {by!r}.")
        sets = _as_numpy(y_pred_set)
        y = _as_numpy(y_true)
        if by == "level":
            if sets.ndim != 3 or confidence_level is None:
                raise ValueError(
                    'by="level" needs sets stacked over several levels, '
                    "y_pred_set of shape (n_samples, n_classes, n_levels), and "
                    "their confidence_level."
                )
            strata = _levels(confidence_level, sets.shape[2])
            coverage = np.asarray(coverage_score(y, sets, labels=labels), dtype=float)
            set_size = np.asarray(mean_set_size(sets), dtype=float)
        else:
            if sets.ndim != 2:
                raise ValueError(
                    f'by="{by}" needs the sets of one level, y_pred_set of shape '
                    f"(n_samples, n_classes); got shape {sets.shape}."
                )
            sizes = sets.sum(axis=1)
            if by == "class":
                classes = np.arange(sets.shape[1]) if labels is None else labels
                strata = np.asarray(classes)
                coverage = classwise_coverage(y, sets, labels=labels)
                column = np.searchsorted(strata, y)
                set_size = np.array(
                    [
                        sizes[column == j].mean() if np.any(column == j) else np.nan
                        for j in range(strata.shape[0])
                    ]
                )
            else:
                if groups is None:
                    raise ValueError('by="group" needs groups, one per sample.')
                groups = _as_numpy(groups)
                if groups.shape != (sets.shape[0],):
                    raise ValueError(
                        f"groups must have shape ({sets.shape[0]},), got "
                        f"{groups.shape}."
                    )
                strata = np.unique(groups)
                coverage = np.array(
                    [
                        coverage_score(y[groups == g], sets[groups == g], labels=labels)
                        for g in strata
                    ]
                )
                set_size = np.array([sizes[groups == g].mean() for g in strata])
        display = cls(
            strata=strata,
            coverage=coverage,
            set_size=set_size,
            by=by,
            confidence_level=confidence_level,
            name=name,
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y_true,
        *,
        confidence_level=None,
        by="level",
        groups=None,
        name=None,
        ax=None,
        **kwargs,
    ):
        """Predict the sets of ``X`` with a fitted conformal classifier, and draw.

        Parameters
        ----------
        estimator : fitted conformal classifier
            An estimator with ``predict_set`` and ``classes_``, such as
            :class:`~skcalib.conformal.SplitConformalClassifier`.
        X : array-like of shape (n_samples, n_features)
        y_true : array-like of shape (n_samples,)
        confidence_level : float or sequence of float, default=None
            Levels at which to predict (read at prediction time, no refit; the
            estimator itself is not modified); the estimator's own by default.
        by : {"level", "class", "group"}, default="level"
        groups : array-like of shape (n_samples,), default=None
            Groups for ``by="group"``; also passed to ``predict_set`` when the
            estimator was fitted with groups (Mondrian).
        name : str or None, default=None
            Legend name; the estimator's class name by default.
        ax : sequence of two matplotlib Axes or None, default=None
        **kwargs : dict
            Passed to matplotlib's ``plot`` or ``bar``.

        Returns
        -------
        display : CoverageDisplay
        """
        if not hasattr(estimator, "predict_set"):
            raise ValueError(
                f"estimator must have a predict_set method; {type(estimator).__name__}"
                " has none."
            )
        if confidence_level is not None:
            estimator = copy.copy(estimator).set_params(
                confidence_level=confidence_level
            )
        level = estimator.get_params().get("confidence_level")
        predict_kwargs = {}
        if getattr(estimator, "groups_", None) is not None:
            predict_kwargs["groups"] = groups
        return cls.from_predictions(
            y_true,
            estimator.predict_set(X, **predict_kwargs),
            confidence_level=level,
            by=by,
            labels=estimator.classes_,
            groups=groups,
            name=type(estimator).__name__ if name is None else name,
            ax=ax,
            **kwargs,
        )

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the coverage and the mean set size.

        Parameters
        ----------
        ax : sequence of two matplotlib Axes or None, default=None
            Axes for the coverage and the set sizes; a new figure with two
            panels by default. Several displays can share them.
        name : str or None, default=None
            Legend name; ``self.name`` by default.
        **kwargs : dict
            Passed to matplotlib's ``plot`` (``by="level"``) or ``bar``.

        Returns
        -------
        display : CoverageDisplay
            With ``ax_``, ``figure_``, ``coverage_artist_`` and
            ``size_artist_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
        ax = np.asarray(ax, dtype=object).ravel()
        if ax.shape != (2,):
            raise ValueError(
                "ax must hold two matplotlib Axes (coverage, set size), got "
                f"{ax.shape[0]}."
            )
        cov_ax, size_ax = ax
        name = self.name if name is None else name
        if self.by == "level":
            levels = np.asarray(self.strata, dtype=float)
            cov_ax.plot(levels, levels, "k--", lw=1, label="target")
            (self.coverage_artist_,) = cov_ax.plot(
                levels, self.coverage, marker="o", label=name, **kwargs
            )
            (self.size_artist_,) = size_ax.plot(
                levels, self.set_size, marker="o", label=name, **kwargs
            )
            xlabel = "confidence level"
        else:
            ticks = np.arange(len(self.strata))
            self.coverage_artist_ = cov_ax.bar(
                ticks, self.coverage, label=name, **kwargs
            )
            self.size_artist_ = size_ax.bar(ticks, self.set_size, label=name, **kwargs)
            for axis in (cov_ax, size_ax):
                axis.set_xticks(ticks, [str(s) for s in np.asarray(self.strata)])
            if self.confidence_level is not None:
                for level in np.atleast_1d(self.confidence_level):
                    cov_ax.axhline(float(level), color="k", ls="--", lw=1)
            xlabel = "true class" if self.by == "class" else "group"
        cov_ax.set(xlabel=xlabel, ylabel="coverage", title="Coverage")
        size_ax.set(xlabel=xlabel, ylabel="mean set size", title="Mean set size")
        if name is not None or self.by == "level":
            cov_ax.legend(loc="best")
        self.ax_ = ax
        self.figure_ = cov_ax.figure
        return self
