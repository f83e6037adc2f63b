import warnings

import numpy as np
import pytest
from array_api_compat import numpy as np_compat
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.svm import LinearSVC

from skcalib.calibration import VennAbersCalibrator
from skcalib.datasets import make_classification_logits
from skcalib.metrics import expected_calibration_error
from skcalib.utils._array_api import softmax
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

venn_abers = pytest.importorskip("venn_abers.venn_abers")


def _probabilities(n_samples, n_classes, *, temperature=2.0, decimals=None, seed=0):
    logits, y = make_classification_logits(
        n_samples, n_classes, temperature=temperature, random_state=seed
    )
    proba = softmax(logits)
    if decimals is not None:  # rounding creates many tied scores
        # No zero: the package's pairwise score p_j / (p_i + p_j) is NaN when
        # both are zero (skcalib uses 0.5, see test_pairwise_zero_scores...).
        proba = np.maximum(np.round(proba, decimals), 10.0**-decimals)
        proba /= proba.sum(axis=1, keepdims=True)
    return proba, y


def _package_binary(p_cal, y_cal, p_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the package's nanmin
        va = venn_abers.VennAbers().fit(p_cal, y_cal)
        return va.predict_proba(p_test)


def _brute_force_interval(scores, y, weight, test_score):
    """The definition: isotonic regression refitted with (s, 0) and (s, 1)."""
    ends = []
    for label in (0, 1):
        iso = IsotonicRegression(out_of_bounds="clip").fit(
            np.r_[scores, test_score], np.r_[y, label], sample_weight=np.r_[weight, 1]
        )
        ends.append(iso.predict([test_score])[0])
    return ends


@pytest.mark.parametrize("seed", range(40))
def test_interval_is_the_isotonic_fit_with_each_label(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 30))
    scores = rng.integers(0, int(rng.integers(1, 10)), size=n).astype(float)
    y = (rng.random(n) < rng.random()).astype(int)
    y[:2] = [0, 1]
    weight = [np.ones(n), rng.integers(0, 4, size=n), rng.uniform(0.1, 3, n)][seed % 3]
    weight = weight.astype(float)
    weight[:2] = np.maximum(weight[:2], 1.0)
    test = np.r_[np.unique(scores), np.unique(scores) + 0.5, -1.0]
    va = VennAbersCalibrator().fit(scores, y, sample_weight=weight)
    interval = va.predict_proba_interval(test)
    keep = weight > 0
    expected = [
        _brute_force_interval(scores[keep], y[keep], weight[keep], s) for s in test
    ]
    np.testing.assert_allclose(interval, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("decimals", [None, 2])
def test_binary_parity_with_venn_abers(decimals):
    proba, y = _probabilities(4000, 2, decimals=decimals)
    p_cal, y_cal, p_test = proba[:2000], y[:2000], proba[2000:]
    p_test = np.r_[p_test, [[1.0, 0.0], [0.0, 1.0]], p_cal[:50]]  # ends and ties
    expected_proba, expected_interval = _package_binary(p_cal, y_cal, p_test)
    va = VennAbersCalibrator().fit(p_cal, y_cal)
    np.testing.assert_allclose(
        va.predict_proba_interval(p_test), expected_interval, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        va.predict_proba(p_test), expected_proba, rtol=0, atol=1e-12
    )
    # One score per sample: the positive column alone gives the same result.
    va_1d = VennAbersCalibrator().fit(p_cal[:, 1], y_cal)
    np.testing.assert_array_equal(
        va_1d.predict_proba_interval(p_test[:, 1]), va.predict_proba_interval(p_test)
    )


@pytest.mark.parametrize("n_classes", [3, 5])
@pytest.mark.parametrize(
    "multiclass, va_type", [("ovr", "one_vs_rest"), ("pairwise", "one_vs_one")]
)
def test_multiclass_parity_with_venn_abers(n_classes, multiclass, va_type):
    proba, y = _probabilities(4000, n_classes, decimals=3, seed=1)
    p_cal, y_cal, p_test = proba[:2000], y[:2000], proba[2000:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected_proba, expected_p0p1 = venn_abers.predict_proba_prefitted_va(
            p_cal, y_cal, p_test, va_tpe=va_type
        )
    va = VennAbersCalibrator(multiclass=multiclass).fit(p_cal, y_cal)
    np.testing.assert_allclose(
        va.predict_proba(p_test), expected_proba, rtol=0, atol=1e-12
    )
    # The per-problem intervals match the package's (ovr: per class,
    # pairwise: per pair i < j in lexicographic order).
    expected = np.stack(expected_p0p1, axis=1)  # (n, n_problems, 2)
    if multiclass == "ovr":
        interval = va.predict_proba_interval(p_test)
        np.testing.assert_allclose(interval, expected, rtol=0, atol=1e-12)
    else:
        lower, upper = va._fold_intervals([p_test], xp=np_compat)
        np.testing.assert_allclose(lower[0], expected[..., 0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(upper[0], expected[..., 1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("inductive", [True, False])
def test_binary_estimator_parity_with_venn_abers(inductive):
    """Same split as the package: stratified train_test_split / StratifiedKFold."""
    X, y = make_classification(1200, n_features=8, random_state=0)
    X_train, y_train, X_test = X[:900], y[:900], X[900:]
    kwargs = dict(cal_size=0.2, stratify=y_train) if inductive else dict(n_splits=5)
    package = venn_abers.VennAbersCalibrator(
        estimator=LogisticRegression(), inductive=inductive, random_state=3, **kwargs
    ).fit(X_train, y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected_proba, (folds,) = package.predict_proba(X_test, p0_p1_output=True)
    va = VennAbersCalibrator(
        LogisticRegression(), inductive=inductive, cv=5, cal_size=0.2, random_state=3
    ).fit(X_train, y_train)
    np.testing.assert_allclose(
        va.predict_proba(X_test), expected_proba, rtol=0, atol=1e-12
    )
    # The package returns the folds' p0 then their p1; ours are fold means.
    n_folds = folds.shape[1] // 2
    assert len(va.estimators_) == n_folds == (1 if inductive else 5)
    expected_interval = np.c_[
        folds[:, :n_folds].mean(axis=1), folds[:, n_folds:].mean(axis=1)
    ]
    np.testing.assert_allclose(
        va.predict_proba_interval(X_test), expected_interval, rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(
    "multiclass, va_type", [("ovr", "one_vs_rest"), ("pairwise", "one_vs_one")]
)
def test_multiclass_cross_matches_package_folds_by_hand(multiclass, va_type):
    """Cross mode = the package's per-fold intervals, merged by its CVAP rule.

    The package's multiclass wrapper retrains one binary model per pair of
    classes; here one multiclass model is trained per fold, so the comparison
    reproduces the folds by hand and calibrates each with the package's
    score-space function, then applies the package's fold merge
    (``VennAbersCV``: GM(p1) / (GM(1 - p0) + GM(p1))) and combination.
    """
    X, y = make_classification(
        1500, n_features=8, n_informative=6, n_classes=3, random_state=0
    )
    X_train, y_train, X_test = X[:1200], y[:1200], X[1200:]
    folds = StratifiedKFold(5, shuffle=True, random_state=7)
    p0, p1 = [], []
    for train, cal in folds.split(X_train, y_train):
        model = LogisticRegression().fit(X_train[train], y_train[train])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            _, p0p1 = venn_abers.predict_proba_prefitted_va(
                model.predict_proba(X_train[cal]),
                y_train[cal],
                model.predict_proba(X_test),
                va_tpe=va_type,
            )
        p0.append(np.stack([a[:, 0] for a in p0p1], axis=1))
        p1.append(np.stack([a[:, 1] for a in p0p1], axis=1))
    p0, p1 = np.stack(p0, axis=2), np.stack(p1, axis=2)
    g1 = venn_abers.geo_mean(p1.reshape(-1, 5)).reshape(p1.shape[:2])
    g0 = venn_abers.geo_mean(1 - p0.reshape(-1, 5)).reshape(p0.shape[:2])
    merged = g1 / (g0 + g1)
    if multiclass == "ovr":
        expected = merged
    else:  # the package's coupling (VennAbersMultiClass.predict_proba)
        pairs = [(0, 1), (0, 2), (1, 2)]
        expected = np.stack(
            [
                1
                / (
                    sum(
                        1 / (1 - merged[:, m]) if i == c else 1 / merged[:, m]
                        for m, (i, j) in enumerate(pairs)
                        if c in (i, j)
                    )
                    - 1
                )
                for c in range(3)
            ],
            axis=1,
        )
    expected /= expected.sum(axis=1, keepdims=True)
    va = VennAbersCalibrator(
        LogisticRegression(),
        inductive=False,
        cv=5,
        multiclass=multiclass,
        random_state=7,
    ).fit(X_train, y_train)
    np.testing.assert_allclose(va.predict_proba(X_test), expected, atol=1e-12)


def test_cv_iterable_equals_integer_cv_with_the_same_folds():
    X, y = make_classification(400, random_state=0)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=1).split(X, y))
    by_int = VennAbersCalibrator(
        LogisticRegression(), inductive=False, cv=4, random_state=1
    ).fit(X, y)
    by_list = VennAbersCalibrator(LogisticRegression(), inductive=False, cv=folds)
    by_list.fit(X, y)
    np.testing.assert_array_equal(by_int.predict_proba(X), by_list.predict_proba(X))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_merged_probabilities_lower_ece(n_classes):
    # Overconfident logits (temperature 3): calibration must reduce the ECE.
    logits, y = make_classification_logits(
        20_000, n_classes, temperature=3.0, random_state=0
    )
    proba = softmax(logits)
    va = VennAbersCalibrator().fit(proba[:10_000], y[:10_000])
    before = expected_calibration_error(y[10_000:], proba[10_000:])
    after = expected_calibration_error(y[10_000:], va.predict_proba(proba[10_000:]))
    assert after < 0.3 * before
    assert after < 0.02


@pytest.mark.parametrize("multiclass", ["ovr", "pairwise"])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_interval_ordered_in_unit_interval(multiclass, n_classes):
    proba, y = _probabilities(600, n_classes, decimals=2, seed=3)
    va = VennAbersCalibrator(multiclass=multiclass).fit(proba[:300], y[:300])
    interval = va.predict_proba_interval(proba)
    assert interval.shape == ((600, 2) if n_classes == 2 else (600, n_classes, 2))
    assert np.all(0 <= interval[..., 0])
    assert np.all(interval[..., 0] < interval[..., 1])
    assert np.all(interval[..., 1] <= 1)
    if n_classes == 2:  # the merge lies inside the interval
        p = va.predict_proba(proba)[:, 1]
        assert np.all((interval[:, 0] <= p) & (p <= interval[:, 1]))


def test_binary_outputs_increase_with_the_score():
    proba, y = _probabilities(1000, 2, seed=4)
    va = VennAbersCalibrator().fit(proba[:, 1], y)
    grid = np.linspace(-0.1, 1.1, 500)
    interval = va.predict_proba_interval(grid)
    merged = va.predict_proba(grid)[:, 1]
    for values in (interval[:, 0], interval[:, 1], merged):
        assert np.all(np.diff(values) >= 0)
    # Outside the calibration scores: no data below (p0 = 0) or above (p1 = 1).
    assert interval[0, 0] == 0 and interval[-1, 1] == 1


def test_ties_follow_isotonic_pooling():
    scores = np.array([0.1, 0.2, 0.2, 0.3])
    y = np.array([0, 1, 0, 1])
    va = VennAbersCalibrator().fit(scores, y)
    # p1 is constant on (c_{k-1}, c_k], p0 on [c_{k-1}, c_k).
    interval = va.predict_proba_interval(np.array([0.15, 0.2, 0.25]))
    assert interval[0, 1] == interval[1, 1] != interval[2, 1]
    assert interval[1, 0] == interval[2, 0] != interval[0, 0]
    np.testing.assert_allclose(interval[1], [1 / 3, 2 / 3])


def test_interval_width_shrinks_with_calibration_size():
    proba, y = _probabilities(42_000, 2, seed=5)
    test = proba[40_000:, 1]
    widths = []
    for n in (100, 1000, 10_000, 40_000):
        interval = VennAbersCalibrator().fit(proba[:n, 1], y[:n])
        interval = interval.predict_proba_interval(test)
        widths.append(np.mean(interval[:, 1] - interval[:, 0]))
    assert all(a > 2 * b for a, b in zip(widths[:-1], widths[1:], strict=True))


@pytest.mark.parametrize("multiclass", ["ovr", "pairwise"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sample_weight_equals_repetition(multiclass, n_classes):
    proba, y = _probabilities(500, n_classes, decimals=2, seed=6)
    w = np.random.default_rng(0).integers(0, 4, size=500)
    weighted = VennAbersCalibrator(multiclass=multiclass)
    weighted.fit(proba, y, sample_weight=w)
    repeated = VennAbersCalibrator(multiclass=multiclass)
    repeated.fit(np.repeat(proba, w, axis=0), np.repeat(y, w))
    for method in ("predict_proba", "predict_proba_interval"):
        np.testing.assert_allclose(
            getattr(weighted, method)(proba),
            getattr(repeated, method)(proba),
            rtol=0,
            atol=1e-13,
        )


def test_unit_weights_equal_no_weights_and_scale_matters():
    proba, y = _probabilities(300, 2, seed=7)
    plain = VennAbersCalibrator().fit(proba, y).predict_proba_interval(proba)
    ones = VennAbersCalibrator().fit(proba, y, sample_weight=np.ones(300))
    np.testing.assert_array_equal(ones.predict_proba_interval(proba), plain)
    # Weights count samples: doubling them all narrows the intervals.
    doubled = VennAbersCalibrator().fit(proba, y, sample_weight=np.full(300, 2.0))
    doubled = doubled.predict_proba_interval(proba)
    assert np.all(doubled[:, 1] - doubled[:, 0] < plain[:, 1] - plain[:, 0])


def test_estimator_sample_weight_reaches_the_estimator():
    X, y = make_classification(600, random_state=0)
    w = np.random.default_rng(0).integers(1, 4, size=600).astype(float)
    va = VennAbersCalibrator(LogisticRegression(), random_state=0)
    va.fit(X, y, sample_weight=w)
    train = np.setdiff1d(np.arange(600), _calibration_rows(va, X, y))
    expected = LogisticRegression().fit(X[train], y[train], sample_weight=w[train])
    np.testing.assert_allclose(va.estimators_[0].coef_, expected.coef_)


def _calibration_rows(va, X, y):
    from sklearn.model_selection import train_test_split

    return train_test_split(
        np.arange(len(y)), test_size=va.cal_size, random_state=0, stratify=y
    )[1]


def test_estimator_without_sample_weight_warns():
    class NoWeightNB(GaussianNB):
        def fit(self, X, y):
            return super().fit(X, y)

    X, y = make_classification(300, random_state=0)
    va = VennAbersCalibrator(NoWeightNB(), random_state=0)
    with pytest.warns(UserWarning, match="only used in the calibration"):
        va.fit(X, y, sample_weight=np.ones(300))


@pytest.mark.parametrize("multiclass", ["ovr", "pairwise"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_preserved(n_classes, multiclass):
    X, y = _probabilities(1000, n_classes, seed=8)
    X32 = X.astype(np.float32)
    va64 = VennAbersCalibrator(multiclass=multiclass).fit(X32.astype(np.float64), y)
    va32 = VennAbersCalibrator(multiclass=multiclass).fit(X32, y)
    assert va32.calibrators_[0][0].p1.dtype == np.float32
    # Same scores, so same ranks and ties: the results agree to float32
    # rounding, except that the pairwise scores X[:, j] / (X[:, i] + X[:, j])
    # are themselves rounded to float32, which can merge distinct ones.
    atol = 1e-3 if multiclass == "pairwise" and n_classes > 2 else 1e-6
    for method in ("predict_proba", "predict_proba_interval"):
        out32 = getattr(va32, method)(X32)
        assert out32.dtype == np.float32
        np.testing.assert_allclose(
            out32, getattr(va64, method)(X32.astype(np.float64)), atol=atol
        )


def test_deterministic_given_random_state_and_clone():
    X, y = make_classification(500, random_state=0)
    va = VennAbersCalibrator(
        LogisticRegression(), inductive=False, cv=3, random_state=0
    )
    first = clone(va).fit(X, y).predict_proba_interval(X)
    second = clone(va).fit(X, y).predict_proba_interval(X)
    np.testing.assert_array_equal(first, second)
    other = clone(va).set_params(random_state=1).fit(X, y).predict_proba_interval(X)
    assert not np.array_equal(first, other)
    assert va.estimator is not clone(va).estimator
    fitted = clone(va).fit(X, y)
    assert all(e is not va.estimator for e in fitted.estimators_)
    assert not hasattr(va.estimator, "coef_")


def test_decision_function_estimator_and_string_labels():
    X, y = make_classification(600, random_state=0)
    names = np.array(["no", "yes"])
    va = VennAbersCalibrator(LinearSVC(), random_state=0).fit(X, names[y])
    np.testing.assert_array_equal(va.classes_, names)
    proba = va.predict_proba(X)
    np.testing.assert_array_equal(va.predict(X), names[proba.argmax(axis=1)])
    assert np.mean(va.predict(X) == names[y]) > 0.8


def test_pairwise_needs_non_negative_scores():
    logits, y = make_classification_logits(300, 3, random_state=0)
    with pytest.raises(ValueError, match="non-negative scores"):
        VennAbersCalibrator(multiclass="pairwise").fit(logits, y)
    X, y = make_classification(300, n_classes=3, n_informative=4, random_state=0)
    va = VennAbersCalibrator(LinearSVC(), multiclass="pairwise", random_state=0)
    with pytest.raises(ValueError, match="non-negative scores"):
        va.fit(X, y)
    # ovr accepts any real scores, such as logits.
    VennAbersCalibrator().fit(logits, y)


def test_pairwise_zero_scores_are_neutral():
    proba = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]] * 10)
    y = np.array([0, 1, 2] * 10)
    va = VennAbersCalibrator(multiclass="pairwise").fit(proba, y)
    out = va.predict_proba(proba)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out.argmax(axis=1), y)


def test_dataframe_features_keep_names():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(300, n_features=4, random_state=0)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    va = VennAbersCalibrator(LogisticRegression(), inductive=False, random_state=0)
    va.fit(df, y)
    np.testing.assert_array_equal(va.feature_names_in_, ["a", "b", "c", "d"])
    assert va.n_features_in_ == 4
    on_array = clone(va).fit(X, y)
    assert not hasattr(on_array, "feature_names_in_")
    np.testing.assert_allclose(va.predict_proba(df), on_array.predict_proba(X))


@pytest.mark.parametrize(
    "params, X, y, match",
    [
        ({"inductive": False}, np.zeros(4), [0, 1, 0, 1], "needs an est"),
        ({}, np.zeros((4, 3)), [0, 0, 0, 0], "one class only"),
        ({}, np.zeros((4, 3)), [0, 1, 0, 1], "one logit per class"),
        ({}, np.zeros(4), [0, 1, 2, 1], "binary decision values"),
        ({}, np.array([np.nan, 0.5]), [0, 1], "NaN"),
        ({}, np.zeros(2), None, "requires y"),
        ({"multiclass": "ovo"}, np.zeros(4), [0, 1, 0, 1], "'multiclass' parameter"),
        ({"cal_size": 1.5}, np.zeros(4), [0, 1, 0, 1], "'cal_size' parameter"),
        ({"cv": 1}, np.zeros(4), [0, 1, 0, 1], "'cv' parameter"),
        ({"estimator": "lr"}, np.zeros(4), [0, 1, 0, 1], "'estimator' parameter"),
    ],
)
def test_fit_errors(params, X, y, match):
    with pytest.raises(ValueError, match=match):
        VennAbersCalibrator(**params).fit(X, y)


def test_estimator_mode_errors():
    X, y = make_classification(100, random_state=0)
    with pytest.raises(ValueError, match="requires y"):
        VennAbersCalibrator(LogisticRegression()).fit(X, None)
    # A class absent from a training split (a single sample of class 2).
    y3 = y.copy()
    y3[0] = 2
    folds = [
        (np.arange(1, 100), np.arange(0, 1)),
        (np.arange(0, 50), np.arange(50, 100)),
    ]
    va = VennAbersCalibrator(LogisticRegression(), inductive=False, cv=folds)
    with pytest.raises(ValueError, match="every class needs samples"):
        va.fit(X, y3)


def test_predict_wrong_width():
    proba, y = _probabilities(30, 3)
    va = VennAbersCalibrator().fit(proba, y)
    for method in ("predict_proba", "predict_proba_interval"):
        with pytest.raises(ValueError, match="expecting 3 features"):
            getattr(va, method)(np.zeros((2, 4)))


def test_skcalib_input_kind_follows_the_mode():
    from skcalib.base import get_skcalib_tags

    assert get_skcalib_tags(VennAbersCalibrator()).input_kind == "probabilities"
    with_estimator = VennAbersCalibrator(LogisticRegression())
    assert get_skcalib_tags(with_estimator).input_kind == "features"
    assert VennAbersCalibrator().__sklearn_tags__().array_api_support
    assert not with_estimator.__sklearn_tags__().array_api_support


@pytest.mark.parametrize("multiclass", ["ovr", "pairwise"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_fit_predict(combination, n_classes, multiclass):
    proba, y = _probabilities(400, n_classes, decimals=2, seed=9)
    w = np.random.default_rng(0).integers(0, 3, size=400).astype(float)

    def fit_predict(X, y, w):
        va = VennAbersCalibrator(multiclass=multiclass).fit(
            X[:200, ...], y[:200], sample_weight=w[:200]
        )
        return va.predict_proba(X), va.predict_proba_interval(X)

    assert_same_on_namespace(fit_predict, [proba, y, w], combination=combination)
