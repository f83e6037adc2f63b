"""ensemble_uncertainty (entropy decomposition) and EnsembleUncertainty."""

import math

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import (
    BaggingClassifier,
    GradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils._param_validation import InvalidParameterError

from skcalib.datasets import make_ood_features
from skcalib.metrics import ood_auroc
from skcalib.uncertainty._ensemble import (
    MEASURES,
    EnsembleUncertainty,
    ensemble_uncertainty,
)
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

LOG2 = math.log(2)


def _h(p):
    """Entropy (nats) of one probability vector, by the definition."""
    return -sum(q * math.log(q) for q in p if q > 0)


def _entropy(proba):
    """Entropy of every row."""
    return np.array([_h(p) for p in proba])


# --------------------------------------------------------------------------
# ensemble_uncertainty: hand-computed cases
# --------------------------------------------------------------------------


def test_members_that_agree_have_no_epistemic_uncertainty():
    p = [0.2, 0.3, 0.5]
    member_proba = np.array([[p, [1.0, 0.0, 0.0]]] * 4)  # 4 identical members
    result = ensemble_uncertainty(member_proba)
    # H(p) = -(.2 log .2 + .3 log .3 + .5 log .5) = 1.0296530...
    np.testing.assert_allclose(result.total_entropy, [_h(p), 0.0], atol=1e-15)
    np.testing.assert_allclose(result.expected_entropy, [_h(p), 0.0], atol=1e-15)
    np.testing.assert_allclose(result.mutual_information, [0.0, 0.0], atol=1e-15)
    np.testing.assert_array_equal(result.variation_ratio, [0.0, 0.0])


def test_confident_members_that_disagree_are_all_epistemic():
    # Four one-hot members voting 0, 1, 2, 0: mean (.5, .25, .25).
    member_proba = np.eye(3)[[0, 1, 2, 0]][:, None, :]
    result = ensemble_uncertainty(member_proba)
    total = 0.5 * LOG2 + 0.5 * math.log(4)  # = 1.5 log 2
    np.testing.assert_allclose(result.total_entropy, [total])
    np.testing.assert_array_equal(result.expected_entropy, [0.0])
    np.testing.assert_allclose(result.mutual_information, [total])
    # Modal class 0 has 2 of the 4 votes.
    np.testing.assert_allclose(result.variation_ratio, [0.5])


def test_binary_closed_forms():
    def h(q):
        return -(q * math.log(q) + (1 - q) * math.log(1 - q))

    # Positive-class probabilities of 2 and 3 members for 2 samples.
    two = np.array([[0.2], [0.8]])
    result = ensemble_uncertainty(two)
    np.testing.assert_allclose(result.total_entropy, [LOG2])
    np.testing.assert_allclose(result.expected_entropy, [h(0.2)])
    # log 2 - h(.2) = 0.6931472 - 0.5004024 = 0.1927448
    np.testing.assert_allclose(result.mutual_information, [LOG2 - h(0.2)])
    np.testing.assert_allclose(result.mutual_information, [0.1927448], atol=1e-7)
    np.testing.assert_allclose(result.variation_ratio, [0.5])

    three = np.array([[0.1, 0.5], [0.1, 0.5], [0.7, 0.5]])
    result = ensemble_uncertainty(three)
    np.testing.assert_allclose(result.total_entropy, [h(0.3), LOG2])
    expected = (2 * h(0.1) + h(0.7)) / 3
    np.testing.assert_allclose(result.expected_entropy, [expected, LOG2])
    np.testing.assert_allclose(result.mutual_information, [h(0.3) - expected, 0.0])
    # Votes 0, 0, 1 (and the tie 0.5 / 0.5 votes for the first class, 0).
    np.testing.assert_allclose(result.variation_ratio, [1 / 3, 0.0])
    # The 2-D input is the 3-D stack [1 - p, p].
    stacked = ensemble_uncertainty(np.stack([1 - three, three], axis=-1))
    for a, b in zip(result, stacked, strict=True):
        np.testing.assert_array_equal(a, b)


def test_zero_probabilities_give_finite_entropies():
    member_proba = np.array([[[0.0, 1.0, 0.0]], [[0.0, 0.5, 0.5]]])
    result = ensemble_uncertainty(member_proba)
    for values in result:
        assert np.all(np.isfinite(values))
    # mean (0, .75, .25); expected (0 + log 2) / 2.
    np.testing.assert_allclose(result.total_entropy, [_h([0.75, 0.25])])
    np.testing.assert_allclose(result.expected_entropy, [LOG2 / 2])


def test_decomposition_identities_and_bounds_on_random_members():
    rng = np.random.default_rng(0)
    n_classes = 4
    member_proba = rng.dirichlet(np.full(n_classes, 0.3), size=(7, 200))
    result = ensemble_uncertainty(member_proba)
    np.testing.assert_allclose(
        result.mutual_information,
        result.total_entropy - result.expected_entropy,
        atol=1e-15,
    )
    # Jensen: total >= expected, with room to spare on random members.
    assert np.all(result.total_entropy - result.expected_entropy >= -1e-12)
    for name in ("total_entropy", "expected_entropy", "mutual_information"):
        values = getattr(result, name)
        assert values.min() >= 0 and values.max() <= math.log(n_classes) + 1e-12
    assert result.variation_ratio.max() <= 1 - 1 / n_classes
    # The mutual information is at most log(n_members) too.
    assert result.mutual_information.max() <= math.log(7)
    # The same per sample as computed one by one.
    i = 17
    mean = member_proba[:, i].mean(axis=0)
    assert math.isclose(result.total_entropy[i], _h(mean), rel_tol=1e-12)
    expected = np.mean([_h(p) for p in member_proba[:, i]])
    assert math.isclose(result.expected_entropy[i], expected, rel_tol=1e-12)
    votes = np.bincount(member_proba[:, i].argmax(axis=1), minlength=n_classes)
    assert math.isclose(result.variation_ratio[i], 1 - votes.max() / 7)


def test_input_types_and_dtypes():
    member_proba = np.array([[[0.3, 0.7]], [[0.6, 0.4]]])
    from_list = ensemble_uncertainty(member_proba.tolist())
    from_array = ensemble_uncertainty(member_proba)
    for a, b in zip(from_list, from_array, strict=True):
        np.testing.assert_array_equal(a, b)
    result32 = ensemble_uncertainty(member_proba.astype(np.float32))
    assert all(v.dtype == np.float32 for v in result32)
    np.testing.assert_allclose(
        result32.mutual_information, from_array.mutual_information, rtol=1e-5
    )
    # One member: no epistemic uncertainty, no disagreement.
    one = ensemble_uncertainty(member_proba[:1])
    np.testing.assert_array_equal(one.mutual_information, [0.0])
    np.testing.assert_array_equal(one.variation_ratio, [0.0])
    # No sample: empty results.
    empty = ensemble_uncertainty(np.zeros((3, 0, 2)))
    assert all(v.shape == (0,) for v in empty)


@pytest.mark.parametrize(
    "member_proba, match",
    [
        (np.full(3, 0.5), "member_proba must have 2 or 3 dimension"),
        (np.full((2, 3, 2, 1), 0.5), "member_proba must have 2 or 3 dimension"),
        (np.array([[[0.5, 0.6]]]), "rows sum to one"),
        (np.array([[[1.5, -0.5]]]), r"probabilities in \[0, 1\]"),
        (np.array([[1.2], [0.3]]), r"probabilities in \[0, 1\]"),
        (np.array([[[np.nan, 1.0]]]), "NaN"),
    ],
)
def test_invalid_member_proba(member_proba, match):
    with pytest.raises(ValueError, match=match):
        ensemble_uncertainty(member_proba)


def test_input_not_modified():
    member_proba = np.random.default_rng(1).dirichlet([1, 1, 1], size=(3, 5))
    copy = member_proba.copy()
    ensemble_uncertainty(member_proba)
    np.testing.assert_array_equal(member_proba, copy)


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("binary", [False, True])
def test_ensemble_uncertainty_array_api(combination, binary):
    rng = np.random.default_rng(0)
    member_proba = rng.dirichlet([0.3, 0.3, 0.3], size=(5, 40))
    member_proba[0, :3] = [1.0, 0.0, 0.0]  # exact zeros: 0 log 0 = 0
    if binary:
        member_proba = rng.uniform(size=(5, 40))
        member_proba[:, 0] = 1.0
    assert_same_on_namespace(
        ensemble_uncertainty, (member_proba,), combination=combination
    )


# --------------------------------------------------------------------------
# EnsembleUncertainty
# --------------------------------------------------------------------------


def _ood_data(n=1000, random_state=0):
    X, y = make_ood_features(n, 300, n_features=8, random_state=random_state)
    is_in = y != -1
    # In-distribution rows come first: train on 700 of them, test on the rest
    # (300 in-distribution, 300 OOD).
    return X[:700], y[:700], X[700:], is_in[700:]


def _aurocs(detector, X_test, is_in):
    """AUROC (in vs OOD) of minus each measure, by name."""
    result = detector.predict_uncertainty(X_test)
    return {name: ood_auroc(is_in, -getattr(result, name)) for name in MEASURES}


@pytest.mark.parametrize("random_state", [0, 2, 3])
def test_mutual_information_flags_far_ood(random_state):
    X, y, X_test, is_in = _ood_data(random_state=random_state)
    detector = EnsembleUncertainty(random_state=0).fit(X, y)
    aurocs = _aurocs(detector, X_test, is_in)
    # Measured: 1.000, 0.995, 0.986.
    assert aurocs["mutual_information"] > 0.95
    # Each member is *more* confident far from the data: the aleatoric part
    # ranks the OOD inputs the wrong way round (measured 0.12, 0.06, 0.18).
    assert aurocs["expected_entropy"] < 0.3
    # score_samples is minus the chosen measure.
    np.testing.assert_array_equal(
        detector.score_samples(X_test),
        -detector.predict_epistemic(X_test),
    )
    assert ood_auroc(is_in, detector.score_samples(X_test)) > 0.95


@pytest.mark.slow
def test_mutual_information_flags_far_ood_over_many_draws():
    mutual, expected = [], []
    for random_state in range(20):
        X, y, X_test, is_in = _ood_data(random_state=random_state)
        detector = EnsembleUncertainty(random_state=0).fit(X, y)
        aurocs = _aurocs(detector, X_test, is_in)
        mutual.append(aurocs["mutual_information"])
        expected.append(aurocs["expected_entropy"])
    # Measured: mean 0.97, 17 of 20 draws above 0.9; expected entropy 0.2.
    assert np.mean(mutual) > 0.93
    assert np.mean(np.array(mutual) > 0.9) >= 0.75
    assert np.mean(expected) < 0.35


def test_random_forest_mutual_information_as_ood_score():
    X, y, X_test, is_in = _ood_data()
    forest = RandomForestClassifier(n_estimators=50, random_state=0)
    detector = EnsembleUncertainty(forest, random_state=0).fit(X, y)
    aurocs = _aurocs(detector, X_test, is_in)
    assert aurocs["mutual_information"] > 0.95  # measured 0.999
    # Fully grown trees have pure leaves: every member is certain, the
    # expected entropy is 0 and the mutual information is the total entropy.
    result = detector.predict_uncertainty(X_test)
    np.testing.assert_array_equal(result.expected_entropy, 0.0)
    np.testing.assert_array_equal(result.mutual_information, result.total_entropy)


def test_forest_extrapolating_alike_misses_a_far_shift():
    # The draw of the docstring's Notes: the OOD cluster lies where the
    # forest's trees agree; the projection ensemble still flags it.
    X, y = make_ood_features(1200, 300, n_features=8, random_state=0)
    is_in = y != -1
    X_train, y_train = X[:800], y[:800]
    X_test, is_in_test = X[800:], is_in[800:]
    forest = EnsembleUncertainty(
        RandomForestClassifier(n_estimators=50, random_state=0), random_state=0
    ).fit(X_train, y_train)
    projections = EnsembleUncertainty(random_state=0).fit(X_train, y_train)
    assert ood_auroc(is_in_test, forest.score_samples(X_test)) < 0.6
    assert ood_auroc(is_in_test, projections.score_samples(X_test)) > 0.9


def test_ood_detector_api():
    X, y, X_test, is_in = _ood_data()
    detector = EnsembleUncertainty(random_state=0, tpr=0.9).fit(X, y)
    scores = detector.score_samples(X_test)
    np.testing.assert_allclose(
        detector.decision_function(X_test), scores - detector.offset_
    )
    labels = detector.predict(X_test)
    np.testing.assert_array_equal(labels, np.where(scores >= detector.offset_, 1, -1))
    # calibration_size=0.2 of the 700 rows calibrate.
    assert detector.calibration_scores_.shape == (140,)
    # About tpr of fresh in-distribution inputs are accepted (300 of them:
    # three standard deviations of a binomial 0.9 are 0.052).
    assert abs(np.mean(labels[is_in] == 1) - 0.9) < 0.06
    assert np.mean(labels[~is_in] == -1) > 0.9
    pvalues = detector.score_pvalues(X_test)
    assert pvalues.min() > 0 and pvalues.max() <= 1
    flagged = detector.predict_fdr(X_test, fdr=0.1) == -1
    # The false discovery proportion of one batch, near its 0.1 bound.
    assert np.mean(is_in[flagged]) < 0.2 and flagged.sum() > 250
    np.testing.assert_array_equal(detector.classes_, [0, 1, 2])
    assert detector.n_features_in_ == 8


@pytest.mark.parametrize("measure", MEASURES)
def test_measure_selects_the_score(measure):
    X, y, X_test, _ = _ood_data()
    forest = RandomForestClassifier(n_estimators=20, min_samples_leaf=5)
    detector = EnsembleUncertainty(forest, measure=measure, random_state=0)
    detector.fit(X, y)
    result = detector.predict_uncertainty(X_test)
    np.testing.assert_array_equal(
        detector.score_samples(X_test), -getattr(result, measure)
    )


def test_contamination_threshold():
    X, y, X_test, _ = _ood_data()
    detector = EnsembleUncertainty(
        RandomForestClassifier(n_estimators=20, min_samples_leaf=5, random_state=0),
        contamination=0.1,
        random_state=0,
    ).fit(X, y)
    # The 0.1 quantile of the scores of all 700 fit rows.
    all_scores = detector.score_samples(X)
    assert math.isclose(detector.offset_, np.percentile(all_scores, 10), rel_tol=1e-9)


def test_frozen_forest_members_reproduce_its_probabilities():
    X, y = make_classification(
        300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    labels = np.array(["ant", "bee", "cat"])[y]
    forest = RandomForestClassifier(
        n_estimators=15, min_samples_leaf=3, random_state=0
    ).fit(X[:200], labels[:200])
    detector = EnsembleUncertainty(FrozenEstimator(forest)).fit(X[200:])  # no y
    assert detector.estimator_.estimator is forest
    # All fit rows calibrate with a frozen ensemble.
    assert detector.calibration_scores_.shape == (100,)
    result = detector.predict_uncertainty(X)
    mean = forest.predict_proba(X)
    total = -np.sum(
        np.where(mean > 0, mean * np.log(np.where(mean > 0, mean, 1)), 0), 1
    )
    np.testing.assert_allclose(result.total_entropy, total, atol=1e-12)
    np.testing.assert_array_equal(detector.classes_, ["ant", "bee", "cat"])


def test_bagging_feature_subsets_and_missing_classes():
    # Small bootstrap samples of a rare class: some members never see it,
    # their columns go by index; each member reads its feature subset. (Trees
    # take the bootstrap as sample weights and see every class: k-NN members,
    # without sample_weight, are fitted on the drawn rows.)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = np.array(["a"] * 55 + ["b"] * 55 + ["c"] * 10)
    X[y == "b"] += 2
    X[y == "c"] -= 2
    bagging = BaggingClassifier(
        KNeighborsClassifier(n_neighbors=3),
        n_estimators=25,
        max_samples=0.3,
        max_features=0.6,
        random_state=0,
    ).fit(X, y)
    missing = [len(e.classes_) < 3 for e in bagging.estimators_]
    assert any(missing)
    detector = EnsembleUncertainty(FrozenEstimator(bagging)).fit(X)
    mean = bagging.predict_proba(X)
    entropy = -np.sum(
        np.where(mean > 0, mean * np.log(np.where(mean > 0, mean, 1)), 0), 1
    )
    np.testing.assert_allclose(
        detector.predict_uncertainty(X).total_entropy, entropy, atol=1e-12
    )


def test_soft_voting_members():
    X, y = make_classification(200, n_features=4, random_state=0)
    voting = VotingClassifier(
        [("lr", LogisticRegression()), ("nb", GaussianNB())], voting="soft"
    ).fit(X, y)
    detector = EnsembleUncertainty(FrozenEstimator(voting)).fit(X)
    members = np.stack([e.predict_proba(X) for e in voting.estimators_])
    expected = ensemble_uncertainty(members)
    result = detector.predict_uncertainty(X)
    for a, b in zip(result, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_deterministic_given_random_state():
    X, y, X_test, _ = _ood_data()
    first = EnsembleUncertainty(random_state=3).fit(X, y).score_samples(X_test)
    second = EnsembleUncertainty(random_state=3).fit(X, y).score_samples(X_test)
    np.testing.assert_array_equal(first, second)
    other = EnsembleUncertainty(random_state=4).fit(X, y).score_samples(X_test)
    assert not np.array_equal(first, other)


def test_errors():
    X, y, X_test, _ = _ood_data()
    with pytest.raises(ValueError, match="requires y to be passed"):
        EnsembleUncertainty().fit(X)
    with pytest.raises(InvalidParameterError, match="measure"):
        EnsembleUncertainty(measure="entropy").fit(X, y)
    with pytest.raises(ValueError, match="has no estimators_"):
        EnsembleUncertainty(LogisticRegression()).fit(X, y)
    boosting = GradientBoostingClassifier(n_estimators=3, random_state=0)
    with pytest.raises(ValueError, match="must have predict_proba"):
        EnsembleUncertainty(boosting).fit(X, y)
    with pytest.raises(NotFittedError):
        EnsembleUncertainty().predict_uncertainty(X_test)
    detector = EnsembleUncertainty(
        RandomForestClassifier(n_estimators=5, random_state=0)
    ).fit(X, y)
    with pytest.raises(ValueError, match="X has 7 features"):
        detector.score_samples(X_test[:, :7])
    with pytest.raises(ValueError, match="Reshape your data"):
        detector.predict_epistemic(X_test[0])
    with pytest.raises(ValueError, match="Unknown label type"):
        EnsembleUncertainty().fit(X, np.linspace(0, 1, X.shape[0]))


def test_inputs_not_modified():
    X, y, X_test, _ = _ood_data()
    X_copy, y_copy, X_test_copy = X.copy(), y.copy(), X_test.copy()
    detector = EnsembleUncertainty(random_state=0).fit(X, y)
    detector.predict_uncertainty(X_test)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(X_test, X_test_copy)
