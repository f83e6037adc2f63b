"""Confident learning: find_label_issues, label_quality_scores, LabelIssueDetector."""

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_wine, make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB

from skcalib.uncertainty._label_issues import (
    FILTERS,
    QUALITY_METHODS,
    LabelIssueDetector,
    confident_joint,
    find_label_issues,
    label_quality_scores,
)
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

# --------------------------------------------------------------------------
# Hand-computed 6-sample, 2-class case
# --------------------------------------------------------------------------
#
# y  = 0    0    0    1    1    1
# p1 = .1   .3   .8   .9   .6   .4      (p0 = 1 - p1)
#
# t_0 = mean(.9, .7, .2) = .6 and t_1 = mean(.9, .6, .4) = .6333.
# sample 0: p0 .9 >= t_0            -> counted (0, 0)
# sample 1: p0 .7 >= t_0            -> (0, 0)
# sample 2: p1 .8 >= t_1            -> (0, 1)  (labelled 0, confidently a 1)
# sample 3: p1 .9 >= t_1            -> (1, 1)
# sample 4: p0 .4 < t_0, p1 .6 < t_1 -> not counted
# sample 5: p0 .6 >= t_0 (the 1e-6 tolerance absorbs the rounding of the mean)
#                                   -> (1, 0)  (labelled 1, confidently a 0)
# Raw joint [[2, 1], [1, 1]]. Calibrated: row 0 already sums to its 3 samples;
# row 1 becomes [1.5, 1.5], rounded to [2, 2], one too many: the first of the
# tied remainders goes down -> [1, 2].
Y6 = np.array([0, 0, 0, 1, 1, 1])
P1 = np.array([0.1, 0.3, 0.8, 0.9, 0.6, 0.4])
PROBA6 = np.stack([1 - P1, P1], axis=1)


def test_confident_joint_by_hand():
    np.testing.assert_array_equal(
        confident_joint(Y6, PROBA6, calibrate=False), [[2, 1], [1, 1]]
    )
    np.testing.assert_array_equal(confident_joint(Y6, PROBA6), [[2, 1], [1, 2]])


@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "prune_by_class"])
def test_pruning_by_hand(filter_by):
    # Noise rate: 1 sample labelled 0 with the largest p1 - p0 (sample 2), 1
    # labelled 1 with the largest p0 - p1 (sample 5). By class: 3 - 2 = 1
    # sample of each class with the lowest self-confidence: samples 2 and 5.
    mask = find_label_issues(Y6, PROBA6, filter_by=filter_by)
    np.testing.assert_array_equal(np.flatnonzero(mask), [2, 5])


def test_other_filters_by_hand():
    for filter_by in ("both", "confident_learning", "predicted_neq_given"):
        mask = find_label_issues(Y6, PROBA6, filter_by=filter_by)
        np.testing.assert_array_equal(np.flatnonzero(mask), [2, 5])
    # low_*: as many as confident learning finds (2), lowest scores first.
    for filter_by in ("low_self_confidence", "low_normalized_margin"):
        mask = find_label_issues(Y6, PROBA6, filter_by=filter_by)
        np.testing.assert_array_equal(np.flatnonzero(mask), [2, 5])


def test_ranked_indices_by_hand():
    # Self-confidence of sample 2 is .2, of sample 5 is .4: 2 first.
    for method in QUALITY_METHODS:
        idx = find_label_issues(Y6, PROBA6, return_indices_ranked_by=method)
        np.testing.assert_array_equal(idx, [2, 5])
        assert idx.dtype == np.int64
    # Swap the roles: make sample 5 the worse one.
    proba = PROBA6.copy()
    proba[5] = [0.95, 0.05]
    idx = find_label_issues(Y6, proba, return_indices_ranked_by="self_confidence")
    np.testing.assert_array_equal(idx, [5, 2])


def test_frac_noise_by_hand():
    # frac_noise=.5 halves the off-diagonal counts (1 -> .5), truncated to 0.
    mask = find_label_issues(Y6, PROBA6, frac_noise=0.5)
    assert not mask.any()


def test_min_examples_per_class():
    # Keeping 3 samples of each class unflagged: classes of 3 are left alone.
    with pytest.warns(UserWarning, match="min_examples_per_class=3"):
        mask = find_label_issues(Y6, PROBA6, min_examples_per_class=3)
    assert not mask.any()
    # Keeping 2 of 3: the diagonal (2) already satisfies it, same issues.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mask = find_label_issues(Y6, PROBA6, min_examples_per_class=2)
    np.testing.assert_array_equal(np.flatnonzero(mask), [2, 5])


def test_argmax_among_confident_classes():
    # Sample 3 (labelled 1) reaches the thresholds of classes 1 and 2 but not
    # of class 0, its most probable class: Eq. 2 of the paper counts it in
    # the most probable *confident* class, 1 (cleanlab would use class 0).
    # t = (mean(.96, .94), mean(.3, .3), mean(.1, .2)) = (.95, .3, .15).
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.array(
        [
            [0.96, 0.02, 0.02],  # -> (0, 0)
            [0.94, 0.03, 0.03],  # below every threshold: not counted
            [0.10, 0.30, 0.60],  # classes 1 and 2 confident, 2 wins -> (1, 2)
            [0.50, 0.30, 0.20],  # classes 1 and 2 confident, 1 wins -> (1, 1)
            [0.70, 0.20, 0.10],  # below every threshold
            [0.60, 0.20, 0.20],  # -> (2, 2)
        ]
    )
    expected = [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    np.testing.assert_array_equal(confident_joint(y, proba, calibrate=False), expected)
    mask = find_label_issues(y, proba, filter_by="confident_learning")
    np.testing.assert_array_equal(np.flatnonzero(mask), [2])


def test_missing_class_and_string_labels():
    # A column that labels nobody gets threshold 2: nothing is counted in it
    # (its diagonal is raised to one, then calibrated to its 0 samples). The
    # other thresholds are scaled by .9 with the probabilities: same counts.
    proba = np.column_stack([PROBA6 * 0.9, np.full(6, 0.1)])
    np.testing.assert_array_equal(
        confident_joint(Y6, proba, calibrate=False),
        [[2, 1, 0], [1, 1, 0], [0, 0, 1]],
    )
    np.testing.assert_array_equal(
        confident_joint(Y6, proba, labels=[0, 1, 2]),
        [[2, 1, 0], [1, 2, 0], [0, 0, 0]],
    )
    np.testing.assert_array_equal(
        find_label_issues(Y6, proba), find_label_issues(Y6, PROBA6)
    )
    # String labels map to the sorted classes.
    y_str = np.where(Y6 == 0, "cat", "dog")
    np.testing.assert_array_equal(
        find_label_issues(y_str, PROBA6), find_label_issues(Y6, PROBA6)
    )
    np.testing.assert_array_equal(
        find_label_issues(["b", "b", "b", "a", "a", "a"], PROBA6[:, ::-1]),
        find_label_issues(Y6, PROBA6),
    )


def test_inputs_not_modified():
    y, proba = Y6.copy(), PROBA6.copy()
    for filter_by in FILTERS:
        find_label_issues(y, proba, filter_by=filter_by)
    label_quality_scores(y, proba, method="normalized_margin", adjust_pred_probs=True)
    np.testing.assert_array_equal(y, Y6)
    np.testing.assert_array_equal(proba, PROBA6)


# --------------------------------------------------------------------------
# Label quality scores
# --------------------------------------------------------------------------


def test_label_quality_scores_by_hand():
    proba = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.0, 0.0, 1.0]])
    y = np.array([0, 1, 2])
    np.testing.assert_allclose(label_quality_scores(y, proba), [0.7, 0.2, 1.0])
    np.testing.assert_allclose(
        label_quality_scores(y, proba, method="normalized_margin"),
        [(0.7 - 0.2 + 1) / 2, (0.2 - 0.7 + 1) / 2, 1.0],
    )
    h = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    h /= math.log(3)
    s0, s1 = h / 0.7, h / 0.2
    # A one-hot row has zero entropy: the ratio is floored at 1e-6, log(1) = 0.
    np.testing.assert_allclose(
        label_quality_scores(y, proba, method="confidence_weighted_entropy"),
        [math.log1p(s0) / s0, math.log1p(s1) / s1, 0.0],
    )


def test_adjust_pred_probs_by_hand():
    # Thresholds t = (.9, .1) (mean p0 over the 0s, p1 over the 1s); adjusted
    # rows p - t + max(t), renormalised.
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])
    adjusted = np.array([0.9, 0.9]) / 1.8  # every row becomes (.5, .5)
    np.testing.assert_allclose(
        label_quality_scores(y, proba, adjust_pred_probs=True),
        np.full(4, adjusted[0]),
    )
    with pytest.raises(ValueError, match="adjust_pred_probs=True is not available"):
        label_quality_scores(
            y, proba, method="confidence_weighted_entropy", adjust_pred_probs=True
        )


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"filter_by": "prune"}, "filter_by must be one of"),
        ({"return_indices_ranked_by": "margin"}, "return_indices_ranked_by must"),
        ({"frac_noise": 0.0}, r"frac_noise must be a float in \(0, 1\]"),
        ({"frac_noise": 1.5}, r"frac_noise must be a float in \(0, 1\]"),
        ({"min_examples_per_class": -1}, "min_examples_per_class must be a non-neg"),
        ({"min_examples_per_class": 1.5}, "min_examples_per_class must be a non-neg"),
        ({"labels": [1, 0]}, "labels must hold the 2 classes"),
        ({"labels": [0, 1, 2]}, "labels must hold the 2 classes"),
    ],
)
def test_parameter_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        find_label_issues(Y6, PROBA6, **kwargs)


def test_input_errors():
    with pytest.raises(ValueError, match="pred_proba must hold probabilities"):
        find_label_issues(Y6, PROBA6 * 2)
    with pytest.raises(ValueError, match="pred_proba must have 2 dimension"):
        find_label_issues(Y6, P1)
    with pytest.raises(ValueError, match="at least two columns"):
        find_label_issues(Y6, np.ones((6, 1)))
    with pytest.raises(ValueError, match="Inconsistent numbers of samples"):
        find_label_issues(Y6[:5], PROBA6)
    with pytest.raises(ValueError, match="y must be 1-D"):
        find_label_issues(Y6[:, None], PROBA6)
    with pytest.raises(ValueError, match="y has 3 distinct labels"):
        find_label_issues(np.array(["a", "b", "c", "a", "b", "c"]), PROBA6)
    with pytest.raises(ValueError, match=r"y contains labels .* \['z'\]"):
        find_label_issues(["a", "a", "z", "b", "b", "b"], PROBA6, labels=["a", "b"])
    with pytest.raises(ValueError, match="method must be one of"):
        label_quality_scores(Y6, PROBA6, method="entropy")


# --------------------------------------------------------------------------
# Simulation: injected label noise is found
# --------------------------------------------------------------------------


def _noisy(y, rate, n_classes, rng):
    """Flip ``rate`` of the labels to another class, uniformly."""
    flipped = rng.choice(y.shape[0], size=round(rate * y.shape[0]), replace=False)
    y_noisy = y.copy()
    y_noisy[flipped] = (y[flipped] + rng.integers(1, n_classes, flipped.size)) % (
        n_classes
    )
    return y_noisy, flipped


def _precision_recall(mask, flipped):
    found = np.flatnonzero(mask)
    return np.isin(found, flipped).mean(), np.isin(flipped, found).mean()


def test_detector_finds_injected_noise():
    # 10% of the labels of a 3-class problem flipped; chance precision is 0.1.
    X, y = make_classification(
        1000,
        n_features=8,
        n_informative=5,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=0,
    )
    y_noisy, flipped = _noisy(y, 0.1, 3, np.random.default_rng(0))
    detector = LabelIssueDetector(LogisticRegression()).fit(X, y_noisy)
    precision, recall = _precision_recall(detector.label_issues_, flipped)
    assert precision > 0.6, precision  # measured 0.69
    assert recall > 0.75, recall  # measured 0.85
    # The ranking puts errors first: precision among the top 50 is higher.
    top = detector.issue_ranking_[:50]
    assert np.isin(top, flipped).mean() > 0.75  # measured 0.86
    # Flipped samples have much lower label quality on average.
    scores = detector.label_quality_scores_
    clean = np.setdiff1d(np.arange(y.size), flipped)
    assert scores[flipped].mean() < 0.3 * scores[clean].mean()  # measured 0.17


@pytest.mark.parametrize("seed", range(5))
def test_precision_above_0_8_at_the_true_noise_rate_on_separable_data(seed):
    # The issue's acceptance criterion: 10% of the labels of a well-separated
    # 3-class problem flipped; among the 10% lowest label-quality scores (the
    # true noise rate) and among the flagged samples, precision > 0.8.
    # Measured over seeds 0-4: top-k 0.91-0.99, flagged 0.89-0.99.
    X, y = make_classification(
        1000,
        n_features=8,
        n_informative=5,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=3.0,
        random_state=seed,
    )
    y_noisy, flipped = _noisy(y, 0.1, 3, np.random.default_rng(seed))
    detector = LabelIssueDetector(LogisticRegression()).fit(X, y_noisy)
    lowest = np.argsort(detector.label_quality_scores_, kind="stable")
    assert np.isin(lowest[: flipped.size], flipped).mean() > 0.8
    precision, recall = _precision_recall(detector.label_issues_, flipped)
    assert precision > 0.8 and recall > 0.8, (precision, recall)


@pytest.mark.parametrize("seed", range(3))
def test_detector_finds_injected_noise_digits(seed):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    y_noisy, flipped = _noisy(y, 0.1, 10, np.random.default_rng(seed))
    detector = LabelIssueDetector(LogisticRegression(max_iter=1000)).fit(X, y_noisy)
    precision, recall = _precision_recall(detector.label_issues_, flipped)
    # Measured over seeds 0-2: precision 0.77-0.78, recall 0.84-0.88.
    assert precision > 0.7, precision
    assert recall > 0.75, recall
    for filter_by in ("prune_by_class", "both", "confident_learning"):
        mask = find_label_issues(y_noisy, detector.pred_proba_, filter_by=filter_by)
        precision, recall = _precision_recall(mask, flipped)
        # Measured: precision 0.75-0.89, recall 0.73-0.94.
        assert precision > 0.65 and recall > 0.65, (filter_by, precision, recall)


# --------------------------------------------------------------------------
# LabelIssueDetector
# --------------------------------------------------------------------------


def _three_class_data(n=300, seed=0):
    X, y = make_classification(
        n,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        random_state=seed,
    )
    y_noisy, _ = _noisy(y, 0.1, 3, np.random.default_rng(seed))
    return X, y_noisy


def test_detector_matches_function_on_cross_fitted_proba():
    X, y = _three_class_data()
    detector = LabelIssueDetector(GaussianNB(), cv=4, rank_by="normalized_margin")
    detector.fit(X, y)
    expected = cross_val_predict(GaussianNB(), X, y, cv=4, method="predict_proba")
    np.testing.assert_array_equal(detector.pred_proba_, expected)
    np.testing.assert_array_equal(
        detector.label_issues_, find_label_issues(y, expected)
    )
    np.testing.assert_array_equal(
        detector.issue_ranking_,
        find_label_issues(y, expected, return_indices_ranked_by="normalized_margin"),
    )
    np.testing.assert_array_equal(
        detector.label_quality_scores_,
        label_quality_scores(y, expected, method="normalized_margin"),
    )
    np.testing.assert_array_equal(
        detector.confident_joint_, confident_joint(y, expected)
    )
    np.testing.assert_array_equal(detector.classes_, [0, 1, 2])
    assert detector.confident_thresholds_.shape == (3,)
    assert detector.n_features_in_ == 6
    assert detector.confident_joint_.sum() == y.size


def test_detector_parameters_reach_the_filter():
    X, y = _three_class_data()
    detector = LabelIssueDetector(
        GaussianNB(), filter_by="prune_by_class", frac_noise=0.5
    ).fit(X, y)
    expected = find_label_issues(
        y, detector.pred_proba_, filter_by="prune_by_class", frac_noise=0.5
    )
    np.testing.assert_array_equal(detector.label_issues_, expected)


def test_detector_frozen_estimator_uses_probabilities_as_given():
    X, y = _three_class_data()
    model = GaussianNB().fit(X[:150], y[:150])
    detector = LabelIssueDetector(FrozenEstimator(model)).fit(X[150:], y[150:])
    np.testing.assert_array_equal(detector.pred_proba_, model.predict_proba(X[150:]))
    np.testing.assert_array_equal(
        detector.label_issues_, find_label_issues(y[150:], model.predict_proba(X[150:]))
    )
    with pytest.raises(ValueError, match="y contains labels that are not classes"):
        LabelIssueDetector(FrozenEstimator(model)).fit(X[:5], np.array([0, 1, 2, 3, 0]))


def test_detector_string_labels_and_fit_params():
    X, y = _three_class_data()
    names = np.array(["ant", "bee", "cow"])[y]
    cv = KFold(3, shuffle=True, random_state=0)
    detector = LabelIssueDetector(LogisticRegression(), cv=cv).fit(X, names)
    numeric = LabelIssueDetector(LogisticRegression(), cv=cv).fit(X, y)
    np.testing.assert_array_equal(detector.classes_, ["ant", "bee", "cow"])
    np.testing.assert_array_equal(detector.label_issues_, numeric.label_issues_)
    # sample_weight reaches every fold's fit.
    weight = np.where(y == 0, 5.0, 1.0)
    weighted = LabelIssueDetector(LogisticRegression(), cv=cv).fit(
        X, y, sample_weight=weight
    )
    expected = cross_val_predict(
        LogisticRegression(),
        X,
        y,
        cv=cv,
        method="predict_proba",
        params={"sample_weight": weight},
    )
    np.testing.assert_allclose(weighted.pred_proba_, expected)


def test_detector_errors():
    X, y = _three_class_data()
    with pytest.raises(ValueError, match="requires y to be passed"):
        LabelIssueDetector().fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type"):
        LabelIssueDetector().fit(X, np.linspace(0, 1, y.size))
    with pytest.raises(ValueError, match="filter_by"):
        LabelIssueDetector(filter_by="nope").fit(X, y)


# --------------------------------------------------------------------------
# Parity with cleanlab
# --------------------------------------------------------------------------


def _parity_cases():
    """Out-of-sample probabilities of noisy-label problems: (y, pred_proba)."""
    cases = []
    X, y = make_classification(
        600,
        n_features=8,
        n_informative=5,
        n_classes=4,
        n_clusters_per_class=1,
        random_state=4,
    )
    X_wine, y_wine = load_wine(return_X_y=True)
    for X_, y_, k, model in [
        (X, y, 4, LogisticRegression()),
        (X, y, 4, GaussianNB()),
        (X_wine, y_wine, 3, GaussianNB()),
        (X[:, :3], (y > 1).astype(int), 2, LogisticRegression()),
    ]:
        y_noisy, _ = _noisy(y_, 0.1, k, np.random.default_rng(0))
        proba = cross_val_predict(model, X_, y_noisy, cv=5, method="predict_proba")
        cases.append((y_noisy, proba))
    cases.append((Y6, PROBA6))  # the hand-computed case
    return cases


@pytest.fixture(scope="module")
def parity_cases():
    return _parity_cases()


def _no_threshold_rule_difference(y, proba):
    """No sample has 2+ confident classes with a non-confident argmax."""
    thresholds = np.array([proba[y == k, k].mean() for k in range(proba.shape[1])])
    above = proba >= thresholds - 1e-6
    argmax_above = above[np.arange(y.size), proba.argmax(axis=1)]
    return not np.any((above.sum(axis=1) > 1) & ~argmax_above)


@pytest.mark.parametrize("filter_by", FILTERS)
def test_find_label_issues_matches_cleanlab(parity_cases, filter_by):
    cleanlab_filter = pytest.importorskip("cleanlab.filter")
    for y, proba in parity_cases:
        assert _no_threshold_rule_difference(y, proba)
        expected = cleanlab_filter.find_label_issues(
            y, proba, filter_by=filter_by, n_jobs=1
        )
        np.testing.assert_array_equal(
            find_label_issues(y, proba, filter_by=filter_by), expected
        )


@pytest.mark.parametrize("rank_by", QUALITY_METHODS)
def test_ranked_issues_match_cleanlab(parity_cases, rank_by):
    cleanlab_filter = pytest.importorskip("cleanlab.filter")
    for y, proba in parity_cases:
        expected = cleanlab_filter.find_label_issues(
            y, proba, return_indices_ranked_by=rank_by, n_jobs=1
        )
        np.testing.assert_array_equal(
            find_label_issues(y, proba, return_indices_ranked_by=rank_by), expected
        )


# Both libraries warn that the small classes of the hand case are left alone.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_frac_noise_and_min_examples_match_cleanlab(parity_cases):
    cleanlab_filter = pytest.importorskip("cleanlab.filter")
    for y, proba in parity_cases:
        for filter_by in ("prune_by_noise_rate", "prune_by_class", "both"):
            kwargs = dict(filter_by=filter_by, frac_noise=0.6, min_examples_per_class=8)
            expected = cleanlab_filter.find_label_issues(y, proba, n_jobs=1, **kwargs)
            np.testing.assert_array_equal(
                find_label_issues(y, proba, **kwargs), expected
            )


def test_confident_joint_matches_cleanlab(parity_cases):
    count = pytest.importorskip("cleanlab.count")
    for y, proba in parity_cases:
        for calibrate in (False, True):
            np.testing.assert_array_equal(
                confident_joint(y, proba, calibrate=calibrate),
                count.compute_confident_joint(y, proba, calibrate=calibrate),
            )


@pytest.mark.parametrize("method", QUALITY_METHODS)
@pytest.mark.parametrize("adjust", [False, True])
def test_label_quality_scores_match_cleanlab(parity_cases, method, adjust):
    rank = pytest.importorskip("cleanlab.rank")
    if adjust and method == "confidence_weighted_entropy":
        pytest.skip("not defined (cleanlab raises too)")
    for y, proba in parity_cases:
        expected = rank.get_label_quality_scores(
            y, proba, method=method, adjust_pred_probs=adjust
        )
        np.testing.assert_allclose(
            label_quality_scores(y, proba, method=method, adjust_pred_probs=adjust),
            expected,
            rtol=1e-12,
            atol=1e-14,
        )


def test_cleanlab_differs_only_by_the_threshold_rule():
    # The case of test_argmax_among_confident_classes: cleanlab counts sample
    # 3 in its overall argmax (class 0, below its threshold).
    count = pytest.importorskip("cleanlab.count")
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.array(
        [
            [0.96, 0.02, 0.02],
            [0.94, 0.03, 0.03],
            [0.10, 0.30, 0.60],
            [0.50, 0.30, 0.20],
            [0.70, 0.20, 0.10],
            [0.60, 0.20, 0.20],
        ]
    )
    assert not _no_threshold_rule_difference(y, proba)
    cleanlab_joint = count.compute_confident_joint(y, proba, calibrate=False)
    # (1, 1) is then empty, raised to 1 by the at-least-one-per-class rule.
    np.testing.assert_array_equal(cleanlab_joint, [[1, 0, 0], [1, 1, 1], [0, 0, 1]])
    ours = confident_joint(y, proba, calibrate=False)
    np.testing.assert_array_equal(ours, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


# --------------------------------------------------------------------------
# Array API
# --------------------------------------------------------------------------


def _array_api_case():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(120, 4))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    y[:4] = np.arange(4)
    return y, proba


@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api(combination):
    y, proba = _array_api_case()

    def run(y, proba):
        out = {
            f: find_label_issues(y, proba, filter_by=f, min_examples_per_class=2)
            for f in FILTERS
        }
        out["ranked"] = find_label_issues(
            y, proba, return_indices_ranked_by="normalized_margin"
        )
        out["joint"] = confident_joint(y, proba)
        for method in QUALITY_METHODS:
            out[method] = label_quality_scores(y, proba, method=method)
        out["adjusted"] = label_quality_scores(y, proba, adjust_pred_probs=True)
        return out

    result = assert_same_on_namespace(run, [y, proba], combination=combination)
    assert result["prune_by_noise_rate"].dtype == bool
    assert result["prune_by_noise_rate"].any()
