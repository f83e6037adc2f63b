import warnings

import numpy as np
import pytest

from skcalib.metrics import (
    classwise_coverage,
    coverage_score,
    interval_coverage_score,
    mean_interval_width,
    mean_set_size,
    size_stratified_coverage,
)
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

SETS = np.array(
    [
        [True, False, False],
        [False, True, False],
        [True, True, False],
        [False, True, True],
        [True, True, True],
    ]
)
Y = np.array([0, 0, 0, 1, 2])


def _random_sets(seed, n=200, k=5, n_levels=None):
    rng = np.random.default_rng(seed)
    shape = (n, k) if n_levels is None else (n, k, n_levels)
    p = rng.uniform(0.1, 0.9, size=(1, k) + ((n_levels,) if n_levels else ()))
    sets = rng.random(shape) < p
    y = rng.integers(0, k, size=n)
    return y, sets


def _random_intervals(seed, n=200, n_levels=None):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    center = y + rng.normal(scale=0.5, size=n)
    half = rng.uniform(0.1, 1.5, size=(n,) if n_levels is None else (n, n_levels))
    if n_levels is not None:
        center = center[:, None]
    y_interval = np.stack([center - half, center + half], axis=1)
    return y, y_interval


# --------------------------------------------------------------------------- #
# hand-computed values
# --------------------------------------------------------------------------- #
def test_coverage_and_size_hand_computed():
    # covered: yes, no, yes, yes, yes
    assert coverage_score(Y, SETS) == 0.8
    assert mean_set_size(SETS) == pytest.approx(9 / 5)
    w = np.array([1.0, 3.0, 1.0, 1.0, 2.0])
    assert coverage_score(Y, SETS, sample_weight=w) == pytest.approx(5 / 8)
    assert mean_set_size(SETS, sample_weight=w) == pytest.approx(
        (1 + 3 + 2 + 2 + 6) / 8
    )
    assert isinstance(coverage_score(Y, SETS), float)


def test_labels_map_to_columns():
    labels = np.array(["cat", "dog", "eel"])
    assert coverage_score(labels[Y], SETS, labels=labels) == 0.8
    assert coverage_score(Y + 10, SETS, labels=[10, 11, 12]) == 0.8
    with pytest.raises(ValueError, match="labels not seen"):
        coverage_score(labels[Y], SETS, labels=["cat", "dog", "fox"])
    with pytest.raises(ValueError, match="sorted"):
        coverage_score(Y, SETS, labels=[2, 1, 0])
    with pytest.raises(ValueError, match="one entry per column"):
        coverage_score(Y, SETS, labels=[0, 1])
    with pytest.raises(ValueError, match="integer column indices"):
        coverage_score(labels[Y], SETS)
    with pytest.raises(ValueError, match="outside range"):
        coverage_score(Y + 1, SETS)


def test_size_stratified_coverage_hand_computed():
    # sizes 1, 1, 2, 2, 3 ; covered 1, 0, 1, 1, 1
    assert size_stratified_coverage(Y, SETS) == 0.5
    ssc, details = size_stratified_coverage(Y, SETS, return_details=True)
    np.testing.assert_array_equal(details.size_low, [0, 1, 2, 3])
    np.testing.assert_array_equal(details.size_high, [0, 1, 2, 3])
    np.testing.assert_array_equal(details.coverage, [np.nan, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(details.n_samples, [0, 2, 2, 1])
    # two strata: sizes {0, 1} and {2, 3}
    ssc, details = size_stratified_coverage(Y, SETS, n_bins=2, return_details=True)
    assert ssc == 0.5
    np.testing.assert_array_equal(details.size_low, [0, 2])
    np.testing.assert_array_equal(details.size_high, [1, 3])
    np.testing.assert_array_equal(details.coverage, [0.5, 1.0])
    # weights move the worst stratum
    w = np.array([3.0, 1.0, 1.0, 1.0, 1.0])
    assert size_stratified_coverage(Y, SETS, sample_weight=w) == 0.75
    with pytest.raises(ValueError, match="n_bins"):
        size_stratified_coverage(Y, SETS, n_bins=5)
    with pytest.raises(ValueError, match="n_bins"):
        size_stratified_coverage(Y, SETS, n_bins=0)


def test_classwise_coverage_hand_computed():
    # class 0: 2 of 3 covered, class 1: 1/1, class 2: 1/1
    np.testing.assert_allclose(classwise_coverage(Y, SETS), [2 / 3, 1.0, 1.0])
    assert classwise_coverage(Y, SETS, average="min") == pytest.approx(2 / 3)
    assert classwise_coverage(Y, SETS, average="macro") == pytest.approx(8 / 9)
    out = classwise_coverage(Y[:3], SETS[:3])
    assert np.isnan(out[1]) and np.isnan(out[2])
    assert classwise_coverage(Y[:3], SETS[:3], average="macro") == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="average"):
        classwise_coverage(Y, SETS, average="weighted")


def test_interval_metrics_hand_computed():
    y_interval = np.array([[0.0, 1.0], [2.0, 5.0], [0.0, 0.5], [-1.0, -1.0]])
    y = np.array([1.0, 3.0, 0.7, -1.0])  # closed bounds: 1.0 and -1.0 covered
    assert interval_coverage_score(y, y_interval) == 0.75
    assert mean_interval_width(y_interval) == pytest.approx(4.5 / 4)
    w = np.array([1.0, 1.0, 2.0, 0.0])
    assert interval_coverage_score(y, y_interval, sample_weight=w) == 0.5
    assert mean_interval_width(y_interval, sample_weight=w) == pytest.approx(5 / 4)
    inf_interval = np.array([[-np.inf, np.inf], [0.0, 1.0]])
    assert interval_coverage_score([5.0, 0.5], inf_interval) == 1.0
    assert mean_interval_width(inf_interval) == np.inf


def test_stacked_levels():
    y, sets = _random_sets(0, n_levels=3)
    cov = coverage_score(y, sets)
    assert isinstance(cov, np.ndarray) and cov.shape == (3,)
    for level in range(3):
        assert cov[level] == coverage_score(y, sets[:, :, level])
        assert mean_set_size(sets)[level] == mean_set_size(sets[:, :, level])
        assert size_stratified_coverage(y, sets)[level] == size_stratified_coverage(
            y, sets[:, :, level]
        )
        np.testing.assert_array_equal(
            classwise_coverage(y, sets)[:, level],
            classwise_coverage(y, sets[:, :, level]),
        )
        assert classwise_coverage(y, sets, average="min")[level] == (
            classwise_coverage(y, sets[:, :, level], average="min")
        )
    _, details = size_stratified_coverage(y, sets, n_bins=3, return_details=True)
    assert details.coverage.shape == (3, 3)
    y, y_interval = _random_intervals(0, n_levels=4)
    cov = interval_coverage_score(y, y_interval)
    width = mean_interval_width(y_interval)
    assert cov.shape == width.shape == (4,)
    for level in range(4):
        assert cov[level] == interval_coverage_score(y, y_interval[:, :, level])
        assert width[level] == pytest.approx(
            mean_interval_width(y_interval[:, :, level])
        )


@pytest.mark.parametrize(
    "metric",
    [coverage_score, size_stratified_coverage, classwise_coverage],
)
def test_sample_weight_equals_duplication_sets(metric):
    y, sets = _random_sets(1, n=60)
    w = np.random.default_rng(1).integers(0, 4, size=60)
    dup = np.repeat(np.arange(60), w)
    np.testing.assert_allclose(
        metric(y, sets, sample_weight=w), metric(y[dup], sets[dup]), rtol=1e-12
    )
    np.testing.assert_allclose(
        mean_set_size(sets, sample_weight=w), mean_set_size(sets[dup]), rtol=1e-12
    )


def test_sample_weight_equals_duplication_intervals():
    y, y_interval = _random_intervals(1, n=60)
    w = np.random.default_rng(1).integers(0, 4, size=60)
    dup = np.repeat(np.arange(60), w)
    assert interval_coverage_score(y, y_interval, sample_weight=w) == pytest.approx(
        interval_coverage_score(y[dup], y_interval[dup]), abs=1e-12
    )
    assert mean_interval_width(y_interval, sample_weight=w) == pytest.approx(
        mean_interval_width(y_interval[dup]), abs=1e-12
    )


def test_errors():
    with pytest.raises(ValueError, match="y_pred_set must be a boolean"):
        coverage_score(Y, SETS.astype(int))
    with pytest.raises(ValueError, match="y_pred_set must have shape"):
        coverage_score(Y, SETS[:, 0])
    with pytest.raises(ValueError, match="Inconsistent numbers of samples"):
        coverage_score(Y[:3], SETS)
    with pytest.raises(ValueError, match="y_pred_set must be a boolean"):
        mean_set_size(SETS * 1.0)
    with pytest.raises(ValueError, match="sample_weight"):
        coverage_score(Y, SETS, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="lower bound exceeds the upper bound"):
        mean_interval_width(np.array([[0.0, 1.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="lower bound exceeds the upper bound"):
        interval_coverage_score([0.0, 1.0], np.array([[0.0, 1.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        mean_interval_width(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="Inconsistent numbers of samples"):
        interval_coverage_score([0.0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        interval_coverage_score([np.nan, 0.0], np.zeros((2, 2)))


# --------------------------------------------------------------------------- #
# parity with MAPIE 1.6
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_levels", [None, 3])
@pytest.mark.parametrize("seed", range(3))
def test_parity_mapie_classification(seed, n_levels):
    classification = pytest.importorskip("mapie.metrics.classification")
    y, sets = _random_sets(seed, n=300, k=6, n_levels=n_levels)
    mapie_cov = classification.classification_coverage_score(y, sets)
    mapie_width = classification.classification_mean_width_score(
        sets if n_levels else sets[:, :, None]
    )
    np.testing.assert_allclose(
        np.atleast_1d(coverage_score(y, sets)), mapie_cov, rtol=1e-12
    )
    np.testing.assert_allclose(
        np.atleast_1d(mean_set_size(sets)), mapie_width, rtol=1e-12
    )
    for n_bins in (None, 2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MAPIE warns on empty strata
            ssc_ref = classification.classification_ssc(y, sets, num_bins=n_bins)
            score_ref = classification.classification_ssc_score(
                y, sets, num_bins=n_bins
            )
        score, details = size_stratified_coverage(
            y, sets, n_bins=n_bins, return_details=True
        )
        np.testing.assert_allclose(np.atleast_1d(score), score_ref, rtol=1e-12)
        coverage = details.coverage if n_levels else details.coverage[:, None]
        np.testing.assert_allclose(coverage.T, ssc_ref, rtol=1e-12)


@pytest.mark.parametrize("n_levels", [None, 3])
@pytest.mark.parametrize("seed", range(3))
def test_parity_mapie_regression(seed, n_levels):
    regression = pytest.importorskip("mapie.metrics.regression")
    y, y_interval = _random_intervals(seed, n=300, n_levels=n_levels)
    # put some targets exactly on a bound: MAPIE's intervals are closed too
    y = y.copy()
    y[:10] = y_interval[:10, 0] if n_levels is None else y_interval[:10, 0, 0]
    stacked = y_interval if n_levels else y_interval[:, :, None]
    np.testing.assert_allclose(
        np.atleast_1d(interval_coverage_score(y, y_interval)),
        regression.regression_coverage_score(y, stacked),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        np.atleast_1d(mean_interval_width(y_interval)),
        regression.regression_mean_width_score(stacked),
        rtol=1e-12,
    )


# --------------------------------------------------------------------------- #
# array API
# --------------------------------------------------------------------------- #
def _with_weights(metric, **kw):
    def func(*args):
        *args, sw = args
        return metric(*args, sample_weight=sw, **kw)

    return func


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("n_levels", [None, 2])
def test_array_api_sets(combination, n_levels):
    y, sets = _random_sets(3, n=80, k=4, n_levels=n_levels)
    sw = np.random.default_rng(3).uniform(0.5, 2.0, size=80)
    for metric, kw in [
        (coverage_score, {}),
        (size_stratified_coverage, {}),
        (size_stratified_coverage, {"n_bins": 2, "return_details": True}),
        (classwise_coverage, {}),
        (classwise_coverage, {"average": "min"}),
        (classwise_coverage, {"average": "macro"}),
    ]:
        assert_same_on_namespace(
            _with_weights(metric, **kw), (y, sets, sw), combination=combination
        )
        assert_same_on_namespace(
            lambda y, s, metric=metric, kw=kw: metric(y, s, **kw),
            (y, sets),
            combination=combination,
        )
    assert_same_on_namespace(
        _with_weights(mean_set_size), (sets, sw), combination=combination
    )
    assert_same_on_namespace(mean_set_size, (sets,), combination=combination)
    # string labels stay NumPy while the sets live on the device
    labels = np.array(["a", "b", "c", "d"])
    assert_same_on_namespace(
        lambda y, s: coverage_score(y, s, labels=labels),
        (labels[y], sets),
        combination=combination,
    )


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("n_levels", [None, 2])
def test_array_api_intervals(combination, n_levels):
    y, y_interval = _random_intervals(4, n=80, n_levels=n_levels)
    sw = np.random.default_rng(4).uniform(0.5, 2.0, size=80)
    assert_same_on_namespace(
        _with_weights(interval_coverage_score),
        (y, y_interval, sw),
        combination=combination,
    )
    assert_same_on_namespace(
        interval_coverage_score, (y, y_interval), combination=combination
    )
    assert_same_on_namespace(
        _with_weights(mean_interval_width), (y_interval, sw), combination=combination
    )
    assert_same_on_namespace(
        mean_interval_width, (y_interval,), combination=combination
    )
