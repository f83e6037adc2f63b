import numpy as np
import pytest
from array_api_compat import numpy as np_xp

from skcalib.calibration import TemperatureScaling
from skcalib.calibration._correctness_aware import (
    CorrectnessAwareCalibrator,
    _top_label_rows,
    _view_features,
)
from skcalib.calibration._input_dependent_temperature import _log_linear_objective
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error, ood_auroc
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace
from skcalib.utils.estimator_checks import check_skcalib_estimator


def _views(n_samples, random_state, n_views=4, n_classes=10):
    """Logits of ``n_views`` views of each sample (view 0 the original).

    Each view is the true logits ``z`` (labels are drawn from ``softmax(z)``)
    plus its own unit Gaussian noise, times 2.5 (overconfident). The model's
    error on a sample comes from the noise of view 0; the other views, with
    independent noise, reveal it when they disagree -- what transformed
    images do for a real classifier.
    """
    z, y = make_classification_logits(
        n_samples,
        n_classes,
        temperature=1.0,
        class_sep=1.5,
        random_state=random_state,
    )
    noise = np.random.default_rng(random_state).normal(
        size=(n_samples, n_views, n_classes)
    )
    return 2.5 * (z[:, None, :] + noise), y


def _correct(views, y):
    return (views[:, 0].argmax(axis=1) == y).astype(float)


@pytest.mark.parametrize("loss", ["squared", "log"])
def test_row_loss_and_derivative(loss):
    views, y = _views(60, 0, n_views=1, n_classes=5)
    logits = views[:, 0]
    correct = _correct(views, y)
    rows = _top_label_rows(logits, correct, loss, xp=np_xp)
    a = np.random.default_rng(0).uniform(0.05, 2.0, size=60)
    values, derivative = rows(a)
    conf = softmax(a[:, None] * logits).max(axis=1)
    if loss == "squared":
        expected = (conf - correct) ** 2
    else:
        expected = -correct * np.log(conf) - (1 - correct) * np.log1p(-conf)
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-14)
    h = 1e-6
    numeric = (rows(a + h)[0] - rows(a - h)[0]) / (2 * h)
    np.testing.assert_allclose(derivative, numeric, rtol=1e-5, atol=1e-9)


def test_log_loss_exact_when_confidence_rounds_to_one():
    # A wrong prediction with a margin of 50 at a = 2: 1 - conf = e^-100 is
    # not representable next to 1, yet the loss -log(1 - conf) = 100 + ... and
    # its derivative must be exact.
    logits = np.array([[50.0, 0.0, -10.0]])
    rows = _top_label_rows(logits, np.array([0.0]), "log", xp=np_xp)
    values, derivative = rows(np.array([2.0]))
    log_r = np.log(np.exp(-100.0) + np.exp(-120.0))
    assert values[0] == pytest.approx(-log_r, rel=1e-12)
    # d/da [-log r(a)] = -E_q[z - z_top], q the softmax of the non-top logits.
    q = softmax(2.0 * np.array([0.0, -10.0]))
    assert derivative[0] == pytest.approx(-(q @ np.array([-50.0, -60.0])), rel=1e-9)


def test_tied_top_logits():
    # Two classes share the largest logit: the confidence is that of one of
    # them, softmax(a z)_0 = e^a / (2 e^a + 1), and the runner-up is the tie.
    logits = np.array([[1.0, 1.0, 0.0]])
    rows = _top_label_rows(logits, np.array([1.0]), "squared", xp=np_xp)
    a = np.array([1.5])
    conf = np.exp(1.5) / (2 * np.exp(1.5) + 1)
    assert rows(a)[0][0] == pytest.approx((conf - 1) ** 2, rel=1e-12)
    h = 1e-6
    numeric = (rows(a + h)[0] - rows(a - h)[0]) / (2 * h)
    assert rows(a)[1][0] == pytest.approx(numeric[0], rel=1e-6)


@pytest.mark.parametrize("loss", ["squared", "log"])
def test_objective_gradient_matches_finite_differences(loss):
    views, y = _views(300, 1, n_views=3, n_classes=6)
    features = _view_features(views, 3, np.float64, xp=np_xp)
    standardised = (features - features.mean(0)) / features.std(0)
    weight = np.random.default_rng(1).uniform(0.2, 2.0, size=300)
    rows = _top_label_rows(views[:, 0], _correct(views, y), loss, xp=np_xp)
    objective = _log_linear_objective(
        standardised, rows, weight / weight.sum(), 0.1, xp=np_xp
    )
    theta = np.random.default_rng(2).normal(scale=0.2, size=10)
    _, grad = objective(theta)
    h = 1e-6
    numeric = [
        (objective(theta + h * e)[0] - objective(theta - h * e)[0]) / (2 * h)
        for e in np.eye(10)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


def test_view_features():
    views = np.random.default_rng(0).normal(size=(5, 3, 6))
    features = _view_features(views, 2, np.float64, xp=np_xp)
    assert features.shape == (5, 6)
    log_proba = np.log(softmax(views))
    top = np.argsort(-views[:, 0], axis=1)[:, :2]
    for j in range(3):
        np.testing.assert_allclose(
            features[:, 2 * j : 2 * j + 2],
            np.take_along_axis(log_proba[:, j], top, axis=1),
        )


def test_views_separate_right_from_wrong_and_calibrate():
    views, y = _views(3000, 0)
    views_test, y_test = _views(20_000, 100)
    correct = views_test[:, 0].argmax(axis=1) == y_test
    ts = TemperatureScaling().fit(views[:, 0], y)
    proba = {
        "uncalibrated": softmax(views_test[:, 0]),
        "ts": ts.predict_proba(views_test[:, 0]),
        "ca_views": CorrectnessAwareCalibrator()
        .fit(views, y)
        .predict_proba(views_test),
        "ca_original": CorrectnessAwareCalibrator()
        .fit(views[:, 0], y)
        .predict_proba(views_test[:, 0]),
    }
    ece = {k: expected_calibration_error(y_test, p) for k, p in proba.items()}
    auroc = {k: ood_auroc(correct, p.max(axis=1)) for k, p in proba.items()}
    gap = {
        k: p.max(axis=1)[correct].mean() - p.max(axis=1)[~correct].mean()
        for k, p in proba.items()
    }
    # Measured (accuracy 0.786): ECE uncalibrated 0.148, TS 0.057, CA on the
    # original logits only 0.018, CA on 4 views 0.032; AUROC of the confidence
    # for right vs wrong 0.729, 0.731, 0.731, 0.781; mean confidence right
    # minus wrong 0.109, 0.174, 0.145, 0.254.
    assert ece["ca_views"] < ece["uncalibrated"] / 3
    assert ece["ca_views"] < ece["ts"]
    assert auroc["ca_views"] > auroc["ts"] + 0.03
    assert gap["ca_views"] > gap["ts"] + 0.05
    assert ece["ca_original"] < ece["ts"]
    assert auroc["ca_original"] > auroc["ts"] - 0.005


@pytest.mark.parametrize("loss", ["squared", "log"])
def test_huge_alpha_gives_the_best_global_temperature(loss):
    views, y = _views(2000, 2, n_views=2, n_classes=5)
    ca = CorrectnessAwareCalibrator(loss=loss, alpha=1e8).fit(views, y)
    t = ca.predict_temperature(views)
    np.testing.assert_allclose(t, t[0], rtol=1e-4)
    rows = _top_label_rows(views[:, 0], _correct(views, y), loss, xp=np_xp)

    def mean_loss(temperature):
        return rows(np.full(len(y), 1.0 / temperature))[0].mean()

    best = mean_loss(t[0])
    for factor in [0.98, 1.02]:
        assert best < mean_loss(t[0] * factor)


def test_2d_input_is_a_single_view():
    views, y = _views(500, 3, n_views=1, n_classes=4)
    from_2d = CorrectnessAwareCalibrator().fit(views[:, 0], y)
    from_3d = CorrectnessAwareCalibrator().fit(views, y)
    assert (from_2d.n_views_, from_3d.n_views_) == (1, 1)
    np.testing.assert_array_equal(from_2d.coef_, from_3d.coef_)
    np.testing.assert_array_equal(
        from_2d.predict_proba(views[:, 0]), from_3d.predict_proba(views)
    )


def test_sample_weight_equals_repetition():
    views, y = _views(400, 4, n_views=3, n_classes=5)
    w = np.random.default_rng(0).integers(0, 4, size=len(y))
    weighted = CorrectnessAwareCalibrator().fit(views, y, sample_weight=w)
    repeated = CorrectnessAwareCalibrator().fit(
        np.repeat(views, w, axis=0), np.repeat(y, w)
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-8)
    assert weighted.intercept_ == pytest.approx(repeated.intercept_, rel=1e-6)


def test_balanced_gives_right_and_wrong_the_same_weight():
    views, y = _views(600, 5, n_views=2, n_classes=5)
    correct = _correct(views, y)
    accuracy = correct.mean()
    group = np.where(correct == 1, 1 - accuracy, accuracy)
    balanced = CorrectnessAwareCalibrator(balanced=True).fit(views, y)
    manual = CorrectnessAwareCalibrator().fit(views, y, sample_weight=group)
    np.testing.assert_allclose(balanced.coef_, manual.coef_, rtol=1e-10)
    # Focusing on the (minority) errors lowers the confidence overall.
    plain = CorrectnessAwareCalibrator().fit(views, y)
    assert (
        balanced.predict_proba(views).max(axis=1).mean()
        < plain.predict_proba(views).max(axis=1).mean()
    )


def test_float32_preserved_and_accurate():
    views, y = _views(500, 6, n_views=3, n_classes=4)
    fit64 = CorrectnessAwareCalibrator().fit(views, y)
    fit32 = CorrectnessAwareCalibrator().fit(views.astype(np.float32), y)
    np.testing.assert_allclose(fit32.coef_, fit64.coef_, rtol=1e-3, atol=1e-4)
    proba32 = fit32.predict_proba(views.astype(np.float32))
    assert proba32.dtype == np.float32
    assert fit32.predict_temperature(views.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(proba32, fit64.predict_proba(views), atol=1e-4)


def test_argmax_of_original_view_unchanged_and_string_labels():
    views, y = _views(500, 7, n_views=3, n_classes=3)
    names = np.array(["cat", "dog", "eel"])
    ca = CorrectnessAwareCalibrator().fit(views, names[y])
    np.testing.assert_array_equal(ca.classes_, names)
    np.testing.assert_array_equal(ca.predict(views), names[views[:, 0].argmax(axis=1)])
    proba = ca.predict_proba(views)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(ca.predict_temperature(views) > 0)


def test_binary_decision_values_are_logits_zero_x():
    views, y = _views(600, 8, n_views=2, n_classes=2)
    x = views[:, :, 1] - views[:, :, 0]
    as_logits = np.stack([np.zeros_like(x), x], axis=2)
    from_values = CorrectnessAwareCalibrator().fit(x[:, :, None], y)
    from_logits = CorrectnessAwareCalibrator().fit(as_logits, y)
    np.testing.assert_allclose(from_values.coef_, from_logits.coef_, rtol=1e-10)
    assert from_values.n_features_in_ == 1
    one_view = CorrectnessAwareCalibrator().fit(x[:, 0], y)
    np.testing.assert_allclose(
        one_view.predict_proba(x[:, 0]),
        CorrectnessAwareCalibrator()
        .fit(as_logits[:, 0], y)
        .predict_proba(as_logits[:, 0]),
    )


def test_n_top_capped_at_n_classes():
    views, y = _views(300, 9, n_views=2, n_classes=3)
    ca = CorrectnessAwareCalibrator(n_top=10).fit(views, y)
    assert ca.n_top_ == 3
    assert ca.coef_.shape == (6,)


def test_deterministic_and_input_not_modified():
    views, y = _views(400, 10, n_views=3, n_classes=4)
    copy = views.copy()
    first = CorrectnessAwareCalibrator().fit(views, y).predict_proba(views)
    second = CorrectnessAwareCalibrator().fit(views, y).predict_proba(views)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(views, copy)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "mse"}, "'loss' parameter"),
        ({"n_top": 0}, "'n_top' parameter"),
        ({"balanced": "yes"}, "'balanced' parameter"),
        ({"alpha": -1.0}, "'alpha' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
    ],
)
def test_invalid_parameters(params, match):
    views, y = _views(50, 0, n_views=2, n_classes=3)
    with pytest.raises(ValueError, match=match):
        CorrectnessAwareCalibrator(**params).fit(views, y)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.zeros((4, 2, 3)), [0, 0, 0, 0], "one class only"),
        (np.zeros((4, 2, 3)), [0, 1, 0, 1], "one logit per class"),
        (np.zeros(4), [0, 1, 2, 1], "binary decision values"),
        (np.zeros((4, 2, 3, 1)), [0, 1, 2, 1], "1 or 2 or 3 dimension"),
        (np.zeros((5, 2, 3)), [0, 1, 2, 1], "Inconsistent numbers of samples"),
        (np.zeros((4, 0, 3)), [0, 1, 2, 1], "at least one view"),
        (np.full((4, 2, 3), np.nan), [0, 1, 2, 1], "NaN"),
        (np.zeros((4, 2, 3)), None, "requires y"),
    ],
)
def test_fit_errors(X, y, match):
    with pytest.raises(ValueError, match=match):
        CorrectnessAwareCalibrator().fit(X, y)


def test_predict_errors():
    views, y = _views(100, 11, n_views=3, n_classes=4)
    ca = CorrectnessAwareCalibrator().fit(views, y)
    for method in (ca.predict_proba, ca.predict_temperature, ca.predict):
        with pytest.raises(ValueError, match="was fitted on 3"):
            method(views[:, :2])
        with pytest.raises(ValueError, match="was fitted on 3"):
            method(views[:, 0])
        with pytest.raises(ValueError, match="expecting 4 features"):
            method(np.zeros((2, 3, 5)))


def test_skcalib_checks():
    check_skcalib_estimator(CorrectnessAwareCalibrator())


@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_fit_predict(combination):
    views, y = _views(200, 12, n_views=3, n_classes=4)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))

    def fit_predict(X, y, w):
        ca = CorrectnessAwareCalibrator(loss="log").fit(X, y, sample_weight=w)
        return ca.predict_proba(X), ca.predict_temperature(X), ca.coef_

    # Fitting runs in float64 on every float64-capable device, whatever the
    # input dtype; float32 predictions round in float32.
    assert_same_on_namespace(
        fit_predict,
        [views, y, w],
        combination=combination,
        rtol=1e-5 if combination[2] == "float32" else 1e-7,
        atol=1e-6 if combination[2] == "float32" else 1e-9,
    )
