"""Dask arrays give NumPy's results: lazy scoring, distributed fitting and metrics.

Every test runs on the default local scheduler and on a real ``LocalCluster``
with two worker processes (the ``scheduler`` fixture).
"""

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from skcalib.calibration import (  # noqa: E402
    BetaCalibration,
    DirichletCalibration,
    HistogramBinning,
    MatrixScaling,
    TemperatureScaling,
    VectorScaling,
)
from skcalib.conformal import SplitConformalClassifier  # noqa: E402
from skcalib.metrics import (  # noqa: E402
    adaptive_calibration_error,
    expected_calibration_error,
)
from skcalib.ood import (  # noqa: E402
    EnergyDetector,
    MahalanobisDetector,
    RelativeMahalanobisDetector,
)
from skcalib.utils._array_api import conformal_quantile, softmax  # noqa: E402
from skcalib.utils._dask import is_dask_array  # noqa: E402
from skcalib.utils._dask_fit import dask_conformal_quantile  # noqa: E402

N, K, CHUNK = 20_000, 5, 3_000


@pytest.fixture(params=["local", "cluster"])
def scheduler(request):
    if request.param == "cluster":
        client = request.getfixturevalue("cluster_client")
        yield client
    else:
        # The cluster's client, once created, is the default scheduler: ask
        # for the local threaded one explicitly.
        with dask.config.set(scheduler="threads"):
            yield None


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, K, N)
    logits = rng.normal(scale=2.0, size=(N, K)).astype(np.float32)
    logits[np.arange(N), y] += 3.0
    return logits, y


def _dask(x, chunks=CHUNK):
    return da.from_array(x, chunks=(chunks,) + x.shape[1:])


def test_lazy_scoring_matches_numpy(scheduler, data):
    logits, y = data
    ts = TemperatureScaling().fit(logits, y)
    proba = ts.predict_proba(_dask(logits))
    assert is_dask_array(proba)
    assert proba.chunks[0] == _dask(logits).chunks[0]
    np.testing.assert_allclose(proba.compute(), ts.predict_proba(logits), rtol=1e-6)
    labels = ts.predict(_dask(logits)).compute()
    np.testing.assert_array_equal(labels, ts.predict(logits))
    ood = EnergyDetector().fit(logits)
    for method in ("score_samples", "decision_function", "predict"):
        lazy = getattr(ood, method)(_dask(logits))
        np.testing.assert_allclose(lazy.compute(), getattr(ood, method)(logits))


def test_feature_axis_is_rechunked(data):
    logits, y = data
    ts = TemperatureScaling().fit(logits, y)
    X = da.from_array(logits, chunks=(CHUNK, 2))
    out = ts.predict_proba(X)
    assert out.chunks[1] == (K,)
    np.testing.assert_allclose(out.compute(), ts.predict_proba(logits), rtol=1e-6)


def test_temperature_fit_matches_numpy(scheduler, data):
    logits, y = data
    expected = TemperatureScaling().fit(logits, y)
    fitted = TemperatureScaling().fit(_dask(logits), _dask(y))
    assert fitted.temperature_ == pytest.approx(expected.temperature_, rel=1e-6)
    np.testing.assert_array_equal(fitted.classes_, expected.classes_)
    weight = np.random.default_rng(1).uniform(size=N)
    expected = TemperatureScaling().fit(logits, y, sample_weight=weight)
    fitted = TemperatureScaling().fit(_dask(logits), y, sample_weight=_dask(weight))
    assert fitted.temperature_ == pytest.approx(expected.temperature_, rel=1e-6)


def test_histogram_binning_fit_matches_numpy(scheduler, data):
    logits, y = data
    proba = softmax(logits.astype(np.float64))
    expected = HistogramBinning(n_bins=10).fit(proba, y)
    fitted = HistogramBinning(n_bins=10).fit(_dask(proba), y)
    np.testing.assert_allclose(
        fitted.bin_probabilities_, expected.bin_probabilities_, rtol=1e-12
    )
    np.testing.assert_array_equal(fitted.bin_edges_, expected.bin_edges_)


@pytest.mark.parametrize("binary", [False, True])
def test_quantile_histogram_binning_fit_matches_numpy(scheduler, data, binary):
    logits, y = data
    proba = softmax(logits)
    X, target = (proba[:, 1], y == 1) if binary else (proba, y)
    expected = HistogramBinning(n_bins=10, strategy="quantile").fit(X, target)
    fitted = HistogramBinning(n_bins=10, strategy="quantile").fit(_dask(X), target)
    np.testing.assert_array_equal(fitted.bin_edges_, expected.bin_edges_)
    np.testing.assert_allclose(
        fitted.bin_probabilities_, expected.bin_probabilities_, rtol=1e-6
    )
    with pytest.raises(ValueError, match="with sample_weight is not available"):
        HistogramBinning(strategy="quantile").fit(
            _dask(X), target, sample_weight=np.ones(N)
        )


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda: VectorScaling(), "logits"),
        (lambda: MatrixScaling(reg_lambda=1e-2, regularization="l2"), "logits"),
        (lambda: DirichletCalibration(reg_lambda=1e-3), "proba"),
    ],
    ids=["vector", "matrix", "dirichlet"],
)
def test_affine_softmax_fit_matches_numpy(scheduler, data, make, kind):
    logits, y = data
    X = softmax(logits.astype(np.float64)) if kind == "proba" else logits
    weight = np.random.default_rng(1).uniform(size=N)
    expected = make().fit(X, y, sample_weight=weight)
    # Three blocks: each L-BFGS evaluation is one pass over them.
    fitted = make().fit(
        _dask(X, 7_000), _dask(y, 7_000), sample_weight=_dask(weight, 7_000)
    )
    assert fitted.coef_.dtype == expected.coef_.dtype == X.dtype
    # float32 parameters are rounded from the same float64 optimum.
    rtol = 1e-6 if X.dtype == np.float32 else 1e-8
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(
        fitted.intercept_, expected.intercept_, rtol=rtol, atol=1e-7
    )
    np.testing.assert_allclose(
        fitted.predict_proba(X), expected.predict_proba(X), rtol=1e-6, atol=1e-7
    )


def test_binary_vector_scaling_fit_matches_numpy(data):
    logits, y = data
    scores = logits[:, 1] - logits[:, 0]
    expected = VectorScaling().fit(scores, y == 1)
    fitted = VectorScaling().fit(_dask(scores), _dask(y == 1))
    assert fitted.n_iter_ == expected.n_iter_
    np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-6)
    np.testing.assert_allclose(fitted.intercept_, expected.intercept_, atol=1e-7)


def test_unsupported_fit_is_a_clear_error(data):
    logits, y = data
    with pytest.raises(TypeError, match="BetaCalibration cannot be fitted on Dask"):
        BetaCalibration().fit(_dask(softmax(logits)[:, 1]), y == 1)


@pytest.mark.parametrize("multi_class", ["top_label", "classwise", "marginal"])
@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
def test_ece_matches_numpy(data, multi_class, norm):
    logits, y = data
    proba = softmax(logits.astype(np.float64))
    expected = expected_calibration_error(y, proba, multi_class=multi_class, norm=norm)
    got = expected_calibration_error(
        _dask(y), _dask(proba), multi_class=multi_class, norm=norm
    )
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("multi_class", ["top_label", "classwise", "marginal"])
def test_quantile_ece_and_ace_match_numpy(scheduler, data, multi_class):
    logits, y = data
    proba = softmax(logits.astype(np.float64))
    y_d, proba_d = _dask(y, 7_000), _dask(proba, 7_000)
    # ACE is the l1 ECE with 15 equal-mass bins.
    expected = adaptive_calibration_error(y, proba, multi_class=multi_class)
    got = adaptive_calibration_error(y_d, proba_d, multi_class=multi_class)
    assert got == pytest.approx(expected, rel=1e-9)
    params = dict(strategy="quantile", norm="max", multi_class=multi_class)
    for n_bins in (1, 4):
        expected = expected_calibration_error(y, proba, n_bins=n_bins, **params)
        got = expected_calibration_error(y_d, proba_d, n_bins=n_bins, **params)
        assert got == pytest.approx(expected, rel=1e-9)


def test_quantile_ece_binary_and_weighted(data):
    logits, y = data
    p1 = softmax(logits.astype(np.float64))[:, 0]
    expected = expected_calibration_error(y == 0, p1, strategy="quantile")
    got = expected_calibration_error(_dask(y == 0), _dask(p1), strategy="quantile")
    assert got == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="with sample_weight is not available"):
        expected_calibration_error(
            y == 0, _dask(p1), strategy="quantile", sample_weight=np.ones(N)
        )


def test_ece_on_cluster_binary_and_weighted(scheduler, data):
    logits, y = data
    proba = softmax(logits.astype(np.float64))
    binary = (y == 0).astype(int)
    p1 = proba[:, 0]
    assert expected_calibration_error(_dask(binary), _dask(p1)) == pytest.approx(
        expected_calibration_error(binary, p1), rel=1e-9
    )
    weight = np.random.default_rng(2).uniform(size=N)
    assert expected_calibration_error(
        y, _dask(proba), sample_weight=weight
    ) == pytest.approx(expected_calibration_error(y, proba, sample_weight=weight))


@pytest.mark.parametrize(
    "scores",
    [
        np.random.default_rng(3).normal(size=50_000),
        np.random.default_rng(4).integers(0, 3, 50_000).astype(float),  # ties
        np.concatenate([np.full(40_000, 0.5), np.random.default_rng(5).random(500)]),
        np.concatenate([np.random.default_rng(6).random(1000), [np.inf] * 20]),
    ],
    ids=["normal", "three-values", "one-heavy-value", "with-inf"],
)
def test_conformal_quantile_is_exact(scores):
    levels = [0.01, 0.5, 0.9, 0.95, 0.99, 0.9999]
    expected = conformal_quantile(scores, levels)
    got = dask_conformal_quantile(_dask(scores, 3_001), levels)
    np.testing.assert_array_equal(got, expected)


def test_conformal_quantile_needs_many_rounds():
    # Values packed within a few ulps of each other, and a far outlier:
    # equal-width bins must be refined several times.
    rng = np.random.default_rng(7)
    scores = 1.0 + rng.integers(0, 1 << 20, 200_000) * np.finfo(float).eps
    scores[0] = 1e300
    expected = conformal_quantile(scores, 0.9)
    assert dask_conformal_quantile(_dask(scores, 40_000), 0.9) == expected


def test_split_conformal_classifier_matches_numpy(scheduler, data):
    logits, y = data
    model = LogisticRegression(max_iter=200).fit(logits[:2000], y[:2000])
    model = FrozenEstimator(model)
    expected = SplitConformalClassifier(model, confidence_level=0.9).fit(logits, y)
    fitted = SplitConformalClassifier(model, confidence_level=0.9).fit(
        _dask(logits), _dask(y)
    )
    assert fitted.quantiles_ == expected.quantiles_
    sets = fitted.predict_set(_dask(logits))
    assert is_dask_array(sets)
    np.testing.assert_array_equal(sets.compute(), expected.predict_set(logits))
    # confidence_level is still read at predict time.
    fitted.set_params(confidence_level=0.8)
    expected.set_params(confidence_level=0.8)
    np.testing.assert_array_equal(
        fitted.predict_set(_dask(logits)).compute(), expected.predict_set(logits)
    )


def test_split_conformal_classifier_unsupported_options(data):
    logits, y = data
    with pytest.raises(ValueError, match="needs a FrozenEstimator"):
        SplitConformalClassifier().fit(_dask(logits), y)


def test_numpy_path_does_not_import_dask():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from skcalib.calibration import TemperatureScaling\n"
        "X = np.random.default_rng(0).normal(size=(50, 3))\n"
        "ts = TemperatureScaling().fit(X, np.arange(50) % 3)\n"
        "ts.predict_proba(X)\n"
        "assert not any(m.startswith('dask') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("contamination", [None, 0.1])
def test_unlearned_ood_detector_fit_matches_numpy(scheduler, data, contamination):
    logits, _ = data
    expected = EnergyDetector(contamination=contamination).fit(logits)
    fitted = EnergyDetector(contamination=contamination).fit(_dask(logits))
    assert fitted.offset_ == pytest.approx(expected.offset_, rel=1e-12)


@pytest.mark.parametrize(
    "detector, shrinkage",
    [
        (MahalanobisDetector, None),
        (MahalanobisDetector, "auto"),
        (MahalanobisDetector, 0.1),
        (RelativeMahalanobisDetector, "auto"),
    ],
)
def test_mahalanobis_fit_matches_numpy_on_the_same_rows(
    scheduler, data, detector, shrinkage
):
    from array_api_compat import numpy as xp

    logits, y = data
    fitted = detector(shrinkage=shrinkage, random_state=0).fit(_dask(logits), y)
    # The calibration rows: NaN scores mark the others.
    calibrates = ~np.isnan(fitted.calibration_scores_.compute())
    assert 0.15 < calibrates.mean() < 0.25
    expected = detector(shrinkage=shrinkage)
    expected._fit(logits[~calibrates], y[~calibrates], xp=xp)
    np.testing.assert_allclose(fitted.covariance_, expected.covariance_, rtol=1e-5)
    if detector is RelativeMahalanobisDetector:
        np.testing.assert_allclose(
            fitted.background_covariance_, expected.background_covariance_, rtol=1e-5
        )
    elif shrinkage is None:
        with pytest.raises(ValueError, match="requires y"):
            RelativeMahalanobisDetector().fit(_dask(logits))
    np.testing.assert_allclose(fitted.means_, expected.means_, rtol=1e-5, atol=1e-6)
    assert fitted.shrinkage_ == pytest.approx(expected.shrinkage_, rel=1e-6)
    scores = expected._score(logits, xp=xp)
    np.testing.assert_allclose(
        fitted.score_samples(_dask(logits)).compute(), scores, rtol=1e-4, atol=1e-4
    )
    threshold = -conformal_quantile(-scores[calibrates], expected.tpr)
    assert fitted.offset_ == pytest.approx(float(threshold), rel=1e-4)


@pytest.mark.parametrize("conformity_score", ["absolute", "gamma"])
def test_split_conformal_regressor_matches_numpy(scheduler, conformity_score):
    from sklearn.linear_model import LinearRegression

    from skcalib.conformal import SplitConformalRegressor

    rng = np.random.default_rng(8)
    X = rng.normal(size=(N, 3))
    y = X @ [1.0, -2.0, 0.5] + 10 + rng.normal(size=N)
    model = FrozenEstimator(LinearRegression().fit(X[:500], y[:500]))
    params = dict(conformity_score=conformity_score, confidence_level=[0.8, 0.9])
    expected = SplitConformalRegressor(model, **params).fit(X, y)
    fitted = SplitConformalRegressor(model, **params).fit(_dask(X), _dask(y))
    np.testing.assert_array_equal(fitted.quantiles_, expected.quantiles_)
    intervals = fitted.predict_interval(_dask(X))
    assert is_dask_array(intervals)
    np.testing.assert_array_equal(intervals.compute(), expected.predict_interval(X))
    # confidence_level is still read at predict time.
    fitted.set_params(confidence_level=0.95)
    expected.set_params(confidence_level=0.95)
    np.testing.assert_array_equal(
        fitted.predict_interval(_dask(X)).compute(), expected.predict_interval(X)
    )
    np.testing.assert_array_equal(
        fitted.predict(_dask(X)).compute(), expected.predict(X)
    )


def test_split_conformal_regressor_unsupported_options():
    from skcalib.conformal import SplitConformalRegressor

    X, y = np.ones((10, 2)), np.arange(10.0)
    with pytest.raises(ValueError, match="needs a FrozenEstimator"):
        SplitConformalRegressor().fit(_dask(X, 5), _dask(y, 5))


def _three_class_logits(n=1000):
    rng = np.random.default_rng(9)
    y = rng.integers(0, 3, n)
    z = rng.normal(size=(n, 3))
    z[np.arange(n), y] += 2.0
    return 3.0 * z, y


def test_temperature_fit_with_empty_or_zero_weight_block():
    z, y = _three_class_logits()
    expected = TemperatureScaling().fit(z, y).temperature_
    assert abs(expected - 1.0) > 0.1
    fitted = TemperatureScaling().fit(da.from_array(z, chunks=((500, 0, 500), 3)), y)
    assert fitted.temperature_ == pytest.approx(expected, rel=1e-6)
    weight = np.r_[np.zeros(500), np.ones(500)]
    expected = TemperatureScaling().fit(z, y, sample_weight=weight).temperature_
    fitted = TemperatureScaling().fit(_dask(z, 500), y, sample_weight=weight)
    assert fitted.temperature_ == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="NLL of the Dask data .* is not finite"):
        TemperatureScaling().fit(_dask(z, 500), y, sample_weight=np.zeros(1000))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize(
    "fit",
    [
        lambda X, y: TemperatureScaling().fit(X, y),
        lambda X, y: VectorScaling().fit(X, y),
        lambda X, y: EnergyDetector().fit(X),
        lambda X, y: EnergyDetector(contamination=0.1).fit(X),
        lambda X, y: MahalanobisDetector().fit(X, y),
    ],
    ids=["temperature", "vector", "energy", "energy-contamination", "mahalanobis"],
)
def test_fit_rejects_nan_and_inf_in_dask_x(fit, bad):
    z, y = _three_class_logits()
    z[700, 1] = bad
    message = "Input X contains NaN" if np.isnan(bad) else "Input X contains inf"
    with pytest.raises(ValueError, match=message):
        fit(z, y)
    with pytest.raises(ValueError, match=message):
        fit(_dask(z, 300), y)


def test_ood_fit_warns_about_too_few_calibration_samples():
    z, _ = _three_class_logits(10)
    with pytest.warns(UserWarning, match="10 calibration sample.* are too few"):
        expected = EnergyDetector(tpr=0.99).fit(z)
    with pytest.warns(UserWarning, match="10 calibration sample.* are too few"):
        fitted = EnergyDetector(tpr=0.99).fit(_dask(z, 5))
    assert fitted.offset_ == expected.offset_ == -np.inf


@pytest.mark.parametrize("detector", [MahalanobisDetector, RelativeMahalanobisDetector])
def test_mahalanobis_calibration_size_leaving_no_fit_rows(detector):
    z, y = _three_class_logits(100)
    for X in (z, _dask(z, 30)):
        with pytest.raises(ValueError, match="leaves no sample to fit on"):
            detector(calibration_size=100).fit(X, y)


def test_positional_none_is_passed_to_every_block(data):
    logits, y = data
    model = FrozenEstimator(LogisticRegression(max_iter=200).fit(logits[:500], y[:500]))
    fitted = SplitConformalClassifier(model).fit(logits[:2000], y[:2000])
    lazy = fitted.predict_set(_dask(logits), None)
    np.testing.assert_array_equal(lazy.compute(), fitted.predict_set(logits, None))


def test_numpy_kernels_run_single_threaded_in_dask_tasks(monkeypatch, data):
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import ThreadpoolController

    from skcalib.utils import _array_api, _parallel

    logits, y = data
    ts = TemperatureScaling().fit(logits, y)
    # Small row blocks, so that the NumPy kernels split every Dask block.
    monkeypatch.setattr(_array_api, "_BLOCK_ENTRIES", 256)
    pools = []

    class RecordingPool(ThreadPoolExecutor):
        def __init__(self, max_workers):
            pools.append(max_workers)
            super().__init__(max_workers=max_workers)

    monkeypatch.setattr(_parallel, "ThreadPoolExecutor", RecordingPool)

    def four_threads():
        # As on a machine with 4 CPUs (the tests run with OMP_NUM_THREADS=1).
        for lib in ThreadpoolController().select(user_api="openmp").lib_controllers:
            lib.set_num_threads(4)

    with ThreadPoolExecutor(2, initializer=four_threads) as dask_pool:
        assert dask_pool.submit(_parallel.effective_n_threads).result() == 4
        with dask.config.set(scheduler="threads", pool=dask_pool):
            lazy = ts.predict_proba(_dask(logits)).compute()
            fitted = TemperatureScaling().fit(_dask(logits), y)
    assert pools == []
    np.testing.assert_allclose(lazy, ts.predict_proba(logits), rtol=1e-6)
    assert fitted.temperature_ == pytest.approx(ts.temperature_, rel=1e-6)
