"""Calibrators: skcalib vs scikit-learn, betacal and venn-abers, in one run.

Every pair calibrates the same scores on the same machine in one process:

* ``sigmoid``, ``isotonic``, ``temperature``: skcalib's ``PlattScaling``,
  ``IsotonicCalibration`` and ``TemperatureScaling`` against scikit-learn's
  ``CalibratedClassifierCV(FrozenEstimator(m), method=...)``, where ``m`` is a
  pass-through model returning the logits, on float64 multiclass logits;
* ``beta``: ``BetaCalibration`` against ``betacal.BetaCalibration`` on binary
  probabilities;
* ``venn_abers``: ``VennAbersCalibrator`` against ``venn_abers.VennAbers`` on
  binary probabilities (inductive Venn-ABERS, (p0, p1) per test point).

It prints fit and predict wall times (median of repeats), the reference/skcalib
ratios (> 1: skcalib is faster) and the largest absolute difference of the
calibrated probabilities; ``run`` also returns each side's peak memory and the
NLL and ECE of its probabilities on the test labels. A reference library that
is not installed is skipped.

Run: ``python benchmarks/bench_calibration.py [--n 100000] [--k 10]``.
"""

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from skcalib.calibration import (
    BetaCalibration,
    IsotonicCalibration,
    PlattScaling,
    TemperatureScaling,
    VennAbersCalibrator,
)
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error, negative_log_likelihood
from skcalib.utils._array_api import softmax

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PassThroughLogits, median_time, peak_memory  # noqa: E402

MULTICLASS = {
    "sigmoid": PlattScaling,
    "isotonic": IsotonicCalibration,
    "temperature": TemperatureScaling,
}
METHODS = (*MULTICLASS, "beta", "venn_abers")


def _metrics(y, proba):
    """NLL and ECE of calibrated probabilities on the test labels."""
    proba = np.asarray(proba)
    return {
        "NLL": negative_log_likelihood(y, proba),
        "ECE": expected_calibration_error(y, proba),
    }


def _pair(name, reference, ours, ref, fit_data, test_data, repeats):
    """Time fit and predict_proba of both sides; ``ref`` returns (fit, predict).

    Peak memory is that of fit followed by predict_proba; the metrics are
    those of each side's probabilities on the test labels.
    """
    (X_fit, y_fit), (X_test, y_test) = fit_data, test_data
    ref_fit, ref_predict = ref

    def both(fit, predict):
        model = fit(X_fit, y_fit)
        return predict(model, X_test)

    mem_ours, _ = peak_memory(
        lambda: both(lambda X, y: ours().fit(X, y), lambda m, X: m.predict_proba(X))
    )
    mem_ref, _ = peak_memory(lambda: both(ref_fit, ref_predict))
    t_fit, model = median_time(lambda: ours().fit(X_fit, y_fit), repeats)
    t_pred, p_ours = median_time(lambda: model.predict_proba(X_test), repeats)
    t_rfit, ref_model = median_time(lambda: ref_fit(X_fit, y_fit), repeats)
    t_rpred, p_ref = median_time(lambda: ref_predict(ref_model, X_test), repeats)
    ours_metrics, ref_metrics = _metrics(y_test, p_ours), _metrics(y_test, p_ref)
    return {
        "method": name,
        "reference": reference,
        "n": X_fit.shape[0],
        "k": X_fit.shape[1],
        "skcalib_fit_s": t_fit,
        "reference_fit_s": t_rfit,
        "fit_speedup": t_rfit / t_fit,
        "skcalib_predict_s": t_pred,
        "reference_predict_s": t_rpred,
        "predict_speedup": t_rpred / t_pred,
        "skcalib_peak_mib": mem_ours,
        "reference_peak_mib": mem_ref,
        "metrics": {m: (ours_metrics[m], ref_metrics[m]) for m in ours_metrics},
        "max_abs_diff": float(np.max(np.abs(np.asarray(p_ours) - p_ref))),
    }


def _sklearn(method):
    def fit(X, y):
        frozen = FrozenEstimator(PassThroughLogits().fit(X, y))
        return CalibratedClassifierCV(frozen, method=method).fit(X, y)

    return fit, lambda model, X: model.predict_proba(X)


def _betacal():
    from betacal import BetaCalibration as Reference

    def fit(X, y):
        return Reference(parameters="abm").fit(X[:, 1], y)

    def predict(model, X):
        p = model.predict(X[:, 1])
        return np.stack([1 - p, p], axis=1)

    return fit, predict


def _venn_abers():
    from venn_abers import VennAbers

    def fit(X, y):
        return VennAbers().fit(X, y)

    def predict(model, X):
        return model.predict_proba(X)[0]

    return fit, predict


def run(
    n=100_000, k=10, n_venn_abers=10_000, repeats=3, random_state=0, methods=METHODS
):
    """Return one result dict per calibrator pair in ``methods``.

    Each side fits on ``n`` rows and predicts ``n`` others (``n_venn_abers``
    for Venn-ABERS); a reference library that is not installed is skipped.
    """
    results = []
    multiclass = [m for m in methods if m in MULTICLASS]
    if multiclass:
        logits, y = make_classification_logits(
            2 * n, k, temperature=2.0, random_state=random_state
        )
        fit_data, test_data = (logits[:n], y[:n]), (logits[n:], y[n:])
        for name in multiclass:
            results.append(
                _pair(
                    name,
                    "scikit-learn",
                    MULTICLASS[name],
                    _sklearn(name),
                    fit_data,
                    test_data,
                    repeats,
                )
            )
    # Binary probabilities for the binary reference libraries.
    b_logits, b_y = make_classification_logits(
        2 * n, 2, temperature=2.0, random_state=random_state + 1
    )
    b_proba = softmax(b_logits)
    if "beta" in methods and importlib.util.find_spec("betacal") is not None:
        results.append(
            _pair(
                "beta",
                "betacal",
                BetaCalibration,
                _betacal(),
                (b_proba[:n], b_y[:n]),
                (b_proba[n:], b_y[n:]),
                repeats,
            )
        )
    if "venn_abers" in methods and importlib.util.find_spec("venn_abers") is not None:
        m = min(n, n_venn_abers)
        results.append(
            _pair(
                "venn_abers",
                "venn-abers",
                VennAbersCalibrator,
                _venn_abers(),
                (b_proba[:m], b_y[:m]),
                (b_proba[n : n + m], b_y[n : n + m]),
                repeats,
            )
        )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--n-venn-abers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = run(args.n, args.k, args.n_venn_abers, args.repeats)
    print(
        f"calibrators: fit on n rows, predict on n rows (median of {args.repeats}); "
        "speed-up = reference time / skcalib time"
    )
    header = (
        f"{'method':<12}{'reference':<14}{'n':>8}{'fit ours':>10}{'fit ref':>10}"
        f"{'x':>7}{'pred ours':>11}{'pred ref':>10}{'x':>7}{'max|dp|':>10}"
    )
    print(header)
    for r in results:
        print(
            f"{r['method']:<12}{r['reference']:<14}{r['n']:>8}"
            f"{r['skcalib_fit_s']:>10.4f}{r['reference_fit_s']:>10.4f}"
            f"{r['fit_speedup']:>7.1f}{r['skcalib_predict_s']:>11.4f}"
            f"{r['reference_predict_s']:>10.4f}{r['predict_speedup']:>7.1f}"
            f"{r['max_abs_diff']:>10.1e}"
        )


if __name__ == "__main__":
    main()
