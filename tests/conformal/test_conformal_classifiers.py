"""SplitConformalClassifier and CrossConformalClassifier: behaviour and API."""

import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    LeaveOneOut,
    ShuffleSplit,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skcalib.conformal import CrossConformalClassifier, SplitConformalClassifier
from skcalib.conformal.scores import APSScore, RAPSScore
from skcalib.metrics import (
    coverage_constrained_refit,
    coverage_score,
    get_scorer,
    mean_set_size,
)
from skcalib.utils._testing import array_api_combinations, skip_if_unavailable

# A closed-form model keeps these tests fast.
LDA = LinearDiscriminantAnalysis()

SCORES = [
    "lac",
    "aps",
    "raps",
    "topk",
    APSScore(include_last_label="randomized"),
    APSScore(randomized=False, include_last_label=False),
    RAPSScore(lambda_reg=0.1, k_reg=1, include_last_label="randomized"),
]
# Enough to cover every set construction with every kind of conditioning.
CONDITIONING_SCORES = ["lac", "raps", SCORES[4], SCORES[5], "topk"]


def _data(n=900, n_classes=4, seed=0):
    X, y = make_classification(
        n,
        8,
        n_informative=5,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        class_sep=0.8,
        random_state=seed,
    )
    return X, y


def _proba_data(n=600, k=5, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, k))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (np.cumsum(p, axis=1) < rng.uniform(size=(n, 1))).sum(axis=1)
    return p, np.minimum(y, k - 1)


# --------------------------------------------------------------------------- #
# basic contract
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("cls", [SplitConformalClassifier, CrossConformalClassifier])
def test_shapes_levels_and_labels(cls):
    X, y = _data()
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    clf = cls(LDA, confidence_level=0.9, random_state=0).fit(X[:600], labels[:600])
    np.testing.assert_array_equal(clf.classes_, ["ant", "bee", "cat", "dog"])
    sets = clf.predict_set(X[600:])
    assert sets.shape == (300, 4) and sets.dtype == bool
    assert set(clf.predict(X[600:])) <= set(clf.classes_)
    clf.set_params(confidence_level=[0.5, 0.8, 0.95])
    stacked = clf.predict_set(X[600:])
    assert stacked.shape == (300, 4, 3)
    np.testing.assert_array_equal(
        stacked[:, :, 1], clf.set_params(confidence_level=0.8).predict_set(X[600:])
    )
    assert np.all(stacked[:, :, 1:] | ~stacked[:, :, :-1])  # nested
    pvalues = clf.predict_pvalues(X[600:])
    assert pvalues.shape == (300, 4)
    assert np.all((pvalues > 0) & (pvalues <= 1))


@pytest.mark.parametrize("score", SCORES, ids=repr)
def test_changing_the_level_needs_no_refit(score):
    X, y = _data()
    clf = SplitConformalClassifier(LDA, conformity_score=score, random_state=0)
    clf.fit(X[:600], y[:600])
    estimator, scores = clf.estimator_, clf.conformity_scores_.copy()
    small = clf.set_params(confidence_level=0.6).predict_set(X[600:])
    large = clf.set_params(confidence_level=0.95).predict_set(X[600:])
    assert clf.estimator_ is estimator
    np.testing.assert_array_equal(clf.conformity_scores_, scores)
    assert np.all(large | ~small) and large.sum() > small.sum()


@pytest.mark.parametrize("cls", [SplitConformalClassifier, CrossConformalClassifier])
@pytest.mark.parametrize("score", CONDITIONING_SCORES, ids=repr)
@pytest.mark.parametrize("conditioning", ["marginal", "class", "groups", "both"])
def test_sets_are_pvalues_above_alpha(cls, score, conditioning):
    X, y = _data(n=700)
    groups = (X[:, 0] > 0).astype(int)
    kwargs = {} if conditioning in ("marginal", "class") else {"groups": groups[:500]}
    test_kwargs = {} if not kwargs else {"groups": groups[500:]}
    clf = cls(
        LDA,
        conformity_score=score,
        confidence_level=[0.7, 0.9],
        class_conditional=conditioning in ("class", "both"),
        random_state=0,
    )
    if cls is CrossConformalClassifier:
        clf.set_params(cv=3)
    clf.fit(X[:500], y[:500], **kwargs)
    sets = clf.predict_set(X[500:], **test_kwargs)
    pvalues = clf.predict_pvalues(X[500:], **test_kwargs)
    for level, confidence in enumerate([0.7, 0.9]):
        alpha = round(1 - confidence, 10)  # 0.1, not 0.09999999999999998
        np.testing.assert_array_equal(sets[:, :, level], pvalues > alpha)


def test_weighted_pvalues_match_sets(passthrough):
    p, y = _proba_data()
    w = np.random.default_rng(0).uniform(0.2, 3.0, size=600)
    for score in SCORES:
        clf = SplitConformalClassifier(
            FrozenEstimator(passthrough().fit(p, y)),
            conformity_score=score,
            confidence_level=[0.8, 0.9],
            random_state=0,
        ).fit(p, y, sample_weight=w)
        sets, pvalues = clf.predict_set(p), clf.predict_pvalues(p)
        for level, confidence in enumerate([0.8, 0.9]):
            alpha = round(1 - confidence, 10)  # 0.1, not 0.09999999999999998
            np.testing.assert_array_equal(sets[:, :, level], pvalues > alpha)


def test_quantiles_shapes():
    X, y = _data()
    g = (X[:, 1] > 0).astype(int)
    cases = [
        ({}, {}, ()),
        ({"class_conditional": True}, {}, (4,)),
        ({}, {"groups": g}, (2,)),
        ({"class_conditional": True}, {"groups": g}, (2, 4)),
    ]
    for params, fit_kwargs, shape in cases:
        clf = SplitConformalClassifier(LDA, random_state=0, **params)
        clf.fit(X, y, **fit_kwargs)
        assert clf.quantiles_.shape == shape
        clf.set_params(confidence_level=[0.8, 0.9]).fit(X, y, **fit_kwargs)
        assert clf.quantiles_.shape == (*shape, 2)


def test_frozen_estimator_calibrates_on_all_rows_and_is_not_refitted(passthrough):
    p, y = _proba_data()
    model = passthrough().fit(p, y)
    frozen = FrozenEstimator(model)
    clf = SplitConformalClassifier(frozen, conformity_score="aps", random_state=0)
    clf.fit(p, y)
    assert clf.estimator_ is frozen and clf.estimator_.estimator is model
    assert clf.conformity_scores_.shape == (600,)
    q = np.sort(clf.conformity_scores_)[int(np.ceil(601 * 0.9)) - 1]
    assert float(clf.quantiles_) == q


def test_frozen_estimator_rejects_unknown_labels(passthrough):
    p, y = _proba_data()
    clf = SplitConformalClassifier(FrozenEstimator(passthrough().fit(p, y)))
    with pytest.raises(ValueError, match="frozen estimator does not predict"):
        clf.fit(p, y + 10)


def test_calibration_size_and_splitters():
    X, y = _data()
    clf = SplitConformalClassifier(LDA, calibration_size=123, random_state=0).fit(X, y)
    assert clf.conformity_scores_.shape == (123,)
    clf.set_params(calibration_size=0.5).fit(X, y)
    assert clf.conformity_scores_.shape == (450,)
    groups = np.arange(900) // 10
    clf.set_params(calibration_size=GroupShuffleSplit(1, test_size=0.3, random_state=0))
    clf.fit(X, y, groups=groups)
    assert clf.conformity_scores_.shape[0] in range(250, 290)
    # groups given to a splitter that uses them are also Mondrian groups (those
    # of the calibration rows: GroupShuffleSplit keeps them out of training)
    assert clf.groups_.shape == (27,)
    clf.set_params(calibration_size=ShuffleSplit(1, test_size=100, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # groups are not sent to ShuffleSplit
        clf.fit(X, y, groups=groups % 2)
    assert clf.conformity_scores_.shape == (100,)


def test_random_state_makes_everything_reproducible():
    X, y = _data()
    score = RAPSScore(include_last_label="randomized")
    a = SplitConformalClassifier(LDA, conformity_score=score, random_state=3)
    a.fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.conformity_scores_, b.conformity_scores_)
    np.testing.assert_array_equal(a.predict_set(X), b.predict_set(X))
    np.testing.assert_array_equal(a.predict_set(X), a.predict_set(X))
    c = clone(a).set_params(random_state=4).fit(X, y)
    assert not np.array_equal(a.conformity_scores_, c.conformity_scores_)


# --------------------------------------------------------------------------- #
# small calibration sets
# --------------------------------------------------------------------------- #
def test_too_small_calibration_set_warns_and_gives_full_sets():
    X, y = _data()
    clf = SplitConformalClassifier(LDA, calibration_size=5, confidence_level=0.9)
    clf.fit(X, y)
    assert np.isinf(clf.quantiles_)
    with pytest.warns(UserWarning, match=r"5 calibration samples .*at least 9"):
        sets = clf.predict_set(X[:50])
    assert sets.all()
    clf.set_params(confidence_level=0.8)  # 5 >= 0.8 / 0.2: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not clf.predict_set(X[:50]).all()


def test_small_groups_and_classes_are_named_in_the_warning():
    X, y = _data()
    groups = np.where(np.arange(900) < 30, "rare", "common")
    clf = SplitConformalClassifier(LDA, confidence_level=0.95, random_state=0)
    clf.fit(X, y, groups=groups)
    test_groups = np.array(["rare"] * 10 + ["common"] * 10 + ["new"] * 5)
    with pytest.warns(UserWarning) as record:
        sets = clf.predict_set(X[:25], groups=test_groups)
    message = str(record[0].message)
    assert "group 'rare'" in message and "groups unseen at fit" in message
    assert "group 'common'" not in message
    assert sets[:10].all() and sets[20:].all() and not sets[10:20].all()
    clf = SplitConformalClassifier(
        LDA, class_conditional=True, calibration_size=40, confidence_level=0.95
    ).fit(X, y)
    with pytest.warns(UserWarning, match="class"):
        clf.predict_set(X[:5])


@pytest.mark.parametrize("method", ["cv+", "mean"])
def test_cross_conformal_small_data_warns(method):
    X, y = _data(n=12)
    clf = CrossConformalClassifier(LDA, cv=3, method=method, confidence_level=0.95)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence, few members per class
        clf.fit(X, y)
    with pytest.warns(UserWarning, match="12 calibration samples"):
        assert clf.predict_set(X).all()


# --------------------------------------------------------------------------- #
# weights and groups
# --------------------------------------------------------------------------- #
def test_integer_weights_equal_repeated_rows(passthrough):
    p, y = _proba_data()
    w = np.random.default_rng(0).integers(0, 4, size=600)
    model = FrozenEstimator(passthrough().fit(p, y))
    for score in ("lac", APSScore(randomized=False), "topk"):
        weighted = SplitConformalClassifier(model, conformity_score=score)
        weighted.set_params(confidence_level=[0.8, 0.9]).fit(p, y, sample_weight=w)
        repeated = clone(weighted).fit(np.repeat(p, w, axis=0), np.repeat(y, w))
        np.testing.assert_array_equal(weighted.quantiles_, repeated.quantiles_)
        np.testing.assert_array_equal(weighted.predict_set(p), repeated.predict_set(p))


class _RecordsWeights(ClassifierMixin, BaseEstimator):
    def fit(self, X, y, sample_weight=None, extra=None):
        self.classes_ = np.unique(y)
        self.sample_weight_, self.extra_ = sample_weight, extra
        self.model_ = LinearDiscriminantAnalysis().fit(X, y)
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def test_weights_and_fit_params_reach_the_estimator():
    X, y = _data()
    w = np.arange(900, dtype=float) + 1
    clf = SplitConformalClassifier(_RecordsWeights(), random_state=0)
    clf.fit(X, y, sample_weight=w, extra=np.arange(900))
    n_train = 900 - 270
    assert clf.estimator_.sample_weight_.shape == (n_train,)
    np.testing.assert_array_equal(
        clf.estimator_.sample_weight_, clf.estimator_.extra_ + 1
    )
    cross = CrossConformalClassifier(_RecordsWeights(), cv=3).fit(
        X, y, sample_weight=w, extra=np.arange(900)
    )
    for est in cross.estimators_:
        np.testing.assert_array_equal(est.sample_weight_, est.extra_ + 1)


def test_metadata_routing_of_groups_and_weights():
    X, y = _data()
    groups = (X[:, 0] > 0).astype(int)
    w = np.ones(900)
    with config_context(enable_metadata_routing=True):
        inner = _RecordsWeights().set_fit_request(sample_weight=True, extra=False)
        clf = SplitConformalClassifier(inner, random_state=0)
        clf.set_fit_request(groups=True, sample_weight=True)
        clf.set_score_request(sample_weight=False)
        search = GridSearchCV(clf, {"confidence_level": [0.8, 0.9]}, cv=GroupKFold(2))
        search.fit(X, y, groups=groups, sample_weight=w)
        best = search.best_estimator_
        np.testing.assert_array_equal(best.groups_, [0, 1])
        assert best.estimator_.sample_weight_ is not None
        # without the request the groups may not be passed
        with pytest.raises(ValueError, match="groups"):
            GridSearchCV(
                SplitConformalClassifier(LogisticRegression()),
                {"confidence_level": [0.9]},
                cv=KFold(2),
            ).fit(X, y, groups=groups)


class _RecordsGroups(SplitConformalClassifier):
    """Records the groups ``predict_set`` receives (the scorers must pass them)."""

    def predict_set(self, X, groups=None, test_weight=None):
        type(self).seen.append(None if groups is None else np.unique(groups))
        return super().predict_set(X, groups=groups, test_weight=test_weight)


def test_mondrian_grid_search_routes_groups_to_the_set_scorers():
    X, y = _data(n=1200)
    groups = np.arange(1200) % 3
    _RecordsGroups.seen = []
    with config_context(enable_metadata_routing=True):
        clf = _RecordsGroups(LDA, random_state=0).set_fit_request(groups=True)
        scoring = {
            "coverage": get_scorer("coverage_score").set_score_request(groups=True),
            "size": get_scorer("neg_mean_set_size").set_score_request(groups=True),
        }
        search = GridSearchCV(
            clf,
            {"conformity_score": ["lac", "aps"]},
            scoring=scoring,
            refit=coverage_constrained_refit(0.85),
            cv=KFold(3, shuffle=True, random_state=0),
        ).fit(X, y, groups=groups)
    # every scoring call got the test fold's groups (all three appear)
    assert len(_RecordsGroups.seen) >= 2 * 2 * 3
    for seen in _RecordsGroups.seen:
        np.testing.assert_array_equal(seen, [0, 1, 2])
    best = search.best_estimator_
    np.testing.assert_array_equal(best.groups_, [0, 1, 2])
    assert search.cv_results_["mean_test_coverage"][search.best_index_] >= 0.85
    # the same scorer scores a fitted Mondrian predictor directly
    scorer = get_scorer("coverage_score")
    direct = scorer(best, X, y, groups=groups)
    expected = coverage_score(y, best.predict_set(X, groups=groups))
    assert direct == pytest.approx(expected)


def test_groups_at_predict_time_must_match_fit():
    X, y = _data()
    clf = SplitConformalClassifier(LDA, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="fitted without groups"):
        clf.predict_set(X, groups=np.zeros(900))
    clf.fit(X, y, groups=np.zeros(900))
    with pytest.raises(ValueError, match="pass the groups"):
        clf.predict_set(X)
    with pytest.raises(ValueError, match=r"groups must have shape \(900,\)"):
        clf.predict_set(X, groups=np.zeros(3))
    with pytest.raises(ValueError, match=r"groups must have shape \(900,\)"):
        clf.fit(X, y, groups=np.zeros(3))


# --------------------------------------------------------------------------- #
# model selection
# --------------------------------------------------------------------------- #
def test_grid_search_smallest_sets_subject_to_coverage():
    X, y = _data(n=900, n_classes=6)
    search = GridSearchCV(
        SplitConformalClassifier(random_state=0, confidence_level=0.9),
        {
            "conformity_score": [
                "lac",
                "aps",
                RAPSScore(k_reg=1),
            ],
            "estimator": [
                LinearDiscriminantAnalysis(),
                make_pipeline(StandardScaler(), LogisticRegression(C=0.1)),
            ],
        },
        scoring={
            "coverage": get_scorer("coverage_score"),
            "size": get_scorer("neg_mean_set_size"),
        },
        refit=coverage_constrained_refit(0.85),
        cv=3,
    )
    search.fit(X, y)
    results = search.cv_results_
    best = search.best_index_
    assert results["mean_test_coverage"][best] >= 0.85
    ok = results["mean_test_coverage"] >= 0.85
    assert -results["mean_test_size"][best] == np.min(-results["mean_test_size"][ok])
    sets = search.best_estimator_.predict_set(X)
    assert sets.shape == (900, 6)


def test_grid_search_over_score_parameters():
    X, y = _data()
    search = GridSearchCV(
        SplitConformalClassifier(LDA, conformity_score=RAPSScore(), random_state=0),
        {"conformity_score__lambda_reg": [0.01, 0.5], "conformity_score__k_reg": [1]},
        scoring=get_scorer("neg_mean_set_size"),
        cv=2,
    ).fit(X, y)
    assert search.best_estimator_.conformity_score_.k_reg == 1
    assert clone(search.best_estimator_).conformity_score.lambda_reg in (0.01, 0.5)


def test_auto_raps_parameters_are_stored_not_written_back():
    X, y = _data()
    score = RAPSScore()
    clf = SplitConformalClassifier(LDA, conformity_score=score, random_state=0)
    clf.fit(X, y)
    assert score.lambda_reg == "auto" and clf.conformity_score is score
    assert isinstance(clf.conformity_score_.k_reg, int)
    # the tuning rows (20% of the calibration rows) do not calibrate
    assert clf.conformity_scores_.shape == (216,)


# --------------------------------------------------------------------------- #
# cross-conformal specifics
# --------------------------------------------------------------------------- #
def test_cross_conformal_folds_and_prediction():
    X, y = _data(n=300)
    clf = CrossConformalClassifier(LDA, cv=KFold(4, shuffle=True, random_state=0))
    clf.fit(X, y)
    assert len(clf.estimators_) == 4
    np.testing.assert_array_equal(np.bincount(clf.fold_indices_), [75] * 4)
    mean = np.mean([e.predict_proba(X) for e in clf.estimators_], axis=0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[mean.argmax(axis=1)])
    with parallel_backend("threading"):
        parallel = clone(clf).set_params(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(parallel.predict_set(X), clf.predict_set(X))


def test_cross_conformal_jackknife_and_partial_folds():
    X, y = _data(n=40)
    jack = CrossConformalClassifier(LDA, cv=LeaveOneOut(), confidence_level=0.8)
    jack.fit(X, y)
    assert jack.conformity_scores_.shape == (40,)
    assert jack.predict_set(X).shape == (40, 4)
    partial = CrossConformalClassifier(
        LDA, cv=ShuffleSplit(2, test_size=10, random_state=0)
    )
    with pytest.raises(ValueError, match="at most one test fold"):
        partial.fit(X, y)
    partial.set_params(
        cv=[(np.arange(20, 40), np.arange(20)), (np.arange(20), np.arange(20, 30))]
    )
    assert partial.fit(X, y).conformity_scores_.shape == (30,)


def test_cross_conformal_rejects_a_frozen_estimator(passthrough):
    p, y = _proba_data()
    with pytest.raises(ValueError, match="SplitConformalClassifier"):
        CrossConformalClassifier(FrozenEstimator(passthrough().fit(p, y))).fit(p, y)


def test_classes_missing_from_a_training_fold_get_zero_probability():
    X, y = _data(n=200)
    y = y.copy()
    y[:3] = 9  # a rare class, absent from some training folds
    clf = CrossConformalClassifier(LDA, cv=KFold(5), conformity_score="aps")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LDA: a class with one sample
        clf.fit(X, y)
    assert clf.classes_[-1] == 9
    assert clf.predict_set(X).shape == (200, 5)


# --------------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"confidence_level": 1.5}, InvalidParameterError, "confidence_level"),
        ({"confidence_level": [0.5, 1.0]}, ValueError, "confidence_level"),
        ({"conformity_score": "thr"}, InvalidParameterError, "conformity_score"),
        ({"calibration_size": 0.0}, InvalidParameterError, "calibration_size"),
        ({"conformity_score": RAPSScore(k_reg=-1)}, InvalidParameterError, "k_reg"),
        ({"estimator": StandardScaler()}, InvalidParameterError, "estimator"),
    ],
)
def test_invalid_parameters_are_named(params, error, match):
    X, y = _data(n=100)
    with pytest.raises(error, match=match):
        SplitConformalClassifier(**{"estimator": LDA, **params}).fit(X, y)


def test_fit_errors():
    X, y = _data(n=100)
    clf = SplitConformalClassifier()
    with pytest.raises(NotFittedError):
        clf.predict_set(X)
    with pytest.raises(ValueError, match="requires y"):
        clf.fit(X, None)
    with pytest.raises(ValueError, match="one class"):
        clf.fit(X, np.zeros(100))
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(X, y, sample_weight=-np.ones(100))
    with pytest.raises(ValueError, match="predict_proba"):
        SplitConformalClassifier(FrozenEstimator(_LogitModel().fit(X, y))).fit(X, y)


class _LogitModel(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):  # not probabilities
        return X[:, : len(self.classes_)] * 10


# --------------------------------------------------------------------------- #
# array API: a frozen model whose probabilities live on another device
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize(
    "score, conditional",
    [
        ("lac", False),
        (APSScore(include_last_label="randomized"), True),
        (RAPSScore(), False),
        ("topk", True),
    ],
    ids=repr,
)
def test_frozen_device_model_end_to_end(combination, score, conditional, passthrough):
    namespace, device_name, dtype_name = combination
    xp, device = skip_if_unavailable(namespace, device_name)
    p, y = _proba_data(n=300)
    p = p.astype(dtype_name)
    groups = np.arange(300) % 2
    params = dict(
        conformity_score=score,
        confidence_level=[0.8, 0.9],
        class_conditional=conditional,
        random_state=0,
    )
    ref = SplitConformalClassifier(FrozenEstimator(passthrough().fit(p, y)), **params)
    ref.fit(p, y, groups=groups)
    p_dev = xp.asarray(p, device=device)
    with config_context(array_api_dispatch=True):
        clf = SplitConformalClassifier(
            FrozenEstimator(passthrough().fit(p_dev, y)), **params
        ).fit(p_dev, y, groups=groups)
        sets = clf.predict_set(p_dev, groups=groups)
        pvalues = clf.predict_pvalues(p_dev, groups=groups)
    for out in (sets, pvalues, clf.conformity_scores_):
        assert type(out).__module__.split(".")[0] == namespace
    from skcalib.utils._array_api import to_numpy

    np.testing.assert_array_equal(to_numpy(sets), ref.predict_set(p, groups=groups))
    rtol = 1e-5 if dtype_name == "float32" else 1e-12
    np.testing.assert_allclose(
        to_numpy(pvalues), ref.predict_pvalues(p, groups=groups), rtol=rtol
    )
    assert to_numpy(clf.conformity_scores_).dtype == np.dtype(dtype_name)


def test_float32_probabilities_stay_float32(passthrough):
    p, y = _proba_data()
    p = p.astype(np.float32)
    clf = SplitConformalClassifier(
        FrozenEstimator(passthrough().fit(p, y)), conformity_score="aps"
    ).fit(p, y)
    assert clf.conformity_scores_.dtype == np.float32
    assert clf.predict_pvalues(p).dtype == np.float32
    assert coverage_score(y, clf.predict_set(p)) >= 0.85
    assert mean_set_size(clf.predict_set(p)) < 5


# --------------------------------------------------------------------------- #
# covariate shift: per-test-point weights
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("class_conditional", [False, True])
@pytest.mark.parametrize("with_groups", [False, True])
def test_test_weights_give_the_weighted_quantile_of_each_point(
    class_conditional, with_groups, passthrough
):
    from skcalib.utils._array_api import conformal_quantile

    p, y = _proba_data(n=400)
    rng = np.random.default_rng(0)
    w_cal = rng.uniform(0.2, 2.0, size=400)
    w_test = rng.uniform(0.0, 30.0, size=50)
    w_test[:3] = 1000.0  # too heavy: no quantile, full sets
    groups = np.arange(400) % 2
    fit_kwargs = {"groups": groups} if with_groups else {}
    clf = SplitConformalClassifier(
        FrozenEstimator(passthrough().fit(p, y)),
        conformity_score="lac",
        confidence_level=[0.8, 0.9],
        class_conditional=class_conditional,
    ).fit(p, y, sample_weight=w_cal, **fit_kwargs)
    test_kwargs = {"groups": groups[:50]} if with_groups else {}
    with pytest.warns(UserWarning, match="test_weight is too large"):
        sets = clf.predict_set(p[:50], test_weight=w_test, **test_kwargs)
    assert sets[:3].all()
    scores = clf.conformity_scores_
    for i in range(50):
        for j in range(5):
            keep = np.ones(400, dtype=bool)
            if with_groups:
                keep &= groups == groups[i]
            if class_conditional:
                keep &= y == j
            q = conformal_quantile(
                scores[keep],
                [0.8, 0.9],
                sample_weight=w_cal[keep],
                test_weight=w_test[i],
            )
            np.testing.assert_array_equal(sets[i, j], 1 - p[i, j] <= q)
    pvalues = clf.predict_pvalues(p[:50], test_weight=w_test, **test_kwargs)
    for level, confidence in enumerate([0.8, 0.9]):
        alpha = round(1 - confidence, 10)
        np.testing.assert_array_equal(sets[:, :, level], pvalues > alpha)


def test_unit_test_weights_change_nothing(passthrough):
    p, y = _proba_data()
    clf = SplitConformalClassifier(
        FrozenEstimator(passthrough().fit(p, y)), conformity_score="aps"
    ).fit(p, y, sample_weight=np.full(600, 1.0))
    np.testing.assert_array_equal(
        clf.predict_set(p, test_weight=np.ones(600)), clf.predict_set(p)
    )
    np.testing.assert_allclose(
        clf.predict_pvalues(p, test_weight=np.ones(600)), clf.predict_pvalues(p)
    )
    with pytest.raises(ValueError, match=r"test_weight must have shape \(600,\)"):
        clf.predict_set(p, test_weight=np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        clf.predict_set(p, test_weight=-np.ones(600))


def _tilted_sample(rng, n, shift=0.0):
    """Gaussian classes; tilting by w(x) = exp(shift * x0) moves x0 by ``shift``."""
    means = np.array([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5]])
    prior = np.exp(shift * means[:, 0])
    y = rng.choice(3, size=n, p=prior / prior.sum())
    X = rng.normal(size=(n, 2)) + means[y]
    X[:, 0] += shift
    return X, y


@pytest.mark.filterwarnings("ignore:For .* the weighted conformal quantile")
def test_covariate_shift_coverage_with_likelihood_ratios():
    """Test inputs from the training distribution tilted by w(x) = exp(2 x0)."""
    rng = np.random.default_rng(1)
    model = LinearDiscriminantAnalysis().fit(*_tilted_sample(rng, 2000))
    weighted, unweighted = [], []
    for _ in range(30):
        X_cal, y_cal = _tilted_sample(rng, 1000)
        X_test, y_test = _tilted_sample(rng, 1000, shift=2.0)
        clf = SplitConformalClassifier(FrozenEstimator(model), confidence_level=0.9)
        clf.fit(X_cal, y_cal, sample_weight=np.exp(2.0 * X_cal[:, 0]))
        sets = clf.predict_set(X_test, test_weight=np.exp(2.0 * X_test[:, 0]))
        weighted.append(sets[np.arange(1000), y_test].mean())
        plain = clone(clf).fit(X_cal, y_cal).predict_set(X_test)
        unweighted.append(plain[np.arange(1000), y_test].mean())
    assert abs(np.mean(weighted) - 0.9) < 0.015
    # without the likelihood ratios the shifted test set is over-covered
    assert np.mean(unweighted) > 0.93
