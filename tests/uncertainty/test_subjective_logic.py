"""Tests of SubjectiveLogicClassifier: opinions, thresholds and decisions."""

import math
import re

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skcalib.base import get_skcalib_tags
from skcalib.datasets import make_classification_logits
from skcalib.uncertainty._subjective_logic import SubjectiveLogicClassifier
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace
from skcalib.utils.estimator_checks import check_skcalib_estimator

EVIDENCES = ["exp", "softplus", "relu"]


def _fitted(**params):
    """A classifier fitted with fixed thresholds (no data-dependent choice)."""
    X = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    params = {"ignorance_threshold": 1.0, "confusion_threshold": 1.0, **params}
    return SubjectiveLogicClassifier(**params).fit(X, [0, 1, 2])


def _data(n, n_classes=3, random_state=0, class_sep=1.0):
    return make_classification_logits(
        n, n_classes, temperature=2.0, class_sep=class_sep, random_state=random_state
    )


# ---------------------------------------------------------------------------
# Opinions computed by hand
# ---------------------------------------------------------------------------


def test_hand_computed_opinion_exp():
    # e = exp(z) = (3, 1, 2), K = 3, S = 6 + 3 = 9.
    z = np.log(np.array([[3.0, 1.0, 2.0]]))
    op = _fitted().predict_opinion(z)
    np.testing.assert_allclose(op.evidence, [[3, 1, 2]], rtol=1e-12)
    np.testing.assert_allclose(op.belief, [[3 / 9, 1 / 9, 2 / 9]], rtol=1e-12)
    np.testing.assert_allclose(op.ignorance, [3 / 9], rtol=1e-12)
    np.testing.assert_allclose(op.proba, [[4 / 9, 2 / 9, 3 / 9]], rtol=1e-12)
    # Sorted beliefs (3, 2, 1) / 9: nested sets {0}, {0, 2}, {0, 1, 2} get
    # 1 (3 - 2), 2 (2 - 1) and 3 * 1, over 9.
    np.testing.assert_allclose(op.nested_masses, [[1 / 9, 2 / 9, 3 / 9]], rtol=1e-12)
    np.testing.assert_array_equal(op.label_order, [[0, 2, 1]])
    # confusion = b_(2) + b_(2) + b_(3) = (2 + 2 + 1) / 9
    np.testing.assert_allclose(op.confusion, [5 / 9], rtol=1e-12)


def test_hand_computed_dissonance():
    # b = (3, 1, 2) / 9. In units of 1/9, Bal(0, 1) = 1/2, Bal(0, 2) = 4/5,
    # Bal(1, 2) = 2/3; the terms b_x sum_y b_y Bal / sum_y b_y are
    # 3 (1/2 + 8/5) / 3 = 2.1, 1 (3/2 + 4/3) / 5 = 17/30, 2 (12/5 + 2/3) / 4 =
    # 23/15; total 4.2 / 9 = 7/15.
    z = np.log(np.array([[3.0, 1.0, 2.0]]))
    clf = _fitted(confusion_measure="dissonance")
    np.testing.assert_allclose(clf.confusion(z), [7 / 15], rtol=1e-12)


def test_hand_computed_other_evidence_functions():
    # softplus(0) = log 2 for both labels: S = 2 log 2 + 2.
    clf = SubjectiveLogicClassifier(evidence="softplus", ignorance_threshold=1.0)
    clf.fit(np.array([[1.0, -1.0], [-1.0, 1.0]]), [0, 1])
    s = 2 * math.log(2) + 2
    np.testing.assert_allclose(clf.ignorance(np.zeros((1, 2))), [2 / s], rtol=1e-12)
    np.testing.assert_allclose(
        clf.belief_masses(np.zeros((1, 2))), [[math.log(2) / s] * 2], rtol=1e-12
    )
    # relu: e = (2, 0, 0), S = 5; one label has evidence: no confusion.
    op = _fitted(evidence="relu").predict_opinion(np.array([[2.0, -1.0, 0.0]]))
    np.testing.assert_allclose(op.belief, [[0.4, 0, 0]], rtol=1e-12)
    np.testing.assert_allclose(op.ignorance, [0.6], rtol=1e-12)
    np.testing.assert_allclose(op.confusion, [0.0], atol=1e-15)
    # identity: e = (2, 2, 0), S = 7; composite confusion 2/7 + 2/7 and, here,
    # the same dissonance (Bal(0, 1) = 1, Bal(x, 2) = 0).
    X = np.array([[2.0, 2.0, 0.0]])
    for measure in ["composite", "dissonance"]:
        clf = _fitted(evidence="identity", confusion_measure=measure)
        np.testing.assert_allclose(clf.confusion(X), [4 / 7], rtol=1e-12)
    np.testing.assert_allclose(clf.ignorance(X), [3 / 7], rtol=1e-12)


@pytest.mark.parametrize("evidence", EVIDENCES)
def test_belief_plus_ignorance_is_one(evidence):
    z = np.random.default_rng(0).normal(scale=4.0, size=(200, 5))
    op = _fitted_k(5, evidence=evidence).predict_opinion(z)
    e = {"exp": np.exp(z), "softplus": np.logaddexp(0, z), "relu": np.maximum(z, 0)}[
        evidence
    ]
    s = e.sum(axis=1) + 5
    np.testing.assert_allclose(op.belief.sum(axis=1) + op.ignorance, 1, rtol=1e-12)
    np.testing.assert_allclose(op.ignorance, 5 / s, rtol=1e-12)
    np.testing.assert_allclose(op.belief, e / s[:, None], rtol=1e-12)
    np.testing.assert_allclose(op.proba, (e + 1) / s[:, None], rtol=1e-12)


def _fitted_k(k, **params):
    X = 2 * np.eye(k)
    params = {"ignorance_threshold": 1.0, "confusion_threshold": 1.0, **params}
    return SubjectiveLogicClassifier(**params).fit(X, np.arange(k))


def test_nested_hyper_opinion_is_consistent():
    """Margin + confusion + ignorance = 1, and the nested masses project to
    the Dirichlet mean: sum_j m(A_j) [x in A_j] / |A_j| + u / K = alpha_x / S."""
    z = np.random.default_rng(1).normal(scale=3.0, size=(100, 4))
    op = _fitted_k(4).predict_opinion(z)
    ordered = -np.sort(-op.belief, axis=1)
    margin = ordered[:, 0] - ordered[:, 1]
    np.testing.assert_allclose(margin + op.confusion + op.ignorance, 1, rtol=1e-12)
    np.testing.assert_allclose(op.nested_masses[:, 1:].sum(axis=1), op.confusion)
    np.testing.assert_allclose(op.nested_masses.sum(axis=1) + op.ignorance, 1)
    assert np.all(op.nested_masses >= 0)
    projected = np.zeros_like(op.proba)
    for row in range(z.shape[0]):
        for j in range(4):
            labels = op.label_order[row, : j + 1]
            projected[row, labels] += op.nested_masses[row, j] / (j + 1)
    projected += op.ignorance[:, None] / 4
    np.testing.assert_allclose(projected, op.proba, rtol=1e-10)


def test_exp_ignorance_is_a_function_of_the_energy():
    z = np.random.default_rng(2).normal(scale=3.0, size=(50, 3))
    lse = np.log(np.exp(z).sum(axis=1))
    np.testing.assert_allclose(
        _fitted().ignorance(z), 3 / (np.exp(lse) + 3), rtol=1e-12
    )


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
def test_exp_evidence_does_not_overflow():
    z = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
    op = _fitted().predict_opinion(z)
    for name in ["belief", "ignorance", "confusion", "proba", "nested_masses"]:
        assert np.all(np.isfinite(op[name])), name
    np.testing.assert_allclose(op.belief[0], [1, 0, 0], atol=1e-300)
    np.testing.assert_allclose(op.ignorance, [0, 1], atol=1e-300)
    np.testing.assert_allclose(op.proba[1], [1 / 3] * 3)


# ---------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------


def test_decisions_single_set_reject_by_hand():
    # identity evidence: rows have u = 3/S with S = sum(e) + 3.
    X = np.array(
        [
            [40.0, 1.0, 1.0],  # u = 3/45, confusion 3/45: single label 0
            [20.0, 19.0, 0.0],  # u = 3/42, confusion 38/42: set {0, 1}
            [0.5, 0.5, 0.5],  # u = 3/4.5: rejected
            [4.0, 3.0, 3.0],  # 1, 0, 9 over 13 for sizes 1, 2, 3: set of all
        ]
    )
    clf = SubjectiveLogicClassifier(
        evidence="identity", ignorance_threshold=0.5, confusion_threshold=0.3
    ).fit(X[[0, 1, 3]], [0, 1, 2])
    np.testing.assert_array_equal(
        clf.predict_set(X),
        [
            [True, False, False],
            [True, True, False],
            [False, False, False],
            [True, True, True],
        ],
    )
    np.testing.assert_array_equal(clf.predict(X), [0, 0, -1, 0])
    assert clf.predict_set(X).dtype == bool
    # reject_label=None: always the label of largest belief.
    clf.set_params(reject_label=None)
    np.testing.assert_array_equal(clf.predict(X), [0, 0, 0, 0])


def test_confused_set_includes_ties_and_prefers_smaller_sets():
    clf = _fitted_k(4, evidence="identity", confusion_threshold=0.0)
    # sorted (6, 3, 3, 0): masses 3, 0, 9, 0 -> set of the three labels.
    # (6, 4, 2, 0) has masses 2, 4, 6, 0: the top three again.
    # (8, 5, 1, 1): masses 3, 8, 0, 4 -> the top two.
    X = np.array([[3.0, 6.0, 0.0, 3.0], [6.0, 4.0, 2.0, 0.0], [1.0, 5.0, 8.0, 1.0]])
    np.testing.assert_array_equal(
        clf.predict_set(X),
        [
            [True, True, False, True],
            [True, True, True, False],
            [False, True, True, False],
        ],
    )


def test_string_labels_and_reject_label():
    X, y = _data(600)
    names = np.array(["cat", "dog", "eel"])[y]
    clf = SubjectiveLogicClassifier(reject_label="unknown").fit(X, names)
    pred = clf.predict(X)
    assert set(pred) <= {"cat", "dog", "eel", "unknown"}
    assert np.mean(pred == "unknown") == pytest.approx(clf.rejection_rate_)
    with pytest.raises(ValueError, match="reject_label='cat' is one of the classes"):
        SubjectiveLogicClassifier(reject_label="cat").fit(X, names)


def test_binary_decision_values_are_logits_zero_x():
    X, y = _data(500, n_classes=2)
    x = X[:, 1] - X[:, 0]
    as_logits = np.stack([np.zeros_like(x), x], axis=1)
    a = SubjectiveLogicClassifier().fit(x, y)
    b = SubjectiveLogicClassifier().fit(as_logits, y)
    assert a.ignorance_threshold_ == b.ignorance_threshold_
    assert a.confusion_threshold_ == b.confusion_threshold_
    np.testing.assert_array_equal(a.predict_set(x), b.predict_set(as_logits))
    np.testing.assert_allclose(a.predict_proba(x), b.predict_proba(as_logits))


# ---------------------------------------------------------------------------
# Fitted thresholds reach their targets on held-out data
# ---------------------------------------------------------------------------


def _held_out_rates(clf, X, y):
    sets = clf.predict_set(X)
    size = sets.sum(axis=1)
    rejected = size == 0
    single = size == 1
    top = clf.predict_proba(X).argmax(axis=1)
    covered = sets[np.arange(len(y)), y]
    return {
        "rejection": rejected.mean(),
        "single_accuracy": (top[single] == y[single]).mean(),
        "set_rate": (size > 1).mean(),
        "set_coverage": covered[size > 1].mean(),
        "confused_top_accuracy": (top[size > 1] == y[size > 1]).mean(),
    }


@pytest.mark.parametrize(
    "params",
    [
        {"tpr": 0.9, "target_accuracy": 0.95},
        {"tpr": 0.95, "target_accuracy": 0.9, "evidence": "softplus"},
        {"tpr": 0.8, "target_accuracy": 0.97, "confusion_measure": "dissonance"},
    ],
    ids=repr,
)
def test_thresholds_reach_targets_on_held_out_data(params):
    X, y = _data(40_000, n_classes=4, random_state=3)
    X_fit, y_fit, X_test, y_test = X[:20_000], y[:20_000], X[20_000:], y[20_000:]
    clf = SubjectiveLogicClassifier(**params).fit(X_fit, y_fit)
    # Conformal threshold: at least tpr of the fit rows accepted.
    assert 1 - clf.rejection_rate_ >= params["tpr"]
    assert clf.single_accuracy_ >= params["target_accuracy"]
    rates = _held_out_rates(clf, X_test, y_test)
    n = 20_000
    # Rejection rate: binomial noise of the test rate and of the fit quantile.
    sd = math.sqrt(params["tpr"] * (1 - params["tpr"]) * 2 / n)
    assert abs(rates["rejection"] - (1 - params["tpr"])) <= 4 * sd + 1 / n
    n_single = n * (1 - rates["rejection"] - rates["set_rate"])
    acc = params["target_accuracy"]
    sd = math.sqrt(acc * (1 - acc) * 2 / n_single)
    assert abs(rates["single_accuracy"] - acc) <= 4 * sd + 0.003
    # Sets are used, and hold the truth far more often than the top label.
    assert rates["set_rate"] > 0.05
    assert rates["set_coverage"] > rates["confused_top_accuracy"] + 0.1


def test_targets_on_average_over_many_splits():
    """Over 30 random splits the mean held-out rates sit at their targets."""
    accuracies, rejections = [], []
    for seed in range(30):
        X, y = _data(8000, n_classes=3, random_state=100 + seed)
        clf = SubjectiveLogicClassifier(tpr=0.9, target_accuracy=0.93)
        clf.fit(X[:4000], y[:4000])
        rates = _held_out_rates(clf, X[4000:], y[4000:])
        accuracies.append(rates["single_accuracy"])
        rejections.append(rates["rejection"])
    # Standard errors of the means: about 0.0013 for both.
    assert abs(np.mean(accuracies) - 0.93) < 0.006
    assert abs(np.mean(rejections) - 0.1) < 0.006


def test_ignorance_is_larger_for_far_ood_logits():
    X_in, y_in = _data(3000, n_classes=5, class_sep=2.0, random_state=0)
    # Far OOD: no class signal and weak activations (logits shrunk towards 0).
    X_out, _ = _data(1000, n_classes=5, class_sep=0.0, random_state=1)
    X_out = 0.3 * X_out
    clf = SubjectiveLogicClassifier(tpr=0.95).fit(X_in[:2000], y_in[:2000])
    u_in, u_out = clf.ignorance(X_in[2000:]), clf.ignorance(X_out)
    auroc = np.mean(u_out[:, None] > u_in[None, :])
    assert auroc > 0.99
    assert np.median(u_out) > 5 * np.median(u_in)
    # OOD rows are rejected: predict returns -1, predict_set is empty.
    assert np.mean(clf.predict(X_out) == -1) > 0.9
    assert np.mean(clf.predict_set(X_out).sum(axis=1) == 0) > 0.9
    assert np.mean(clf.predict(X_in[2000:]) == -1) < 0.08


def test_confusion_is_larger_between_two_classes():
    X, y = _data(2000, n_classes=4, class_sep=2.0, random_state=4)
    latent = X.argmax(axis=1)
    a, b = np.random.default_rng(0).integers(0, 2000, size=(2, 3000))
    keep = latent[a] != latent[b]
    a, b = a[keep], b[keep]
    # Evidence mixup of two inputs of different classes: exp(z) is the mean of
    # their evidences, so both classes hold strong evidence.
    mixed = np.logaddexp(X[a], X[b]) - np.log(2)
    clf = SubjectiveLogicClassifier(tpr=0.99).fit(X[:1000], y[:1000])
    assert np.median(clf.confusion(mixed)) > 100 * np.median(clf.confusion(X[1000:]))
    sets = clf.predict_set(mixed)
    rows = np.arange(sets.shape[0])
    both = sets[rows, latent[a]] & sets[rows, latent[b]]
    assert np.mean(both) > 0.6  # 0.77 in this simulation
    assert np.mean(sets.sum(axis=1) == 0) < 0.05  # confused, not ignorant
    assert np.mean(clf.predict_set(X[1000:]).sum(axis=1) > 1) < 0.05


# ---------------------------------------------------------------------------
# Fixed thresholds, warnings, weights, determinism
# ---------------------------------------------------------------------------


def test_fixed_thresholds_are_used_as_given():
    X, y = _data(500)
    clf = SubjectiveLogicClassifier(ignorance_threshold=1.0, confusion_threshold=1.0)
    clf.fit(X, y)
    assert clf.ignorance_threshold_ == 1.0 and clf.confusion_threshold_ == 1.0
    np.testing.assert_array_equal(clf.predict(X), np.argmax(X, axis=1))
    assert np.all(clf.predict_set(X).sum(axis=1) == 1)
    assert clf.rejection_rate_ == 0 and clf.set_rate_ == 0
    assert clf.single_accuracy_ == pytest.approx(np.mean(np.argmax(X, axis=1) == y))
    assert math.isnan(clf.set_coverage_)
    clf = SubjectiveLogicClassifier(ignorance_threshold=0.05).fit(X, y)
    u = clf.ignorance(X)
    np.testing.assert_array_equal(clf.predict(X) == -1, u > 0.05)


def test_too_few_rows_for_tpr_warns_and_rejects_nothing():
    X, y = _data(10)
    with pytest.warns(UserWarning, match="too few to reach tpr=0.95"):
        clf = SubjectiveLogicClassifier(tpr=0.95).fit(X, y)
    assert clf.ignorance_threshold_ == math.inf
    assert not np.any(clf.predict(X) == -1)


def test_unreachable_accuracy_warns_and_gives_sets():
    X, _ = _data(300)
    y = np.random.default_rng(0).integers(0, 3, 300)  # labels unrelated to X
    with pytest.warns(UserWarning, match="no confusion threshold"):
        clf = SubjectiveLogicClassifier(target_accuracy=0.99).fit(X, y)
    assert clf.confusion_threshold_ == -math.inf
    sizes = clf.predict_set(X).sum(axis=1)
    assert np.all((sizes == 0) | (sizes >= 2))


@pytest.mark.parametrize("measure", ["composite", "dissonance"])
def test_integer_weights_equal_repeated_rows(measure):
    X, y = _data(400, random_state=5)
    w = np.random.default_rng(0).integers(0, 4, size=400)
    rows = np.repeat(np.arange(400), w)
    params = {"confusion_measure": measure, "tpr": 0.9, "target_accuracy": 0.9}
    weighted = SubjectiveLogicClassifier(**params).fit(X, y, sample_weight=w)
    repeated = SubjectiveLogicClassifier(**params).fit(X[rows], y[rows])
    for name in [
        "ignorance_threshold_",
        "confusion_threshold_",
        "rejection_rate_",
        "set_rate_",
        "single_accuracy_",
        "set_coverage_",
    ]:
        assert getattr(weighted, name) == pytest.approx(getattr(repeated, name))
    np.testing.assert_array_equal(weighted.predict_set(X), repeated.predict_set(X))


def test_deterministic_and_inputs_untouched():
    X, y = _data(1000, random_state=6)
    X_copy, y_copy = X.copy(), y.copy()
    a = SubjectiveLogicClassifier(confusion_measure="dissonance").fit(X, y)
    b = clone(a).fit(X, y)
    assert a.ignorance_threshold_ == b.ignorance_threshold_
    assert a.confusion_threshold_ == b.confusion_threshold_
    for method in ["predict", "predict_set", "predict_proba", "confusion"]:
        np.testing.assert_array_equal(getattr(a, method)(X), getattr(b, method)(X))
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_dissonance_blocks_match_one_block(monkeypatch):
    import skcalib.uncertainty._subjective_logic as module

    z = np.random.default_rng(7).normal(scale=2.0, size=(101, 6))
    clf = _fitted_k(6, confusion_measure="dissonance")
    whole = clf.confusion(z)
    monkeypatch.setattr(module, "_DISSONANCE_BLOCK", 36 * 7)  # 7 rows per block
    np.testing.assert_allclose(clf.confusion(z), whole, rtol=1e-13)


def test_float32_is_preserved():
    X, y = _data(2000)
    clf = SubjectiveLogicClassifier().fit(X.astype(np.float32), y)
    ref = SubjectiveLogicClassifier().fit(X, y)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert clf.confusion(X.astype(np.float32)).dtype == np.float32
    assert clf.ignorance_threshold_ == pytest.approx(ref.ignorance_threshold_, 1e-5)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_errors():
    X, y = _data(100)
    clf = SubjectiveLogicClassifier()
    with pytest.raises(NotFittedError):
        clf.predict(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(bad, y)
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        clf.fit(bad, y)
    with pytest.raises(ValueError, match="one logit per class: it has 4 columns"):
        clf.fit(np.hstack([X, X[:, :1]]), y)
    with pytest.raises(ValueError, match="X must have 1 or 2 dimension"):
        clf.fit(X[:, :, None], y)
    with pytest.raises(ValueError, match="Inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y to be passed"):
        clf.fit(X, None)
    with pytest.raises(ValueError, match="at least two classes"):
        clf.fit(X, np.zeros(100))
    with pytest.raises(ValueError, match="reject_label=-1 is one of the classes"):
        clf.fit(X, y - 1)
    with pytest.raises(InvalidParameterError, match="evidence"):
        SubjectiveLogicClassifier(evidence="tanh").fit(X, y)
    with pytest.raises(InvalidParameterError, match="target_accuracy"):
        SubjectiveLogicClassifier(target_accuracy=1.0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="ignorance_threshold"):
        SubjectiveLogicClassifier(ignorance_threshold=1.5).fit(X, y)
    with pytest.raises(ValueError, match="non-negative evidence"):
        SubjectiveLogicClassifier(evidence="identity").fit(X, y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="expecting 3 features"):
        clf.predict(X[:, :2])
    bad = X.copy()
    bad[0, 0] = np.nan
    for method in ["predict", "predict_set", "predict_proba", "predict_opinion"]:
        with pytest.raises(ValueError, match="Input X contains NaN"):
            getattr(clf, method)(bad)
    fitted = SubjectiveLogicClassifier(evidence="identity").fit(np.abs(X), y)
    with pytest.raises(ValueError, match=re.escape("got a minimum of -")):
        fitted.predict(-np.abs(X))


def test_mixing_namespaces_is_a_clear_error():
    xp = pytest.importorskip("array_api_strict")
    X, y = _data(100)
    with config_context(array_api_dispatch=True):
        clf = SubjectiveLogicClassifier().fit(xp.asarray(X), xp.asarray(y))
        with pytest.raises(
            ValueError, match=r"SubjectiveLogicClassifier.predict\(\) must use"
        ):
            clf.predict(X)
        other = xp.asarray(X, device=xp.Device("device1"))
        with pytest.raises(ValueError, match="same namespace and the same device"):
            clf.predict_set(other)


# ---------------------------------------------------------------------------
# Tags, estimator checks, array API
# ---------------------------------------------------------------------------


def test_tags():
    tags = get_skcalib_tags(SubjectiveLogicClassifier())
    assert (tags.family, tags.input_kind) == ("uncertainty", "logits")
    sk_tags = SubjectiveLogicClassifier().__sklearn_tags__()
    assert sk_tags.array_api_support and not sk_tags.input_tags.positive_only
    identity = SubjectiveLogicClassifier(evidence="identity").__sklearn_tags__()
    assert identity.input_tags.positive_only


def test_column_vector_y_warns_and_is_raveled():
    X, y = _data(300)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = SubjectiveLogicClassifier().fit(X, y[:, None])
    flat = SubjectiveLogicClassifier().fit(X, y)
    assert column.confusion_threshold_ == flat.confusion_threshold_


@pytest.mark.parametrize(
    "estimator",
    [
        SubjectiveLogicClassifier(),
        SubjectiveLogicClassifier(evidence="relu", confusion_measure="dissonance"),
    ],
    ids=repr,
)
def test_skcalib_checks(estimator):
    check_skcalib_estimator(estimator)


def _outputs(params):
    def run(X_fit, y_fit, X_test, w):
        clf = SubjectiveLogicClassifier(**params).fit(X_fit, y_fit, sample_weight=w)
        op = clf.predict_opinion(X_test)
        return {
            "ignorance_threshold_": clf.ignorance_threshold_,
            "confusion_threshold_": clf.confusion_threshold_,
            "rejection_rate_": clf.rejection_rate_,
            "single_accuracy_": clf.single_accuracy_,
            "predict": clf.predict(X_test),
            "predict_set": clf.predict_set(X_test),
            "predict_proba": clf.predict_proba(X_test),
            "belief_masses": clf.belief_masses(X_test),
            "ignorance": clf.ignorance(X_test),
            "confusion": clf.confusion(X_test),
            **{k: op[k] for k in ["belief", "nested_masses", "label_order"]},
        }

    return run


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"evidence": "softplus", "confusion_measure": "dissonance", "tpr": 0.9},
        {"evidence": "relu", "target_accuracy": 0.9},
    ],
    ids=repr,
)
def test_same_on_namespace(params, combination):
    X, y = _data(500, random_state=8)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=300)
    assert_same_on_namespace(
        _outputs(params), [X[:300], y[:300], X[300:], w], combination=combination
    )
