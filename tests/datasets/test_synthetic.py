import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skcalib.datasets import make_classification_logits, make_ood_features
from skcalib.utils._array_api import softmax

# ---------------------------------------------------------------------------
# make_classification_logits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3, 7])
def test_logits_shapes_and_dtypes(n_classes):
    logits, y = make_classification_logits(123, n_classes, random_state=0)
    assert logits.shape == (123, n_classes)
    assert logits.dtype == np.float64
    assert y.shape == (123,)
    assert y.dtype == np.int64
    assert y.min() >= 0 and y.max() < n_classes
    logits, y, proba = make_classification_logits(
        50, n_classes, return_proba=True, random_state=0
    )
    assert proba.shape == (50, n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_logits_deterministic():
    a = make_classification_logits(200, 4, return_proba=True, random_state=42)
    b = make_classification_logits(200, 4, return_proba=True, random_state=42)
    for x, z in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, z)
    rs = np.random.RandomState(42)
    c = make_classification_logits(200, 4, return_proba=True, random_state=rs)
    for x, z in zip(a, c, strict=True):
        np.testing.assert_array_equal(x, z)
    d = make_classification_logits(200, 4, random_state=43)
    assert not np.array_equal(a[0], d[0])


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.5])
def test_logits_temperature_scaling_recovers_truth(temperature):
    logits, _, proba = make_classification_logits(
        100, 3, temperature=temperature, return_proba=True, random_state=0
    )
    np.testing.assert_allclose(softmax(logits / temperature), proba, rtol=1e-12)
    # Only the returned logits depend on the temperature.
    logits1, y1, proba1 = make_classification_logits(
        100, 3, temperature=1.0, return_proba=True, random_state=0
    )
    np.testing.assert_allclose(logits, temperature * logits1)
    np.testing.assert_array_equal(proba, proba1)


def test_true_probabilities_are_calibrated():
    # Labels are drawn from proba, so given proba the count of label k in any
    # set of rows S is a Poisson-binomial variable with mean sum_S p_k and
    # variance sum_S p_k (1 - p_k): each check allows 4 standard deviations.
    n, k = 20_000, 4
    logits, y, proba = make_classification_logits(
        n, k, temperature=2.0, return_proba=True, random_state=0
    )
    onehot = np.eye(k)[y]
    for cls in range(k):
        p = proba[:, cls]
        sd = np.sqrt(np.sum(p * (1 - p)))
        assert abs(onehot[:, cls].sum() - p.sum()) < 4 * sd
    # Top-label reliability in 10 confidence bins.
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(float)
    bins = np.minimum((conf * 10).astype(int), 9)
    for b in np.unique(bins):
        m = bins == b
        if m.sum() < 50:
            continue
        sd = np.sqrt(np.sum(conf[m] * (1 - conf[m])))
        assert abs(correct[m].sum() - conf[m].sum()) < 4 * sd


@pytest.mark.parametrize("temperature", [0.7, 1.5, 3.0])
def test_nll_minimised_at_temperature(temperature):
    n = 5_000
    logits, y = make_classification_logits(
        n, 3, temperature=temperature, random_state=1
    )
    grid = np.linspace(0.3, 5.0, 941)  # step 0.005
    log_p = [np.log(softmax(logits / t)[np.arange(n), y]) for t in grid]
    nll = -np.mean(log_p, axis=1)
    t_hat = grid[np.argmin(nll)]
    # Asymptotic standard deviation of the maximum-likelihood temperature from
    # the Fisher information of beta = 1 / T at the truth:
    # I = E[Var_{p}(logits)], sd(T_hat) = T^2 / sqrt(n I).
    p_true = softmax(logits / temperature)
    mean = np.sum(p_true * logits, axis=1, keepdims=True)
    info = np.mean(np.sum(p_true * (logits - mean) ** 2, axis=1))
    sd = temperature**2 / np.sqrt(n * info)
    assert abs(t_hat - temperature) < 5 * sd + 0.005


def test_overconfidence_direction():
    n = 20_000
    for temperature, sign in [(2.0, 1), (0.5, -1), (1.0, 0)]:
        logits, y = make_classification_logits(
            n, 3, temperature=temperature, random_state=3
        )
        proba = softmax(logits)
        gap = proba.max(axis=1).mean() - (proba.argmax(axis=1) == y).mean()
        if sign == 0:
            # sd of the accuracy is at most 0.5 / sqrt(n) = 0.0035.
            assert abs(gap) < 0.015
        else:
            assert sign * gap > 0.03


def test_class_sep_controls_accuracy():
    accs = []
    for sep in [0.0, 1.0, 2.0]:
        logits, y = make_classification_logits(5000, 3, class_sep=sep, random_state=0)
        accs.append(np.mean(logits.argmax(axis=1) == y))
    assert accs[0] < accs[1] < accs[2]
    assert 0.8 < accs[1] < 0.9


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"n_classes": 1}, "n_classes"),
        ({"n_classes": True}, "n_classes"),
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": np.inf}, "temperature"),
        ({"temperature": "1"}, "temperature"),
        ({"class_sep": -0.1}, "class_sep"),
        ({"class_sep": np.nan}, "class_sep"),
        ({"return_proba": 1}, "return_proba"),
    ],
)
def test_logits_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_classification_logits(**kwargs)


# ---------------------------------------------------------------------------
# make_ood_features
# ---------------------------------------------------------------------------


def _mahalanobis_auroc(X, y):
    """AUROC of the min class-conditional Mahalanobis distance (OOD positive).

    Class means and a shared covariance are estimated on the first half of the
    in-distribution rows; the score is evaluated on the remaining rows.
    """
    id_rows = np.flatnonzero(y >= 0)
    fit_rows, test_id = id_rows[: len(id_rows) // 2], id_rows[len(id_rows) // 2 :]
    X_fit, y_fit = X[fit_rows], y[fit_rows]
    classes = np.unique(y_fit)
    means = np.stack([X_fit[y_fit == c].mean(axis=0) for c in classes])
    centered = X_fit - means[np.searchsorted(classes, y_fit)]
    precision = np.linalg.inv(np.cov(centered, rowvar=False))
    test = np.concatenate([test_id, np.flatnonzero(y < 0)])
    diff = X[test][:, None, :] - means[None]
    dist = np.einsum("nkd,de,nke->nk", diff, precision, diff).min(axis=1)
    return roc_auc_score(y[test] < 0, dist)


def test_ood_shapes_and_labels():
    X, y = make_ood_features(301, 57, n_features=5, n_classes=4, random_state=0)
    assert X.shape == (358, 5) and X.dtype == np.float64
    assert y.shape == (358,) and y.dtype == np.int64
    assert np.all(y[:301] >= 0) and np.all(y[301:] == -1)
    counts = np.bincount(y[:301])
    assert counts.max() - counts.min() <= 1
    X, y = make_ood_features(10, 0, random_state=0)
    assert X.shape == (10, 16) and np.all(y >= 0)


def test_ood_deterministic():
    X1, y1 = make_ood_features(100, 20, shift="near", random_state=7)
    X2, y2 = make_ood_features(100, 20, shift="near", random_state=7)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make_ood_features(100, 20, shift="near", random_state=8)
    assert not np.array_equal(X1, X3)


def test_ood_geometry():
    # The OOD blob centre sits shift * cluster_std from one class centre.
    std = 0.5
    X, y = make_ood_features(
        30_000, 10_000, n_features=3, shift=6.0, cluster_std=std, random_state=0
    )
    centers = np.stack([X[y == c].mean(axis=0) for c in range(3)])
    ood_center = X[y == -1].mean(axis=0)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 5 * std, rtol=0.02)
    dist = np.linalg.norm(centers - ood_center, axis=1)
    assert np.min(np.abs(dist - 6.0 * std)) < 0.05
    np.testing.assert_allclose(X[y == -1].std(axis=0), std, rtol=0.05)


def test_ood_mahalanobis_separation():
    kw = {"n_samples": 2000, "n_ood_samples": 500, "random_state": 0}
    auroc_far = _mahalanobis_auroc(*make_ood_features(shift="far", **kw))
    auroc_near = _mahalanobis_auroc(*make_ood_features(shift="near", **kw))
    auroc_same = _mahalanobis_auroc(*make_ood_features(shift=0.0, **kw))
    assert auroc_far > 0.999
    assert 0.55 < auroc_near < 0.95
    assert abs(auroc_same - 0.5) < 0.06
    assert auroc_same < auroc_near < auroc_far


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_ood_samples": -1}, "n_ood_samples"),
        ({"n_features": 0}, "n_features"),
        ({"n_classes": 0}, "n_classes"),
        ({"shift": "medium"}, "shift"),
        ({"shift": -1.0}, "shift"),
        ({"shift": None}, "shift"),
        ({"cluster_std": 0.0}, "cluster_std"),
    ],
)
def test_ood_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_ood_features(**kwargs)
