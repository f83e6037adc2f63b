"""kNN detector: parity with scikit-learn's NearestNeighbors, blocking, options."""

import math

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

from skcalib.datasets import make_ood_features
from skcalib.ood import KNNDetector


def _data(n=600, d=8):
    X, y = make_ood_features(n, 100, n_features=d, shift="near", random_state=0)
    return X, y


def _fit_rows(n, calibration_size, random_state):
    n_cal = math.ceil(calibration_size * n)
    permutation = check_random_state(random_state).permutation(n)
    return np.sort(permutation[n_cal:])


def _reference(X_train, X, k):
    normalize = lambda A: A / np.linalg.norm(A, axis=1, keepdims=True)  # noqa: E731
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(normalize(X_train))
    distances, _ = nn.kneighbors(normalize(X))
    return -distances[:, -1]


@pytest.mark.parametrize("k", [1, 7, 50])
@pytest.mark.parametrize("batch_size", [None, 1, 33])
def test_knn_parity_with_nearest_neighbors(k, batch_size):
    X, y = _data()
    X_in = X[y != -1]
    detector = KNNDetector(n_neighbors=k, batch_size=batch_size, random_state=0)
    detector.fit(X_in)
    X_train = X_in[_fit_rows(len(X_in), 0.2, 0)]
    np.testing.assert_allclose(
        detector.score_samples(X), _reference(X_train, X, k), rtol=1e-6, atol=1e-7
    )
    assert detector.features_.shape == X_train.shape


def test_blocks_do_not_change_the_scores():
    X, y = _data()
    whole = KNNDetector(n_neighbors=5, batch_size=10_000, random_state=0).fit(X)
    tiny = KNNDetector(n_neighbors=5, batch_size=7, random_state=0).fit(X)
    np.testing.assert_array_equal(whole.score_samples(X), tiny.score_samples(X))


def test_auto_block_bounds_memory(monkeypatch):
    import skcalib.ood._knn as knn_module

    seen = []
    original = knn_module._kth_largest

    def spy(values, k, *, xp):
        seen.append(values.shape)
        return original(values, k, xp=xp)

    monkeypatch.setattr(knn_module, "_AUTO_BLOCK_ENTRIES", 1000)
    monkeypatch.setattr(knn_module, "_kth_largest", spy)
    X, _ = _data()
    detector = KNNDetector(n_neighbors=3, calibration_size=100, random_state=0)
    detector.fit(X[:600])  # 500 stored neighbours -> blocks of 2 rows
    seen.clear()
    detector.score_samples(X[:9])
    assert seen == [(2, 500)] * 4 + [(1, 500)]


def test_scale_invariance_and_zero_rows():
    X, y = _data()
    detector = KNNDetector(n_neighbors=5, random_state=0).fit(X)
    np.testing.assert_allclose(
        detector.score_samples(3.5 * X), detector.score_samples(X), rtol=1e-12
    )
    # A zero row stays at the origin: its distance to unit vectors is 1.
    assert detector.score_samples(np.zeros((1, X.shape[1])))[0] == pytest.approx(-1)


def test_n_neighbors_capped_with_warning():
    X, _ = _data()
    with pytest.warns(UserWarning, match="n_neighbors=50 is larger than the 8"):
        detector = KNNDetector(random_state=0).fit(X[:10])
    assert detector.n_neighbors_ == 8


def test_float32_preserved():
    X, _ = _data()
    detector = KNNDetector(n_neighbors=5, random_state=0).fit(X.astype(np.float32))
    scores = detector.score_samples(X.astype(np.float32))
    assert scores.dtype == np.float32
    reference = KNNDetector(n_neighbors=5, random_state=0).fit(X).score_samples(X)
    np.testing.assert_allclose(scores, reference, atol=1e-3)


def test_without_array_api_extra_partition(monkeypatch):
    import skcalib.utils._array_api as array_api_module

    X, y = _data()
    expected = KNNDetector(n_neighbors=4, random_state=0).fit(X).score_samples(X)
    # array-api-extra < 0.9 has no partition: the fallback path is then the
    # only one, and this test compares it with itself.
    monkeypatch.delattr(array_api_module.xpx, "partition", raising=False)
    detector = KNNDetector(n_neighbors=4, random_state=0).fit(X)
    np.testing.assert_allclose(detector.score_samples(X), expected, rtol=1e-12)


def test_labels_are_ignored():
    X, y = _data()
    a = KNNDetector(n_neighbors=5, random_state=0).fit(X).score_samples(X)
    b = KNNDetector(n_neighbors=5, random_state=0).fit(X, y).score_samples(X)
    np.testing.assert_array_equal(a, b)
