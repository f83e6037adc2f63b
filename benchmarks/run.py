"""All benchmarks in one process: skcalib against the anchor libraries.

Sections (``--only`` runs one):

* ``anchors``: wall-time ratio (anchor time / skcalib time, median of
  ``--repeats``), peak memory of each side (``tracemalloc`` peak of one
  untimed call: Python objects and NumPy buffers) and the metric values of
  both sides on the same data: scikit-learn's ``CalibratedClassifierCV``
  (sigmoid, isotonic, temperature), betacal, venn-abers, MAPIE (LAC, APS,
  RAPS, top-k), crepes, scikit-learn OOD pipelines; netcal and pytorch-ood
  when importable (a note says when they are not);
* ``scaling``: how the time grows with ``n`` (1e3 ... 1e6) for temperature
  fitting, APS sets, Venn-ABERS and Mahalanobis scoring, on both sides;
* ``bandwidth``: achieved GB/s of the memory-bound kernels (softmax,
  log-softmax, NLL from logits, one temperature Newton pass, LAC/APS sets)
  over float32 logits, against one read of the same array (``x.sum()``, the
  practical limit of this machine), and the ratio of their times.

``--gpu`` runs the kernels, a temperature fit, APS sets and energy and
Mahalanobis scoring with CuPy on the GPU against NumPy on the same data (it
exits with a message when CuPy or a device is missing); ``--device-backend
torch`` runs the same with PyTorch (on the CPU without CUDA, as the tests
do). ``--json PATH`` also writes every number. Tables use rich when it is importable.

Run: ``pip install -e ".[bench]" && python benchmarks/run.py [--quick]``.
"""

import argparse
import datetime
import functools
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_calibration  # noqa: E402
import bench_conformal  # noqa: E402
import bench_ood  # noqa: E402
import bench_temperature  # noqa: E402
from _common import measure, median_time  # noqa: E402

from skcalib.conformal.scores import APSScore, LACScore  # noqa: E402
from skcalib.metrics import negative_log_likelihood, ood_auroc  # noqa: E402
from skcalib.utils._array_api import (  # noqa: E402
    log_softmax,
    nll_from_logits,
    softmax,
    temperature_nll_derivatives,
    to_numpy,
)
from skcalib.utils._parallel import effective_n_threads  # noqa: E402

SECTIONS = ("anchors", "scaling", "bandwidth")

# Problem sizes of the full run and of --quick (seconds, for tests).
SIZES = {
    "full": {
        "calibration": {"n": 50_000, "k": 10, "n_venn_abers": 50_000},
        "temperature": {"n": 200_000, "k": 100},
        "conformal": {"n": 10_000, "k": 1000},
        "crepes": {"n": 2000, "k": 100},
        "ood": {"n": 20_000, "d": 256, "n_test": 2000, "n_classes": 10, "k": 50},
        "scaling": (1_000, 10_000, 100_000, 1_000_000),
        "bandwidth": {"n": 50_000, "k": 1000},
    },
    "quick": {
        "calibration": {"n": 2000, "k": 4, "n_venn_abers": 1000},
        "temperature": {"n": 2000, "k": 10},
        "conformal": {"n": 1000, "k": 20},
        "crepes": {"n": 300, "k": 10},
        "ood": {"n": 2000, "d": 16, "n_test": 300, "n_classes": 4, "k": 10},
        "scaling": (1_000, 3_000),
        "bandwidth": {"n": 2000, "k": 300},
    },
}
# Scaling: the next (10x larger) size is skipped once a size took longer than
# this / 10, all calls together (venn-abers at 1e6 takes minutes).
SCALING_BUDGET_S = 60.0


# --------------------------------------------------------------------------- #
# anchors
# --------------------------------------------------------------------------- #
def _row(task, anchor, size, ours_s, anchor_s, ours_mib, anchor_mib, metrics, **extra):
    return {
        "task": task,
        "anchor": anchor,
        "size": size,
        "skcalib_s": ours_s,
        "anchor_s": anchor_s,
        "ratio": anchor_s / ours_s,
        "skcalib_mib": ours_mib,
        "anchor_mib": anchor_mib,
        "metrics": {m: [float(a), float(b)] for m, (a, b) in metrics.items()},
        **extra,
    }


def _calibration_rows(sizes, repeats):
    rows = []
    for r in bench_calibration.run(repeats=repeats, **sizes["calibration"]):
        rows.append(
            _row(
                f"{r['method']} fit",
                r["reference"],
                f"{r['n']} x {r['k']}",
                r["skcalib_fit_s"],
                r["reference_fit_s"],
                r["skcalib_peak_mib"],
                r["reference_peak_mib"],
                r["metrics"],
                predict_ratio=r["predict_speedup"],
            )
        )
    t = bench_temperature.run(repeats=repeats, **sizes["temperature"])
    rows.append(
        _row(
            "temperature fit f32",
            "scikit-learn",
            f"{t['n']} x {t['k']}",
            t["skcalib_s"],
            t["sklearn_s"],
            t["skcalib_peak_mib"],
            t["sklearn_peak_mib"],
            {
                "T": (t["skcalib_T"], t["sklearn_T"]),
                "NLL": (t["skcalib_nll"], t["sklearn_nll"]),
            },
        )
    )
    return rows


def _conformal_rows(sizes, repeats):
    results = bench_conformal.run(repeats=repeats, **sizes["conformal"])
    results.append(bench_conformal.run_crepes(repeats=repeats, **sizes["crepes"]))
    return [
        _row(
            f"{r['score']} conformalise+sets",
            r["reference"],
            f"{r['n']} x {r['k']}",
            r["skcalib_s"],
            r["reference_s"],
            r["skcalib_peak_mib"],
            r["reference_peak_mib"],
            r["metrics"],
        )
        for r in results
    ]


def _ood_rows(sizes, repeats):
    r = bench_ood.run(repeats=repeats, **sizes["ood"])
    size = f"{r['n']} x {r['d']}"
    return [
        _row(
            f"{label} fit+score",
            "scikit-learn",
            size,
            r[f"{name}_skcalib_s"],
            r[f"{name}_sklearn_s"],
            r[f"{name}_skcalib_peak_mib"],
            r[f"{name}_sklearn_peak_mib"],
            {"AUROC": r[f"{name}_auroc"]},
        )
        for name, label in (("mahalanobis", "Mahalanobis"), ("knn", "kNN"))
    ]


def _netcal_rows(sizes, repeats):
    """netcal's TemperatureScaling on the probabilities (it fits on them)."""
    from netcal.scaling import TemperatureScaling as NetcalTemperature

    from skcalib.calibration import TemperatureScaling
    from skcalib.datasets import make_classification_logits

    n, k = sizes["calibration"]["n"], sizes["calibration"]["k"]
    logits, y = make_classification_logits(n, k, temperature=2.0, random_state=0)
    proba = softmax(logits)
    ours = measure(
        lambda: TemperatureScaling().fit(logits, y).predict_proba(logits), repeats
    )
    theirs = measure(
        lambda: NetcalTemperature().fit(proba, y).transform(proba), repeats
    )
    nll = negative_log_likelihood
    return [
        _row(
            "temperature fit+predict",
            "netcal",
            f"{n} x {k}",
            ours[0],
            theirs[0],
            ours[1],
            theirs[1],
            {"NLL": (nll(y, ours[2]), nll(y, theirs[2]))},
        )
    ]


def _pytorch_ood_rows(sizes, repeats):
    """pytorch-ood's Mahalanobis on features (fit_features / predict_features)."""
    import torch
    from pytorch_ood.detector import Mahalanobis

    from skcalib.ood import MahalanobisDetector

    s = sizes["ood"]
    X, y, X_test = bench_ood.make_features(s["n"], s["d"], s["n_test"], s["n_classes"])
    is_id = np.arange(2 * s["n_test"]) < s["n_test"]

    def theirs():
        detector = Mahalanobis(model=None)
        detector.fit_features(torch.from_numpy(X), torch.from_numpy(y))
        # pytorch-ood: higher is more OOD
        return -detector.predict_features(torch.from_numpy(X_test)).numpy()

    ours = measure(
        lambda: MahalanobisDetector().fit(X, y).score_samples(X_test), repeats
    )
    ref = measure(theirs, repeats)
    return [
        _row(
            "Mahalanobis fit+score",
            "pytorch-ood",
            f"{s['n']} x {s['d']}",
            ours[0],
            ref[0],
            ours[1],
            ref[1],
            {"AUROC": (ood_auroc(is_id, ours[2]), ood_auroc(is_id, ref[2]))},
        )
    ]


OPTIONAL_ANCHORS = {"netcal": _netcal_rows, "pytorch_ood": _pytorch_ood_rows}


def _progress(message, start):
    """One line on stderr: the benchmarks take minutes."""
    print(f"  {message} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)


def anchors(sizes, repeats, notes):
    rows = []
    for name, rows_of in [
        ("calibration", _calibration_rows),
        ("conformal", _conformal_rows),
        ("ood", _ood_rows),
        *OPTIONAL_ANCHORS.items(),
    ]:
        if name in OPTIONAL_ANCHORS and importlib.util.find_spec(name) is None:
            notes.append(f"{name} is not importable: its rows are skipped.")
            continue
        start = time.perf_counter()
        try:
            rows += rows_of(sizes, repeats)
        except Exception as exc:
            if name not in OPTIONAL_ANCHORS:
                raise
            # an optional anchor's API changed: say so, go on
            notes.append(f"{name} failed ({type(exc).__name__}: {exc}); skipped.")
        _progress(f"anchors: {name}", start)
    return rows


# --------------------------------------------------------------------------- #
# scaling
# --------------------------------------------------------------------------- #
def _scaling_temperature(n, repeats):
    r = bench_temperature.run(n=n, k=10, repeats=repeats)
    return r["skcalib_s"], r["sklearn_s"]


def _scaling_aps(n, repeats):
    (r,) = bench_conformal.run(n=n, k=10, repeats=repeats, scores=("aps",))
    return r["skcalib_s"], r["reference_s"]


def _scaling_venn_abers(n, repeats):
    (r,) = bench_calibration.run(
        n=n, n_venn_abers=n, repeats=repeats, methods=("venn_abers",)
    )
    return (
        r["skcalib_fit_s"] + r["skcalib_predict_s"],
        r["reference_fit_s"] + r["reference_predict_s"],
    )


def _scaling_mahalanobis(n, repeats):
    r = bench_ood.run(
        n=n, d=32, n_test=max(100, n // 10), repeats=repeats, detectors=("mahalanobis",)
    )
    return r["mahalanobis_skcalib_s"], r["mahalanobis_sklearn_s"]


SCALING = {
    "temperature fit (k=10)": ("scikit-learn", _scaling_temperature),
    "APS conformalise+sets (k=10)": ("MAPIE", _scaling_aps),
    "Venn-ABERS fit+predict": ("venn-abers", _scaling_venn_abers),
    "Mahalanobis fit+score (d=32)": ("scikit-learn", _scaling_mahalanobis),
}


def scaling(sizes, repeats, notes):
    rows = []
    for task, (anchor, run) in SCALING.items():
        elapsed = 0.0
        for n in sizes["scaling"]:
            if 10 * elapsed > SCALING_BUDGET_S:
                notes.append(f"scaling: {task} stops before n={n} (time budget).")
                break
            start = time.perf_counter()
            ours, theirs = run(n, repeats)
            elapsed = time.perf_counter() - start
            _progress(f"scaling: {task}, n={n}", start)
            rows.append(
                {
                    "task": task,
                    "anchor": anchor,
                    "n": n,
                    "skcalib_s": ours,
                    "anchor_s": theirs,
                    "ratio": theirs / ours,
                }
            )
    _add_growth(rows)
    return rows


def _add_growth(rows):
    """Log-log slope of the time against n from the previous size (1: linear)."""
    for prev, row in zip(rows, rows[1:], strict=False):
        if prev["task"] != row["task"]:
            continue
        dn = math.log(row["n"] / prev["n"])
        for side in ("skcalib", "anchor"):
            row[f"{side}_slope"] = math.log(row[f"{side}_s"] / prev[f"{side}_s"]) / dn


# --------------------------------------------------------------------------- #
# bandwidth
# --------------------------------------------------------------------------- #
def _kernels(x, y, xp):
    """The memory-bound kernels, each a function of no argument, and its check.

    The check is a scalar of the result, compared with NumPy's own
    computation in float64 (``reference``).
    """
    shifted = x - xp.max(x, axis=1, keepdims=True)
    shifted_sq = shifted * shifted
    shifted_true = xp.take_along_axis(shifted, y[:, None], axis=1)[:, 0]
    proba = softmax(x, xp=xp)
    threshold = xp.asarray([0.9], dtype=x.dtype)
    lac, aps = LACScore(), APSScore(randomized=False)
    return {
        "softmax": lambda: softmax(x, xp=xp),
        "log_softmax": lambda: log_softmax(x, xp=xp),
        "nll_from_logits": lambda: nll_from_logits(x, y, xp=xp),
        "temperature Newton pass": lambda: temperature_nll_derivatives(
            shifted, shifted_sq, shifted_true, 0.5, xp=xp
        ),
        "LAC sets": lambda: lac.prediction_sets(proba, threshold),
        "APS sets": lambda: aps.prediction_sets(proba, threshold),
    }


def _check_value(name, out):
    """A scalar summary of a kernel's output, to compare across backends."""
    if name == "temperature Newton pass":
        return out[0]
    return float(np.sum(np.asarray(to_numpy(out), dtype=np.float64)))


def _bandwidth_data(n, k):
    """Float32 logits (n, k) of scale 3 and integer labels."""
    rng = np.random.default_rng(0)
    x = 3.0 * rng.standard_normal((n, k), dtype=np.float32)
    return x, rng.integers(k, size=n)


def bandwidth(sizes, repeats, notes):
    """GB/s of each kernel over the float32 logits, against ``x.sum()``."""
    from array_api_compat import numpy as xp

    n, k = sizes["bandwidth"]["n"], sizes["bandwidth"]["k"]
    x, y = _bandwidth_data(n, k)
    gigabytes = x.nbytes / 1e9
    x64, y64 = x.astype(np.float64), y
    reference = {
        name: _check_value(name, f()) for name, f in _kernels(x64, y64, xp).items()
    }
    del x64
    reads, rows = [], []

    def read():
        return np.add.reduce(x, axis=None)

    for name, func in _kernels(x, y, xp).items():
        # Each kernel timed right after a read of the same array, so that the
        # load of other jobs on the machine affects both alike.
        read_times, kernel_times = [], []
        for _ in range(repeats):
            read_times.append(median_time(read, 1)[0])
            seconds, out = median_time(func, 1)
            kernel_times.append(seconds)
        read_s = statistics.median(read_times)
        seconds = statistics.median(kernel_times)
        reads += read_times
        rows.append(
            _bandwidth_row(
                name,
                n,
                k,
                seconds,
                read_s,
                gigabytes,
                _check_value(name, out),
                reference[name],
            )
        )
    read_s = statistics.median(reads)
    rows.insert(
        0, _bandwidth_row("read (x.sum)", n, k, read_s, read_s, gigabytes, None, None)
    )
    notes.append(
        f"bandwidth: {effective_n_threads()} thread(s) for skcalib's NumPy row "
        "blocks; the read is NumPy's single-threaded sum, timed before each "
        "kernel call (x read time: ratio of the medians of the pairs)."
    )
    return rows


def _bandwidth_row(kernel, n, k, seconds, read_s, gigabytes, value, reference):
    return {
        "kernel": kernel,
        "size": f"{n} x {k} float32",
        "seconds": seconds,
        "gb_per_s": gigabytes / seconds,
        "read_gb_per_s": gigabytes / read_s,
        "times_read": seconds / read_s,
        "value": value,
        "float64_value": reference,
    }


def _device_backend(name):
    """``(xp, to_device, synchronize, description)`` of a device library.

    ``name`` is "cupy" (the GPU) or "torch" (its CUDA device when there is
    one, else the CPU: the same code path, which the tests run).
    """
    if name == "cupy":
        import cupy
        from array_api_compat import cupy as xp

        def synchronize():
            cupy.cuda.get_current_stream().synchronize()

        props = cupy.cuda.runtime.getDeviceProperties(0)
        return xp, cupy.asarray, synchronize, f"CuPy on {props['name'].decode()}"
    import torch
    from array_api_compat import torch as xp

    device = "cuda" if torch.cuda.is_available() else "cpu"

    def synchronize():
        if device == "cuda":
            torch.cuda.synchronize()

    def to_device(a):
        return torch.asarray(a, device=device)

    return xp, to_device, synchronize, f"PyTorch on {device}"


def _device_tasks(x, y, features, xp):
    """The bandwidth kernels plus the issue's GPU tasks, on namespace ``xp``."""
    from skcalib.calibration import TemperatureScaling
    from skcalib.ood import EnergyDetector, MahalanobisDetector

    tasks = _kernels(x, y, xp)
    tasks["temperature fit"] = lambda: TemperatureScaling().fit(x, y).temperature_
    tasks["energy scoring"] = lambda: EnergyDetector().fit(x).score_samples(x)
    mahalanobis = MahalanobisDetector().fit(features, y)
    tasks["Mahalanobis scoring"] = lambda: mahalanobis.score_samples(features)
    return tasks


def gpu(sizes, repeats, notes, *, backend="cupy"):
    """The kernels and the issue's GPU tasks on a device against NumPy.

    Temperature fitting, APS sets, energy and Mahalanobis scoring, and the
    bandwidth kernels, on the same float32 data (1,000,000 x 1000 logits and
    1,000,000 x 256 features in a full run), each checked against NumPy.
    """
    from array_api_compat import numpy as np_xp
    from sklearn import config_context

    xp, to_device, synchronize, description = _device_backend(backend)
    n, k = (1_000_000, 1000) if sizes is SIZES["full"] else (4000, 100)
    x, y = _bandwidth_data(n, k)
    # Labels that the logits predict 70% of the time: a finite temperature.
    informative = np.random.default_rng(1).uniform(size=n) < 0.7
    y = np.where(informative, np.argmax(x, axis=1), y)
    d = min(256, k)
    features = (x[:, :d] + np.float32(2.0) * (y[:, None] % 4)).astype(np.float32)
    xg, yg, fg = to_device(x), to_device(y), to_device(features)

    def synced(f):
        def run():
            out = f()
            synchronize()
            return out

        return run

    rows = []
    read_s, _ = median_time(synced(lambda: xp.sum(xg)), 2 * repeats + 1)
    with config_context(array_api_dispatch=True):
        cpu_tasks = _device_tasks(x, y, features, np_xp)
        device_tasks = _device_tasks(xg, yg, fg, xp)
        for name, cpu_task in cpu_tasks.items():
            cpu_s, cpu_out = median_time(cpu_task, repeats)
            gpu_s, gpu_out = median_time(synced(device_tasks[name]), repeats)
            rows.append(
                {
                    "kernel": name,
                    "size": f"{n} x {k} float32",
                    "numpy_s": cpu_s,
                    "gpu_s": gpu_s,
                    "speedup": cpu_s / gpu_s,
                    "gpu_gb_per_s": x.nbytes / 1e9 / gpu_s,
                    "gpu_times_read": gpu_s / read_s,
                    "value": _check_value(name, gpu_out),
                    "numpy_value": _check_value(name, cpu_out),
                }
            )
    notes.append(f"device: {description}")
    wrong = [
        r["kernel"]
        for r in rows
        # float32 sums over every output: accumulation order differs by library
        if not math.isclose(r["value"], r["numpy_value"], rel_tol=5e-3, abs_tol=1e-6)
    ]
    if wrong:
        notes.append(f"device results differ from NumPy's: {', '.join(wrong)}")
    return rows


# --------------------------------------------------------------------------- #
# output
# --------------------------------------------------------------------------- #
def _fmt(value, digits=3):
    if value is None:
        return "-"
    if isinstance(value, str | int):
        return str(value)
    return f"{value:.{digits}g}"


def _metrics_cell(metrics):
    return "; ".join(
        f"{m} {_fmt(a, 4)} / {_fmt(b, 4)}" for m, (a, b) in metrics.items()
    )


TABLES = {
    "anchors": (
        "Anchors: ratio = anchor time / skcalib time (> 1: skcalib faster); "
        "peak = tracemalloc MiB; metrics skcalib / anchor",
        [
            "task",
            "anchor",
            "size",
            "skcalib s",
            "anchor s",
            "ratio",
            "predict ratio",
            "skcalib MiB",
            "anchor MiB",
            "metrics (skcalib / anchor)",
        ],
        lambda r: [
            r["task"],
            r["anchor"],
            r["size"],
            r["skcalib_s"],
            r["anchor_s"],
            r["ratio"],
            r.get("predict_ratio"),
            r["skcalib_mib"],
            r["anchor_mib"],
            _metrics_cell(r["metrics"]),
        ],
    ),
    "scaling": (
        "Scaling with n: seconds, ratio, and the log-log slope of the time from "
        "the previous n (1 = linear)",
        [
            "task",
            "anchor",
            "n",
            "skcalib s",
            "anchor s",
            "ratio",
            "skcalib slope",
            "anchor slope",
        ],
        lambda r: [
            r["task"],
            r["anchor"],
            r["n"],
            r["skcalib_s"],
            r["anchor_s"],
            r["ratio"],
            r.get("skcalib_slope"),
            r.get("anchor_slope"),
        ],
    ),
    "bandwidth": (
        "Memory-bound kernels: GB/s of the float32 logits, against one read (x.sum())",
        [
            "kernel",
            "size",
            "seconds",
            "GB/s",
            "read GB/s",
            "x read time",
            "value",
            "float64 value",
        ],
        lambda r: [
            r["kernel"],
            r["size"],
            r["seconds"],
            r["gb_per_s"],
            r["read_gb_per_s"],
            r["times_read"],
            r["value"],
            r["float64_value"],
        ],
    ),
    "gpu": (
        "Device against NumPy on the same data (speed-up = NumPy time / device time)",
        [
            "kernel",
            "size",
            "NumPy s",
            "device s",
            "speed-up",
            "device GB/s",
            "x device read",
            "value",
            "NumPy value",
        ],
        lambda r: [
            r["kernel"],
            r["size"],
            r["numpy_s"],
            r["gpu_s"],
            r["speedup"],
            r["gpu_gb_per_s"],
            r["gpu_times_read"],
            r["value"],
            r["numpy_value"],
        ],
    ),
}


def print_table(section, rows):
    title, columns, cells = TABLES[section]
    body = [[_fmt(c) for c in cells(r)] for r in rows]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [
            max(len(c), *(len(row[i]) for row in body)) for i, c in enumerate(columns)
        ]
        print(f"\n{title}")
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        for row in body:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        return
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c, overflow="fold")
    for row in body:
        table.add_row(*row)
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def machine():
    import sklearn

    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "skcalib_threads": effective_n_threads(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def _check_gpu():
    """Exit with a message unless CuPy and a CUDA device are usable."""
    try:
        import cupy
    except ImportError:
        sys.exit(
            "--gpu needs CuPy (pip install cupy-cuda12x) and a CUDA GPU: "
            "CuPy is not importable here."
        )
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        sys.exit(f"--gpu: no usable CUDA device ({type(exc).__name__}: {exc}).")
    if n_devices == 0:
        sys.exit("--gpu: CuPy found no CUDA device.")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--only", choices=SECTIONS, help="run one section")
    parser.add_argument(
        "--repeats", type=_positive_int, default=3, help="timed repeats (median)"
    )
    parser.add_argument("--json", type=Path, help="also write every number here")
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="CuPy on the GPU against NumPy (kernels, temperature fit, APS sets, "
        "energy and Mahalanobis scoring)",
    )
    parser.add_argument(
        "--device-backend",
        choices=("cupy", "torch"),
        default="cupy",
        help="library of --gpu: CuPy, or PyTorch (its CUDA device, else the CPU)",
    )
    args = parser.parse_args(argv)
    if args.gpu and args.only:
        parser.error("--only chooses among the CPU sections; --gpu runs its own")
    if args.gpu and args.device_backend == "cupy":
        _check_gpu()
    sizes = SIZES["quick" if args.quick else "full"]
    sections = {"anchors": anchors, "scaling": scaling, "bandwidth": bandwidth}
    if args.gpu:
        sections = {"gpu": functools.partial(gpu, backend=args.device_backend)}
    elif args.only:
        sections = {args.only: sections[args.only]}
    info = machine()
    print(
        f"skcalib benchmarks, {info['date']}: {info['cpu']}, {info['cpus']} CPU(s), "
        f"NumPy {info['numpy']}, scikit-learn {info['scikit-learn']}, "
        f"median of {args.repeats} repeat(s){', quick sizes' if args.quick else ''}"
    )
    results, notes = {"machine": info, "repeats": args.repeats}, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, run in sections.items():
            results[name] = run(sizes, args.repeats, notes)
            print_table(name, results[name])
    for note in notes:
        print(f"note: {note}")
    results["notes"] = notes
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    return results


if __name__ == "__main__":
    main()
