"""Temperature scaling: skcalib vs scikit-learn's ``method="temperature"``.

Fits both on the same float32 logits in one process and prints wall times
(median of repeats), their ratio and the two temperatures. scikit-learn is
driven through its public API: ``CalibratedClassifierCV(FrozenEstimator(m),
method="temperature")`` where ``m`` is a pass-through classifier whose
``decision_function`` returns the logits, so both sides calibrate the same
scores and nothing else is timed.

Run: ``python benchmarks/bench_temperature.py [--n 200000] [--k 100]``.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from skcalib.calibration import TemperatureScaling
from skcalib.datasets import make_classification_logits
from skcalib.utils._array_api import nll_from_logits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PassThroughLogits, measure  # noqa: E402


def run(n=200_000, k=100, repeats=3, true_temperature=2.5, random_state=0):
    """Return a dict with both timings and peak memories, the ratio, the
    temperatures and the NLL of the logits scaled by each temperature."""
    logits, y = make_classification_logits(
        n, k, temperature=true_temperature, random_state=random_state
    )
    logits = logits.astype(np.float32)
    frozen = FrozenEstimator(PassThroughLogits().fit(logits, y))

    t_ours, mem_ours, ours = measure(
        lambda: TemperatureScaling().fit(logits, y), repeats
    )
    t_sk, mem_sk, sk = measure(
        lambda: CalibratedClassifierCV(frozen, method="temperature").fit(logits, y),
        repeats,
    )
    sk_temperature = 1 / float(sk.calibrated_classifiers_[0].calibrators[0].beta_)
    return {
        "n": n,
        "k": k,
        "skcalib_s": t_ours,
        "sklearn_s": t_sk,
        "speedup": t_sk / t_ours,
        "skcalib_peak_mib": mem_ours,
        "sklearn_peak_mib": mem_sk,
        "skcalib_T": ours.temperature_,
        "sklearn_T": sk_temperature,
        "rel_diff_T": abs(ours.temperature_ - sk_temperature) / sk_temperature,
        "skcalib_nll": float(nll_from_logits(logits / ours.temperature_, y)),
        "sklearn_nll": float(nll_from_logits(logits / sk_temperature, y)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    r = run(args.n, args.k, args.repeats)
    print(
        f"temperature scaling, {r['n']} x {r['k']} float32 logits "
        f"(median of {args.repeats})"
    )
    print(f"  skcalib  {r['skcalib_s']:8.3f} s   T = {r['skcalib_T']:.6f}")
    print(f"  sklearn  {r['sklearn_s']:8.3f} s   T = {r['sklearn_T']:.6f}")
    print(f"  speed-up {r['speedup']:8.2f} x   |dT|/T = {r['rel_diff_T']:.2e}")


if __name__ == "__main__":
    main()
