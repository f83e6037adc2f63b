"""Post-hoc ablated learned temperature energy (AbeT)."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state

from skcalib.calibration import TemperatureScaling
from skcalib.datasets import make_ood_features
from skcalib.metrics import ood_auroc
from skcalib.ood import LearnedTemperatureEnergyDetector


def _data(n=900, d=6):
    X, y = make_ood_features(
        n,
        100,
        n_features=d,
        n_classes=3,
        shift="near",
        cluster_std=1.6,
        random_state=0,
    )
    return X, y


def _fit_rows(n, calibration_size, random_state):
    n_cal = math.ceil(calibration_size * n)
    permutation = check_random_state(random_state).permutation(n)
    return np.sort(permutation[n_cal:])


def _class_scores(detector, X):
    if detector.coef is not None:
        return X @ np.asarray(detector.coef).T + np.asarray(detector.intercept)
    centered = X - detector.location_
    P = detector.prototypes_
    if detector.head == "distance":
        diff = (centered[:, None, :] - P[None, :, :]) / detector.scale_
        return -0.5 * np.sum(diff**2, axis=2)
    return (centered @ P.T) / np.outer(
        np.linalg.norm(centered, axis=1), np.linalg.norm(P, axis=1)
    )


def _objective(detector, X, y, theta):
    """Penalised mean NLL of softmax(g / T(x)), written directly."""
    g = _class_scores(detector, X)
    Z = (X - detector.location_) / detector.scale_
    inv_t = np.exp(Z @ theta[:-1] + theta[-1])
    log_p = g * inv_t[:, None] - logsumexp(g * inv_t[:, None], axis=1, keepdims=True)
    nll = -np.mean(log_p[np.arange(len(y)), np.searchsorted(detector.classes_, y)])
    return nll + 0.5 * detector.alpha * np.sum(theta[:-1] ** 2)


HEADS = [{"head": "distance"}, {"head": "cosine"}, {"with_coef": True}]


def _params(case, X, y):
    if case.get("with_coef"):
        clf = LogisticRegression().fit(X, y)
        return {"coef": clf.coef_, "intercept": clf.intercept_}
    return case


@pytest.mark.parametrize("case", HEADS)
def test_score_is_the_ablated_energy(case):
    X, y = _data()
    is_in = y != -1
    params = _params(case, X[is_in], y[is_in])
    abet = LearnedTemperatureEnergyDetector(random_state=0, alpha=1e-3, **params)
    abet.fit(X[is_in], y[is_in])
    g = _class_scores(abet, X)
    Z = (X - abet.location_) / abet.scale_
    log_inv_t = Z @ abet.temperature_coef_ + abet.temperature_intercept_
    # The temperature is clipped to the range it takes on the fitting rows.
    rows = _fit_rows(int(is_in.sum()), 0.2, 0)
    fitted = Z[is_in][rows] @ abet.temperature_coef_ + abet.temperature_intercept_
    assert abet.log_inv_temperature_range_ == pytest.approx(
        (fitted.min(), fitted.max())
    )
    inv_t = np.exp(np.clip(log_inv_t, fitted.min(), fitted.max()))
    expected = logsumexp(g * inv_t[:, None], axis=1)  # no T(x) factor in front
    np.testing.assert_allclose(abet.score_samples(X), expected, rtol=1e-6)
    assert np.any(log_inv_t < fitted.min()) or np.any(log_inv_t > fitted.max())


@pytest.mark.parametrize(
    "n_splits", [pytest.param(8), pytest.param(40, marks=pytest.mark.slow)]
)
def test_far_ood_detected_on_every_split(n_splits):
    # The default head must not depend on the luck of the split: a learned
    # temperature that extrapolated freely made AUROC range from 0.02 to 1.
    aurocs = []
    for seed in range(n_splits):
        X, y = make_ood_features(
            1200, 300, n_features=8, n_classes=3, shift="far", random_state=seed
        )
        is_in = y != -1
        abet = LearnedTemperatureEnergyDetector(random_state=seed)
        abet.fit(X[is_in][:800], y[is_in][:800])
        rest = np.r_[np.flatnonzero(is_in)[800:], np.flatnonzero(~is_in)]
        aurocs.append(ood_auroc(is_in[rest], abet.score_samples(X[rest])))
    assert min(aurocs) > 0.97, aurocs


@pytest.mark.parametrize("case", HEADS)
def test_fit_minimises_the_penalised_nll(case):
    X, y = _data()
    is_in = y != -1
    params = _params(case, X[is_in], y[is_in])
    abet = LearnedTemperatureEnergyDetector(random_state=0, alpha=1e-2, **params)
    abet.fit(X[is_in], y[is_in])
    rows = _fit_rows(int(is_in.sum()), 0.2, 0)
    X_fit, y_fit = X[is_in][rows], y[is_in][rows]
    theta = np.r_[abet.temperature_coef_, abet.temperature_intercept_]
    best = _objective(abet, X_fit, y_fit, theta)
    for j in range(theta.size):
        for eps in (1e-3, -1e-3):
            moved = theta.copy()
            moved[j] += eps
            assert best <= _objective(abet, X_fit, y_fit, moved) + 1e-12
    assert abet.n_iter_ < abet.max_iter


def test_strong_penalty_gives_temperature_scaling():
    X, y = _data()
    is_in = y != -1
    clf = LogisticRegression().fit(X[is_in], y[is_in])
    abet = LearnedTemperatureEnergyDetector(
        coef=clf.coef_, intercept=clf.intercept_, alpha=1e8, random_state=0
    ).fit(X[is_in], y[is_in])
    np.testing.assert_allclose(abet.temperature_coef_, 0, atol=1e-6)
    rows = _fit_rows(int(is_in.sum()), 0.2, 0)
    logits = clf.decision_function(X[is_in][rows])
    ts = TemperatureScaling().fit(logits, y[is_in][rows])
    assert math.exp(-abet.temperature_intercept_) == pytest.approx(
        ts.temperature_, rel=1e-4
    )


def test_temperature_follows_label_noise():
    # Feature 0 carries the class; feature 1 says how noisy the label is.
    rng = np.random.default_rng(0)
    n = 4000
    noise = rng.uniform(size=n)
    signal = rng.normal(size=n)
    p_one = 1 / (1 + np.exp(-4 * signal))
    p_one = (1 - noise) * p_one + noise * 0.5
    y = (rng.uniform(size=n) < p_one).astype(int)
    X = np.column_stack([signal, noise, rng.normal(size=n)])
    coef, intercept = np.array([[0.0, 0, 0], [4.0, 0, 0]]), np.zeros(2)
    abet = LearnedTemperatureEnergyDetector(
        coef=coef, intercept=intercept, random_state=0
    ).fit(X[:3000], y[:3000])
    # Higher noise -> higher temperature -> smaller log inverse temperature.
    assert abet.temperature_coef_[1] < -0.3
    assert abs(abet.temperature_coef_[2]) < 0.1
    # The per-sample temperature beats the best single one on held-out NLL.
    X_new, y_new = X[3000:], y[3000:]
    rows = np.arange(len(y_new))
    inv_t = np.exp(
        ((X_new - abet.location_) / abet.scale_) @ abet.temperature_coef_
        + abet.temperature_intercept_
    )
    logits = X_new @ coef.T
    ts = TemperatureScaling().fit(X[:3000] @ coef.T, y[:3000])
    learned = softmax(logits * inv_t[:, None], axis=1)[rows, y_new]
    single = softmax(logits / ts.temperature_, axis=1)[rows, y_new]
    assert -np.mean(np.log(learned)) < -np.mean(np.log(single))


def test_errors():
    X, y = _data()
    is_in = y != -1
    with pytest.raises(ValueError, match="requires y to be passed"):
        LearnedTemperatureEnergyDetector().fit(X)
    with pytest.raises(ValueError, match="at least two classes"):
        LearnedTemperatureEnergyDetector().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="coef gives 4 logits but y has 3 classes"):
        LearnedTemperatureEnergyDetector(coef=np.ones((4, 6))).fit(X[is_in], y[is_in])
    with pytest.raises(ValueError, match="alpha"):
        LearnedTemperatureEnergyDetector(alpha=-1.0).fit(X[is_in], y[is_in])


def test_float32_preserved():
    X, y = _data()
    is_in = y != -1
    abet32 = LearnedTemperatureEnergyDetector(random_state=0).fit(
        X[is_in].astype(np.float32), y[is_in]
    )
    scores = abet32.score_samples(X.astype(np.float32))
    assert scores.dtype == np.float32
    abet64 = LearnedTemperatureEnergyDetector(random_state=0).fit(X[is_in], y[is_in])
    np.testing.assert_allclose(scores, abet64.score_samples(X), rtol=1e-3, atol=1e-3)
