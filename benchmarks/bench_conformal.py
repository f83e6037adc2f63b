"""Split conformal classification: skcalib vs MAPIE (and crepes for LAC).

Conformalises on an ``n x k`` probability matrix and predicts the sets of
another one of the same size, for each conformity score, with both libraries
in one process; prints the wall times (median of repeats) and their ratio,
and checks that the sets agree. Both sides receive the probabilities through
a pass-through "model" (:class:`_common.PassThroughProba`, frozen for
skcalib, ``prefit=True`` for MAPIE), so only the conformal work is timed.
crepes only has the LAC-like hinge score ``1 - p``: its
:class:`crepes.ConformalClassifier` (non-smoothed p-values, computed with a
Python loop over the test entries) is timed against skcalib's LAC on a
smaller problem (``--crepes-n`` x ``--crepes-k``), where both give the same
p-values.

skcalib processes large NumPy inputs by row blocks in as many threads as
OpenMP would use (``OMP_NUM_THREADS``, else the CPUs); set
``OMP_NUM_THREADS=1`` for a single-threaded comparison.

Run: ``python benchmarks/bench_conformal.py [--n 50000] [--k 1000]``.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator

from skcalib.conformal import SplitConformalClassifier
from skcalib.conformal.scores import APSScore, LACScore, RAPSScore, TopKScore
from skcalib.metrics import coverage_score, mean_set_size
from skcalib.utils._parallel import effective_n_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PassThroughProba, measure  # noqa: E402

# skcalib score -> MAPIE alias
SCORES = {
    "lac": (LACScore(), "lac"),
    "aps": (APSScore(), "aps"),
    "raps": (RAPSScore(), "raps"),
    "topk": (TopKScore(), "top_k"),
}


def make_data(n, k, random_state=0, dtype=np.float64):
    """Two probability matrices (calibration, test) with labels drawn from them."""
    rng = np.random.default_rng(random_state)
    out = []
    for _ in range(2):
        logits = 3.0 * rng.standard_normal((n, k))
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        u = rng.uniform(size=(n, 1))
        y = np.minimum((np.cumsum(proba, axis=1) < u).sum(axis=1), k - 1)
        # every class present twice (MAPIE's RAPS splits them stratified)
        y[: 2 * k] = np.arange(2 * k) % k
        out.append((proba.astype(dtype), y))
    return out


def _skcalib(score, model, P_cal, y_cal, P_test, level):
    clf = SplitConformalClassifier(
        FrozenEstimator(model),
        conformity_score=score,
        confidence_level=level,
        random_state=0,
    )
    return clf.fit(P_cal, y_cal).predict_set(P_test)


def _mapie(score, model, P_cal, y_cal, P_test, level):
    from mapie.classification import SplitConformalClassifier as MapieSCC

    clf = MapieSCC(
        model,
        confidence_level=level,
        conformity_score=score,
        prefit=True,
        random_state=0,
    )
    return clf.conformalize(P_cal, y_cal).predict_set(P_test)[1][:, :, 0]


def _crepes(P_cal, y_cal, P_test, level):
    from crepes import ConformalClassifier

    hinge_cal = 1 - P_cal[np.arange(P_cal.shape[0]), y_cal]
    cc = ConformalClassifier().fit(hinge_cal)
    return cc.predict_set(1 - P_test, confidence=level, smoothing=False)


def _metrics(y, sets):
    """Empirical coverage and mean size of prediction sets on the test labels."""
    return {"coverage": coverage_score(y, sets), "size": mean_set_size(sets)}


def _compare(ours, theirs, y_test):
    """Timings, peak memories and set metrics of skcalib and one reference."""
    (t_ours, mem_ours, sets_ours), (t_ref, mem_ref, sets_ref) = ours, theirs
    sets_ref = np.asarray(sets_ref, dtype=bool)
    m_ours, m_ref = _metrics(y_test, sets_ours), _metrics(y_test, sets_ref)
    return {
        "skcalib_s": t_ours,
        "reference_s": t_ref,
        "speedup": t_ref / t_ours,
        "skcalib_peak_mib": mem_ours,
        "reference_peak_mib": mem_ref,
        "metrics": {m: (m_ours[m], m_ref[m]) for m in m_ours},
        "mean_size": m_ours["size"],
        "set_mismatch": float(np.mean(sets_ours != sets_ref)),
    }


def run(n=50_000, k=1000, repeats=1, level=0.9, scores=tuple(SCORES)):
    """Time skcalib and MAPIE on every score; return one dict per score.

    ``set_mismatch`` is the fraction of (sample, label) entries where the
    sets differ; RAPS differs because the automatic choice of lambda does
    (see RAPSScore).
    """
    (P_cal, y_cal), (P_test, y_test) = make_data(n, k)
    model = PassThroughProba().fit(P_cal, y_cal)
    results = []
    for name in scores:
        ours_score, mapie_score = SCORES[name]
        ours = measure(
            lambda s=ours_score: _skcalib(s, model, P_cal, y_cal, P_test, level),
            repeats,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = measure(
                lambda s=mapie_score: _mapie(s, model, P_cal, y_cal, P_test, level),
                repeats,
            )
        row = {"score": name, "reference": "MAPIE", "n": n, "k": k}
        row.update(_compare(ours, theirs, y_test))
        results.append(row)
    return results


def run_crepes(n=2000, k=100, repeats=1, level=0.9):
    """Time skcalib's LAC against crepes (hinge scores) on a small problem.

    crepes keeps p >= 1 - level, skcalib p > 1 - level (the same sets here).
    """
    (P_cal, y_cal), (P_test, y_test) = make_data(n, k)
    model = PassThroughProba().fit(P_cal, y_cal)
    ours = measure(
        lambda: _skcalib(LACScore(), model, P_cal, y_cal, P_test, level), repeats
    )
    theirs = measure(lambda: _crepes(P_cal, y_cal, P_test, level), repeats)
    row = {"score": "lac", "reference": "crepes", "n": n, "k": k}
    row.update(_compare(ours, theirs, y_test))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--crepes-n", type=int, default=2000)
    parser.add_argument("--crepes-k", type=int, default=100)
    args = parser.parse_args()
    print(
        f"split conformal classification, {args.n} x {args.k} float64 "
        f"probabilities, conformalise + predict_set (median of {args.repeats}); "
        f"skcalib row blocks in {effective_n_threads()} thread(s) (OMP_NUM_THREADS; "
        "MAPIE runs in one)"
    )
    for r in run(args.n, args.k, args.repeats):
        print(
            f"  {r['score']:5s} skcalib {r['skcalib_s']:7.2f} s   MAPIE "
            f"{r['reference_s']:7.2f} s   speed-up {r['speedup']:6.1f}x   "
            f"mean size {r['mean_size']:7.2f}   entries differing "
            f"{100 * r['set_mismatch']:.4f}%"
        )
    c = run_crepes(args.crepes_n, args.crepes_k, args.repeats)
    print(
        f"  LAC vs crepes, {c['n']} x {c['k']}: skcalib {c['skcalib_s']:.3f} s   "
        f"crepes {c['reference_s']:.2f} s   speed-up {c['speedup']:.0f}x   "
        f"entries differing {100 * c['set_mismatch']:.4f}%"
    )


if __name__ == "__main__":
    main()
