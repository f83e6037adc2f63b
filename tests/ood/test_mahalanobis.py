"""Mahalanobis and relative Mahalanobis detectors: parity with scikit-learn."""

import math

import numpy as np
import pytest
from sklearn.covariance import EmpiricalCovariance, LedoitWolf, ShrunkCovariance
from sklearn.utils import check_random_state

from skcalib.datasets import make_ood_features
from skcalib.ood import MahalanobisDetector, RelativeMahalanobisDetector


def _data(n=600, n_ood=100, d=6, shift="near", random_state=0):
    X, y = make_ood_features(
        n, n_ood, n_features=d, n_classes=3, shift=shift, random_state=random_state
    )
    # Correlated features, so that the covariance matters.
    A = np.random.default_rng(1).normal(size=(d, d))
    return X @ A, y


def _fit_rows(n, calibration_size, random_state):
    """The fitting rows of the documented split (held-out part drawn first)."""
    n_cal = math.ceil(calibration_size * n)
    permutation = check_random_state(random_state).permutation(n)
    return np.sort(permutation[n_cal:]), np.sort(permutation[:n_cal])


def _reference_class_distances(X_fit, y_fit, X, covariance_estimator):
    """Squared distances to each class mean with scikit-learn's estimator."""
    classes = np.unique(y_fit)
    means = np.stack([X_fit[y_fit == c].mean(axis=0) for c in classes])
    centered = X_fit - means[np.searchsorted(classes, y_fit)]
    cov = covariance_estimator.fit(centered)
    return np.stack([cov.mahalanobis(X - m) for m in means], axis=1), cov


def test_mahalanobis_parity_with_empirical_covariance():
    X, y = _data()
    is_in = y != -1
    detector = MahalanobisDetector(random_state=0).fit(X[is_in], y[is_in])
    fit_rows, _ = _fit_rows(int(is_in.sum()), 0.2, 0)
    X_fit, y_fit = X[is_in][fit_rows], y[is_in][fit_rows]
    distances, cov = _reference_class_distances(
        X_fit, y_fit, X, EmpiricalCovariance(assume_centered=True)
    )
    np.testing.assert_allclose(
        detector.score_samples(X), -distances.min(axis=1), rtol=1e-6
    )
    np.testing.assert_allclose(detector.covariance_, cov.covariance_, rtol=1e-10)
    np.testing.assert_array_equal(detector.classes_, [0, 1, 2])
    np.testing.assert_array_equal(detector.class_count_, np.bincount(y_fit))


@pytest.mark.parametrize("shrinkage", [0.3, "auto"])
def test_shrinkage_parity(shrinkage):
    X, y = _data(n=120, d=20)  # few samples for the features
    is_in = y != -1
    detector = MahalanobisDetector(shrinkage=shrinkage, random_state=0)
    detector.fit(X[is_in], y[is_in])
    fit_rows, _ = _fit_rows(int(is_in.sum()), 0.2, 0)
    reference = (
        LedoitWolf(assume_centered=True)
        if shrinkage == "auto"
        else ShrunkCovariance(shrinkage=shrinkage, assume_centered=True)
    )
    distances, cov = _reference_class_distances(
        X[is_in][fit_rows], y[is_in][fit_rows], X, reference
    )
    expected_shrinkage = cov.shrinkage_ if shrinkage == "auto" else shrinkage
    assert detector.shrinkage_ == pytest.approx(expected_shrinkage, rel=1e-10)
    np.testing.assert_allclose(detector.covariance_, cov.covariance_, rtol=1e-10)
    np.testing.assert_allclose(
        detector.score_samples(X), -distances.min(axis=1), rtol=1e-6
    )


def test_singular_covariance_uses_the_pseudo_inverse():
    X, y = _data()
    X = np.column_stack([X, X[:, 0] + X[:, 1], np.ones(len(X))])  # rank-deficient
    is_in = y != -1
    detector = MahalanobisDetector(random_state=0).fit(X[is_in], y[is_in])
    fit_rows, _ = _fit_rows(int(is_in.sum()), 0.2, 0)
    distances, _ = _reference_class_distances(
        X[is_in][fit_rows],
        y[is_in][fit_rows],
        X,
        EmpiricalCovariance(assume_centered=True),
    )
    np.testing.assert_allclose(
        detector.score_samples(X), -distances.min(axis=1), rtol=1e-6, atol=1e-8
    )


def test_without_labels_one_gaussian():
    X, y = _data()
    X_in = X[y != -1]
    detector = MahalanobisDetector(random_state=3).fit(X_in)
    fit_rows, _ = _fit_rows(len(X_in), 0.2, 3)
    cov = EmpiricalCovariance().fit(X_in[fit_rows])
    np.testing.assert_allclose(
        detector.score_samples(X), -cov.mahalanobis(X), rtol=1e-6
    )
    np.testing.assert_array_equal(detector.classes_, [0])


def test_relative_mahalanobis_parity():
    X, y = _data()
    is_in = y != -1
    detector = RelativeMahalanobisDetector(random_state=0).fit(X[is_in], y[is_in])
    fit_rows, _ = _fit_rows(int(is_in.sum()), 0.2, 0)
    X_fit, y_fit = X[is_in][fit_rows], y[is_in][fit_rows]
    distances, _ = _reference_class_distances(
        X_fit, y_fit, X, EmpiricalCovariance(assume_centered=True)
    )
    background = EmpiricalCovariance().fit(X_fit).mahalanobis(X)
    expected = -np.min(distances - background[:, None], axis=1)
    np.testing.assert_allclose(detector.score_samples(X), expected, rtol=1e-6)
    np.testing.assert_allclose(
        detector.background_covariance_, np.cov(X_fit.T, bias=True), rtol=1e-10
    )


def test_relative_mahalanobis_needs_two_classes():
    X, y = _data()
    with pytest.raises(ValueError, match="requires y to be passed"):
        RelativeMahalanobisDetector().fit(X)
    with pytest.raises(ValueError, match="at least two classes"):
        RelativeMahalanobisDetector().fit(X, np.zeros(len(X)))


def test_partial_fit_adds_a_class_without_refitting_the_covariance():
    X, y = _data(n=900)
    X_in, y_in = X[y != -1], y[y != -1]
    old = y_in < 2
    detector = MahalanobisDetector(random_state=0).fit(X_in[old], y_in[old])
    covariance = detector.covariance_.copy()
    n_cal_old = detector.calibration_scores_.shape[0]
    X_new, y_new = X_in[~old], y_in[~old]
    detector.partial_fit(X_new, y_new)

    np.testing.assert_array_equal(detector.classes_, [0, 1, 2])
    np.testing.assert_array_equal(detector.covariance_, covariance)
    fit_rows, cal_rows = _fit_rows(len(X_new), 0.2, 0)
    np.testing.assert_allclose(
        detector.means_[2], X_new[fit_rows].mean(axis=0), rtol=1e-12
    )
    assert detector.class_count_[2] == len(fit_rows)
    assert detector.calibration_scores_.shape[0] == n_cal_old + len(cal_rows)
    # Scores use all three means with the old covariance.
    precision = np.linalg.inv(covariance)
    diffs = X[:, None, :] - detector.means_[None, :, :]
    expected = -np.einsum("ncd,de,nce->nc", diffs, precision, diffs).min(axis=1)
    np.testing.assert_allclose(detector.score_samples(X), expected, rtol=1e-6)
    # The new class is now in-distribution.
    assert np.mean(detector.predict(X_new) == 1) > 0.9


def test_partial_fit_refines_an_existing_class_mean():
    X, y = _data(n=900)
    X_in, y_in = X[y != -1], y[y != -1]
    first, second = np.arange(len(y_in)) < 400, np.arange(len(y_in)) >= 400
    detector = MahalanobisDetector(random_state=0).fit(X_in[first], y_in[first])
    detector.partial_fit(X_in[second], y_in[second])
    rows_1, _ = _fit_rows(int(first.sum()), 0.2, 0)
    rows_2, _ = _fit_rows(int(second.sum()), 0.2, 0)
    pooled_X = np.concatenate([X_in[first][rows_1], X_in[second][rows_2]])
    pooled_y = np.concatenate([y_in[first][rows_1], y_in[second][rows_2]])
    for c in range(3):
        np.testing.assert_allclose(
            detector.means_[c], pooled_X[pooled_y == c].mean(axis=0), rtol=1e-10
        )


def test_partial_fit_errors_and_first_call():
    X, y = _data()
    X_in, y_in = X[y != -1], y[y != -1]
    first = MahalanobisDetector(random_state=0).partial_fit(X_in, y_in)
    fitted = MahalanobisDetector(random_state=0).fit(X_in, y_in)
    np.testing.assert_array_equal(first.score_samples(X), fitted.score_samples(X))
    with pytest.raises(ValueError, match="needs y"):
        fitted.partial_fit(X_in)
    with pytest.raises(ValueError, match="X has 5 features"):
        fitted.partial_fit(X_in[:, :5], y_in)
    contaminated = MahalanobisDetector(contamination=0.1).fit(X_in, y_in)
    with pytest.raises(ValueError, match="refit"):
        contaminated.partial_fit(X_in, y_in)


def test_float32_preserved():
    X, y = _data()
    X32 = X.astype(np.float32)
    for cls in (MahalanobisDetector, RelativeMahalanobisDetector):
        detector = cls(random_state=0).fit(X32[y != -1], y[y != -1])
        scores = detector.score_samples(X32)
        assert scores.dtype == np.float32
        assert detector.covariance_.dtype == np.float32
        scores64 = cls(random_state=0).fit(X[y != -1], y[y != -1]).score_samples(X)
        np.testing.assert_allclose(scores, scores64, rtol=1e-3, atol=1e-3)


def test_string_labels_and_calibration_size_as_int():
    X, y = _data()
    is_in = y != -1
    labels = np.array(["cat", "dog", "eel"])[y[is_in]]
    detector = MahalanobisDetector(calibration_size=50, random_state=0)
    detector.fit(X[is_in], labels)
    np.testing.assert_array_equal(detector.classes_, ["cat", "dog", "eel"])
    assert detector.calibration_scores_.shape == (50,)


def test_calibration_split_errors():
    X, y = _data()
    with pytest.raises(ValueError, match="leaves no sample to fit on"):
        MahalanobisDetector(calibration_size=len(X)).fit(X)
    with pytest.raises(ValueError, match="calibration_size"):
        MahalanobisDetector(calibration_size=1.5).fit(X)


def _tpr_over_splits(n_splits, n_fit=500, seed=0):
    X, y = make_ood_features(30_000, 0, n_features=5, n_classes=3, random_state=seed)
    rng = np.random.default_rng(seed)
    tprs = []
    for i in range(n_splits):
        perm = rng.permutation(len(X))
        fit, test = perm[:n_fit], perm[n_fit : n_fit + 5000]
        detector = MahalanobisDetector(random_state=i).fit(X[fit], y[fit])
        tprs.append(np.mean(detector.predict(X[test]) == 1))
    return np.array(tprs)


def test_tpr_with_the_calibration_split_fast():
    tprs = _tpr_over_splits(25)
    n_cal = math.ceil(0.2 * 500)
    expected = 1 - math.floor((n_cal + 1) * 0.05) / (n_cal + 1)
    tolerance = 4 * tprs.std(ddof=1) / math.sqrt(len(tprs))
    assert abs(tprs.mean() - expected) <= tolerance, (tprs.mean(), expected)
