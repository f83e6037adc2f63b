"""Tests of TrustPipeline: row bookkeeping, stages, rejection, tuning, guarantees."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from skcalib.calibration import TemperatureScaling
from skcalib.datasets import make_ood_features
from skcalib.metrics import get_scorer
from skcalib.ood import MahalanobisDetector
from skcalib.pipeline import TrustPipeline

# Rows each spy saw in ``fit``, identified by their (unique) first feature.
SEEN = {"estimator": [], "calibrator": []}


class SpyNB(GaussianNB):
    """GaussianNB that records the first feature of the rows it is fitted on."""

    def fit(self, X, y, sample_weight=None):
        SEEN["estimator"].append(np.asarray(X)[:, 0].copy())
        return super().fit(X, y, sample_weight=sample_weight)


class SpyTemperature(TemperatureScaling):
    """TemperatureScaling that records the scores it is fitted on."""

    def fit(self, X, y, sample_weight=None):
        SEEN["calibrator"].append(np.asarray(X).copy())
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.fixture
def spies():
    for rows in SEEN.values():
        rows.clear()
    return SEEN


def _data(n_samples=600, n_classes=3, random_state=0, **kwargs):
    params = dict(n_features=6, n_informative=4, n_redundant=0, n_clusters_per_class=1)
    params.update(kwargs)
    return make_classification(
        n_samples, n_classes=n_classes, random_state=random_state, **params
    )


def _row_of(X, first_feature):
    """Rows of ``X`` whose first feature is in ``first_feature`` (sorted)."""
    rows = np.flatnonzero(np.isin(X[:, 0], first_feature))
    assert rows.shape[0] == first_feature.shape[0]
    return rows


def _parts(pipe):
    return [
        pipe.train_indices_,
        pipe.calibration_indices_,
        pipe.conformal_indices_,
        pipe.ood_indices_,
    ]


@pytest.mark.parametrize(
    "params, sizes",
    [
        ({}, [300, 120, 120, 60]),
        ({"calibrator": None}, [420, 0, 120, 60]),
        ({"ood_detector": None}, [360, 120, 120, 0]),
        (
            {"calibration_size": 50, "conformal_size": 0.5, "ood_size": 20},
            [230, 50, 300, 20],
        ),
    ],
)
def test_row_sets_partition_the_rows(params, sizes):
    X, y = _data()
    pipe = TrustPipeline(GaussianNB(), random_state=0, **params).fit(X, y)
    parts = _parts(pipe)
    assert [len(p) for p in parts] == sizes
    rows = np.concatenate(parts)
    np.testing.assert_array_equal(np.sort(rows), np.arange(len(y)))
    for part in parts:
        np.testing.assert_array_equal(part, np.unique(part))


def test_each_stage_sees_only_its_rows(spies):
    X, y = _data()
    assert np.unique(X[:, 0]).shape[0] == len(y)  # the first feature is an id
    pipe = TrustPipeline(SpyNB(), calibrator=SpyTemperature(), random_state=0).fit(X, y)
    # the classifier was fitted once, on the training rows only
    (trained,) = spies["estimator"]
    np.testing.assert_array_equal(_row_of(X, trained), pipe.train_indices_)
    # the calibrator was fitted once, on the classifier's log-probabilities
    # (GaussianNB has no decision_function) of the calibration rows
    (scores,) = spies["calibrator"]
    cal = X[pipe.calibration_indices_]
    np.testing.assert_allclose(
        scores, np.log(pipe.estimator_.predict_proba(cal) + 1e-12), rtol=1e-10
    )
    # conformity scores (LAC: 1 - calibrated probability of the true class)
    conf, y_conf = X[pipe.conformal_indices_], y[pipe.conformal_indices_]
    proba = pipe.predict_proba(conf)
    np.testing.assert_allclose(
        pipe.conformal_.conformity_scores_,
        1 - proba[np.arange(len(y_conf)), y_conf],
        rtol=1e-10,
    )
    # the OOD threshold comes from the OOD rows (MSP has nothing to learn)
    np.testing.assert_allclose(
        pipe.detector_.calibration_scores_,
        np.sort(pipe.score_samples(X[pipe.ood_indices_])),
        rtol=1e-10,
    )
    # and no row serves two stages
    parts = _parts(pipe)
    assert sum(len(p) for p in parts) == len(np.unique(np.concatenate(parts)))


@pytest.mark.parametrize(
    "calibrator, sizes", [("temperature", [0, 80, 280, 40]), (None, [0, 0, 360, 40])]
)
def test_frozen_estimator_is_not_refitted(spies, calibrator, sizes):
    X, y = _data()
    model = SpyNB().fit(X[:200], y[:200])
    spies["estimator"].clear()
    pipe = TrustPipeline(
        FrozenEstimator(model), calibrator=calibrator, random_state=0
    ).fit(X[200:], y[200:])
    assert spies["estimator"] == []
    assert pipe.estimator_.estimator is model
    # no training rows; the conformal part takes all the other rows
    assert [len(p) for p in _parts(pipe)] == sizes
    if calibrator is None:
        expected = model.predict_proba(X[:5])
    else:
        expected = pipe.calibrated_.calibrated_classifiers_[0].predict_proba(X[:5])
    np.testing.assert_allclose(pipe.predict_proba(X[:5]), expected)


def test_stratified_parts_keep_class_proportions():
    X, y = _data(n_samples=900, weights=[0.6, 0.3, 0.1])
    pipe = TrustPipeline(GaussianNB(), random_state=0).fit(X, y)
    share = np.bincount(y) / len(y)
    for part in _parts(pipe):
        counts = np.bincount(y[part], minlength=3)
        assert np.all(np.abs(counts - share * len(part)) <= 2), counts


def test_confidence_level_is_read_at_predict_time():
    X, y = _data(n_samples=1000)
    pipe = TrustPipeline(GaussianNB(), random_state=0).fit(X[:600], y[:600])
    low = pipe.set_params(confidence_level=0.5).predict_set(X[600:])
    high = pipe.set_params(confidence_level=0.95).predict_set(X[600:])
    both = pipe.set_params(confidence_level=[0.5, 0.95]).predict_set(X[600:])
    assert both.shape == (400, 3, 2)
    np.testing.assert_array_equal(both[..., 0], low)
    np.testing.assert_array_equal(both[..., 1], high)
    assert np.all(high | ~low)  # nested
    assert high.sum() > low.sum()
    # predict_set did not change the fitted conformal predictor
    assert pipe.conformal_.confidence_level == 0.9


def test_uncalibrated_pipeline_uses_the_classifier_probabilities():
    X, y = _data()
    pipe = TrustPipeline(GaussianNB(), calibrator=None, random_state=0).fit(X, y)
    assert pipe.calibrated_ is None
    np.testing.assert_array_equal(
        pipe.predict_proba(X), pipe.estimator_.predict_proba(X)
    )


def _ood_pipe(**params):
    X, y = make_ood_features(2000, 300, n_features=8, random_state=0)
    is_in = y != -1
    model = make_pipeline(StandardScaler(), LogisticRegression())
    pipe = TrustPipeline(
        model,
        ood_detector=MahalanobisDetector(),
        ood_size=300,
        random_state=0,
        **params,
    ).fit(X[is_in][:1500], y[is_in][:1500])
    return pipe, X[is_in][1500:], X[~is_in]


def test_ood_gate_rejects_with_reject_label():
    pipe, X_in, X_ood = _ood_pipe()
    assert pipe.predict_ood(X_ood).mean() > 0.95
    in_rejected = pipe.predict_ood(X_in)
    assert 0.01 < in_rejected.mean() < 0.15  # about 1 - tpr
    np.testing.assert_array_equal(
        pipe.predict_ood(X_in), pipe.score_samples(X_in) < pipe.offset_
    )
    # without reject_label, nothing is rejected in predict / predict_set
    labels, sets = pipe.predict(X_in), pipe.predict_set(X_in)
    assert set(np.unique(labels)) <= set(pipe.classes_)
    np.testing.assert_array_equal(sets, pipe.conformal_.predict_set(X_in))
    # with it, rejected inputs get the label and an empty set, others unchanged
    pipe.set_params(reject_label="ood")
    rejected_labels, rejected_sets = pipe.predict(X_in), pipe.predict_set(X_in)
    assert np.all(rejected_labels[in_rejected] == "ood")
    np.testing.assert_array_equal(
        rejected_labels[~in_rejected].astype(int), labels[~in_rejected]
    )
    assert not rejected_sets[in_rejected].any()
    np.testing.assert_array_equal(rejected_sets[~in_rejected], sets[~in_rejected])
    assert np.all(pipe.predict(X_ood[:50]) == "ood")


def test_reject_label_must_not_be_a_class():
    X, y = _data(n_samples=300)
    with pytest.raises(ValueError, match="reject_label=1 is one of the classes"):
        TrustPipeline(GaussianNB(), reject_label=1).fit(X, y)


def test_without_detector_there_is_no_gate():
    X, y = _data(n_samples=300)
    pipe = TrustPipeline(GaussianNB(), ood_detector=None, reject_label=-1)
    pipe.fit(X, y)
    assert pipe.detector_ is None
    assert not hasattr(pipe, "score_samples")
    assert not hasattr(pipe, "predict_ood")
    assert set(np.unique(pipe.predict(X))) <= set(pipe.classes_)


def test_no_probabilities_without_a_calibrator_is_a_clear_error():
    X, y = _data(n_samples=300)
    with pytest.raises(ValueError, match="calibrator=None needs an estimator with"):
        TrustPipeline(LinearSVC(), calibrator=None).fit(X, y)
    # With a calibrator, its decision_function becomes probabilities.
    model = TrustPipeline(LinearSVC(), ood_detector=None, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "params, part",
    [
        ({"calibration_size": 0.5, "conformal_size": 0.4, "ood_size": 0.1}, "training"),
        ({"calibration_size": 200, "ood_size": 100}, "conformal"),
    ],
)
def test_sizes_leaving_no_rows_raise(params, part):
    X, y = _data(n_samples=300)
    estimator = GaussianNB()
    if part == "conformal":
        estimator = FrozenEstimator(GaussianNB().fit(X, y))
    with pytest.raises(ValueError, match=f"leaving no {part} rows"):
        TrustPipeline(estimator, **params).fit(X, y)


def test_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _data(n_samples=300)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    pipe = TrustPipeline(GaussianNB(), random_state=0).fit(df, y)
    np.testing.assert_array_equal(pipe.feature_names_in_, df.columns)
    assert pipe.n_features_in_ == X.shape[1]
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        sets = pipe.predict_set(df.values)
    np.testing.assert_array_equal(pipe.predict_set(df), sets)
    with pytest.raises(ValueError, match="feature names"):
        pipe.predict(df[df.columns[::-1]])


def test_grid_search_with_skcalib_scorer():
    X, y = _data(n_samples=600, n_features=20, n_redundant=12)
    search = GridSearchCV(
        TrustPipeline(GaussianNB(), ood_detector=None, random_state=0),
        {"calibrator": [None, "temperature"], "estimator__var_smoothing": [1e-9]},
        scoring=get_scorer("neg_negative_log_likelihood"),
        cv=3,
    ).fit(X, y)
    # GaussianNB is overconfident on redundant features: calibration wins
    assert search.best_params_["calibrator"] == "temperature"
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_grid_search_default_scoring_and_predict_time_parameters():
    X, y = _data(n_samples=600)
    search = GridSearchCV(
        TrustPipeline(LogisticRegression(), random_state=0),
        {
            "estimator__C": [0.01, 1.0],
            "conformity_score": ["lac", "aps"],
            "confidence_level": [0.8, 0.95],
        },
        cv=3,
    ).fit(X, y)
    results = search.cv_results_
    # accuracy depends on C only, not on the conformal parameters
    for C in (0.01, 1.0):
        scores = results["mean_test_score"][results["param_estimator__C"] == C]
        assert scores.shape == (4,)
        np.testing.assert_array_equal(scores, scores[0])
    assert search.best_params_["estimator__C"] == 1.0


def _coverage_over_splits(n_splits, level=0.9):
    """Mean coverage of predict_set over random fit/test splits, and its bound."""
    X, y = _data(n_samples=20000, random_state=1)
    rng = np.random.default_rng(0)
    n_fit, n_test = 500, 500
    covered = []
    for split in range(n_splits):
        perm = rng.permutation(len(y))
        fit, test = perm[:n_fit], perm[n_fit : n_fit + n_test]
        pipe = TrustPipeline(
            GaussianNB(), confidence_level=level, random_state=split
        ).fit(X[fit], y[fit])
        sets = pipe.predict_set(X[test])
        covered.append(sets[np.arange(n_test), y[test]].mean())
    n_conf = len(pipe.conformal_indices_)
    # The coverage of one split is the mean of n_test Bernoulli draws whose
    # probability is Beta distributed around the level (given the conformal
    # rows): variance level (1 - level) (1 / n_test + 1 / (n_conf + 2)).
    var = level * (1 - level) * (1 / n_test + 1 / (n_conf + 2))
    tol = 3 * np.sqrt(var / n_splits)  # three standard deviations of the mean
    # the exact conformal coverage lies in [level, level + 1 / (n_conf + 1)]
    return np.mean(covered), level - tol, level + 1 / (n_conf + 1) + tol


def test_coverage_over_repeated_splits():
    coverage, low, high = _coverage_over_splits(20)
    assert low <= coverage <= high, (coverage, low, high)


@pytest.mark.slow
def test_coverage_over_many_repeated_splits():
    coverage, low, high = _coverage_over_splits(200)
    assert low <= coverage <= high, (coverage, low, high)


def test_calibration_improves_nll_of_a_miscalibrated_model():
    X, y = _data(n_samples=3000, n_features=20, n_redundant=12, random_state=3)
    pipe = TrustPipeline(GaussianNB(), ood_detector=None, random_state=0)
    pipe.fit(X[:2000], y[:2000])
    calibrated = log_loss(y[2000:], pipe.predict_proba(X[2000:]))
    raw = log_loss(y[2000:], pipe.estimator_.predict_proba(X[2000:]))
    # naive Bayes double counts the redundant features: temperature scaling
    # must cut the test log-loss by a quarter at least
    assert calibrated < 0.75 * raw, (calibrated, raw)
