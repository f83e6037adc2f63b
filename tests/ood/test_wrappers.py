"""ClassifierOODDetector and OODRejectClassifier."""

import math

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcalib.datasets import make_ood_features
from skcalib.metrics import ood_auroc
from skcalib.ood import (
    ClassifierOODDetector,
    EnergyDetector,
    GENDetector,
    KNNDetector,
    MahalanobisDetector,
    MSPDetector,
    OODRejectClassifier,
)


def _data(n=2000, shift="far", n_classes=3, random_state=0):
    return make_ood_features(
        n,
        300,
        n_features=6,
        n_classes=n_classes,
        shift=shift,
        random_state=random_state,
    )


def test_frozen_classifier_calibrates_on_all_data():
    X, y = _data()
    is_in = y != -1
    X_train, X_cal, y_train, y_cal = train_test_split(
        X[is_in], y[is_in], test_size=0.5, random_state=0
    )
    clf = LogisticRegression().fit(X_train, y_train)
    wrapper = ClassifierOODDetector(FrozenEstimator(clf), method="energy")
    wrapper.fit(X_cal, y_cal)
    direct = EnergyDetector().fit(clf.decision_function(X_cal))
    assert wrapper.estimator_.estimator is clf
    assert wrapper.offset_ == direct.offset_
    np.testing.assert_array_equal(
        wrapper.score_samples(X), direct.score_samples(clf.decision_function(X))
    )
    np.testing.assert_array_equal(
        wrapper.score_pvalues(X), direct.score_pvalues(clf.decision_function(X))
    )
    np.testing.assert_array_equal(wrapper.classes_, [0, 1, 2])
    assert wrapper.n_features_in_ == 6


def test_unfrozen_classifier_is_fitted_on_the_training_part():
    X, y = _data()
    is_in = y != -1
    wrapper = ClassifierOODDetector(
        LogisticRegression(), method=MSPDetector(temperature=2.0), random_state=3
    ).fit(X[is_in], y[is_in])
    X_train, X_cal, y_train, _ = train_test_split(
        X[is_in], y[is_in], test_size=0.2, random_state=3
    )
    reference = LogisticRegression().fit(X_train, y_train)
    np.testing.assert_allclose(wrapper.estimator_.coef_, reference.coef_)
    detector = MSPDetector(temperature=2.0).fit(reference.decision_function(X_cal))
    assert wrapper.calibration_scores_.shape == (math.ceil(0.2 * is_in.sum()),)
    assert wrapper.offset_ == pytest.approx(detector.offset_, rel=1e-12)
    assert wrapper.detector_.temperature == 2.0


def test_frozen_estimator_with_a_learned_detector_splits_for_the_detector():
    X, y = _data()
    is_in = y != -1
    scaler = StandardScaler().fit(X[is_in])
    wrapper = ClassifierOODDetector(
        FrozenEstimator(scaler), method=MahalanobisDetector(), random_state=0
    ).fit(X[is_in], y[is_in])
    assert wrapper.calibration_scores_.shape == (math.ceil(0.2 * is_in.sum()),)
    assert ood_auroc(is_in, wrapper.score_samples(X)) > 0.99


def test_binary_decision_function_becomes_two_logits():
    X, y = _data(n_classes=2)
    is_in = y != -1
    clf = LogisticRegression().fit(X[is_in], y[is_in])
    wrapper = ClassifierOODDetector(FrozenEstimator(clf), method="energy")
    wrapper.fit(X[is_in], y[is_in])
    d = clf.decision_function(X)
    np.testing.assert_allclose(
        wrapper.score_samples(X), np.logaddexp(0, d), rtol=1e-7, atol=1e-12
    )


def test_predict_proba_only_classifier():
    X, y = _data()
    is_in = y != -1
    nb = GaussianNB().fit(X[is_in], y[is_in])
    msp = ClassifierOODDetector(FrozenEstimator(nb), method="msp").fit(X[is_in])
    np.testing.assert_allclose(
        msp.score_samples(X), nb.predict_proba(X).max(axis=1), rtol=1e-10
    )
    gen = ClassifierOODDetector(FrozenEstimator(nb), method=GENDetector())
    gen.fit(X[is_in])
    with pytest.raises(ValueError, match="has no decision_function"):
        ClassifierOODDetector(FrozenEstimator(nb), method="energy").fit(X[is_in])


def test_feature_detector_reads_the_pipeline_features():
    X, y = _data(shift="near")
    is_in = y != -1
    model = make_pipeline(StandardScaler(), LogisticRegression())
    wrapper = ClassifierOODDetector(
        model, method=KNNDetector(n_neighbors=5), random_state=0
    ).fit(X[is_in], y[is_in])
    features = wrapper.estimator_[:-1].transform(X)
    np.testing.assert_allclose(
        wrapper.score_samples(X), wrapper.detector_.score_samples(features)
    )
    with pytest.raises(ValueError, match="must be a transformer"):
        ClassifierOODDetector(LogisticRegression(), method=KNNDetector()).fit(
            X[is_in], y[is_in]
        )


@pytest.mark.parametrize(
    "method, match",
    [("softmax", "method"), (IsolationForest(), "skcalib OOD detector")],
)
def test_invalid_method(method, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        ClassifierOODDetector(method=method).fit(X[y != -1], y[y != -1])


def test_tpr_on_fresh_data_with_a_fitted_classifier():
    X, y = make_ood_features(40_000, 0, n_features=6, random_state=1)
    tprs = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(X))
        fit, test = perm[:1000], perm[1000:6000]
        wrapper = ClassifierOODDetector(
            LogisticRegression(), method="max_logit", random_state=seed
        ).fit(X[fit], y[fit])
        tprs.append(np.mean(wrapper.predict(X[test]) == 1))
    tprs = np.array(tprs)
    n_cal = 200
    expected = 1 - math.floor((n_cal + 1) * 0.05) / (n_cal + 1)
    tolerance = 4 * tprs.std(ddof=1) / math.sqrt(len(tprs))
    assert abs(tprs.mean() - expected) <= tolerance, (tprs.mean(), expected)


def _reject_model():
    return OODRejectClassifier(
        make_pipeline(StandardScaler(), LogisticRegression()),
        method=MahalanobisDetector(),
        random_state=0,
    )


def test_reject_classifier_predicts_labels_and_rejects_ood():
    X, y = _data(n=4000)
    is_in = y != -1
    X_fit, X_test, y_fit, y_test = train_test_split(
        X[is_in], y[is_in], test_size=0.5, random_state=0
    )
    clf = _reject_model().fit(X_fit, y_fit)
    pred = clf.predict(X_test)
    accepted = pred != -1
    assert abs(accepted.mean() - 0.95) < 0.03
    assert np.mean(pred[accepted] == y_test[accepted]) > 0.9
    np.testing.assert_array_equal(
        pred[accepted], clf.detector_.estimator_.predict(X_test[accepted])
    )
    assert np.all(clf.predict(X[~is_in]) == -1)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    np.testing.assert_array_equal(clf.score_samples(X), clf.detector_.score_samples(X))


def test_reject_label_types():
    X, y = _data()
    is_in = y != -1
    names = np.array(["a", "b", "c"])[y[is_in]]
    clf = _reject_model().set_params(reject_label="unknown").fit(X[is_in], names)
    pred = clf.predict(X)
    assert pred.dtype == object
    assert set(pred[~is_in]) == {"unknown"}
    assert set(pred[is_in]) <= {"a", "b", "c", "unknown"}
    with pytest.raises(ValueError, match="reject_label=0 is one of the classes"):
        _reject_model().set_params(reject_label=0).fit(X[is_in], y[is_in])
