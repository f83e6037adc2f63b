"""Parity with MAPIE 1.x (and crepes) on the same data and the same split.

The prediction sets of LAC, APS (each ``include_last_label``), RAPS (given
parameters) and top-k equal MAPIE's exactly, with MAPIE's own random draws
reproduced. The intentional differences are tested too:

- MAPIE computes the rank ``ceil((n + 1)(1 - alpha))`` from ``alpha = 1 -
  level`` in floating point, so for ``(n + 1) * level`` an integer it may
  take one rank more (:func:`test_mapie_rank_off_by_one_at_integer_targets`);
- MAPIE's randomised RAPS divides by a different quantity for sets larger
  than ``k_reg + 1`` (:func:`test_randomized_raps_differs_only_beyond_k_reg`);
- cross-conformal (``"cv+"`` / MAPIE ``"crossval"``) sets differ by MAPIE's
  ``alpha (n - 1)`` bound (:func:`test_cv_plus_against_mapie_crossval`).
"""

import functools
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, train_test_split

from skcalib.conformal import CrossConformalClassifier, SplitConformalClassifier
from skcalib.conformal.scores import APSScore, LACScore, RAPSScore, TopKScore

mapie = pytest.importorskip("mapie")
from mapie.classification import CrossConformalClassifier as MapieCCC  # noqa: E402
from mapie.classification import SplitConformalClassifier as MapieSCC  # noqa: E402

LEVELS = [0.8, 0.9, 0.95]
SEED = 7


@functools.cache
def _digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_fit, X_rest, y_fit, y_rest = train_test_split(X, y, test_size=0.6, random_state=0)
    model = LogisticRegression(max_iter=500).fit(X_fit, y_fit)
    X_cal, X_test, y_cal, y_test = train_test_split(
        X_rest, y_rest, test_size=0.4, random_state=1
    )
    return model, X_cal, y_cal, X_test


@functools.cache
def _blobs():
    X, y = make_classification(
        3000,
        12,
        n_informative=6,
        n_classes=5,
        n_clusters_per_class=1,
        class_sep=0.8,
        random_state=0,
    )
    model = LogisticRegression(max_iter=500).fit(X[:1000], y[:1000])
    return model, X[1000:2001], y[1000:2001], X[2001:]


DATASETS = {"digits": _digits, "make_classification": _blobs}


def _mapie_sets(model, X_cal, y_cal, X_test, score, rule=True):
    clf = MapieSCC(
        model,
        confidence_level=LEVELS,
        conformity_score=score,
        prefit=True,
        random_state=SEED,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.conformalize(X_cal, y_cal)
        return clf, clf.predict_set(
            X_test, conformity_score_params={"include_last_label": rule}
        )[1]


def _ours(model, X_cal, y_cal, score):
    return SplitConformalClassifier(
        FrozenEstimator(model),
        conformity_score=score,
        confidence_level=LEVELS,
        random_state=SEED,
    ).fit(X_cal, y_cal)


def _avoid_integer_targets(n):
    """The parity cases use calibration sizes where (n + 1) * level is no integer."""
    return all(abs((n + 1) * lev - round((n + 1) * lev)) > 1e-6 for lev in LEVELS)


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize(
    "ours, theirs, rule",
    [
        (LACScore(), "lac", True),
        (APSScore(include_last_label=True), "aps", True),
        (APSScore(include_last_label=False), "aps", False),
        (TopKScore(), "top_k", True),
    ],
    ids=["lac", "aps-True", "aps-False", "topk"],
)
def test_split_sets_equal_mapie(dataset, ours, theirs, rule):
    model, X_cal, y_cal, X_test = DATASETS[dataset]()
    assert _avoid_integer_targets(X_cal.shape[0])
    mapie_clf, expected = _mapie_sets(model, X_cal, y_cal, X_test, theirs, rule)
    clf = _ours(model, X_cal, y_cal, ours)
    # Same calibration scores (top-k: ours are 1-based ranks, MAPIE's 0-based).
    offset = 1.0 if theirs == "top_k" else 0.0
    np.testing.assert_array_equal(
        clf.conformity_scores_, mapie_clf.conformity_scores.ravel() + offset
    )
    np.testing.assert_array_equal(
        clf.quantiles_, mapie_clf._mapie_classifier.quantiles_ + offset
    )
    np.testing.assert_array_equal(clf.predict_set(X_test), expected)
    assert 0.5 < expected.sum(axis=1).mean() < expected.shape[1] - 1  # non-trivial


@pytest.mark.parametrize("dataset", DATASETS)
def test_randomized_aps_equals_mapie_with_the_same_draws(dataset):
    """MAPIE draws U = RandomState(seed).uniform at calibration and prediction."""
    model, X_cal, y_cal, X_test = DATASETS[dataset]()
    _, expected = _mapie_sets(model, X_cal, y_cal, X_test, "aps", "randomized")
    clf = _ours(model, X_cal, y_cal, APSScore(include_last_label="randomized"))
    proba = model.predict_proba(X_test)
    u = np.random.RandomState(SEED).uniform(size=X_test.shape[0])
    sets = clf.conformity_score_.prediction_sets(proba, clf.quantiles_, u=u)
    np.testing.assert_array_equal(sets, expected)


def _mapie_raps(dataset, rule):
    model, X_cal, y_cal, X_test = DATASETS[dataset]()
    mapie_clf, expected = _mapie_sets(model, X_cal, y_cal, X_test, "raps", rule)
    fitted = mapie_clf._mapie_classifier.conformity_score_function_
    # MAPIE's held-out tuning rows, reproduced: the rest calibrates. (MAPIE
    # 1.x resets its size_raps to None in fit, so StratifiedShuffleSplit holds
    # out its default 10%.)
    from sklearn.model_selection import StratifiedShuffleSplit

    keep, _ = next(
        StratifiedShuffleSplit(n_splits=1, test_size=None, random_state=SEED).split(
            X_cal, y_cal
        )
    )
    return model, X_cal[keep], y_cal[keep], X_test, fitted, expected


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("rule", [True, False])
def test_raps_sets_equal_mapie_with_its_parameters(dataset, rule):
    model, X_cal, y_cal, X_test, fitted, expected = _mapie_raps(dataset, rule)
    lambdas = np.atleast_1d(fitted.lambda_star)
    k_stars = np.atleast_1d(fitted.k_star)
    for level, (lam, k_reg) in enumerate(zip(lambdas, k_stars, strict=True)):
        score = RAPSScore(lambda_reg=float(lam), k_reg=int(k_reg))
        score.set_params(include_last_label=rule)
        clf = SplitConformalClassifier(
            FrozenEstimator(model),
            conformity_score=score,
            confidence_level=LEVELS[level],
            random_state=SEED,
        ).fit(X_cal, y_cal)
        assert float(clf.quantiles_) == fitted.quantiles_[level]
        np.testing.assert_array_equal(clf.predict_set(X_test), expected[:, :, level])


@pytest.mark.parametrize("dataset", DATASETS)
def test_randomized_raps_differs_only_beyond_k_reg(dataset):
    model, X_cal, y_cal, X_test, fitted, expected = _mapie_raps(dataset, "randomized")
    proba = model.predict_proba(X_test)
    u = np.random.RandomState(SEED).uniform(size=X_test.shape[0])
    for level in range(len(LEVELS)):
        k_reg = int(np.atleast_1d(fitted.k_star)[level])
        lam = float(np.atleast_1d(fitted.lambda_star)[level])
        score = RAPSScore(lambda_reg=lam, k_reg=k_reg, include_last_label="randomized")
        threshold = np.array([fitted.quantiles_[level]])
        sets = score.prediction_sets(proba, threshold, u=u)[:, :, 0]
        # MAPIE's deterministic set size before its random removal
        size = RAPSScore(lambda_reg=lam, k_reg=k_reg).prediction_sets(proba, threshold)
        differ = np.any(sets != expected[:, :, level], axis=1)
        assert not np.any(differ & (size[:, :, 0].sum(axis=1) <= k_reg + 1))


def test_mapie_rank_off_by_one_at_integer_targets():
    """n = 199, level 0.55: rank (n + 1) * 0.55 = 110; MAPIE takes the 111th.

    MAPIE turns the level into alpha = 1 - 0.55 = 0.44999999999999996 and back
    into 1 - alpha = 0.55000000000000004, so (n + 1) (1 - alpha) lands just
    above 110 and its ceiling is 111 (a more conservative threshold).
    """
    X, y = make_classification(1199, 8, n_classes=3, n_informative=5, random_state=0)
    model = LogisticRegression().fit(X[:1000], y[:1000])
    X_cal, y_cal = X[1000:], y[1000:]
    clf = SplitConformalClassifier(FrozenEstimator(model), confidence_level=0.55)
    clf.fit(X_cal, y_cal)
    mapie_clf = MapieSCC(model, confidence_level=0.55, prefit=True)
    mapie_clf.conformalize(X_cal, y_cal)
    mapie_clf.predict_set(X_cal[:5])
    scores = np.sort(clf.conformity_scores_)
    assert float(clf.quantiles_) == scores[109]
    assert mapie_clf._mapie_classifier.quantiles_[0] == scores[110]


@pytest.mark.parametrize("score", ["lac", "aps"])
def test_cross_mean_equals_mapie(score):
    X, y = make_classification(
        900, 10, n_informative=6, n_classes=4, n_clusters_per_class=1, random_state=0
    )
    X_test = make_classification(
        200, 10, n_informative=6, n_classes=4, n_clusters_per_class=1, random_state=1
    )[0]
    cv = KFold(5, shuffle=True, random_state=0)
    mapie_clf = MapieCCC(
        LinearDiscriminantAnalysis(),
        confidence_level=LEVELS,
        conformity_score=score,
        cv=cv,
        random_state=SEED,
    ).fit_conformalize(X, y)
    expected = mapie_clf.predict_set(X_test, agg_scores="mean")[1]
    clf = CrossConformalClassifier(
        LinearDiscriminantAnalysis(),
        conformity_score=score,
        confidence_level=LEVELS,
        cv=cv,
        method="mean",
        random_state=SEED,
    ).fit(X, y)
    np.testing.assert_array_equal(
        clf.conformity_scores_, mapie_clf.conformity_scores.ravel()
    )
    np.testing.assert_array_equal(clf.predict_set(X_test), expected)


def test_cv_plus_against_mapie_crossval():
    """Sets: ours keep c > alpha (n + 1) - 1, MAPIE's c >= alpha (n - 1)."""
    X, y = make_classification(
        400, 10, n_informative=6, n_classes=4, n_clusters_per_class=1, random_state=0
    )
    X_test = X[:150] + np.random.default_rng(0).normal(scale=0.3, size=(150, 10))
    cv = KFold(4, shuffle=True, random_state=0)
    mapie_clf = MapieCCC(
        LinearDiscriminantAnalysis(), confidence_level=LEVELS, cv=cv, random_state=SEED
    ).fit_conformalize(X, y)
    expected = mapie_clf.predict_set(X_test, agg_scores="crossval")[1]
    clf = CrossConformalClassifier(
        LinearDiscriminantAnalysis(), confidence_level=LEVELS, cv=cv
    ).fit(X, y)
    sets = clf.predict_set(X_test)
    # The count c(x, y) = #{i : s_i >= s_k(i)(x, y)}, from the p-values.
    n = X.shape[0]
    count = np.rint(clf.predict_pvalues(X_test) * (n + 1) - 1)
    for level, confidence in enumerate(LEVELS):
        alpha = 1 - confidence
        np.testing.assert_array_equal(sets[:, :, level], count > alpha * (n + 1) - 1)
        mapie_rule = count >= alpha * (n - 1) - 1e-8
        np.testing.assert_array_equal(expected[:, :, level], mapie_rule)
        between = (count > alpha * (n + 1) - 1) & (count < alpha * (n - 1))
        np.testing.assert_array_equal(
            sets[:, :, level] != expected[:, :, level], between
        )


def test_lac_pvalues_equal_crepes():
    crepes = pytest.importorskip("crepes")
    model, X_cal, y_cal, X_test = _blobs()
    groups_cal = (X_cal[:, 0] > 0).astype(int)
    groups_test = (X_test[:, 0] > 0).astype(int)
    clf = SplitConformalClassifier(FrozenEstimator(model)).fit(
        X_cal, y_cal, groups=groups_cal
    )
    p_cal = model.predict_proba(X_cal)
    hinge = 1 - p_cal[np.arange(len(y_cal)), y_cal]
    cc = crepes.ConformalClassifier().fit(hinge, bins=groups_cal)
    expected = cc.predict_p(
        1 - model.predict_proba(X_test[:200]), bins=groups_test[:200], smoothing=False
    )
    np.testing.assert_array_equal(
        clf.predict_pvalues(X_test[:200], groups=groups_test[:200]), expected
    )


def test_mapie_drops_labels_of_zero_probability():
    """Saturated (one-hot) probabilities, wrong 20% of the time, level 0.9.

    The threshold is the mass of the whole set (1.0): the guarantee needs the
    labels of zero probability, whose score equals it. MAPIE's
    ``include_last_label=True`` leaves them out and covers 80%; ours covers.
    """
    rng = np.random.default_rng(0)
    top = rng.integers(0, 4, size=2000)
    y = np.where(rng.uniform(size=2000) < 0.8, top, (top + 1) % 4)
    P = np.eye(4)[top]

    class OneHot(LogisticRegression):
        def predict_proba(self, X):
            return X

    model = OneHot().fit(P, y)
    _, expected = _mapie_sets(model, P[:1000], y[:1000], P[1000:], "aps", True)
    ours = _ours(model, P[:1000], y[:1000], APSScore()).predict_set(P[1000:])
    covered = ours[np.arange(1000), y[1000:]]
    covered_mapie = expected[np.arange(1000), y[1000:]]
    assert covered_mapie.mean(axis=0).max() < 0.85
    assert covered.mean(axis=0).min() >= 0.9
