"""LabelPowersetConformalClassifier: label-powerset ICP for multilabel data.

Hand-computed cases, parity of the search with brute-force enumeration of
all ``2^L`` label sets, a completeness certificate for many labels, the
estimator layouts of scikit-learn's multilabel classifiers, and coverage of
the true label set over random calibration/test splits (binomial
tolerances as in ``test_conformal_coverage.py``).
"""

import functools
import itertools
import math
import time
import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_multilabel_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import ShuffleSplit
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import InvalidParameterError

from skcalib.conformal._multilabel import (
    LabelPowersetConformalClassifier,
    _label_probabilities,
)

SCORES = ["euclidean", "manhattan", "log_loss"]


def _frozen(passthrough, P, Y):
    return FrozenEstimator(passthrough().fit(P, Y))


def _random_problem(n, n_labels, seed, *, discrete=False):
    """Per-label probabilities and label sets drawn from them."""
    rng = np.random.default_rng(seed)
    if discrete:  # ties between scores, zero and saturated probabilities
        P = rng.integers(0, 11, size=(n, n_labels)) / 10
    else:
        P = rng.beta(0.6, 0.6, size=(n, n_labels))
        P[rng.random((n, n_labels)) < 0.05] = 0.5
    Y = (rng.random((n, n_labels)) < P).astype(int)
    return P, Y


def _all_label_sets(n_labels):
    return np.array(list(itertools.product([0, 1], repeat=n_labels)), dtype=bool)


def _naive_scores(kind, P, Y):
    """The scores from their definitions, label set by label set."""
    if kind == "euclidean":
        return np.sqrt(np.sum((Y - P) ** 2, axis=-1))
    if kind == "manhattan":
        return np.sum(np.abs(Y - P), axis=-1)
    tiny = np.finfo(float).tiny
    likelihood = np.where(Y == 1, P, 1 - P)
    return -np.sum(np.log(np.maximum(likelihood, tiny)), axis=-1)


def _exact_members(pvalues, total, level):
    """``p > 1 - level`` in exact arithmetic, for integer calibration masses."""
    mass_plus_one = np.rint(pvalues * (total + 1)).astype(int)
    bound = (1 - Fraction(str(level))) * (total + 1)
    return np.vectorize(lambda m: m > bound)(mass_plus_one)


def _as_row_set(rows):
    return {tuple(r) for r in np.asarray(rows, dtype=int)}


def _status_from_sets(rows, n_labels):
    if len(rows) == 0:
        return np.zeros(n_labels, dtype=int)
    rows = np.asarray(rows, dtype=bool)
    return np.where(rows.all(axis=0), 1, np.where(rows.any(axis=0), -1, 0))


# --------------------------------------------------------------------------- #
# hand-computed cases
# --------------------------------------------------------------------------- #
def test_hand_computed_manhattan_case(passthrough):
    P_cal = np.array([[0.9, 0.2], [0.6, 0.7], [0.3, 0.4], [0.8, 0.1]])
    Y_cal = np.array([[1, 0], [1, 1], [1, 0], [0, 0]])
    clf = LabelPowersetConformalClassifier(
        _frozen(passthrough, P_cal, Y_cal),
        conformity_score="manhattan",
        confidence_level=0.8,
    ).fit(P_cal, Y_cal)
    # sum_j |Y_j - p_j|
    np.testing.assert_allclose(clf.conformity_scores_, [0.3, 0.7, 1.1, 0.9])
    # rank ceil(5 * 0.8) = 4 of the sorted scores 0.3, 0.7, 0.9, 1.1
    assert float(clf.quantiles_) == pytest.approx(1.1)
    x = np.array([[0.7, 0.45]])
    # scores 0.75, 0.85, 1.15, 1.25; 2, 2, 0, 0 calibration scores above
    candidates = np.array([[[1, 0], [1, 1], [0, 0], [0, 1]]])
    np.testing.assert_allclose(
        clf.predict_pvalues(x, candidates), [[0.6, 0.6, 0.2, 0.2]]
    )
    np.testing.assert_array_equal(clf.predict(x), [[1, 0]])
    # p = 0.2 is not above 1 - 0.8: only the first two, best first.
    (sets,) = clf.predict_set(x)
    np.testing.assert_array_equal(sets, [[True, False], [True, True]])
    np.testing.assert_array_equal(clf.predict_label_status(x), [[1, -1]])
    clf.set_params(confidence_level=0.5)  # p = 0.6 > 0.5
    assert len(clf.predict_set(x)[0]) == 2
    clf.set_params(confidence_level=0.3)  # p = 0.6 is not > 0.7
    np.testing.assert_array_equal(clf.predict_set(x)[0], np.zeros((0, 2)))
    np.testing.assert_array_equal(clf.predict_label_status(x), [[0, 0]])


@pytest.mark.parametrize("kind", SCORES)
def test_scores_follow_their_definitions(kind, passthrough):
    P, Y = _random_problem(300, 6, seed=1)
    P[:5] = np.array([0.0, 1.0, 0.5, 1e-300, 1 - 1e-16, 0.25])
    clf = LabelPowersetConformalClassifier(
        _frozen(passthrough, P, Y), conformity_score=kind
    ).fit(P, Y)
    np.testing.assert_allclose(
        clf.conformity_scores_, _naive_scores(kind, P, Y), rtol=1e-12, atol=1e-12
    )


def test_euclidean_and_manhattan_rank_the_label_sets_of_a_sample_alike(passthrough):
    P, Y = _random_problem(200, 5, seed=2)
    sets = _all_label_sets(5)
    for i in range(20):
        a = _naive_scores("euclidean", P[i], sets)
        b = _naive_scores("manhattan", P[i], sets)
        # Both are increasing functions of the total flip cost |1 - 2 p_j|.
        np.testing.assert_allclose(a**2 - a[0] ** 2, b - b[0], atol=1e-12)


# --------------------------------------------------------------------------- #
# the search equals brute-force enumeration of the 2^L label sets
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_labels", [1, 2, 5, 8])
@pytest.mark.parametrize("kind", SCORES)
@pytest.mark.parametrize("variant", ["plain", "randomized", "weighted", "discrete"])
def test_search_matches_brute_force(n_labels, kind, variant, passthrough):
    n_cal, n_test = 103, 30
    P, Y = _random_problem(
        n_cal + n_test, n_labels, seed=n_labels, discrete=(variant == "discrete")
    )
    weight = None
    if variant == "weighted":
        weight = np.random.default_rng(0).integers(0, 4, size=n_cal)
    levels = [0.5, 0.8, 0.9, 0.95]
    clf = LabelPowersetConformalClassifier(
        _frozen(passthrough, P, Y),
        conformity_score=kind,
        confidence_level=levels,
        randomized=variant == "randomized",
        random_state=0,
    ).fit(P[:n_cal], Y[:n_cal], sample_weight=weight)
    X_test = P[n_cal:]
    candidates = np.broadcast_to(
        _all_label_sets(n_labels), (n_test, 2**n_labels, n_labels)
    )
    pvalues = clf.predict_pvalues(X_test, candidates)
    total = n_cal if weight is None else int(weight.sum())
    if variant != "randomized":
        # p-values from the definitions (naive scores, weighted counts).
        w = np.ones(n_cal) if weight is None else weight
        cal = _naive_scores(kind, P[:n_cal], Y[:n_cal])
        test = _naive_scores(kind, X_test[:, None, :], candidates)
        naive = ((cal >= test[..., None]) * w).sum(axis=-1) + 1
        if variant != "discrete":  # exact ties need bit-identical scores
            np.testing.assert_allclose(pvalues, naive / (total + 1), atol=1e-12)
    sets = clf.predict_set(X_test)
    status = clf.predict_label_status(X_test)
    for k, level in enumerate(levels):
        if variant == "randomized":
            members = pvalues > 1 - level
        else:
            members = _exact_members(pvalues, total, level)
        for i in range(n_test):
            listed = sets[i][k]
            assert _as_row_set(listed) == _as_row_set(candidates[i][members[i]])
            assert len(listed) == int(members[i].sum())  # no duplicates
            # listed from the most conforming: p-values do not increase
            p_listed = clf.predict_pvalues(
                X_test[i : i + 1], np.asarray(listed)[None, :, :]
            )[0]
            assert np.all(np.diff(p_listed) <= 0)
            np.testing.assert_array_equal(
                status[i, :, k], _status_from_sets(listed, n_labels)
            )


def test_search_is_complete_for_many_labels(passthrough):
    """With 60 labels: a certificate instead of the 2^60 sets.

    The label sets under the threshold are those whose flipped labels have a
    total cost within a budget, a family closed under removing a flip. A list
    that holds the best set and, for every listed set, every one-flip
    extension that is under the threshold, is therefore the whole family.
    """
    n_labels, n_cal, n_test = 60, 500, 200
    rng = np.random.default_rng(3)
    P = np.clip(rng.beta(0.05, 0.05, size=(n_cal + n_test, n_labels)), 0, 1)
    Y = (rng.random(P.shape) < P).astype(int)
    clf = LabelPowersetConformalClassifier(
        _frozen(passthrough, P, Y), confidence_level=0.9
    ).fit(P[:n_cal], Y[:n_cal])
    X_test = P[n_cal:]
    start = time.perf_counter()
    sets = clf.predict_set(X_test)
    elapsed = time.perf_counter() - start
    assert elapsed < 10
    status = clf.predict_label_status(X_test)
    eps = 1 - 0.9
    for i in range(0, n_test, 10):
        listed = sets[i]
        assert len(listed) > 0
        p_listed = clf.predict_pvalues(X_test[i : i + 1], listed[None])[0]
        assert np.all(p_listed > eps)
        extensions = listed[:, None, :] ^ np.eye(n_labels, dtype=bool)[None]
        extensions = extensions.reshape(-1, n_labels)
        p_ext = clf.predict_pvalues(X_test[i : i + 1], extensions[None])[0]
        assert _as_row_set(extensions[p_ext > eps]) <= _as_row_set(listed)
        np.testing.assert_array_equal(status[i], _status_from_sets(listed, n_labels))


def test_predict_is_the_most_conforming_label_set(passthrough):
    P, Y = _random_problem(400, 6, seed=4)
    clf = LabelPowersetConformalClassifier(_frozen(passthrough, P, Y)).fit(
        P[:200], Y[:200]
    )
    pred = clf.predict(P[200:])
    np.testing.assert_array_equal(pred, (P[200:] >= 0.5).astype(int))
    assert pred.dtype == Y.dtype
    for rows, best in zip(clf.predict_set(P[200:]), pred, strict=True):
        if len(rows):
            np.testing.assert_array_equal(rows[0], best.astype(bool))
    assert clf.score(P[200:], Y[200:]) == accuracy_score(Y[200:], pred)


def test_levels_nest_and_change_without_refit(passthrough):
    P, Y = _random_problem(600, 5, seed=5)
    clf = LabelPowersetConformalClassifier(
        _frozen(passthrough, P, Y), confidence_level=[0.5, 0.8, 0.95]
    ).fit(P[:300], Y[:300])
    assert clf.quantiles_.shape == (3,)
    sets = clf.predict_set(P[300:])
    status = clf.predict_label_status(P[300:])
    assert status.shape == (300, 5, 3)
    for per_level in sets:
        for low, high in itertools.pairwise(per_level):
            assert _as_row_set(low) <= _as_row_set(high)
    single = clf.set_params(confidence_level=0.8).predict_set(P[300:])
    for a, b in zip(single, sets, strict=True):
        np.testing.assert_array_equal(a, b[1])
    np.testing.assert_array_equal(clf.predict_label_status(P[300:]), status[:, :, 1])


# --------------------------------------------------------------------------- #
# small calibration sets and the max_sets cap
# --------------------------------------------------------------------------- #
def test_too_small_calibration_set_warns_and_gives_the_full_set(passthrough):
    P, Y = _random_problem(20, 3, seed=6)
    clf = LabelPowersetConformalClassifier(
        _frozen(passthrough, P, Y), confidence_level=0.9
    ).fit(P[:5], Y[:5])
    assert np.isinf(clf.quantiles_)
    with pytest.warns(UserWarning, match="at least 9 for confidence_level=0.9"):
        sets = clf.predict_set(P[5:])
    assert all(_as_row_set(s) == _as_row_set(_all_label_sets(3)) for s in sets)
    with pytest.warns(UserWarning, match="too small"):
        np.testing.assert_array_equal(clf.predict_label_status(P[5:]), -1)
    # 2^30 label sets cannot be listed: None, and the status says it all.
    P, Y = _random_problem(20, 30, seed=6)
    clf = LabelPowersetConformalClassifier(
        _frozen(passthrough, P, Y), confidence_level=0.9, max_sets=500
    ).fit(P[:5], Y[:5])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sets = clf.predict_set(P[5:])
    messages = " ".join(str(w.message) for w in caught)
    assert "too small" in messages and "max_sets=500" in messages
    assert sets == [None] * 15
    with pytest.warns(UserWarning, match="too small"):
        np.testing.assert_array_equal(clf.predict_label_status(P[5:]), -1)


def test_max_sets_cap_per_level(passthrough):
    rng = np.random.default_rng(7)
    P = rng.uniform(0.3, 0.7, size=(400, 10))  # uncertain: large sets
    Y = (rng.random(P.shape) < P).astype(int)
    levels = [0.2, 0.95]
    clf = LabelPowersetConformalClassifier(
        _frozen(passthrough, P, Y), confidence_level=levels, max_sets=50
    ).fit(P[:300], Y[:300])
    full = LabelPowersetConformalClassifier(
        _frozen(passthrough, P, Y), confidence_level=levels, max_sets=1024
    ).fit(P[:300], Y[:300])
    reference = full.predict_set(P[300:])
    with pytest.warns(UserWarning, match="max_sets=50"):
        sets = clf.predict_set(P[300:])
    n_none = 0
    for capped, ref in zip(sets, reference, strict=True):
        for k in range(2):
            if capped[k] is None:
                assert len(ref[k]) > 50
                n_none += 1
            else:
                np.testing.assert_array_equal(capped[k], ref[k])
    assert n_none > 0
    # A smaller level is listed whenever a larger one is, and sometimes alone.
    assert not any(s[0] is None and s[1] is not None for s in sets)
    assert any(s[0] is not None and s[1] is None for s in sets)
    # The status does not depend on the cap.
    np.testing.assert_array_equal(
        clf.predict_label_status(P[300:]), full.predict_label_status(P[300:])
    )


# --------------------------------------------------------------------------- #
# estimators, fitting, weights and validation
# --------------------------------------------------------------------------- #
@functools.cache
def _multilabel_data():
    X, Y = make_multilabel_classification(
        n_samples=600,
        n_features=10,
        n_classes=4,
        n_labels=2,
        length=200,
        random_state=0,
    )
    return X / X.max(), Y


@pytest.mark.parametrize(
    "estimator",
    [
        OneVsRestClassifier(LogisticRegression()),
        MultiOutputClassifier(LogisticRegression()),
        KNeighborsClassifier(),
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0),
    ],
    ids=["one-vs-rest", "multi-output", "k-neighbors", "mlp"],
)
def test_estimator_probability_layouts(estimator):
    X, Y = _multilabel_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP convergence
        clf = LabelPowersetConformalClassifier(estimator, random_state=0).fit(X, Y)
    proba = _label_probabilities(clf.estimator_, X, 4)
    raw = clf.estimator_.predict_proba(X)
    expected = (
        np.stack([p[:, 1] for p in raw], axis=1) if isinstance(raw, list) else raw
    )
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_array_equal(clf.predict(X), (proba >= 0.5).astype(int))
    sets = clf.predict_set(X[:20])
    assert len(sets) == 20 and all(s.shape[1] == 4 for s in sets)


@pytest.mark.parametrize("constant", [0, 1])
def test_label_constant_in_training_gets_its_only_class(constant):
    X, Y = _multilabel_data()
    Y = Y.copy()
    Y[:, 2] = constant
    clf = LabelPowersetConformalClassifier(KNeighborsClassifier(), random_state=0)
    clf.fit(X, Y)
    proba = _label_probabilities(clf.estimator_, X, 4)
    np.testing.assert_array_equal(proba[:, 2], constant)
    np.testing.assert_array_equal(clf.predict_label_status(X)[:, 2], constant)


def test_single_label_binary_estimator_output(passthrough):
    X, Y = _multilabel_data()
    y = Y[:, :1]
    clf = LabelPowersetConformalClassifier(LogisticRegression(), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # column-vector y
        clf.fit(X, y)
    proba = _label_probabilities(clf.estimator_, X, 1)
    np.testing.assert_allclose(proba[:, 0], clf.estimator_.predict_proba(X)[:, 1])
    assert clf.predict(X).shape == (600, 1)


def test_frozen_estimator_calibrates_on_all_rows_and_is_not_refitted(passthrough):
    P, Y = _random_problem(120, 4, seed=8)
    frozen = _frozen(passthrough, P, Y)
    clf = LabelPowersetConformalClassifier(frozen).fit(P, Y)
    assert clf.estimator_ is frozen
    assert clf.conformity_scores_.shape == (120,)


def test_calibration_size_int_float_and_splitter():
    X, Y = _multilabel_data()
    clf = LabelPowersetConformalClassifier(calibration_size=100, random_state=0)
    assert clf.fit(X, Y).conformity_scores_.shape == (100,)
    clf.set_params(calibration_size=0.25)
    assert clf.fit(X, Y).conformity_scores_.shape == (150,)
    clf.set_params(calibration_size=ShuffleSplit(1, test_size=77, random_state=0))
    assert clf.fit(X, Y).conformity_scores_.shape == (77,)


def test_random_state_makes_everything_reproducible():
    X, Y = _multilabel_data()
    params = dict(randomized=True, confidence_level=[0.8, 0.9], random_state=3)
    a = LabelPowersetConformalClassifier(**params).fit(X, Y)
    b = LabelPowersetConformalClassifier(**params).fit(X, Y)
    np.testing.assert_array_equal(a.conformity_scores_, b.conformity_scores_)
    np.testing.assert_array_equal(a.predict_pvalues(X, Y), b.predict_pvalues(X, Y))
    np.testing.assert_array_equal(a.predict_pvalues(X, Y), a.predict_pvalues(X, Y))
    for s, t in zip(a.predict_set(X[:50]), b.predict_set(X[:50]), strict=True):
        for u, v in zip(s, t, strict=True):
            np.testing.assert_array_equal(u, v)
    c = LabelPowersetConformalClassifier(**{**params, "random_state": 4}).fit(X, Y)
    assert not np.array_equal(a.predict_pvalues(X, Y), c.predict_pvalues(X, Y))


def test_integer_weights_equal_repeated_rows(passthrough):
    P, Y = _random_problem(200, 5, seed=9)
    w = np.random.default_rng(1).integers(0, 4, size=150)
    frozen = _frozen(passthrough, P, Y)
    weighted = LabelPowersetConformalClassifier(frozen, confidence_level=[0.8, 0.9])
    weighted.fit(P[:150], Y[:150], sample_weight=w)
    rows = np.repeat(np.arange(150), w)
    repeated = LabelPowersetConformalClassifier(frozen, confidence_level=[0.8, 0.9])
    repeated.fit(P[rows], Y[rows])
    np.testing.assert_allclose(
        weighted.predict_pvalues(P[150:], Y[150:]),
        repeated.predict_pvalues(P[150:], Y[150:]),
    )
    np.testing.assert_array_equal(weighted.quantiles_, repeated.quantiles_)
    for s, t in zip(
        weighted.predict_set(P[150:]), repeated.predict_set(P[150:]), strict=True
    ):
        for u, v in zip(s, t, strict=True):
            np.testing.assert_array_equal(u, v)


class _RecordingClassifier(ClassifierMixin, BaseEstimator):
    def fit(self, X, y, sample_weight=None, note=None):
        self.sample_weight_, self.note_ = sample_weight, note
        self.inner_ = OneVsRestClassifier(LogisticRegression()).fit(X, y)
        return self

    def predict_proba(self, X):
        return self.inner_.predict_proba(X)


def test_weights_and_fit_params_reach_the_estimator():
    X, Y = _multilabel_data()
    w = np.arange(600) % 3 + 1.0
    clf = LabelPowersetConformalClassifier(
        _RecordingClassifier(), calibration_size=200, random_state=0
    ).fit(X, Y, sample_weight=w, note="hi")
    assert clf.estimator_.note_ == "hi"
    assert clf.estimator_.sample_weight_.shape == (400,)
    assert clf._table.totals[0] == pytest.approx(
        w.sum() - clf.estimator_.sample_weight_.sum()
    )


def test_targets_in_other_formats():
    X, Y = _multilabel_data()
    ref = LabelPowersetConformalClassifier(random_state=0).fit(X, Y)
    for y in (Y.astype(bool), Y.astype(float), sp.csr_matrix(Y), Y.tolist()):
        clf = LabelPowersetConformalClassifier(random_state=0).fit(X, y)
        np.testing.assert_allclose(clf.conformity_scores_, ref.conformity_scores_)
    assert clf.fit(X, Y.astype(bool)).predict(X).dtype == bool
    np.testing.assert_array_equal(
        clf.predict_pvalues(X, sp.csr_matrix(Y)), clf.predict_pvalues(X, Y)
    )


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"conformity_score": "hamming"}, InvalidParameterError, "conformity_score"),
        ({"max_sets": 0}, InvalidParameterError, "max_sets"),
        ({"calibration_size": 1.5}, InvalidParameterError, "calibration_size"),
        ({"randomized": "yes"}, InvalidParameterError, "randomized"),
    ],
)
def test_invalid_parameters_are_named(params, error, match):
    X, Y = _multilabel_data()
    with pytest.raises(error, match=match):
        LabelPowersetConformalClassifier(**params).fit(X, Y)


def test_fit_and_predict_errors(passthrough):
    X, Y = _multilabel_data()
    clf = LabelPowersetConformalClassifier(random_state=0)
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        clf.fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="Only binary classification"):
        clf.fit(X, Y.sum(axis=1))
    with pytest.raises(ValueError, match=r"0 .* and 1 .* only, got values \[0, 1, 2\]"):
        clf.fit(X, Y * np.arange(4) % 3)
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, Y.astype(str))
    with pytest.raises(ValueError, match="requires y"):
        clf.fit(X, None)
    clf.fit(X, Y)
    with pytest.raises(ValueError, match="has 3 labels .* fitted with 4"):
        clf.predict_pvalues(X, Y[:, :3])
    with pytest.raises(
        ValueError, match=r"one row of label sets per sample of X \(600\)"
    ):
        clf.predict_pvalues(X, Y[:10])
    with pytest.raises(ValueError, match="features"):
        clf.predict_set(X[:, :3])
    bad = np.array([[0.2, 1.3], [0.5, 0.5]])
    frozen = _frozen(passthrough, bad, np.array([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        LabelPowersetConformalClassifier(frozen).fit(bad, np.array([[0, 1], [1, 0]]))
    P, Y2 = _random_problem(10, 3, seed=0)
    with pytest.raises(ValueError, match="probability of each of the 2 labels"):
        LabelPowersetConformalClassifier(_frozen(passthrough, P, Y2)).fit(P, Y2[:, :2])


# --------------------------------------------------------------------------- #
# coverage of the true label set over random calibration/test splits
# --------------------------------------------------------------------------- #
@functools.cache
def _pool(name):
    """Per-label probabilities of a fixed model on exchangeable samples."""
    X, Y = make_multilabel_classification(
        n_samples=4000,
        n_features=20,
        n_classes=5,
        n_labels=2,
        length=200,
        random_state=0,
    )
    X = X / X.max()
    model = (
        OneVsRestClassifier(LogisticRegression())
        if name == "logistic"
        else KNeighborsClassifier(n_neighbors=7)  # discrete: tied scores
    )
    model.fit(X[:1000], Y[:1000])
    return _label_probabilities(model, X[1000:], 5), Y[1000:]


def _tolerance(level, n_cal, n_test, n_splits):
    sd = math.sqrt(level * (1 - level) * (1 / n_test + 1 / (n_cal + 2)) / n_splits)
    return 4 * sd


def _coverage(pool, kind, randomized, levels, *, n_cal, n_splits, sets_every=0):
    """Mean coverage of the true label set at each level over random splits.

    Every ``sets_every``-th split also checks that the true label set is
    listed by ``predict_set`` exactly when its p-value is above ``1 - level``.
    """
    P, Y = _pool(pool)
    frozen = FrozenEstimator(_PoolModel().fit(P, Y))
    rng = np.random.default_rng(0)
    covered = []
    for split in range(n_splits):
        perm = rng.permutation(Y.shape[0])
        cal, test = perm[:n_cal], perm[n_cal:]
        clf = LabelPowersetConformalClassifier(
            frozen,
            conformity_score=kind,
            confidence_level=levels,
            randomized=randomized,
            random_state=split,
        ).fit(P[cal], Y[cal])
        p = clf.predict_pvalues(P[test], Y[test])
        by_pvalue = p[:, None] > 1 - np.asarray(levels)[None, :]
        if sets_every and split % sets_every == 0:
            sets = clf.predict_set(P[test])
            by_sets = np.array(
                [
                    [bool(np.all(s == y.astype(bool), axis=1).any()) for s in per]
                    for per, y in zip(sets, Y[test], strict=True)
                ]
            )
            np.testing.assert_array_equal(by_sets, by_pvalue)
        covered.append(by_pvalue.mean(axis=0))
    return np.mean(covered, axis=0), Y.shape[0] - n_cal


class _PoolModel(ClassifierMixin, BaseEstimator):
    """A fitted model whose predict_proba is its input (per-label probabilities)."""

    def fit(self, X, y):
        self.classes_ = np.arange(np.asarray(y).shape[1])
        return self

    def predict_proba(self, X):
        return X


@pytest.mark.parametrize(
    "pool, kind, randomized",
    [
        ("logistic", "euclidean", False),
        ("logistic", "log_loss", True),
        ("k_neighbors", "manhattan", True),
    ],
)
def test_coverage_fast(pool, kind, randomized):
    levels, n_cal, n_splits = [0.8, 0.9], 400, 12
    coverage, n_test = _coverage(
        pool, kind, randomized, levels, n_cal=n_cal, n_splits=n_splits, sets_every=3
    )
    for level, cov in zip(levels, coverage, strict=True):
        tol = _tolerance(level, n_cal, n_test, n_splits)
        assert cov >= level - tol, (level, cov)
        if randomized or pool == "logistic":  # no ties: at most level + 1/(n+1)
            assert cov <= level + 1 / (n_cal + 1) + tol, (level, cov)


@pytest.mark.slow
@pytest.mark.parametrize("pool", ["logistic", "k_neighbors"])
@pytest.mark.parametrize("kind", SCORES)
@pytest.mark.parametrize("randomized", [False, True])
def test_coverage_slow(pool, kind, randomized):
    levels, n_cal, n_splits = [0.5, 0.8, 0.9, 0.95], 200, 300
    coverage, n_test = _coverage(
        pool,
        kind,
        randomized,
        levels,
        n_cal=n_cal,
        n_splits=n_splits,
        sets_every=10,
    )
    for level, cov in zip(levels, coverage, strict=True):
        tol = _tolerance(level, n_cal, n_test, n_splits)
        assert cov >= level - tol, (level, cov)
        if randomized or pool == "logistic":
            assert cov <= level + 1 / (n_cal + 1) + tol, (level, cov)


def test_sets_do_not_depend_on_how_samples_are_batched(passthrough, monkeypatch):
    P, Y = _random_problem(400, 6, seed=10)
    clf = LabelPowersetConformalClassifier(
        _frozen(passthrough, P, Y), confidence_level=[0.7, 0.9], randomized=True
    ).fit(P[:200], Y[:200])
    reference = clf.predict_set(P[200:])
    monkeypatch.setattr("skcalib.conformal._multilabel._CHUNK", 7)
    for s, t in zip(clf.predict_set(P[200:]), reference, strict=True):
        for u, v in zip(s, t, strict=True):
            np.testing.assert_array_equal(u, v)
    empty = clf.predict_set(P[:0])
    assert empty == []
