"""The numbers of the calibration report: metrics, calibrators, conformal sets, OOD."""

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ShuffleSplit, StratifiedKFold
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ..conformal.scores import APSScore, LACScore
from ..metrics import (
    adaptive_calibration_error,
    bootstrap_confidence_interval,
    brier_score,
    coverage_score,
    expected_calibration_error,
    fpr_at_tpr,
    mean_set_size,
    negative_log_likelihood,
    ood_auroc,
    smooth_ece,
)
from ..ood import (
    EnergyDetector,
    EntropyDetector,
    GENDetector,
    MaxLogitDetector,
    MSPDetector,
)
from ..utils._array_api import conformal_quantile, softmax
from ..utils._validation import check_proba_targets, check_scores
from ._calibrate import fit_score_calibrator

__all__ = ["CalibrationReport", "calibration_report"]

BINARY_METHODS = ("temperature", "sigmoid", "beta", "isotonic", "histogram")
MULTICLASS_METHODS = ("temperature", "vector", "dirichlet", "isotonic", "histogram")
TABLE_LEVELS = (0.8, 0.9, 0.95)
#: Below this many score entries BLAS runs on one thread: on small matrices its
#: threads cost more than they save (the cross-fitting of the demo took 19 s
#: instead of 0.5 s on a loaded 2-core machine).
_SINGLE_THREAD_ENTRIES = 1_000_000
_CURVE_LEVELS = tuple(np.round(np.arange(0.5, 0.99, 0.025), 3))
_CONFORMITY_SCORES = {
    "LAC": LACScore(),
    "APS": APSScore(include_last_label="randomized"),
}


def _accuracy(y_true, y_prob, *, labels=None):
    """Fraction of samples whose most probable column is the true one."""
    y_idx, proba, _, _ = check_proba_targets(y_true, y_prob, labels=labels)
    return float(np.mean(np.argmax(proba, axis=1) == y_idx))


#: Row name -> metric(y_true, y_prob, labels=...) of the metrics table.
METRICS = {
    "accuracy": _accuracy,
    "NLL": negative_log_likelihood,
    "Brier": brier_score,
    "ECE": expected_calibration_error,
    "ACE": adaptive_calibration_error,
    "smooth ECE": smooth_ece,
}


def _no_progress(iterable, description, total):
    return iterable


@dataclass
class CalibrationReport:
    """Everything ``skcalib report`` shows, as data.

    Create it with :func:`calibration_report`. The tables are lists of dicts
    (one per row), ready for ``pandas.DataFrame``.

    Attributes
    ----------
    summary : dict
        ``n_samples``, ``n_classes``, ``score_kind``, ``n_ood`` and the
        settings used (bootstrap size, folds, splits, random state).
    metrics : list of dict
        ``metric``, ``estimate``, ``low``, ``high``: accuracy, NLL, Brier,
        ECE, ACE and smooth ECE of the given probabilities, with percentile
        bootstrap intervals (``confidence_level`` 0.95).
    calibrators : list of dict
        ``method``, ``NLL``, ``ECE``, ``Brier``, ``accuracy`` of the
        out-of-fold probabilities of each calibrator (``"none"``: the scores
        as given), and ``converged`` (False when its fit warned that it did
        not converge in some fold).
    best : dict
        ``{"NLL": method, "ECE": method}``: the calibrator with the lowest
        cross-validated value of each.
    conformal : list of dict
        ``score``, ``level``, ``coverage``, ``set_size``: split-conformal sets
        on the probabilities, averaged over random calibration/test splits.
    coverage_curves : dict
        Conformity score name -> ``(levels, coverage, set_size)`` arrays on a
        grid of levels, for the plots.
    ood : list of dict
        ``detector``, ``AUROC``, ``FPR@95TPR`` (empty without OOD scores).
    classes : ndarray of shape (n_classes,)
    y_index : ndarray of shape (n_samples,)
        Column of each true label.
    proba : ndarray of shape (n_samples, n_classes)
        The probabilities the metrics were computed on.
    calibrated_proba : dict
        Method -> out-of-fold calibrated probabilities.
    ood_scores : dict
        Detector -> ``(in_distribution_scores, ood_scores)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.report import CalibrationReport, calibration_report
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> logits = np.c_[np.zeros(200), 4.0 * y - 2.0 + rng.normal(0, 2, 200)]
    >>> report = calibration_report(y, logits, logits=True, n_bootstrap=10,
    ...                             n_conformal_splits=2)
    >>> isinstance(report, CalibrationReport)
    True
    >>> report.summary["n_samples"], report.proba.shape, sorted(report.best)
    (200, (200, 2), ['ECE', 'NLL'])
    >>> report.ood  # no OOD scores were given
    []
    """

    summary: dict
    metrics: list
    calibrators: list
    best: dict
    conformal: list
    coverage_curves: dict
    ood: list
    classes: np.ndarray
    y_index: np.ndarray
    proba: np.ndarray
    calibrated_proba: dict = field(repr=False)
    ood_scores: dict = field(repr=False)

    @property
    def tables(self):
        """The tables by name: ``metrics``, ``calibrators``, ``conformal``, ``ood``."""
        return {
            "metrics": self.metrics,
            "calibrators": self.calibrators,
            "conformal": self.conformal,
            "ood": self.ood,
        }

    def to_html(self, path, *, title="skcalib calibration report"):
        """Write the report as one self-contained HTML file.

        Figures are embedded as base64 PNG images and the style sheet is
        inline, so the file can be mailed or archived as it is. Needs
        matplotlib.

        Parameters
        ----------
        path : str or path-like
        title : str, default="skcalib calibration report"

        Returns
        -------
        path : pathlib.Path
            The file written.
        """
        from ._html import write_html

        return write_html(self, path, title=title)


def _probabilities(y_score, logits):
    scores = check_scores(y_score, name="y_score", ndim=(2,))
    return softmax(scores, axis=1) if logits else scores


def _metrics(y, proba, labels, n_bootstrap, rng, progress):
    rows = []
    for name, metric in progress(METRICS.items(), "bootstrap", len(METRICS)):
        res = bootstrap_confidence_interval(
            metric,
            y,
            proba,
            n_resamples=n_bootstrap,
            random_state=rng,
            labels=labels,
        )
        rows.append(
            {"metric": name, "estimate": res.estimate, "low": res.low, "high": res.high}
        )
    return rows


def _summary_row(method, y, proba, labels):
    return {
        "method": method,
        "NLL": negative_log_likelihood(y, proba, labels=labels),
        "ECE": expected_calibration_error(y, proba, labels=labels),
        "Brier": brier_score(y, proba, labels=labels),
        "accuracy": _accuracy(y, proba, labels=labels),
    }


def _calibrators(scores, y, proba, labels, methods, logits, n_splits, rng, progress):
    """Out-of-fold probabilities of each method, and their summary rows."""
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=rng.randint(2**31))
    folds = list(cv.split(scores, y))
    jobs = [(m, train, test) for m in methods for train, test in folds]
    oof = {m: np.zeros_like(proba) for m in methods}
    unconverged = set()
    for method, train, test in progress(jobs, "cross-fitting", len(jobs)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = fit_score_calibrator(
                scores[train], y[train], method=method, logits=logits
            )
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            unconverged.add(method)
        oof[method][test] = model.predict_proba(scores[test])
    rows = [{**_summary_row("none", y, proba, labels), "converged": True}]
    rows += [
        {**_summary_row(m, y, oof[m], labels), "converged": m not in unconverged}
        for m in methods
    ]
    best = {key: min(rows, key=lambda r: r[key])["method"] for key in ("NLL", "ECE")}
    return rows, best, oof


def _conformal(y, proba, labels, n_splits, rng, progress):
    """Mean coverage and set size of split-conformal sets over random splits."""
    levels = np.array(sorted(set(_CURVE_LEVELS) | set(TABLE_LEVELS)))
    splitter = ShuffleSplit(n_splits, test_size=0.5, random_state=rng.randint(2**31))
    totals = {name: np.zeros((2, levels.shape[0])) for name in _CONFORMITY_SCORES}
    splits = list(splitter.split(proba))
    for cal, test in progress(splits, "conformal splits", n_splits):
        u = rng.random_sample(y.shape[0])
        for name, score in _CONFORMITY_SCORES.items():
            cal_scores = score.conformity_scores(proba[cal], y[cal], u=u[cal])
            thresholds = conformal_quantile(cal_scores, levels)
            sets = score.prediction_sets(proba[test], thresholds, u=u[test])
            totals[name] += [
                coverage_score(y[test], sets, labels=labels),
                mean_set_size(sets),
            ]
    curves = {
        name: (levels, total[0] / n_splits, total[1] / n_splits)
        for name, total in totals.items()
    }
    table = [
        {
            "score": name,
            "level": float(level),
            "coverage": float(coverage[np.isclose(levels, level)][0]),
            "set_size": float(size[np.isclose(levels, level)][0]),
        }
        for name, (levels, coverage, size) in curves.items()
        for level in TABLE_LEVELS
    ]
    return table, curves


def _detectors(logits):
    """Score-space detectors that make sense for logits or log-probabilities."""
    common = {"MSP": MSPDetector(), "entropy": EntropyDetector(), "GEN": GENDetector()}
    if not logits:  # max-logit and energy of log-probabilities are constant
        return common
    return {**common, "max logit": MaxLogitDetector(), "energy": EnergyDetector()}


def _ood(scores_in, scores_out, logits):
    if not logits:
        scores_in, scores_out = (
            np.log(np.clip(s, 1e-300, None)) for s in (scores_in, scores_out)
        )
    is_in = np.r_[np.ones(scores_in.shape[0]), np.zeros(scores_out.shape[0])]
    rows, values = [], {}
    for name, detector in _detectors(logits).items():
        detector.fit(scores_in)
        s_in = detector.score_samples(scores_in)
        s_out = detector.score_samples(scores_out)
        both = np.r_[s_in, s_out]
        rows.append(
            {
                "detector": name,
                "AUROC": ood_auroc(is_in, both),
                "FPR@95TPR": fpr_at_tpr(is_in, both, tpr=0.95),
            }
        )
        values[name] = (s_in, s_out)
    return rows, values


def calibration_report(
    y_true,
    y_score,
    *,
    logits=False,
    labels=None,
    ood_score=None,
    methods=None,
    n_bootstrap=200,
    n_folds=5,
    n_conformal_splits=20,
    random_state=0,
    progress=None,
):
    """Judge a model's probabilities: metrics, calibrators, conformal sets, OOD.

    From the labels and scores of held-out samples it computes

    - accuracy, NLL, Brier score, ECE, ACE and smooth ECE, each with a
      percentile bootstrap interval (95%);
    - the out-of-fold NLL, ECE, Brier score and accuracy of several
      score-space calibrators (stratified ``n_folds``-fold cross-fitting), and
      the best by NLL and by ECE;
    - the coverage and mean size of split-conformal prediction sets (LAC and
      APS scores) at 80, 90 and 95%, averaged over ``n_conformal_splits``
      random half/half calibration/test splits;
    - with ``ood_score``, the AUROC and FPR at 95% TPR of score-space OOD
      detectors (MSP, entropy, GEN; with logits also max-logit and energy).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_score : array-like of shape (n_samples, n_classes)
        Probabilities (rows sum to one), or logits with ``logits=True``.
    logits : bool, default=False
        Whether ``y_score`` (and ``ood_score``) hold logits.
    labels : array-like of shape (n_classes,), default=None
        The sorted classes of the columns; by default ``range(n_classes)``
        when ``y_true`` holds such integers, else the sorted labels.
    ood_score : array-like of shape (n_ood, n_classes), default=None
        Scores of out-of-distribution samples, of the same kind.
    methods : sequence of str, default=None
        ``CalibratedClassifierCV`` method names to compare; by default
        temperature, Platt (``"sigmoid"``), beta, isotonic and histogram
        binning for two classes, temperature, vector, Dirichlet, isotonic and
        histogram binning for more.
    n_bootstrap : int, default=200
        Bootstrap resamples of each metric.
    n_folds : int, default=5
        Cross-fitting folds (fewer if a class has fewer samples).
    n_conformal_splits : int, default=20
        Random calibration/test splits of the conformal evaluation.
    random_state : int, default=0
        Seed of the bootstrap, folds, splits and randomised APS sets.
    progress : callable, default=None
        ``progress(iterable, description, total)`` returning the iterable,
        called around each long loop (the command passes a progress bar).

    Returns
    -------
    report : CalibrationReport

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.report import calibration_report
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 300)
    >>> logits = 3 * np.eye(3)[y] + rng.normal(0, 1.5, (300, 3))
    >>> report = calibration_report(y, logits, logits=True, n_bootstrap=20,
    ...                             n_conformal_splits=5)
    >>> [row["metric"] for row in report.metrics]
    ['accuracy', 'NLL', 'Brier', 'ECE', 'ACE', 'smooth ECE']
    >>> [row["method"] for row in report.calibrators][:3]
    ['none', 'temperature', 'vector']
    >>> report.conformal[1]["level"], report.conformal[1]["coverage"] > 0.85
    (0.9, True)
    """
    progress = _no_progress if progress is None else progress
    rng = check_random_state(random_state)
    scores = check_scores(y_score, name="y_score", ndim=(2,))
    proba = _probabilities(scores, logits)
    y, proba, classes, _ = check_proba_targets(y_true, proba, labels=labels)
    y, n_classes = np.asarray(y), proba.shape[1]
    counts = np.bincount(y, minlength=n_classes)
    if counts.min() < 2:
        raise ValueError(
            "Every class needs at least 2 samples; class "
            f"{np.asarray(classes).tolist()[counts.argmin()]!r} has {counts.min()}."
        )
    index_labels = np.arange(n_classes)
    if methods is None:
        methods = BINARY_METHODS if n_classes == 2 else MULTICLASS_METHODS
    n_folds = int(min(n_folds, counts.min()))
    blas_threads = 1 if scores.size < _SINGLE_THREAD_ENTRIES else None
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        metrics = _metrics(y, proba, index_labels, n_bootstrap, rng, progress)
        calibrators, best, oof = _calibrators(
            scores, y, proba, index_labels, methods, logits, n_folds, rng, progress
        )
        conformal, curves = _conformal(
            y, proba, index_labels, n_conformal_splits, rng, progress
        )
    ood, ood_values = [], {}
    if ood_score is not None:
        ood_score = check_scores(ood_score, name="ood_score", ndim=(2,))
        if ood_score.shape[1] != scores.shape[1]:
            raise ValueError(
                f"ood_score has {ood_score.shape[1]} columns, y_score has "
                f"{scores.shape[1]}."
            )
        ood, ood_values = _ood(scores, ood_score, logits)
    summary = {
        "n_samples": int(y.shape[0]),
        "n_classes": int(n_classes),
        "score_kind": "logits" if logits else "probabilities",
        "n_ood": 0 if ood_score is None else int(ood_score.shape[0]),
        "n_bootstrap": n_bootstrap,
        "n_folds": n_folds,
        "n_conformal_splits": n_conformal_splits,
        "random_state": random_state,
    }
    return CalibrationReport(
        summary=summary,
        metrics=metrics,
        calibrators=calibrators,
        best=best,
        conformal=conformal,
        coverage_curves=curves,
        ood=ood,
        classes=np.asarray(classes),
        y_index=y,
        proba=proba,
        calibrated_proba=oof,
        ood_scores=ood_values,
    )
