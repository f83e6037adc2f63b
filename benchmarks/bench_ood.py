"""OOD detectors on features: skcalib vs scikit-learn pipelines doing the same job.

The job, on ``n`` float32 training features of dimension ``d`` (``n_classes``
Gaussian classes) and ``2 n_test`` test features (``n_test`` from the same
classes, ``n_test`` OOD ones from classes with other centres): hold out 20% of
the training features, fit the detector on the rest, score the held-out part
to set the 95%-TPR threshold, and score the test features.

* Mahalanobis (Lee et al. 2018): :class:`skcalib.ood.MahalanobisDetector`
  against class means plus :class:`sklearn.covariance.EmpiricalCovariance` on
  the class-centred features and its ``mahalanobis`` distance to every class
  mean;
* kNN (Sun et al. 2022): :class:`skcalib.ood.KNNDetector` against
  :class:`sklearn.neighbors.NearestNeighbors` (brute force) on the L2-normalised
  features, the distance to the ``k``-th neighbour.

Both sides use the same split and the same data in one process; the script
prints wall times (median of repeats), their ratios, each side's AUROC (ID
against OOD test features) and largest test-score error against the
scikit-learn pipeline run in float64 (untimed), relative to the largest score.

Run: ``python benchmarks/bench_ood.py [--n 100000] [--d 512] [--n-test 10000]``.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from sklearn.covariance import EmpiricalCovariance
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

from skcalib.metrics import ood_auroc
from skcalib.ood import KNNDetector, MahalanobisDetector

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import measure  # noqa: E402

CALIBRATION_SIZE = 0.2
TPR = 0.95


def make_features(n, d, n_test, n_classes, random_state=0):
    """Float32 Gaussian class clusters with a shared random covariance.

    Returns the ``n`` training features and labels, and ``2 n_test`` test
    features: ``n_test`` in-distribution, then ``n_test`` OOD ones drawn
    around other class centres.
    """
    rng = np.random.default_rng(random_state)
    centers = rng.normal(scale=2.0, size=(2 * n_classes, d))
    mixing = rng.normal(size=(d, d)) / math.sqrt(d)
    y = rng.integers(n_classes, size=n + 2 * n_test)
    y[n + n_test :] += n_classes  # OOD: the other centres
    X = centers[y] + rng.normal(size=(n + 2 * n_test, d)) @ mixing
    X = X.astype(np.float32)
    return X[:n], y[:n], X[n:]


def _split(n, random_state):
    """The fitting and calibration rows that the skcalib detectors use."""
    n_cal = math.ceil(CALIBRATION_SIZE * n)
    permutation = check_random_state(random_state).permutation(n)
    return np.sort(permutation[n_cal:]), np.sort(permutation[:n_cal])


def _threshold(calibration_scores):
    """Conformal 95%-TPR threshold (what ``offset_`` is)."""
    n = calibration_scores.shape[0]
    k = math.floor((n + 1) * (1 - TPR))
    return np.sort(calibration_scores)[k - 1]


def sklearn_mahalanobis(X, y, X_test, random_state=0):
    fit, cal = _split(X.shape[0], random_state)
    X_fit, y_fit = X[fit], y[fit]
    classes = np.unique(y_fit)
    means = np.stack([X_fit[y_fit == c].mean(axis=0) for c in classes])
    centered = X_fit - means[np.searchsorted(classes, y_fit)]
    cov = EmpiricalCovariance(assume_centered=True).fit(centered)

    def score(Z):
        return -np.min(np.stack([cov.mahalanobis(Z - m) for m in means]), axis=0)

    offset = _threshold(score(X[cal]))
    return score(X_test), offset


def sklearn_knn(X, X_test, k, random_state=0):
    fit, cal = _split(X.shape[0], random_state)

    def normalize(Z):
        return Z / np.linalg.norm(Z, axis=1, keepdims=True)

    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(normalize(X[fit]))

    def score(Z):
        return -nn.kneighbors(normalize(Z))[0][:, -1]

    offset = _threshold(score(X[cal]))
    return score(X_test), offset


def _compare(name, ours, theirs, reference, is_id):
    """Timings, peak memories, AUROCs, and errors against the float64 reference."""
    (t_ours, mem_ours, (s_ours, off_ours)) = ours
    (t_sk, mem_sk, (s_sk, off_sk)) = theirs
    scale = float(np.max(np.abs(reference)))
    return {
        f"{name}_skcalib_s": t_ours,
        f"{name}_sklearn_s": t_sk,
        f"{name}_speedup": t_sk / t_ours,
        f"{name}_skcalib_peak_mib": mem_ours,
        f"{name}_sklearn_peak_mib": mem_sk,
        f"{name}_auroc": (ood_auroc(is_id, s_ours), ood_auroc(is_id, s_sk)),
        f"{name}_skcalib_error": float(np.max(np.abs(s_ours - reference))) / scale,
        f"{name}_sklearn_error": float(np.max(np.abs(s_sk - reference))) / scale,
        f"{name}_offset_rel_diff": abs(off_ours - off_sk) / abs(off_sk),
    }


DETECTORS = ("mahalanobis", "knn")


def run(
    n=100_000,
    d=512,
    n_test=10_000,
    n_classes=10,
    k=50,
    repeats=1,
    detectors=DETECTORS,
):
    """Return a dict with both timings, their ratio, AUROCs and score errors.

    The errors are the largest differences of the float32 test scores from
    the scikit-learn pipeline run in float64 (untimed), relative to the
    largest reference score.
    """
    X, y, X_test = make_features(n, d, n_test, n_classes)
    X64, X_test64 = X.astype(np.float64), X_test.astype(np.float64)
    is_id = np.arange(2 * n_test) < n_test

    def ours_mahalanobis():
        detector = MahalanobisDetector(random_state=0).fit(X, y)
        return detector.score_samples(X_test), detector.offset_

    def ours_knn():
        detector = KNNDetector(n_neighbors=k, random_state=0).fit(X)
        return detector.score_samples(X_test), detector.offset_

    pairs = {
        "mahalanobis": (
            ours_mahalanobis,
            lambda: sklearn_mahalanobis(X, y, X_test),
            lambda: sklearn_mahalanobis(X64, y, X_test64)[0],
        ),
        "knn": (
            ours_knn,
            lambda: sklearn_knn(X, X_test, k),
            lambda: sklearn_knn(X64, X_test64, k)[0],
        ),
    }
    result = {"n": n, "d": d, "n_test": n_test, "n_classes": n_classes, "k": k}
    for name in detectors:
        ours, theirs, reference = pairs[name]
        result.update(
            _compare(
                name,
                measure(ours, repeats),
                measure(theirs, repeats),
                reference(),
                is_id,
            )
        )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    r = run(args.n, args.d, args.n_test, args.n_classes, args.k, args.repeats)
    print(
        f"OOD detectors, {r['n']} x {r['d']} float32 training features "
        f"({r['n_classes']} classes), 2 x {r['n_test']} test features, fit + "
        f"calibrate + score (median of {args.repeats})"
    )
    for name, label in (("mahalanobis", "Mahalanobis"), ("knn", f"kNN, k={r['k']}")):
        print(
            f"  {label:<14} skcalib {r[name + '_skcalib_s']:8.2f} s   sklearn "
            f"{r[name + '_sklearn_s']:8.2f} s   speed-up "
            f"{r[name + '_speedup']:6.2f} x   AUROC {r[name + '_auroc'][0]:.4f}"
            f" / {r[name + '_auroc'][1]:.4f}   error vs float64: skcalib "
            f"{r[name + '_skcalib_error']:.1e}, sklearn "
            f"{r[name + '_sklearn_error']:.1e}"
        )


if __name__ == "__main__":
    main()
