import inspect
import pickle

import numpy as np
import pytest
from scipy import stats

from skcalib.metrics import (
    bootstrap_confidence_interval,
    coverage_score,
    interval_coverage_score,
    ood_auroc,
)
from skcalib.metrics._bootstrap import BootstrapResult
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace


def _mean(x, sample_weight=None):
    return float(np.average(x, weights=sample_weight))


def _mean_diff(x, y):
    return float(np.mean(x - y))


def test_result_type_and_determinism():
    x = np.random.default_rng(0).normal(size=50)
    res = bootstrap_confidence_interval(_mean, x, n_resamples=200, random_state=1)
    assert isinstance(res, BootstrapResult) and isinstance(res, tuple)
    estimate, low, high = res
    assert estimate == res.estimate == _mean(x)
    assert all(isinstance(v, float) for v in res)
    assert low < estimate < high
    assert res.distribution.shape == (200,)
    again = bootstrap_confidence_interval(_mean, x, n_resamples=200, random_state=1)
    assert tuple(again) == tuple(res)
    np.testing.assert_array_equal(again.distribution, res.distribution)
    other = bootstrap_confidence_interval(_mean, x, n_resamples=200, random_state=2)
    assert tuple(other) != tuple(res)
    gen = bootstrap_confidence_interval(
        _mean, x, n_resamples=200, random_state=np.random.default_rng(1)
    )
    gen2 = bootstrap_confidence_interval(
        _mean, x, n_resamples=200, random_state=np.random.default_rng(1)
    )
    assert tuple(gen) == tuple(gen2)
    restored = pickle.loads(pickle.dumps(res))
    assert tuple(restored) == tuple(res)
    np.testing.assert_array_equal(restored.distribution, res.distribution)


def test_distribution_is_metric_on_resampled_rows():
    x = np.arange(10.0)
    y = 2 * np.arange(10.0)
    res = bootstrap_confidence_interval(
        _mean_diff, x, y, n_resamples=20, random_state=0
    )
    idx = np.random.RandomState(0).randint(0, 10, size=(20, 10))
    np.testing.assert_allclose(res.distribution, [-np.mean(x[i]) for i in idx])
    np.testing.assert_allclose(
        [res.low, res.high], np.quantile(res.distribution, [0.025, 0.975])
    )
    basic = bootstrap_confidence_interval(
        _mean_diff, x, y, n_resamples=20, random_state=0, method="basic"
    )
    assert basic.low == pytest.approx(2 * res.estimate - res.high)
    assert basic.high == pytest.approx(2 * res.estimate - res.low)


def test_sample_weight_is_resampled_with_rows():
    x = np.arange(8.0)
    w = np.arange(1.0, 9.0)
    res = bootstrap_confidence_interval(
        _mean, x, n_resamples=30, random_state=0, sample_weight=w
    )
    assert res.estimate == pytest.approx(np.average(x, weights=w))
    idx = np.random.RandomState(0).randint(0, 8, size=(30, 8))
    np.testing.assert_allclose(
        res.distribution, [np.average(x[i], weights=w[i]) for i in idx]
    )


def test_metric_kwargs_and_vector_metric():
    y = np.r_[np.ones(30, int), np.zeros(30, int)]
    s = np.random.default_rng(0).normal(size=60) + y
    res = bootstrap_confidence_interval(ood_auroc, y, s, n_resamples=50, random_state=0)
    assert res.estimate == ood_auroc(y, s)
    x = np.random.default_rng(1).normal(size=(40, 3))
    res = bootstrap_confidence_interval(
        lambda a: np.mean(a, axis=0), x, n_resamples=100, random_state=0
    )
    assert res.estimate.shape == res.low.shape == res.high.shape == (3,)
    assert res.distribution.shape == (100, 3)
    assert np.all(res.low < res.estimate) and np.all(res.estimate < res.high)


def _scipy_rng(generator):
    # scipy >= 1.15 names the generator ``rng``; 1.14 calls it ``random_state``.
    if "rng" in inspect.signature(stats.bootstrap).parameters:
        return {"rng": generator}
    return {"random_state": generator}


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_parity_scipy_bootstrap(method):
    rng = np.random.default_rng(0)
    x = rng.exponential(size=40)
    y = x + rng.normal(size=40)
    ref = stats.bootstrap(
        (x, y),
        lambda a, b, axis=-1: np.mean(a - b, axis=axis),
        paired=True,
        n_resamples=300,
        confidence_level=0.9,
        method=method,
        **_scipy_rng(np.random.default_rng(5)),
    )
    res = bootstrap_confidence_interval(
        _mean_diff,
        x,
        y,
        n_resamples=300,
        confidence_level=0.9,
        method=method,
        random_state=np.random.default_rng(5),
    )
    np.testing.assert_allclose(res.distribution, ref.bootstrap_distribution, rtol=1e-12)
    assert res.low == pytest.approx(ref.confidence_interval.low, rel=1e-10)
    assert res.high == pytest.approx(ref.confidence_interval.high, rel=1e-10)


def _coverage_of_mean_ci(n_repeats, n, n_resamples, method, seed):
    """How often the 90% CI for the mean of N(1, 2^2) samples contains 1."""
    rng = np.random.default_rng(seed)
    hits = 0
    for r in range(n_repeats):
        x = rng.normal(loc=1.0, scale=2.0, size=n)
        res = bootstrap_confidence_interval(
            _mean,
            x,
            n_resamples=n_resamples,
            confidence_level=0.9,
            method=method,
            random_state=r,
        )
        hits += res.low <= 1.0 <= res.high
    return hits / n_repeats


def test_ci_coverage_quick():
    # 150 repetitions: a binomial 3-sigma band around 0.9 is +-0.075.
    cov = _coverage_of_mean_ci(150, n=60, n_resamples=200, method="percentile", seed=0)
    assert 0.82 <= cov <= 0.975


@pytest.mark.slow
@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_ci_coverage_slow(method):
    # 1000 repetitions: binomial standard error 0.0095 around 0.9, so +-3 sigma
    # is [0.87, 0.93]; bootstrap intervals under-cover by about (1 - 1/n) in
    # variance, negligible at n = 100.
    cov = _coverage_of_mean_ci(1000, n=100, n_resamples=1000, method=method, seed=1)
    assert 0.87 <= cov <= 0.93


def test_errors():
    x = np.arange(5.0)
    with pytest.raises(ValueError, match="callable"):
        bootstrap_confidence_interval("mean", x)
    with pytest.raises(ValueError, match="at least one array"):
        bootstrap_confidence_interval(_mean)
    with pytest.raises(ValueError, match="same, positive number of rows"):
        bootstrap_confidence_interval(_mean_diff, x, np.arange(4.0))
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_confidence_interval(_mean, x, n_resamples=0)
    with pytest.raises(ValueError, match="confidence_level"):
        bootstrap_confidence_interval(_mean, x, confidence_level=1.0)
    with pytest.raises(ValueError, match="method"):
        bootstrap_confidence_interval(_mean, x, method="studentized")
    with pytest.raises(ValueError, match="sample_weight"):
        bootstrap_confidence_interval(_mean, x, sample_weight=np.ones(3))


def test_inputs_not_modified():
    x = np.random.default_rng(0).normal(size=20)
    x0 = x.copy()
    bootstrap_confidence_interval(
        _mean, x, n_resamples=20, method="bca", random_state=0
    )
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_array_api(combination, method):
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    y_interval = np.stack(
        [y - rng.uniform(0, 2, 40), y + rng.uniform(-0.5, 2, 40)], axis=1
    )
    y_interval = np.sort(y_interval, axis=1)
    sw = rng.uniform(0.5, 2, size=40)

    def func(y, y_interval, sw):
        res = bootstrap_confidence_interval(
            interval_coverage_score,
            y,
            y_interval,
            n_resamples=30,
            method=method,
            random_state=0,
            sample_weight=sw,
        )
        return (res.estimate, res.low, res.high, res.distribution)

    assert_same_on_namespace(func, (y, y_interval, sw), combination=combination)
    sets = rng.random((40, 3)) < 0.6
    labels = rng.integers(0, 3, size=40)
    assert_same_on_namespace(
        lambda yt, s: tuple(
            bootstrap_confidence_interval(
                coverage_score, yt, s, n_resamples=20, random_state=1, method=method
            )
        ),
        (labels, sets),
        combination=combination,
    )
