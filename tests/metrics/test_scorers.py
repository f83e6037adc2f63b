import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, OutlierMixin, RegressorMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from skcalib.metrics import (
    aupr_in,
    aupr_out,
    balance_score,
    coverage_constrained_refit,
    coverage_score,
    detection_error,
    expected_calibration_error,
    fpr_at_tpr,
    get_scorer,
    get_scorer_names,
    interval_coverage_score,
    make_scorer,
    mean_set_size,
    negative_log_likelihood,
    ood_auroc,
)

SKCALIB_SCORERS = [
    "neg_expected_calibration_error",
    "neg_adaptive_calibration_error",
    "neg_maximum_calibration_error",
    "neg_smooth_ece",
    "neg_brier_score",
    "neg_negative_log_likelihood",
    "neg_balance_score",
    "coverage_score",
    "neg_mean_set_size",
    "interval_coverage_score",
    "neg_mean_interval_width",
    "ood_auroc",
    "neg_fpr_at_tpr",
    "aupr_in",
    "aupr_out",
    "neg_detection_error",
]


# --------------------------------------------------------------------------- #
# tiny estimators with skcalib's response methods
# --------------------------------------------------------------------------- #
class ThresholdSetClassifier(ClassifierMixin, BaseEstimator):
    """Sets = classes whose predicted probability is at least ``threshold``."""

    def __init__(self, threshold=0.2):
        self.threshold = threshold

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_set(self, X):
        return self.model_.predict_proba(X) >= self.threshold


class MeanIntervalRegressor(RegressorMixin, BaseEstimator):
    """Interval ``mean(y) +- width`` for every sample."""

    def __init__(self, width=1.0):
        self.width = width

    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)

    def predict_interval(self, X):
        center = self.predict(X)
        return np.stack([center - self.width, center + self.width], axis=1)


class NormDetector(OutlierMixin, BaseEstimator):
    """Score = minus the distance to the mean of the ID training rows."""

    def fit(self, X, y=None):
        X = np.asarray(X)
        self.center_ = np.mean(X if y is None else X[np.asarray(y) == 1], axis=0)
        return self

    def score_samples(self, X):
        return -np.linalg.norm(X - self.center_, axis=1)

    def predict(self, X):
        return np.where(self.score_samples(X) > -2.0, 1, -1)


def _ood_data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X_in = rng.normal(size=(n // 2, 2))
    X_out = rng.normal(loc=2.0, size=(n // 2, 2))
    X = np.vstack([X_in, X_out])
    y = np.r_[np.ones(n // 2, int), np.zeros(n // 2, int)]
    perm = rng.permutation(n)
    return X[perm], y[perm]


# --------------------------------------------------------------------------- #
# registry
# --------------------------------------------------------------------------- #
def test_registry_names():
    names = get_scorer_names()
    assert names == sorted(names)
    for name in SKCALIB_SCORERS:
        assert name in names
        assert callable(get_scorer(name))
    assert "accuracy" in names and "roc_auc" in names


def test_fallback_and_errors():
    from sklearn.metrics import get_scorer as sk_get_scorer

    assert repr(get_scorer("accuracy")) == repr(sk_get_scorer("accuracy"))
    scorer = get_scorer("neg_brier_score")
    assert get_scorer(scorer) is scorer
    assert get_scorer(None) is None
    with pytest.raises(ValueError, match="get_scorer_names"):
        get_scorer("not_a_scorer")


def test_get_scorer_returns_fresh_copies():
    with config_context(enable_metadata_routing=True):
        a = get_scorer("neg_brier_score").set_score_request(sample_weight=True)
        b = get_scorer("neg_brier_score")
        assert a.get_metadata_routing().score.requests["sample_weight"] is True
        assert b.get_metadata_routing().score.requests["sample_weight"] is None


# --------------------------------------------------------------------------- #
# values
# --------------------------------------------------------------------------- #
def test_calibration_scorers_values():
    X, y = make_classification(
        n_samples=200, n_classes=3, n_informative=4, random_state=0
    )
    labels = np.array(["a", "b", "c"])[y]
    clf = LogisticRegression().fit(X, labels)
    proba = clf.predict_proba(X)
    assert get_scorer("neg_expected_calibration_error")(clf, X, labels) == (
        pytest.approx(-expected_calibration_error(labels, proba, labels=clf.classes_))
    )
    assert get_scorer("neg_negative_log_likelihood")(clf, X, labels) == (
        pytest.approx(-negative_log_likelihood(labels, proba, labels=clf.classes_))
    )
    assert get_scorer("neg_balance_score")(clf, X, labels) == pytest.approx(
        -abs(balance_score(labels, proba, labels=clf.classes_))
    )
    w = np.random.default_rng(0).uniform(0.5, 2, size=200)
    assert get_scorer("neg_brier_score")(clf, X, labels, sample_weight=w) != (
        get_scorer("neg_brier_score")(clf, X, labels)
    )


def test_binary_string_labels_full_proba_matrix():
    X, y = make_classification(n_samples=100, random_state=0)
    labels = np.array(["no", "yes"])[y]
    clf = LogisticRegression().fit(X, labels)
    for name in SKCALIB_SCORERS[:7]:
        value = get_scorer(name)(clf, X, labels)
        assert np.isfinite(value) and value <= 0


def test_conformal_and_ood_scorer_values():
    X, y = make_classification(
        n_samples=150, n_classes=3, n_informative=4, random_state=1
    )
    est = ThresholdSetClassifier().fit(X, y)
    sets = est.predict_set(X)
    assert get_scorer("coverage_score")(est, X, y) == coverage_score(y, sets)
    assert get_scorer("neg_mean_set_size")(est, X, y) == -mean_set_size(sets)
    reg = MeanIntervalRegressor(width=1.0).fit(X, X[:, 0])
    target = X[:, 0]
    assert get_scorer("interval_coverage_score")(reg, X, target) == (
        interval_coverage_score(target, reg.predict_interval(X))
    )
    assert get_scorer("neg_mean_interval_width")(reg, X, target) == -2.0
    Xo, yo = _ood_data()
    det = NormDetector().fit(Xo[yo == 1])
    s = det.score_samples(Xo)
    assert get_scorer("ood_auroc")(det, Xo, yo) == ood_auroc(yo, s)
    assert get_scorer("neg_fpr_at_tpr")(det, Xo, yo) == -fpr_at_tpr(yo, s)
    assert get_scorer("aupr_in")(det, Xo, yo) == aupr_in(yo, s)
    assert get_scorer("aupr_out")(det, Xo, yo) == aupr_out(yo, s)
    assert get_scorer("neg_detection_error")(det, Xo, yo) == -detection_error(yo, s)
    # scikit-learn's outlier convention for y works as well
    assert get_scorer("ood_auroc")(det, Xo, 2 * yo - 1) == ood_auroc(yo, s)


def test_missing_response_method():
    X, y = make_classification(n_samples=50, random_state=0)
    clf = LogisticRegression().fit(X, y)
    with pytest.raises(AttributeError, match="predict_set"):
        get_scorer("coverage_score")(clf, X, y)


def test_make_scorer():
    scorer = make_scorer(
        mean_set_size, response_method="predict_set", greater_is_better=False
    )
    X, y = make_classification(
        n_samples=80, n_classes=3, n_informative=4, random_state=2
    )
    est = ThresholdSetClassifier().fit(X, y)
    assert scorer(est, X, y) == -mean_set_size(est.predict_set(X))
    # a list of response methods: the first available one is used
    scorer = make_scorer(ood_auroc, response_method=["missing", "score_samples"])
    Xo, yo = _ood_data()
    det = NormDetector().fit(Xo)
    assert scorer(det, Xo, yo) == ood_auroc(yo, det.score_samples(Xo))
    # kwargs are forwarded
    scorer = make_scorer(
        fpr_at_tpr, response_method="score_samples", greater_is_better=False, tpr=0.5
    )
    assert scorer(det, Xo, yo) == -fpr_at_tpr(yo, det.score_samples(Xo), tpr=0.5)
    assert "tpr=0.5" in repr(scorer)
    with pytest.raises(ValueError, match="response_method"):
        make_scorer(ood_auroc, response_method=[])
    with pytest.raises(ValueError, match="callable"):
        make_scorer("ood_auroc")


# --------------------------------------------------------------------------- #
# model selection
# --------------------------------------------------------------------------- #
def test_grid_search_calibration_scorer():
    X, y = make_classification(
        n_samples=300, n_classes=3, n_informative=4, random_state=0
    )
    search = GridSearchCV(
        LogisticRegression(),
        {"C": [1e-3, 0.1, 10.0]},
        scoring=get_scorer("neg_expected_calibration_error"),
        cv=3,
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)
    assert search.best_params_["C"] in (1e-3, 0.1, 10.0)
    assert search.best_score_ == scores.max()
    # by name through a dict of scorers, with refit on one of them
    search = GridSearchCV(
        LogisticRegression(),
        {"C": [0.1, 1.0]},
        scoring={
            "ece": get_scorer("neg_expected_calibration_error"),
            "nll": get_scorer("neg_negative_log_likelihood"),
            "acc": get_scorer("accuracy"),
        },
        refit="nll",
        cv=3,
    ).fit(X, y)
    assert {"mean_test_ece", "mean_test_nll", "mean_test_acc"} <= set(
        search.cv_results_
    )


def test_grid_search_forwards_sample_weight():
    X, y = make_classification(n_samples=120, random_state=0)
    w = np.random.default_rng(0).uniform(0.1, 3.0, size=120)
    cv = KFold(3)
    # Metadata routing is the way every supported scikit-learn (>= 1.6) sends
    # sample_weight to a scorer.
    with config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            LogisticRegression().set_fit_request(sample_weight=True),
            {"C": [1.0]},
            scoring=get_scorer("neg_brier_score").set_score_request(sample_weight=True),
            cv=cv,
        ).fit(X, y, sample_weight=w)
    expected = []
    for train, test in cv.split(X):
        clf = LogisticRegression().fit(X[train], y[train], sample_weight=w[train])
        expected.append(
            get_scorer("neg_brier_score")(clf, X[test], y[test], sample_weight=w[test])
        )
    assert search.cv_results_["mean_test_score"][0] == pytest.approx(np.mean(expected))


def test_cross_validate_conformal_and_ood_scorers():
    X, y = make_classification(
        n_samples=150, n_classes=3, n_informative=4, random_state=3
    )
    res = cross_validate(
        ThresholdSetClassifier(),
        X,
        y,
        cv=3,
        scoring={
            "cov": get_scorer("coverage_score"),
            "size": get_scorer("neg_mean_set_size"),
        },
    )
    assert np.all((res["test_cov"] >= 0) & (res["test_cov"] <= 1))
    assert np.all(res["test_size"] <= 0)
    target = X[:, 0] + np.random.default_rng(0).normal(scale=0.1, size=150)
    res = cross_validate(
        MeanIntervalRegressor(width=1.5),
        X,
        target,
        cv=3,
        scoring={
            "cov": get_scorer("interval_coverage_score"),
            "width": get_scorer("neg_mean_interval_width"),
        },
    )
    np.testing.assert_allclose(res["test_width"], -3.0)
    Xo, yo = _ood_data(1, n=240)
    scoring = {
        name: get_scorer(name)
        for name in (
            "ood_auroc",
            "neg_fpr_at_tpr",
            "aupr_in",
            "aupr_out",
            "neg_detection_error",
        )
    }
    res = cross_validate(
        NormDetector(),
        Xo,
        yo,
        cv=KFold(3, shuffle=True, random_state=0),
        scoring=scoring,
    )
    assert np.all(res["test_ood_auroc"] > 0.8)
    assert np.all(res["test_neg_detection_error"] >= -0.5)
    # single scorer
    res = cross_validate(NormDetector(), Xo, yo, cv=3, scoring=get_scorer("aupr_out"))
    assert res["test_score"].shape == (3,)


def test_cross_validate_with_metadata_routing():
    X, y = make_classification(n_samples=120, random_state=0)
    w = np.random.default_rng(1).uniform(0.1, 3.0, size=120)
    cv = KFold(3)
    with config_context(enable_metadata_routing=True):
        scorer = get_scorer("neg_brier_score").set_score_request(sample_weight=True)
        est = LogisticRegression().set_fit_request(sample_weight=False)
        res = cross_validate(
            est, X, y, cv=cv, scoring=scorer, params={"sample_weight": w}
        )
        unweighted = cross_validate(
            est, X, y, cv=cv, scoring=get_scorer("neg_brier_score")
        )
    expected = []
    for train, test in cv.split(X):
        clf = LogisticRegression().fit(X[train], y[train])
        expected.append(
            get_scorer("neg_brier_score")(clf, X[test], y[test], sample_weight=w[test])
        )
    np.testing.assert_allclose(res["test_score"], expected)
    assert not np.allclose(res["test_score"], unweighted["test_score"])
    with pytest.raises(RuntimeError, match="metadata routing"):
        get_scorer("neg_brier_score").set_score_request(sample_weight=True)


def test_coverage_constrained_refit_picks_smallest_valid():
    refit = coverage_constrained_refit(0.9)
    results = {
        "mean_test_coverage": np.array([0.95, 0.89, 0.91, 0.93, 0.91]),
        "mean_test_size": -np.array([3.0, 1.0, 2.0, 2.0, 2.0]),
    }
    # candidate 1 is smallest but invalid; 2, 3, 4 tie on size -> higher coverage
    assert refit(results) == 3
    results["mean_test_coverage"][3] = 0.91
    assert refit(results) == 2  # full tie -> first candidate
    custom = coverage_constrained_refit(0.5, coverage="cov", size="width")
    assert custom({"mean_test_cov": [0.6, 0.7], "mean_test_width": [-2, -1]}) == 1


def test_coverage_constrained_refit_errors():
    with pytest.raises(ValueError, match="min_coverage must be in"):
        coverage_constrained_refit(1.5)
    refit = coverage_constrained_refit(0.99)
    with pytest.raises(ValueError, match="best is 0.9500"):
        refit({"mean_test_coverage": [0.95], "mean_test_size": [-1.0]})
    with pytest.raises(ValueError, match="needs scoring keys 'coverage' and 'size'"):
        refit({"mean_test_score": [0.95]})
