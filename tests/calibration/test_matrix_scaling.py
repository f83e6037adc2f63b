"""Tests of VectorScaling, MatrixScaling and DirichletCalibration.

The data have a known per-class miscalibration of the logits (scale and
offset per class), so the true probabilities are known; the references are
scikit-learn's LogisticRegression (the unpenalised models), betacal (binary
Dirichlet = beta calibration) and an independent scipy fit of the written ODIR
objective.
"""

import array_api_compat.numpy as np_xp
import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_softmax as ref_log_softmax
from scipy.special import softmax as ref_softmax
from sklearn import clone, config_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skcalib.calibration._matrix_scaling import (
    DirichletCalibration,
    MatrixScaling,
    VectorScaling,
    _AffineSoftmaxLoss,
)
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import (
    array_api_combinations,
    assert_same_on_namespace,
    skip_if_unavailable,
)

# Per-class miscalibration of the observed logits: x = (z - b) / w, so that
# softmax(x * w + b) = softmax(z) are the true probabilities.
TRUE_SCALES = np.array([0.4, 0.8, 1.5, 2.5])
TRUE_OFFSETS = np.array([0.6, -0.2, 0.1, -0.5])  # sums to zero


def per_class_miscalibrated(n_samples, n_classes=4, *, random_state):
    """Logits with known per-class scale/offset miscalibration, labels, truth."""
    z, y, proba = make_classification_logits(
        n_samples,
        n_classes,
        temperature=1.0,
        return_proba=True,
        random_state=random_state,
    )
    offsets = TRUE_OFFSETS[:n_classes] - TRUE_OFFSETS[:n_classes].mean()
    return (z - offsets) / TRUE_SCALES[:n_classes], y, proba


def nll(proba, y):
    return -np.mean(np.log(proba[np.arange(len(y)), y]))


# (estimator, whether it takes probabilities)
CALIBRATORS = [
    pytest.param(VectorScaling(), False, id="vector"),
    pytest.param(MatrixScaling(), False, id="matrix"),
    pytest.param(MatrixScaling(reg_lambda=1e-2), False, id="matrix-odir"),
    pytest.param(
        MatrixScaling(regularization="l2", reg_lambda=1e-2), False, id="matrix-l2"
    ),
    pytest.param(DirichletCalibration(), True, id="dirichlet"),
    pytest.param(DirichletCalibration(reg_lambda=1e-3), True, id="dirichlet-odir"),
    pytest.param(
        DirichletCalibration(matrix_type="diagonal"), True, id="dirichlet-diag"
    ),
]


def scores_for(takes_proba, logits):
    return softmax(logits) if takes_proba else logits


# Largest ECE ratio after / before calibration. Measured on this data (ECE 0.074
# before): 0.010 vector, 0.011-0.013 matrix, 0.016 Dirichlet, 0.053 diagonal
# Dirichlet, whose power-law map cannot undo a per-class logit scaling exactly.
ECE_RATIO = {"dirichlet-diag": 0.8}


@pytest.mark.parametrize("estimator, takes_proba", CALIBRATORS)
def test_improves_ece_and_nll_against_known_truth(estimator, takes_proba, request):
    X, y, _ = per_class_miscalibrated(4000, random_state=0)
    X_test, y_test, proba_true = per_class_miscalibrated(20_000, random_state=1)
    S, S_test = scores_for(takes_proba, X), scores_for(takes_proba, X_test)
    uncalibrated = softmax(X_test)
    calibrated = estimator.fit(S, y).predict_proba(S_test)
    ece_before = expected_calibration_error(y_test, uncalibrated)
    ece_after = expected_calibration_error(y_test, calibrated)
    assert ece_before > 0.07
    case = request.node.callspec.id
    assert ece_after < ECE_RATIO.get(case, 0.3) * ece_before
    assert nll(calibrated, y_test) < nll(uncalibrated, y_test) - 0.14
    # Closer to the true probabilities, not only to the sampled labels.
    dist_before = np.abs(uncalibrated - proba_true).sum(axis=1).mean()
    dist_after = np.abs(calibrated - proba_true).sum(axis=1).mean()
    assert dist_after < 0.6 * dist_before


def test_vector_scaling_recovers_generating_parameters():
    X, y, _ = per_class_miscalibrated(100_000, random_state=0)
    vs = VectorScaling().fit(X, y)
    np.testing.assert_allclose(vs.coef_, TRUE_SCALES, rtol=0.04)
    # The intercepts are identified up to a constant; the fit keeps them centred.
    assert abs(vs.intercept_.sum()) < 1e-8
    np.testing.assert_allclose(vs.intercept_, TRUE_OFFSETS, atol=0.04)


def test_vector_scaling_on_calibrated_logits_stays_near_identity():
    logits, y = make_classification_logits(50_000, 3, temperature=1.0, random_state=3)
    vs = VectorScaling().fit(logits, y)
    np.testing.assert_allclose(vs.coef_, 1.0, atol=0.03)
    np.testing.assert_allclose(vs.intercept_, 0.0, atol=0.03)


LOSS_CASES = [
    pytest.param(True, "odir", 0.0, 0.0, id="diagonal-unpenalised"),
    pytest.param(True, "odir", 2.0, 0.7, id="diagonal-odir"),
    pytest.param(False, "odir", 0.0, 0.0, id="full-unpenalised"),
    pytest.param(False, "odir", 2.0, 0.7, id="full-odir"),
    pytest.param(False, "l2", 2.0, 0.7, id="full-l2"),
]


def _loss(features, y, w, diagonal, regularization, reg_lambda, reg_mu):
    return _AffineSoftmaxLoss(
        features,
        y,
        w,
        diagonal=diagonal,
        regularization=regularization,
        reg_lambda=reg_lambda,
        reg_mu=reg_mu,
        xp=np_xp,
    )


@pytest.mark.parametrize("diagonal, regularization, reg_lambda, reg_mu", LOSS_CASES)
def test_gradient_matches_finite_differences(
    diagonal, regularization, reg_lambda, reg_mu
):
    rng = np.random.default_rng(0)
    X, y, _ = per_class_miscalibrated(300, random_state=0)
    w = rng.uniform(0.2, 3.0, size=300)
    loss = _loss(X, y, w, diagonal, regularization, reg_lambda, reg_mu)
    theta = loss.initial_params() + rng.normal(
        scale=0.5, size=loss.initial_params().size
    )
    _, grad = loss(theta)
    h = 1e-5
    numeric = np.array(
        [
            (loss(theta + h * e)[0] - loss(theta - h * e)[0]) / (2 * h)
            for e in np.eye(theta.size)
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("diagonal, regularization, reg_lambda, reg_mu", LOSS_CASES)
def test_objective_is_weighted_nll_plus_written_penalty(
    diagonal, regularization, reg_lambda, reg_mu
):
    rng = np.random.default_rng(1)
    k = 4
    X, y, _ = per_class_miscalibrated(200, k, random_state=1)
    w = rng.uniform(0.2, 3.0, size=200)
    loss = _loss(X, y, w, diagonal, regularization, reg_lambda, reg_mu)
    theta = rng.normal(size=loss.initial_params().size)
    W = np.diag(theta[:k]) if diagonal else theta[: k * k].reshape(k, k)
    b = theta[-k:]
    log_p = ref_log_softmax(X @ W.T + b, axis=1)
    expected_nll = -np.sum(w * log_p[np.arange(200), y]) / np.sum(w)
    if regularization == "odir":
        off_diagonal = W[~np.eye(k, dtype=bool)]
        penalty = reg_lambda / (k * (k - 1)) * np.sum(off_diagonal**2)
    else:
        penalty = reg_lambda / k**2 * np.sum((W - np.eye(k)) ** 2)
    penalty += reg_mu / k * np.sum(b**2)
    value, _ = loss(theta)
    assert value == pytest.approx(expected_nll + penalty, rel=1e-12)
    assert loss.penalty(theta)[0] == pytest.approx(penalty, rel=1e-12)


def _fit_formula(features, y, *, diagonal, reg_lambda, reg_mu):
    """Independent fit of Kull et al.'s ODIR objective: written out, scipy BFGS
    with numerical (3-point) gradients, no code shared with skcalib."""
    k = features.shape[1]
    off = ~np.eye(k, dtype=bool)

    def unpack(theta):
        W = np.diag(theta[:k]) if diagonal else theta[: k * k].reshape(k, k)
        return W, theta[-k:]

    def objective(theta):
        W, b = unpack(theta)
        log_p = ref_log_softmax(features @ W.T + b, axis=1)
        return (
            -np.mean(log_p[np.arange(len(y)), y])
            + reg_lambda / (k * (k - 1)) * np.sum(W[off] ** 2)
            + reg_mu / k * np.sum(b**2)
        )

    theta0 = np.concatenate(
        [np.ones(k) if diagonal else np.eye(k).ravel(), np.zeros(k)]
    )
    result = minimize(
        objective, theta0, method="BFGS", jac="3-point", options={"gtol": 1e-9}
    )
    W, b = unpack(result.x)
    return lambda f: ref_softmax(f @ W.T + b, axis=1)


@pytest.mark.parametrize("matrix_type", ["full", "diagonal"])
@pytest.mark.parametrize("reg_lambda, reg_mu", [(0.5, 0.5), (2.0, 0.1)])
def test_dirichlet_matches_independent_odir_fit(matrix_type, reg_lambda, reg_mu):
    logits, y, _ = per_class_miscalibrated(1500, 3, random_state=2)
    q = softmax(logits)
    q_test = softmax(per_class_miscalibrated(500, 3, random_state=3)[0])
    dc = DirichletCalibration(
        matrix_type=matrix_type, reg_lambda=reg_lambda, reg_mu=reg_mu, tol=1e-10
    ).fit(q, y)
    reference = _fit_formula(
        np.log(q),
        y,
        diagonal=matrix_type == "diagonal",
        reg_lambda=reg_lambda,
        reg_mu=reg_mu,
    )
    np.testing.assert_allclose(
        dc.predict_proba(q_test), reference(np.log(q_test)), atol=1e-5
    )


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("takes_proba", [False, True], ids=["matrix", "dirichlet"])
def test_unpenalised_equals_multinomial_logistic_regression(n_classes, takes_proba):
    # Unpenalised matrix scaling is multinomial logistic regression on the
    # logits; unpenalised Dirichlet calibration is the same on ln(q).
    logits, y, _ = per_class_miscalibrated(3000, n_classes, random_state=4)
    X_test = per_class_miscalibrated(500, n_classes, random_state=5)[0]
    est = DirichletCalibration(tol=1e-10) if takes_proba else MatrixScaling(tol=1e-10)
    S, S_test = scores_for(takes_proba, logits), scores_for(takes_proba, X_test)
    features = np.log(S) if takes_proba else S
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(features, y)
    est.fit(S, y)
    features_test = np.log(S_test) if takes_proba else S_test
    np.testing.assert_allclose(
        est.predict_proba(S_test), lr.predict_proba(features_test), atol=2e-6
    )


def test_binary_dirichlet_matches_beta_calibration():
    betacal = pytest.importorskip("betacal")
    logits, y, _ = per_class_miscalibrated(4000, 2, random_state=6)
    p = softmax(logits)[:, 1]
    p_test = softmax(per_class_miscalibrated(500, 2, random_state=7)[0])[:, 1]
    beta = betacal.BetaCalibration(parameters="abm").fit(p, y)
    assert np.all(np.asarray(beta.calibrator_.map_[:2]) > 0)  # no parameter dropped
    dc = DirichletCalibration(tol=1e-10).fit(p, y)
    # betacal's logistic regression stops at scikit-learn's default tol=1e-4.
    np.testing.assert_allclose(
        dc.predict_proba(p_test)[:, 1], beta.predict(p_test), atol=1e-3
    )


def test_odir_large_lambda_gives_vector_scaling():
    X, y, _ = per_class_miscalibrated(3000, random_state=8)
    off = ~np.eye(4, dtype=bool)
    norms = [
        np.linalg.norm(MatrixScaling(reg_lambda=lam, reg_mu=0.0).fit(X, y).coef_[off])
        for lam in (0.0, 1.0, 100.0)
    ]
    assert norms[0] > norms[1] > norms[2]
    strong = MatrixScaling(reg_lambda=1e6, reg_mu=0.0, tol=1e-9).fit(X, y)
    assert np.max(np.abs(strong.coef_[off])) < 1e-4
    vs = VectorScaling(tol=1e-9).fit(X, y)
    np.testing.assert_allclose(np.diag(strong.coef_), vs.coef_, rtol=1e-3)
    np.testing.assert_allclose(strong.predict_proba(X), vs.predict_proba(X), atol=1e-4)


def test_l2_large_lambda_returns_uncalibrated_model():
    X, y, _ = per_class_miscalibrated(3000, random_state=9)
    ms = MatrixScaling(regularization="l2", reg_lambda=1e8).fit(X, y)
    np.testing.assert_allclose(ms.coef_, np.eye(4), atol=1e-6)
    np.testing.assert_allclose(ms.intercept_, 0.0, atol=1e-6)
    np.testing.assert_allclose(ms.predict_proba(X), softmax(X), atol=1e-5)


def test_reg_mu_none_means_reg_lambda():
    X, y, _ = per_class_miscalibrated(1000, random_state=10)
    for cls in (MatrixScaling, DirichletCalibration):
        S = scores_for(cls is DirichletCalibration, X)
        default = cls(reg_lambda=0.3).fit(S, y)
        explicit = cls(reg_lambda=0.3, reg_mu=0.3).fit(S, y)
        other = cls(reg_lambda=0.3, reg_mu=0.0).fit(S, y)
        np.testing.assert_array_equal(default.intercept_, explicit.intercept_)
        assert not np.allclose(default.intercept_, other.intercept_, atol=1e-3)


@pytest.mark.parametrize(
    "estimator, off_diagonal_only",
    [
        (MatrixScaling(), False),
        (MatrixScaling(reg_lambda=0.0, reg_mu=0.1), False),
        (MatrixScaling(regularization="l2", reg_lambda=0.1), False),
        (MatrixScaling(reg_lambda=0.1, reg_mu=0.0), True),
        (DirichletCalibration(), False),
        (DirichletCalibration(reg_lambda=0.1), True),
    ],
    ids=repr,
)
def test_equivalent_solutions_are_fixed_as_documented(estimator, off_diagonal_only):
    X, y, _ = per_class_miscalibrated(2000, random_state=18)
    S = scores_for(isinstance(estimator, DirichletCalibration), X)
    est = estimator.fit(S, y)
    assert abs(est.intercept_.sum()) < 1e-12
    deviation = est.coef_ - np.eye(4)
    if off_diagonal_only:
        deviation = np.where(np.eye(4, dtype=bool), 0.0, deviation)
    np.testing.assert_allclose(deviation.sum(axis=0), 0.0, atol=1e-12)
    # Not trivially: the columns are far from zero.
    assert np.abs(deviation).max() > 0.05


@pytest.mark.parametrize("estimator, takes_proba", CALIBRATORS)
def test_sample_weight_equals_repetition(estimator, takes_proba):
    X, y, _ = per_class_miscalibrated(400, random_state=11)
    S = scores_for(takes_proba, X)
    w = np.random.default_rng(0).integers(0, 4, size=400)
    estimator = clone(estimator).set_params(tol=1e-10)
    proba_weighted = estimator.fit(S, y, sample_weight=w).predict_proba(S)
    repeated = estimator.fit(np.repeat(S, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(proba_weighted, repeated.predict_proba(S), atol=1e-6)


@pytest.mark.parametrize("estimator, takes_proba", CALIBRATORS)
def test_float32_preserved_and_accurate(estimator, takes_proba):
    X, y, _ = per_class_miscalibrated(2000, random_state=12)
    S = scores_for(takes_proba, X)
    proba64 = estimator.fit(S, y).predict_proba(S)
    est32 = estimator.fit(S.astype(np.float32), y)
    assert est32.coef_.dtype == np.float32
    assert est32.intercept_.dtype == np.float32
    proba32 = est32.predict_proba(S.astype(np.float32))
    assert proba32.dtype == np.float32
    np.testing.assert_allclose(proba32, proba64, atol=2e-5)


@pytest.mark.parametrize("cls", [VectorScaling, MatrixScaling])
def test_binary_decision_values_are_logits_zero_x(cls):
    logits, y, _ = per_class_miscalibrated(2000, 2, random_state=13)
    x = logits[:, 1] - logits[:, 0]
    est_1d = cls(tol=1e-10).fit(x, y)
    est_2d = cls(tol=1e-10).fit(np.stack([np.zeros_like(x), x], axis=1), y)
    assert est_1d.n_features_in_ == 1
    np.testing.assert_allclose(est_1d.coef_, est_2d.coef_, atol=1e-8)
    np.testing.assert_allclose(
        est_1d.predict_proba(x[:20]), est_2d.predict_proba(np.c_[np.zeros(20), x[:20]])
    )
    # Two classes: a Platt scaling of x (logistic regression on one feature).
    lr = LogisticRegression(C=np.inf, tol=1e-12).fit(x[:, None], y)
    np.testing.assert_allclose(
        est_1d.predict_proba(x), lr.predict_proba(x[:, None]), atol=1e-6
    )


def test_dirichlet_binary_positive_class_probability():
    logits, y, _ = per_class_miscalibrated(2000, 2, random_state=14)
    q = softmax(logits)
    names = np.array(["neg", "pos"])
    dc_1d = DirichletCalibration(reg_lambda=0.1, tol=1e-10).fit(q[:, 1], names[y])
    dc_col = DirichletCalibration(reg_lambda=0.1, tol=1e-10).fit(q[:, 1:], names[y])
    dc_2d = DirichletCalibration(reg_lambda=0.1, tol=1e-10).fit(q, names[y])
    assert dc_1d.n_features_in_ == 1
    assert dc_2d.n_features_in_ == 2
    np.testing.assert_array_equal(dc_1d.classes_, names)
    expected = dc_2d.predict_proba(q)
    np.testing.assert_allclose(dc_1d.predict_proba(q[:, 1]), expected, atol=1e-8)
    np.testing.assert_allclose(dc_col.predict_proba(q[:, 1:]), expected, atol=1e-8)
    np.testing.assert_array_equal(
        dc_1d.predict(q[:, 1]), names[expected.argmax(axis=1)]
    )


def test_dirichlet_zero_probabilities_are_clipped():
    q = np.array(
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [0.0, 0.5, 0.5]] * 5
    )
    y = np.array([0, 1, 2, 1] * 5)
    proba = DirichletCalibration(reg_lambda=1.0).fit(q, y).predict_proba(q)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("takes_proba", [False, True], ids=["logits", "proba"])
def test_fit_starts_at_the_uncalibrated_model(takes_proba):
    X, y, _ = per_class_miscalibrated(500, random_state=15)
    S = scores_for(takes_proba, X)
    features = np.log(S) if takes_proba else S
    loss = _loss(features, y, None, False, "odir", 1.0, 1.0)
    theta0 = loss.initial_params()
    np.testing.assert_array_equal(theta0, np.r_[np.eye(4).ravel(), np.zeros(4)])
    assert loss(theta0)[0] == pytest.approx(nll(softmax(X), y), rel=1e-12)
    est = DirichletCalibration if takes_proba else MatrixScaling
    with pytest.warns(ConvergenceWarning, match="max_iter=1 "):
        one_step = est(max_iter=1).fit(S, y)
    assert one_step.n_iter_ == 1
    assert nll(one_step.predict_proba(S), y) < nll(softmax(X), y)


@pytest.mark.parametrize("diagonal, regularization, reg_lambda, reg_mu", LOSS_CASES)
def test_projection_along_invariant_directions(
    diagonal, regularization, reg_lambda, reg_mu
):
    # The fit minimises loss.reduced: the objective after moving theta along
    # the directions that leave the probabilities unchanged, to the point of
    # least penalty.
    rng = np.random.default_rng(2)
    X, y, _ = per_class_miscalibrated(200, random_state=2)
    loss = _loss(X, y, None, diagonal, regularization, reg_lambda, reg_mu)
    theta = loss.initial_params() + rng.normal(size=loss.initial_params().size)
    projected = loss.project(theta)
    W, b = loss.unpack(theta)
    W_p, b_p = loss.unpack(projected)
    if diagonal:
        np.testing.assert_array_equal(W_p, W)
        proba, proba_p = softmax(X * W + b), softmax(X * W_p + b_p)
    else:
        proba, proba_p = softmax(X @ W.T + b), softmax(X @ W_p.T + b_p)
    np.testing.assert_allclose(proba_p, proba, rtol=1e-12)
    assert loss.penalty(projected)[0] <= loss.penalty(theta)[0] + 1e-15
    np.testing.assert_allclose(loss.project(projected), projected, atol=1e-14)
    value, grad = loss.reduced(theta)
    assert value == pytest.approx(loss(projected)[0], rel=1e-12)
    h = 1e-5
    numeric = np.array(
        [
            (loss.reduced(theta + h * e)[0] - loss.reduced(theta - h * e)[0]) / (2 * h)
            for e in np.eye(theta.size)
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    if reg_mu > 0:
        assert abs(b_p.sum()) < 1e-12  # the best common intercept shift centres b


@pytest.mark.parametrize(
    "estimator, match",
    [
        (VectorScaling(max_iter=0), "max_iter"),
        (VectorScaling(tol=-1.0), "tol"),
        (MatrixScaling(reg_lambda=-1.0), "reg_lambda"),
        (MatrixScaling(reg_mu=-0.1), "reg_mu"),
        (MatrixScaling(regularization="l1"), "regularization"),
        (DirichletCalibration(matrix_type="fixed_diagonal"), "matrix_type"),
        (DirichletCalibration(reg_lambda="big"), "reg_lambda"),
    ],
)
def test_invalid_parameters(estimator, match):
    q = softmax(make_classification_logits(50, 3, random_state=0)[0])
    y = np.arange(50) % 3
    with pytest.raises(ValueError, match=f"'{match}' parameter"):
        estimator.fit(q, y)


@pytest.mark.parametrize(
    "estimator, X, y, match",
    [
        (VectorScaling(), np.array([[np.nan, 0.0], [0.0, 1.0]]), [0, 1], "NaN"),
        (MatrixScaling(), np.zeros((4, 3)), [0, 1, 0, 1], "one logit per class"),
        (MatrixScaling(), np.zeros(4), [0, 1, 2, 1], "binary decision values"),
        (DirichletCalibration(), np.array([[np.nan, 1.0], [0.0, 1.0]]), [0, 1], "NaN"),
        (
            DirichletCalibration(),
            np.array([[2.0, -1.0], [0.0, 1.0]]),
            [0, 1],
            r"in \[0, 1\]",
        ),
        (
            DirichletCalibration(),
            np.array([[0.2, 0.2], [0.5, 0.5]]),
            [0, 1],
            "sum to one",
        ),
        (
            DirichletCalibration(),
            np.full((4, 3), 1 / 3),
            [0, 1, 0, 1],
            "one probability per class",
        ),
        (
            DirichletCalibration(),
            np.full(4, 0.5),
            [0, 1, 2, 1],
            "one probability per sample",
        ),
        (DirichletCalibration(), np.array([0.2, 1.3]), [0, 1], r"in \[0, 1\]"),
    ],
)
def test_fit_errors(estimator, X, y, match):
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y)


def test_predict_errors():
    q = softmax(make_classification_logits(60, 3, random_state=0)[0])
    y = np.arange(60) % 3
    dc = DirichletCalibration().fit(q, y)
    with pytest.raises(ValueError, match="expecting 3 features"):
        dc.predict_proba(np.full((2, 4), 0.25))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        dc.predict_proba(np.log(q))  # log-probabilities instead of probabilities
    with pytest.raises(ValueError, match="sum to one"):
        dc.predict_proba(q / 2)


def test_predict_in_other_namespace_than_fit_raises():
    xp, device = skip_if_unavailable("array_api_strict", "device1")
    logits, y = make_classification_logits(100, 3, random_state=0)
    with config_context(array_api_dispatch=True):
        ms = MatrixScaling().fit(xp.asarray(logits, device=device), y)
    with pytest.raises(ValueError, match="fitted on array_api_strict"):
        ms.predict_proba(logits)
    other_device = xp.asarray(logits, device=xp.Device("CPU_DEVICE"))
    with config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match="on device"):
            ms.predict_proba(other_device)


# One case per device code path: diagonal and full W, logits and probabilities,
# with the invariance projection (the penalty itself is computed on the host).
ARRAY_API_CALIBRATORS = [
    p
    for p in CALIBRATORS
    if p.id in ("vector", "matrix-odir", "dirichlet-odir", "dirichlet-diag")
]


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("estimator, takes_proba", ARRAY_API_CALIBRATORS)
def test_array_api_fit_predict(combination, estimator, takes_proba):
    X, y, _ = per_class_miscalibrated(300, random_state=16)
    S = scores_for(takes_proba, X)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=300)

    def fit_predict(S, y, w):
        est = estimator.fit(S, y, sample_weight=w)
        return est.predict_proba(S), est.coef_, est.intercept_

    float32 = combination[2] == "float32"
    assert_same_on_namespace(
        fit_predict,
        [S, y, w],
        combination=combination,
        # The fit computes in float64 on every backend: float32 results differ
        # by a few float32 ulps (rounding of the inputs and outputs only).
        rtol=1e-5 if float32 else 1e-8,
        atol=1e-6 if float32 else 1e-10,
    )


@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_binary_inputs(combination):
    logits, y, _ = per_class_miscalibrated(300, 2, random_state=17)
    x = logits[:, 1] - logits[:, 0]
    p = softmax(logits)[:, 1]

    def fit_predict(x, p, y):
        vs = VectorScaling().fit(x, y)
        dc = DirichletCalibration(reg_lambda=0.1).fit(p, y)
        return vs.predict_proba(x), dc.predict_proba(p)

    float32 = combination[2] == "float32"
    assert_same_on_namespace(
        fit_predict,
        [x, p, y],
        combination=combination,
        # The fit computes in float64 on every backend: float32 results differ
        # by a few float32 ulps (rounding of the inputs and outputs only).
        rtol=1e-5 if float32 else 1e-8,
        atol=1e-6 if float32 else 1e-10,
    )
