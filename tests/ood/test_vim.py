"""ViM detector: parity with the reference algorithm, residual-only mode, errors."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.covariance import EmpiricalCovariance
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state

from skcalib.datasets import make_ood_features
from skcalib.ood import ViMDetector


def _data(d=16, n_classes=4):
    X, y = make_ood_features(
        900, 150, n_features=d, n_classes=n_classes, shift="near", random_state=0
    )
    # Shift and correlate the features, as penultimate-layer features are.
    A = np.random.default_rng(0).normal(size=(d, d))
    return X @ A + 3.0, y


def _fit_rows(n, calibration_size, random_state):
    n_cal = math.ceil(calibration_size * n)
    permutation = check_random_state(random_state).permutation(n)
    return np.sort(permutation[n_cal:])


def _reference_vim(X_train, X, W, b, dim):
    """Wang et al.'s published procedure (NumPy, EmpiricalCovariance + eig)."""
    u = -np.linalg.pinv(W) @ b
    ec = EmpiricalCovariance(assume_centered=True).fit(X_train - u)
    eig_vals, eigen_vectors = np.linalg.eig(ec.covariance_)
    NS = np.ascontiguousarray((eigen_vectors.T[np.argsort(eig_vals * -1)[dim:]]).T).real
    vlogit_train = np.linalg.norm((X_train - u) @ NS, axis=-1)
    alpha = (X_train @ W.T + b).max(axis=-1).mean() / vlogit_train.mean()
    vlogit = np.linalg.norm((X - u) @ NS, axis=-1) * alpha
    return -vlogit + logsumexp(X @ W.T + b, axis=-1), alpha


@pytest.mark.parametrize("n_components", [None, 3, 12])
def test_vim_parity_with_reference(n_components):
    X, y = _data()
    is_in = y != -1
    clf = LogisticRegression(max_iter=1000).fit(X[is_in], y[is_in])
    vim = ViMDetector(
        coef=clf.coef_,
        intercept=clf.intercept_,
        n_components=n_components,
        random_state=0,
    ).fit(X[is_in])
    X_train = X[is_in][_fit_rows(int(is_in.sum()), 0.2, 0)]
    dim = 8 if n_components is None else n_components
    expected, alpha = _reference_vim(X_train, X, clf.coef_, clf.intercept_, dim)
    assert vim.n_components_ == dim
    assert vim.alpha_ == pytest.approx(alpha, rel=1e-8)
    np.testing.assert_allclose(vim.score_samples(X), expected, rtol=1e-6)
    assert vim.residual_components_.shape == (16 - dim, 16)


def test_residual_only_without_coef():
    X, y = _data()
    X_in = X[y != -1]
    vim = ViMDetector(n_components=5, random_state=0).fit(X_in)
    X_train = X_in[_fit_rows(len(X_in), 0.2, 0)]
    mean = X_train.mean(axis=0)
    eig_vals, eig_vecs = np.linalg.eigh(np.cov((X_train - mean).T, bias=True))
    NS = eig_vecs[:, np.argsort(eig_vals)[: 16 - 5]]
    expected = -np.linalg.norm((X - mean) @ NS, axis=1)
    np.testing.assert_allclose(vim.score_samples(X), expected, rtol=1e-6)
    assert vim.alpha_ is None


def test_binary_coef_is_the_two_logit_layer():
    X, y = _data(n_classes=2)
    is_in = y != -1
    clf = LogisticRegression().fit(X[is_in], y[is_in])
    assert clf.coef_.shape == (1, 16)
    binary = ViMDetector(coef=clf.coef_, intercept=clf.intercept_, random_state=0)
    two_rows = ViMDetector(
        coef=np.vstack([np.zeros(16), clf.coef_[0]]),
        intercept=np.array([0.0, clf.intercept_[0]]),
        random_state=0,
    )
    np.testing.assert_allclose(
        binary.fit(X[is_in]).score_samples(X),
        two_rows.fit(X[is_in]).score_samples(X),
        rtol=1e-12,
    )


def test_vim_beats_its_two_parts_on_near_ood():
    from skcalib.metrics import ood_auroc
    from skcalib.ood import EnergyDetector

    X, y = _data()
    is_in = y != -1
    clf = LogisticRegression(max_iter=1000).fit(X[is_in], y[is_in])
    vim = ViMDetector(coef=clf.coef_, intercept=clf.intercept_, random_state=0)
    residual = ViMDetector(random_state=0)
    energy = EnergyDetector().fit(clf.decision_function(X[is_in]))
    auroc_vim = ood_auroc(is_in, vim.fit(X[is_in]).score_samples(X))
    auroc_residual = ood_auroc(is_in, residual.fit(X[is_in]).score_samples(X))
    auroc_energy = ood_auroc(is_in, energy.score_samples(clf.decision_function(X)))
    assert auroc_vim > max(auroc_residual, auroc_energy) + 0.05


@pytest.mark.parametrize(
    "params, match",
    [
        ({"coef": np.ones((3, 5))}, r"coef must have shape \(n_classes, 16\)"),
        (
            {"coef": np.ones((3, 16)), "intercept": np.ones(2)},
            r"intercept must have shape \(3,\)",
        ),
        ({"coef": np.full((3, 16), np.nan)}, "finite"),
        ({"n_components": 16}, "n_components=16 must be smaller"),
        ({"coef": -np.ones((3, 16)), "intercept": -100 * np.ones(3)}, "alpha"),
    ],
)
def test_errors_name_the_parameter(params, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        ViMDetector(**params).fit(X[y != -1])


def test_float32_preserved():
    X, y = _data()
    X_in = X[y != -1].astype(np.float32)
    clf = LogisticRegression(max_iter=1000).fit(X_in, y[y != -1])
    vim = ViMDetector(coef=clf.coef_, intercept=clf.intercept_, random_state=0)
    scores = vim.fit(X_in).score_samples(X.astype(np.float32))
    assert scores.dtype == np.float32
    vim64 = ViMDetector(coef=clf.coef_, intercept=clf.intercept_, random_state=0)
    np.testing.assert_allclose(
        scores, vim64.fit(X_in.astype(float)).score_samples(X), rtol=1e-3, atol=1e-3
    )
