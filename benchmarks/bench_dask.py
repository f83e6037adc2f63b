"""Temperature scaling, ECE and a conformal threshold on Dask arrays larger than memory.

The logits (``n x 10`` float32, 2 GB at ``n = 50,000,000``) and labels are
drawn lazily by a Dask random generator and never gathered: temperature
scaling is fitted by Newton steps whose derivatives are reductions over the
row blocks, the ECE by per-block bin sums of the lazily calibrated
probabilities, and the conformal threshold (LAC score, 90% coverage) by exact
distributed selection. Prints the wall time of each step and the peak
resident memory of this (client) process, against the size of the data.

By default the blocks run in this process's threads (Dask's local
scheduler), so the peak memory also holds the blocks in flight; with
``--cluster`` they run in a ``LocalCluster`` of worker processes and this
process only holds the task graph and the per-block results.

Run: ``python benchmarks/bench_dask.py [--n 50000000] [--chunk 250000]
[--cluster]``.
"""

import argparse
import resource
import sys
import time

import dask
import dask.array as da
import numpy as np

from skcalib.calibration import TemperatureScaling
from skcalib.metrics import expected_calibration_error
from skcalib.utils._dask import map_row_blocks
from skcalib.utils._dask_fit import dask_conformal_quantile

N_CLASSES = 10


def _peak_rss_mb():
    """High-water mark of this process's resident memory, in MB (Linux: KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_logits(n, chunk, random_state=0):
    """Lazy ``(logits, y)``: Gaussian noise of scale 3 plus 4 on the true class."""
    rng = da.random.default_rng(random_state)
    y = rng.integers(0, N_CLASSES, size=n, chunks=chunk)
    noise = rng.standard_normal(
        (n, N_CLASSES), chunks=(chunk, N_CLASSES), dtype=np.float32
    )
    onehot = (y[:, None] == da.arange(N_CLASSES)[None, :]).astype(np.float32)
    logits = np.float32(3.0) * noise + np.float32(4.0) * onehot
    return logits, y


def _lac_scores(proba, y):
    return 1.0 - proba[np.arange(y.shape[0]), y]


def run(n=50_000_000, chunk=250_000, confidence_level=0.9, random_state=0):
    """Fit, score and threshold; return times (s), results and peak memory (MB)."""
    logits, y = make_logits(n, chunk, random_state)
    result = {"n": n, "data_mb": n * N_CLASSES * 4 / 2**20}
    start = time.perf_counter()
    ts = TemperatureScaling().fit(logits, y)
    result["fit_s"] = time.perf_counter() - start
    result["temperature"] = ts.temperature_
    result["newton_iterations"] = ts.n_iter_
    proba = ts.predict_proba(logits)  # lazy
    start = time.perf_counter()
    result["ece"] = expected_calibration_error(y, proba)
    result["ece_s"] = time.perf_counter() - start
    scores = map_row_blocks(_lac_scores, [proba, y], (), np.float32)
    start = time.perf_counter()
    result["threshold"] = float(dask_conformal_quantile(scores, confidence_level))
    result["threshold_s"] = time.perf_counter() - start
    result["total_s"] = result["fit_s"] + result["ece_s"] + result["threshold_s"]
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000_000)
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--cluster", action="store_true")
    args = parser.parse_args(argv)
    if args.cluster:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, dashboard_address=None
            ) as cluster,
            Client(cluster),
        ):
            result = run(args.n, args.chunk)
    else:
        with dask.config.set(scheduler="threads"):
            result = run(args.n, args.chunk)
    for key, value in result.items():
        print(
            f"{key:>18}: {value:.6g}"
            if isinstance(value, float)
            else f"{key:>18}: {value}"
        )
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
