"""Tests of the array-API core kernels on NumPy and other namespaces."""

import math

import numpy as np
import pytest
from scipy.special import log_softmax as sp_log_softmax
from scipy.special import logsumexp as sp_logsumexp
from scipy.special import softmax as sp_softmax
from sklearn import config_context
from sklearn.metrics import log_loss

from skcalib.utils._array_api import (
    bincount,
    conformal_quantile,
    float_dtype,
    get_namespace,
    get_namespace_and_device,
    log_softmax,
    logsumexp,
    move_to,
    nll_from_logits,
    softmax,
    to_numpy,
)
from skcalib.utils._testing import (
    array_api_combinations,
    assert_same_on_namespace,
    skip_if_unavailable,
)

COMBINATIONS = array_api_combinations()


def _logits(n=50, k=4, scale=3.0, seed=0):
    return np.random.default_rng(seed).normal(scale=scale, size=(n, k))


def test_get_namespace_dispatch_off_is_numpy():
    torch = pytest.importorskip("torch")
    assert get_namespace(torch.zeros(2)).__name__ == "array_api_compat.numpy"


def test_softmax_family_matches_scipy():
    z = _logits()
    np.testing.assert_allclose(softmax(z), sp_softmax(z, axis=1), rtol=1e-13)
    np.testing.assert_allclose(log_softmax(z), sp_log_softmax(z, axis=1), rtol=1e-12)
    np.testing.assert_allclose(logsumexp(z), sp_logsumexp(z, axis=1), rtol=1e-13)
    np.testing.assert_allclose(
        logsumexp(z, axis=0, keepdims=True), sp_logsumexp(z, axis=0, keepdims=True)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_overflow_large_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype)
    p = softmax(z)
    assert p.dtype == dtype
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3] * 3, [0.5, 0.5, 0]], atol=1e-7)
    lp = log_softmax(z)
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(lp[0], [0, -2e4, -1e4], rtol=1e-6)
    np.testing.assert_allclose(
        logsumexp(z), [1e4, -1e4 + math.log(3), 1e4 + math.log(2)], rtol=1e-6
    )
    nll = nll_from_logits(z, np.array([1, 0, 2]))
    assert np.isfinite(nll)
    np.testing.assert_allclose(
        nll, (2e4 + math.log(3) + 2e4 + math.log(2)) / 3, rtol=1e-6
    )


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_logsumexp_all_neg_inf_row():
    z = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    np.testing.assert_array_equal(logsumexp(z), [-np.inf, 0.0])


def test_softmax_does_not_modify_input():
    z = _logits()
    z_copy = z.copy()
    softmax(z)
    log_softmax(z)
    nll_from_logits(z, np.zeros(z.shape[0], dtype=int))
    np.testing.assert_array_equal(z, z_copy)


def test_nll_matches_sklearn_log_loss():
    z = _logits(200, 5)
    y = np.random.default_rng(1).integers(0, 5, 200)
    w = np.random.default_rng(2).uniform(0, 3, 200)
    expected = log_loss(y, sp_softmax(z, axis=1), labels=range(5))
    np.testing.assert_allclose(nll_from_logits(z, y), expected, rtol=1e-12)
    expected_w = log_loss(y, sp_softmax(z, axis=1), labels=range(5), sample_weight=w)
    np.testing.assert_allclose(
        nll_from_logits(z, y, sample_weight=w), expected_w, rtol=1e-12
    )


# --------------------------------------------------------------------------
# conformal quantile


def _reference_quantile(scores, level):
    n = len(scores)
    k = math.ceil((n + 1) * level - 1e-9)
    return np.inf if k > n else np.sort(scores)[k - 1]


@pytest.mark.parametrize("n", [1, 9, 10, 19, 99, 1000])
@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99])
def test_conformal_quantile_rank(n, level):
    scores = np.random.default_rng(n).normal(size=n)
    assert conformal_quantile(scores, level) == _reference_quantile(scores, level)


def test_conformal_quantile_exact_ranks_despite_rounding():
    scores = np.arange(1.0, 10.0)  # n = 9, (n + 1) * 0.9 = 9.000000000000002
    assert conformal_quantile(scores, 0.9) == 9.0
    scores = np.arange(1.0, 20.0)  # n = 19, 20 * 0.95 = 19
    assert conformal_quantile(scores, 0.95) == 19.0
    assert conformal_quantile(scores, 0.951) == np.inf


def test_conformal_quantile_too_small_calibration_set_is_inf():
    assert conformal_quantile(np.array([0.3, 0.1]), 0.9) == np.inf
    assert conformal_quantile(np.array([], dtype=float), 0.5) == np.inf


def test_conformal_quantile_list_of_levels():
    scores = np.random.default_rng(0).normal(size=50)
    levels = [0.5, 0.9, 0.99]
    q = conformal_quantile(scores, levels)
    assert q.shape == (3,)
    np.testing.assert_array_equal(q, [_reference_quantile(scores, lv) for lv in levels])
    assert np.all(np.diff(q) >= 0)


def test_conformal_quantile_weighted_integer_weights_equal_repetition():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=30)
    w = rng.integers(0, 4, size=30)
    repeated = np.repeat(scores, w)
    for level in [0.3, 0.5, 0.8, 0.9, 0.95, 0.99]:
        assert conformal_quantile(
            scores, level, sample_weight=w.astype(float)
        ) == _reference_quantile(repeated, level)


def test_conformal_quantile_weighted_unit_weights_equal_unweighted():
    scores = np.random.default_rng(3).normal(size=99)
    for level in [0.1, 0.5, 0.9, 0.95]:
        assert conformal_quantile(
            scores, level, sample_weight=np.ones(99)
        ) == conformal_quantile(scores, level)


def test_conformal_quantile_weighted_definition():
    # Tibshirani et al. 2019: quantile of sum_i p_i delta_{s_i} + p_test delta_inf.
    scores = np.array([3.0, 1.0, 2.0])
    w = np.array([0.5, 0.25, 0.25])
    # normalised over total 1 + test_weight 1 = 2: cumulative 0.125, 0.25, 0.5
    assert conformal_quantile(scores, 0.2, sample_weight=w) == 2.0
    assert conformal_quantile(scores, 0.5, sample_weight=w) == 3.0
    assert conformal_quantile(scores, 0.51, sample_weight=w) == np.inf
    assert conformal_quantile(scores, 0.6, sample_weight=w, test_weight=0.0) == 3.0


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1, [0.5, 1.0]])
def test_conformal_quantile_bad_level(level):
    with pytest.raises(ValueError, match="confidence_level"):
        conformal_quantile(np.ones(5), level)


def test_conformal_quantile_preserves_float32():
    q = conformal_quantile(np.arange(10, dtype=np.float32), [0.5, 0.99])
    assert q.dtype == np.float32


# --------------------------------------------------------------------------
# bincount, transfers


def test_bincount_matches_numpy():
    x = np.array([0, 3, 3, 1])
    w = np.array([0.5, 1.0, 2.0, 4.0])
    np.testing.assert_array_equal(bincount(x, minlength=6), np.bincount(x, minlength=6))
    np.testing.assert_array_equal(
        bincount(x, weights=w, minlength=2), np.bincount(x, weights=w, minlength=2)
    )


def test_float_dtype():
    from array_api_compat import numpy as xp

    assert float_dtype(xp, np.zeros(2, np.float32)) == xp.float32
    assert float_dtype(xp, np.zeros(2, np.int64)) == xp.float64
    assert float_dtype(xp) == xp.float64


def test_namespace_mixing_gives_clear_error():
    strict = pytest.importorskip("array_api_strict")
    torch = pytest.importorskip("torch")
    with config_context(array_api_dispatch=True):
        with pytest.raises(TypeError, match="same array namespace"):
            get_namespace(torch.zeros(2), strict.zeros(2))


def test_device_mixing_gives_clear_error():
    strict = pytest.importorskip("array_api_strict")
    a = strict.zeros(2, device=strict.Device("CPU_DEVICE"))
    b = strict.zeros(2, device=strict.Device("device1"))
    with config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match="same device"):
            get_namespace_and_device(a, b)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_move_to_and_to_numpy_round_trip(combination):
    xp, device = skip_if_unavailable(*combination[:2])
    x = np.arange(6.0).reshape(2, 3).astype(combination[2])
    moved = move_to(x, xp=xp, device=device)
    import array_api_compat

    assert array_api_compat.device(moved) == device
    back = to_numpy(moved)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, x)
    from array_api_compat import numpy as np_compat

    np.testing.assert_array_equal(move_to(moved, xp=np_compat, device="cpu"), x)


@pytest.mark.parametrize("combination", COMBINATIONS)
@pytest.mark.parametrize("func", [softmax, log_softmax, logsumexp])
def test_softmax_family_on_namespace(func, combination):
    z = _logits()
    z[0] = [1e4, -1e4, 0.0, 5.0]
    assert_same_on_namespace(func, [z], combination=combination)


@pytest.mark.parametrize("combination", COMBINATIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_on_namespace(weighted, combination):
    z = _logits(100, 3)
    z[0] = [1e4, -1e4, 0.0]
    y = np.random.default_rng(0).integers(0, 3, 100)
    args = [z, y]
    kwargs = {}
    if weighted:
        w = np.random.default_rng(1).uniform(size=100)

        def func(z, y, w):
            return nll_from_logits(z, y, sample_weight=w)

        args.append(w)
    else:
        func = nll_from_logits
    assert_same_on_namespace(func, args, kwargs, combination=combination)


@pytest.mark.parametrize("combination", COMBINATIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_conformal_quantile_on_namespace(weighted, combination):
    rng = np.random.default_rng(0)
    scores = rng.normal(size=101)
    levels = [0.5, 0.9, 0.995]
    if weighted:
        w = rng.integers(1, 4, size=101).astype(float)

        def func(s, w):
            return conformal_quantile(s, levels, sample_weight=w)

        args = [scores, w]
    else:

        def func(s):
            return conformal_quantile(s, levels)

        args = [scores]
    assert_same_on_namespace(func, args, combination=combination)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_bincount_on_namespace(combination):
    x = np.array([0, 3, 3, 1, 7])
    w = np.array([0.5, 1.0, 2.0, 4.0, 1.0])
    assert_same_on_namespace(
        lambda x, w: bincount(x, weights=w, minlength=9),
        [x, w],
        combination=combination,
    )
