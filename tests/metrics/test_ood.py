import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from skcalib.metrics import aupr_in, aupr_out, detection_error, fpr_at_tpr, ood_auroc
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

OOD_METRICS = [ood_auroc, fpr_at_tpr, aupr_in, aupr_out, detection_error]


def _data(seed, n=300, n_levels=12, weighted=False):
    """Scores with many ties (rounded to a few levels) and an ID indicator."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.6
    score = np.round(rng.normal(loc=y * 1.0, scale=1.0) * n_levels / 4) / n_levels
    sw = rng.uniform(0.1, 3.0, size=n) if weighted else None
    return y.astype(int), score, sw


def _ref_fpr_at_tpr(y, score, sw, tpr):
    fpr, tpr_curve, _ = roc_curve(y, score, sample_weight=sw, drop_intermediate=False)
    return fpr[np.argmax(tpr_curve >= tpr)]


def _ref_detection_error(y, score, sw):
    fpr, tpr, _ = roc_curve(y, score, sample_weight=sw, drop_intermediate=False)
    return np.min(0.5 * (1 - tpr) + 0.5 * fpr)


# --------------------------------------------------------------------------- #
# hand-computed values
# --------------------------------------------------------------------------- #
def test_hand_computed():
    y = [1, 1, 1, 1, 0, 0]
    s = [0.9, 0.8, 0.7, 0.3, 0.5, 0.1]
    # pairs (ID, OOD): 0.3 < 0.5 is the only misordered pair out of 8
    assert ood_auroc(y, s) == pytest.approx(7 / 8, abs=1e-15)
    assert fpr_at_tpr(y, s, tpr=0.5) == 0.0
    assert fpr_at_tpr(y, s, tpr=0.75) == 0.0
    assert fpr_at_tpr(y, s, tpr=0.76) == 0.5  # needs threshold 0.3
    assert fpr_at_tpr(y, s, tpr=1.0) == 0.5
    # ID positive, ranking 0.9 0.8 0.7 (ID) 0.5 (OOD) 0.3 (ID) 0.1 (OOD)
    assert aupr_in(y, s) == pytest.approx(0.75 + 0.25 * 4 / 5, abs=1e-15)
    # OOD positive, ranking by -s: 0.1 (OOD) 0.3 (ID) 0.5 (OOD)
    assert aupr_out(y, s) == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-15)
    assert detection_error(y, s) == pytest.approx(0.125, abs=1e-15)


def test_ties_count_half():
    # one ID and one OOD sample with the same score: AUROC 1/2, and the
    # threshold reaching TPR 1 accepts the OOD sample too.
    y = [1, 0]
    s = [0.5, 0.5]
    assert ood_auroc(y, s) == 0.5
    assert fpr_at_tpr(y, s, tpr=0.5) == 1.0
    assert detection_error(y, s) == 0.5
    assert aupr_in(y, s) == 0.5
    # tie groups do not depend on the sample order
    y = np.array([1, 0, 1, 0, 1, 1, 0])
    s = np.array([0.2, 0.2, 0.7, 0.7, 0.7, 0.1, 0.0])
    perm = np.random.default_rng(0).permutation(len(y))
    for metric in OOD_METRICS:
        assert metric(y, s) == pytest.approx(metric(y[perm], s[perm]), abs=1e-15)


def test_perfect_and_reversed():
    y = [1, 1, 0, 0]
    assert ood_auroc(y, [4, 3, 2, 1]) == 1.0
    assert ood_auroc(y, [1, 2, 3, 4]) == 0.0
    assert fpr_at_tpr(y, [4, 3, 2, 1]) == 0.0
    assert fpr_at_tpr(y, [1, 2, 3, 4]) == 1.0
    assert detection_error(y, [4, 3, 2, 1]) == 0.0
    assert aupr_in(y, [4, 3, 2, 1]) == 1.0
    assert aupr_out(y, [4, 3, 2, 1]) == 1.0


@pytest.mark.parametrize(
    "encoding",
    [
        lambda y: y.astype(bool),
        lambda y: y.astype(int),
        lambda y: y.astype(float),
        lambda y: np.where(y == 1, 1, -1),  # scikit-learn outlier convention
        lambda y: list(y.astype(int)),
    ],
)
@pytest.mark.parametrize("metric", OOD_METRICS)
def test_label_encodings(encoding, metric):
    y, s, _ = _data(0, n=60)
    assert metric(encoding(y), s) == metric(y, s)


# --------------------------------------------------------------------------- #
# parity with scikit-learn (ties, weights)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_parity_sklearn(seed, weighted):
    y, s, sw = _data(seed, weighted=weighted)
    assert len(np.unique(s)) < len(s) / 4  # plenty of ties
    assert ood_auroc(y, s, sample_weight=sw) == pytest.approx(
        roc_auc_score(y, s, sample_weight=sw), abs=1e-12
    )
    assert aupr_in(y, s, sample_weight=sw) == pytest.approx(
        average_precision_score(y, s, sample_weight=sw), abs=1e-12
    )
    assert aupr_out(y, s, sample_weight=sw) == pytest.approx(
        average_precision_score(1 - y, -s, sample_weight=sw), abs=1e-12
    )
    for target in (0.05, 0.5, 0.8, 0.95, 1.0):
        assert fpr_at_tpr(y, s, tpr=target, sample_weight=sw) == pytest.approx(
            _ref_fpr_at_tpr(y, s, sw, target), abs=1e-12
        )
    assert detection_error(y, s, sample_weight=sw) == pytest.approx(
        _ref_detection_error(y, s, sw), abs=1e-12
    )


def test_parity_sklearn_exact_tpr_hits():
    # n_in = 20: TPR takes the exact values k / 20, including 0.95.
    rng = np.random.default_rng(3)
    y = np.r_[np.ones(20, int), np.zeros(30, int)]
    s = rng.integers(0, 10, size=50).astype(float)
    for target in (0.05, 0.5, 0.95):
        assert fpr_at_tpr(y, s, tpr=target) == _ref_fpr_at_tpr(y, s, None, target)


@pytest.mark.parametrize("metric", OOD_METRICS)
def test_sample_weight_equals_duplication(metric):
    y, s, _ = _data(1, n=80)
    w = np.random.default_rng(1).integers(0, 4, size=80)
    w[:2] = [1, 2]
    dup = np.repeat(np.arange(80), w)
    assert metric(y, s, sample_weight=w) == pytest.approx(
        metric(y[dup], s[dup]), abs=1e-12
    )


def test_zero_weight_samples_are_ignored():
    y, s, _ = _data(2, n=50)
    w = np.ones(50)
    w[::3] = 0
    keep = w > 0
    for metric in OOD_METRICS:
        assert metric(y, s, sample_weight=w) == pytest.approx(
            metric(y[keep], s[keep]), abs=1e-12
        )


def test_float32_preserved_and_infinite_scores():
    y, s, _ = _data(4, n=100)
    assert ood_auroc(y, s.astype(np.float32)) == pytest.approx(ood_auroc(y, s))
    s_inf = s.copy()
    s_inf[np.flatnonzero(y == 0)[:3]] = -np.inf
    s_inf[np.flatnonzero(y == 1)[:2]] = np.inf
    assert 0 <= ood_auroc(y, s_inf) <= 1
    assert ood_auroc(y, s_inf) == pytest.approx(roc_auc_score(y, np.nan_to_num(s_inf)))


def test_inputs_not_modified():
    y, s, sw = _data(5, n=40, weighted=True)
    y0, s0, sw0 = y.copy(), s.copy(), sw.copy()
    for metric in OOD_METRICS:
        metric(y, s, sample_weight=sw)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(s, s0)
    np.testing.assert_array_equal(sw, sw0)


# --------------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("metric", OOD_METRICS)
def test_single_class_raises(metric):
    with pytest.raises(ValueError, match="got no OOD samples|got no in-distribution"):
        metric([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="both in-distribution and OOD"):
        metric([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="both in-distribution and OOD"):
        metric([1, 1, 0], [0.1, 0.2, 0.3], sample_weight=[1.0, 1.0, 0.0])


@pytest.mark.parametrize("metric", OOD_METRICS)
def test_bad_inputs(metric):
    with pytest.raises(ValueError, match="y_true must use one encoding"):
        metric([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="y_true must use one encoding"):
        metric([0, 1, -1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="y_true must mark"):
        metric(["in", "out"], [0.1, 0.2])
    with pytest.raises(ValueError, match="Inconsistent numbers of samples"):
        metric([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="y_score"):
        metric([0, 1], [[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(ValueError, match="NaN"):
        metric([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="sample_weight"):
        metric([0, 1], [0.1, 0.2], sample_weight=[1.0, -1.0])


@pytest.mark.parametrize("tpr", [0, -0.1, 1.01, "0.9", True, None])
def test_fpr_at_tpr_bad_tpr(tpr):
    with pytest.raises(ValueError, match=r"tpr must be a float in \(0, 1\]"):
        fpr_at_tpr([0, 1], [0.1, 0.2], tpr=tpr)


# --------------------------------------------------------------------------- #
# array API
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("metric", OOD_METRICS)
@pytest.mark.parametrize("weighted", [False, True])
def test_array_api(metric, combination, weighted):
    y, s, sw = _data(7, n=120, weighted=weighted)

    def func(y, s, sw):
        return metric(y, s, sample_weight=sw)

    assert_same_on_namespace(func, (y, s, sw), combination=combination)
    # boolean indicator and the {-1, 1} encoding on the device too
    assert_same_on_namespace(func, (y.astype(bool), s, sw), combination=combination)
    assert_same_on_namespace(func, (2 * y - 1, s, sw), combination=combination)
