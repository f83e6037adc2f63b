"""benchmarks/bench_dask.py runs and gives NumPy's answers on a small size.

The full 50M-row run takes minutes on two cores: it is a script-only run
(``python benchmarks/bench_dask.py``), its numbers are in the user guide.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask.array")

from skcalib.calibration import TemperatureScaling  # noqa: E402
from skcalib.metrics import expected_calibration_error  # noqa: E402
from skcalib.utils._array_api import conformal_quantile  # noqa: E402

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_dask.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_dask", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_run_matches_numpy():
    bench = _load()
    result = bench.run(n=40_000, chunk=10_000)
    logits, y = (a.compute() for a in bench.make_logits(40_000, 10_000))
    ts = TemperatureScaling().fit(logits, y)
    assert result["temperature"] == pytest.approx(ts.temperature_, rel=1e-6)
    proba = ts.predict_proba(logits)
    assert result["ece"] == pytest.approx(
        expected_calibration_error(y, proba),
        rel=1e-5,  # float32 bin sums
    )
    scores = 1.0 - proba[np.arange(y.shape[0]), y]
    assert result["threshold"] == float(conformal_quantile(scores, 0.9))
