"""Statistical coverage guarantees over many random calibration/test splits.

For split conformal prediction with ``n`` calibration samples the coverage,
averaged over random splits of exchangeable data, is at least the level, and
at most ``level + 1 / (n + 1)`` when the scores have no ties (randomised or
continuous scores). Mondrian (group) and class-conditional calibration give
the same within every group / class; cross-conformal (CV+) guarantees
``1 - 2 alpha``.

The mean over ``R`` splits is compared with binomial tolerances: four
standard deviations of ``sqrt(level (1 - level) (1 / n_test + 1 / (n + 2)) / R)``
(test-set noise plus the Beta-distributed coverage of one calibration set).
The default run uses few splits; the ``slow`` versions use 200 or more on
every data set.
"""

import functools
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from skcalib.conformal import CrossConformalClassifier, SplitConformalClassifier
from skcalib.conformal.scores import APSScore, LACScore, RAPSScore, TopKScore
from skcalib.datasets import make_classification_logits
from skcalib.utils._array_api import softmax

LEVEL = 0.9


def _held_out_proba(model, X, y, n_train):
    model.fit(X[:n_train], y[:n_train])
    return model.predict_proba(X[n_train:]), y[n_train:]


@functools.cache
def _pool(name):
    """Probabilities of a fixed model on a pool of exchangeable samples."""
    if name == "make_classification":
        X, y = make_classification(
            4000,
            10,
            n_informative=6,
            n_classes=5,
            n_clusters_per_class=1,
            class_sep=0.7,
            random_state=0,
        )
        return _held_out_proba(LogisticRegression(), X, y, 1000)
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return _held_out_proba(LogisticRegression(max_iter=300), X / 16, y, 500)
    if name == "digits_naive_bayes":  # saturated probabilities: ties, zeros
        X, y = load_digits(return_X_y=True)
        return _held_out_proba(GaussianNB(), X, y, 500)
    if name == "logits":
        logits, y = make_classification_logits(
            3000, 8, temperature=2.0, class_sep=0.8, random_state=0
        )
        return softmax(logits), y
    raise ValueError(name)


def _tolerance(level, n_cal, n_test, n_splits):
    sd = math.sqrt(level * (1 - level) * (1 / n_test + 1 / (n_cal + 2)) / n_splits)
    return 4 * sd


def _covered(P, y, score, model, *, n_cal, n_splits, seed, conditioning=None):
    """Covered indicator of every test sample of every split, and its stratum.

    ``conditioning``: None, "groups" (two groups from the top probability) or
    "class" (class-conditional); ``model`` is a frozen model whose
    ``predict_proba`` returns the pool probabilities. Returns covered (R, m)
    and stratum (R, m).
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    frozen = FrozenEstimator(model().fit(P, y))
    groups = (P.max(axis=1) > np.median(P.max(axis=1))).astype(int)
    covered, strata = [], []
    for split in range(n_splits):
        perm = rng.permutation(y.shape[0])
        cal, test = perm[:n_cal], perm[n_cal:]
        clf = SplitConformalClassifier(
            frozen,
            conformity_score=score,
            confidence_level=LEVEL,
            class_conditional=conditioning == "class",
            random_state=split,
        )
        if conditioning == "groups":
            clf.fit(P[cal], y[cal], groups=groups[cal])
            sets = clf.predict_set(P[test], groups=groups[test])
            strata.append(groups[test])
        else:
            clf.fit(P[cal], y[cal])
            sets = clf.predict_set(P[test])
            strata.append(y[test])
        column = np.searchsorted(classes, y[test])
        covered.append(sets[np.arange(test.shape[0]), column])
    return np.array(covered), np.array(strata)


# score, whether the coverage is also bounded above (no ties / exact sets)
MARGINAL_CASES = [
    (LACScore(), True),
    (APSScore(include_last_label="randomized"), True),
    (APSScore(include_last_label=True), False),
    (APSScore(randomized=False, include_last_label=False), False),
    (RAPSScore(include_last_label="randomized"), True),
    (RAPSScore(), False),
    (TopKScore(), False),
]


def _check_marginal(dataset, score, exact, model, *, n_cal, n_splits):
    P, y = _pool(dataset)
    covered, _ = _covered(P, y, score, model, n_cal=n_cal, n_splits=n_splits, seed=0)
    n = n_cal
    if isinstance(score, RAPSScore):  # 20% of the calibration rows tune it
        n = n_cal - round(0.2 * n_cal)
    mean = covered.mean()
    tol = _tolerance(LEVEL, n, covered.shape[1], n_splits)
    assert mean >= LEVEL - tol, (dataset, score, mean)
    if exact:
        assert mean <= LEVEL + 1 / (n + 1) + tol, (dataset, score, mean)
    return mean


@pytest.mark.parametrize("score, exact", MARGINAL_CASES, ids=lambda v: repr(v))
def test_marginal_coverage(score, exact, passthrough):
    _check_marginal(
        "make_classification", score, exact, passthrough, n_cal=500, n_splits=20
    )


@pytest.mark.parametrize("dataset", ["digits", "digits_naive_bayes", "logits"])
def test_marginal_coverage_other_datasets(dataset, passthrough):
    exact = dataset != "digits_naive_bayes"  # ties: only the lower bound
    for score in (LACScore(), APSScore(include_last_label="randomized")):
        _check_marginal(dataset, score, exact, passthrough, n_cal=400, n_splits=10)


@pytest.mark.slow
@pytest.mark.parametrize(
    "dataset", ["make_classification", "digits", "digits_naive_bayes", "logits"]
)
@pytest.mark.parametrize("score, exact", MARGINAL_CASES, ids=lambda v: repr(v))
def test_marginal_coverage_slow(dataset, score, exact, passthrough):
    exact = exact and dataset != "digits_naive_bayes"
    _check_marginal(dataset, score, exact, passthrough, n_cal=400, n_splits=200)


def _check_conditional(conditioning, model, *, n_splits, n_cal, dataset):
    P, y = _pool(dataset)
    score = APSScore(include_last_label="randomized")
    covered, strata = _covered(
        P,
        y,
        score,
        model,
        n_cal=n_cal,
        n_splits=n_splits,
        seed=1,
        conditioning=conditioning,
    )
    for stratum in np.unique(strata):
        inside = strata == stratum
        share = inside.mean()
        n_stratum = n_cal * share  # calibration samples of the stratum, on average
        mean = covered[inside].mean()
        tol = _tolerance(LEVEL, n_stratum, inside.sum() / n_splits, n_splits)
        assert mean >= LEVEL - tol, (conditioning, stratum, mean)
        assert mean <= LEVEL + 1 / (n_stratum + 1) + tol, (conditioning, stratum, mean)


@pytest.mark.parametrize("conditioning", ["groups", "class"])
def test_conditional_coverage(conditioning, passthrough):
    _check_conditional(
        conditioning,
        passthrough,
        n_splits=20,
        n_cal=800,
        dataset="make_classification",
    )


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["make_classification", "logits"])
@pytest.mark.parametrize("conditioning", ["groups", "class"])
def test_conditional_coverage_slow(conditioning, dataset, passthrough):
    _check_conditional(
        conditioning, passthrough, n_splits=200, n_cal=800, dataset=dataset
    )


def test_marginal_coverage_is_not_class_conditional(passthrough):
    """Why class_conditional exists: LAC under-covers the hardest class."""
    P, y = _pool("make_classification")
    covered, strata = _covered(
        P, y, LACScore(), passthrough, n_cal=800, n_splits=10, seed=2
    )
    per_class = [covered[strata == c].mean() for c in np.unique(y)]
    assert min(per_class) < LEVEL - 0.03 < LEVEL + 0.03 < max(per_class)
    covered, strata = _covered(
        P,
        y,
        LACScore(),
        passthrough,
        n_cal=800,
        n_splits=10,
        seed=2,
        conditioning="class",
    )
    per_class = [covered[strata == c].mean() for c in np.unique(y)]
    assert min(per_class) > LEVEL - 0.03


def _cross_coverage(method, n_splits, n_fit=300, n_test=700, score="lac"):
    X, y = make_classification(
        8000,
        10,
        n_informative=6,
        n_classes=4,
        n_clusters_per_class=1,
        class_sep=0.7,
        random_state=3,
    )
    rng = np.random.default_rng(4)
    covered = []
    for _ in range(n_splits):
        perm = rng.permutation(X.shape[0])[: n_fit + n_test]
        fit, test = perm[:n_fit], perm[n_fit:]
        clf = CrossConformalClassifier(
            LinearDiscriminantAnalysis(),
            conformity_score=score,
            cv=5,
            method=method,
            confidence_level=LEVEL,
        ).fit(X[fit], y[fit])
        sets = clf.predict_set(X[test])
        covered.append(sets[np.arange(n_test), y[test]])
    return np.array(covered).mean()


@pytest.mark.parametrize("method", ["cv+", "mean"])
def test_cross_conformal_coverage(method):
    mean = _cross_coverage(method, n_splits=8)
    tol = _tolerance(LEVEL, 300, 700, 8)
    assert mean >= 1 - 2 * (1 - LEVEL) - tol  # the CV+ guarantee
    assert abs(mean - LEVEL) < 0.03  # and close to the level in practice


@pytest.mark.slow
@pytest.mark.parametrize("score", ["lac", APSScore(include_last_label="randomized")])
def test_cross_conformal_coverage_slow(score):
    mean = _cross_coverage("cv+", n_splits=200, score=score)
    tol = _tolerance(LEVEL, 300, 700, 200)
    assert mean >= 1 - 2 * (1 - LEVEL) - tol
    assert mean >= LEVEL - 0.02  # about 1 - alpha in practice


def _saturated(n=3000, k=4, accuracy=0.8, seed=0):
    """One-hot probabilities, wrong 20% of the time: true labels of zero mass."""
    rng = np.random.default_rng(seed)
    top = rng.integers(0, k, size=n)
    wrong = (top + rng.integers(1, k, size=n)) % k
    y = np.where(rng.uniform(size=n) < accuracy, top, wrong)
    return np.eye(k)[top], y


@pytest.mark.parametrize(
    "score",
    [
        APSScore(),
        APSScore(randomized=False, include_last_label=False),
        RAPSScore(lambda_reg=0.1, k_reg=1),
        TopKScore(),
    ],
    ids=repr,
)
def test_labels_of_zero_probability_keep_the_guarantee(score, passthrough):
    P, y = _saturated()
    covered, _ = _covered(P, y, score, passthrough, n_cal=1000, n_splits=5, seed=0)
    assert covered.mean() >= LEVEL - _tolerance(LEVEL, 1000, 2000, 5)
