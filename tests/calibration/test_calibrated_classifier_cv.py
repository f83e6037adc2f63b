"""CalibratedClassifierCV: scikit-learn parity, then the skcalib superset."""

import warnings

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV as SklearnCalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    LeaveOneOut,
    StratifiedKFold,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import MetadataRouter

from skcalib.base import get_skcalib_tags
from skcalib.calibration._calibrated_classifier_cv import (
    CALIBRATORS,
    CalibratedClassifierCV,
)
from skcalib.calibration._histogram import HistogramBinning
from skcalib.calibration._platt import PlattScaling
from skcalib.calibration._temperature import TemperatureScaling
from skcalib.datasets import make_classification_logits
from skcalib.utils._array_api import (
    get_namespace_and_device,
    move_to,
    softmax,
    to_numpy,
)
from skcalib.utils._testing import (
    array_api_combinations,
    assert_same_on_namespace,
    requires_sklearn,
)

TEMPERATURE_REFERENCE = requires_sklearn(
    "1.8", 'the reference is CalibratedClassifierCV(method="temperature")'
)

N_SAMPLES = 300
SAMPLE_WEIGHT = np.random.default_rng(0).uniform(0.5, 2.0, size=N_SAMPLES)


def _data(n_classes, n_samples=N_SAMPLES):
    """Calibration data, then training data of the same law for prefit models."""
    X, y = make_classification(
        n_samples=2 * n_samples,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        random_state=0,
    )
    return X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:]


def _fit_both(estimator, cv, X, y, *, method, ensemble, **fit_params):
    """skcalib's and scikit-learn's meta-estimators, fitted the same way."""
    ours, theirs = (
        cls(clone(estimator), method=method, cv=cv, ensemble=ensemble)
        for cls in (CalibratedClassifierCV, SklearnCalibratedClassifierCV)
    )
    ours.fit(X, y, **fit_params)
    with warnings.catch_warnings():
        # scikit-learn warns that FrozenEstimator.fit takes no sample_weight.
        warnings.simplefilter("ignore", UserWarning)
        theirs.fit(X, y, **fit_params)
    return ours, theirs


def _parity_case(estimator_name, cv_name, n_classes):
    """(estimator, cv) for the parity grid; frozen estimators are prefit."""
    estimator = {"decision": LinearSVC(random_state=0), "proba": GaussianNB()}[
        estimator_name
    ]
    if cv_name == "frozen":
        _, _, X_train, y_train = _data(n_classes)
        return FrozenEstimator(estimator.fit(X_train, y_train)), 3
    if cv_name == "stratified":
        return estimator, StratifiedKFold(3, shuffle=True, random_state=0)
    return estimator, 3


def _assert_same_model(ours, theirs, X, *, atol):
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.n_features_in_ == theirs.n_features_in_
    assert len(ours.calibrated_classifiers_) == len(theirs.calibrated_classifiers_)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=atol
    )
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


# ---------------------------------------------------------------------------
# Drop-in parity with scikit-learn
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("ensemble", [True, False, "auto"])
@pytest.mark.parametrize("cv_name", ["cv3", "stratified", "frozen"])
@pytest.mark.parametrize("estimator_name", ["decision", "proba"])
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_same_probabilities_as_sklearn(
    method, estimator_name, cv_name, ensemble, n_classes, weighted
):
    X, y, _, _ = _data(n_classes)
    estimator, cv = _parity_case(estimator_name, cv_name, n_classes)
    ours, theirs = _fit_both(
        estimator,
        cv,
        X,
        y,
        method=method,
        ensemble=ensemble,
        sample_weight=SAMPLE_WEIGHT if weighted else None,
    )
    _assert_same_model(ours, theirs, X, atol=1e-6)


@TEMPERATURE_REFERENCE
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("ensemble", [True, False, "auto"])
@pytest.mark.parametrize("cv_name", ["cv3", "stratified", "frozen"])
@pytest.mark.parametrize("estimator_name", ["decision", "proba"])
def test_temperature_same_probabilities_as_sklearn(
    estimator_name, cv_name, ensemble, n_classes, weighted
):
    X, y, _, _ = _data(n_classes)
    estimator, cv = _parity_case(estimator_name, cv_name, n_classes)
    ours, theirs = _fit_both(
        estimator,
        cv,
        X,
        y,
        method="temperature",
        ensemble=ensemble,
        sample_weight=SAMPLE_WEIGHT if weighted else None,
    )
    _assert_same_model(ours, theirs, X, atol=1e-5)


@TEMPERATURE_REFERENCE
@pytest.mark.parametrize("n_classes", [2, 4])
def test_temperature_same_optimum_as_sklearn(n_classes):
    X, y, X_train, y_train = _data(n_classes, n_samples=1000)
    clf = LogisticRegression(C=100.0, max_iter=1000).fit(X_train, y_train)
    ours, theirs = _fit_both(
        FrozenEstimator(clf), None, X, y, method="temperature", ensemble="auto"
    )
    beta = float(theirs.calibrated_classifiers_[0].calibrators[0].beta_)
    # scikit-learn reads binary decision values x as the logits [-x, x], skcalib
    # as [0, x]: the same probabilities with half the temperature.
    expected = 1 / (2 * beta) if n_classes == 2 else 1 / beta
    temperature = ours.calibrated_classifiers_[0].calibrator.temperature_
    assert temperature == pytest.approx(expected, rel=1e-4)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5
    )


def test_string_labels_same_as_sklearn():
    X, y, _, _ = _data(3)
    labels = np.array(["ant", "bee", "cat"])[y]
    ours, theirs = _fit_both(
        LinearSVC(random_state=0), 3, X, labels, method="sigmoid", ensemble=True
    )
    np.testing.assert_array_equal(ours.classes_, ["ant", "bee", "cat"])
    _assert_same_model(ours, theirs, X, atol=1e-6)


def test_feature_names_same_as_sklearn():
    pd = pytest.importorskip("pandas")
    X, y, _, _ = _data(2)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ours, theirs = _fit_both(GaussianNB(), 3, X, y, method="sigmoid", ensemble=True)
    np.testing.assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    np.testing.assert_array_equal(ours.feature_names_in_, X.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "fitted without names"
        _assert_same_model(ours, theirs, X, atol=1e-6)


def test_default_estimator_same_as_sklearn():
    X, y, _, _ = _data(2)
    ours = CalibratedClassifierCV(cv=3).fit(X, y)
    theirs = SklearnCalibratedClassifierCV(cv=3).fit(X, y)
    assert isinstance(ours.calibrated_classifiers_[0].estimator, LinearSVC)
    _assert_same_model(ours, theirs, X, atol=1e-6)


# Raised by scikit-learn's cross_val_predict (the reference, with ensemble=False).
@pytest.mark.filterwarnings("ignore:Number of classes in training fold")
@pytest.mark.parametrize("ensemble", [True, False])
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_training_fold_without_a_class(method, ensemble):
    # KFold on sorted labels: the first training fold has no class 0, the last
    # no class 3 (scikit-learn's test_calibration_less_classes).
    X = np.random.default_rng(0).normal(size=(60, 5))
    y = np.repeat(np.arange(4), 15)
    ours, theirs = _fit_both(
        DecisionTreeClassifier(random_state=7),
        KFold(3),
        X,
        y,
        method=method,
        ensemble=ensemble,
    )
    np.testing.assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0)
    if ensemble:
        _assert_same_model(ours, theirs, X, atol=1e-6)
        for fold, unseen in [(0, 0), (2, 3)]:
            proba = ours.calibrated_classifiers_[fold].predict_proba(X)
            np.testing.assert_array_equal(proba[:, unseen], 0.0)
            if method == "sigmoid":
                assert np.all(np.delete(proba, unseen, axis=1) > 0)


# Noise features: the iterative calibrators may stop at max_iter.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("method", sorted(CALIBRATORS))
@pytest.mark.parametrize("ensemble", [True, False])
def test_unseen_classes_give_finite_probabilities(method, ensemble):
    # KFold on sorted labels: two training folds miss a class, which their
    # estimator scores far below the others. Every calibrator must cope
    # (scikit-learn's float-min fill makes logit calibrators overflow).
    X = np.random.default_rng(0).normal(size=(60, 5))
    y = np.repeat(np.arange(4), 15)
    clf = CalibratedClassifierCV(
        LogisticRegression(), method=method, cv=KFold(3), ensemble=ensemble
    ).fit(X, y)
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_calibration_fold_without_a_class():
    # Each calibration fold of KFold(3) holds two of the four classes.
    X = np.random.default_rng(0).normal(size=(60, 5))
    y = np.repeat(np.arange(4), 15)
    cv = KFold(3, shuffle=True, random_state=0)
    ours, theirs = _fit_both(GaussianNB(), cv, X, y, method="sigmoid", ensemble=True)
    for item in ours.calibrated_classifiers_:
        np.testing.assert_array_equal(item.calibrator.classes_, np.arange(4))
    _assert_same_model(ours, theirs, X, atol=1e-6)


# ---------------------------------------------------------------------------
# Every skcalib calibrator, by name or as an instance
# ---------------------------------------------------------------------------

ESTIMATORS = {
    "both": LogisticRegression(),
    "decision": LinearSVC(random_state=0),
    "proba": GaussianNB(),
}
# The input kind of each registered calibrator, as the class docstring states.
INPUT_KINDS = {
    "sigmoid": "decision",
    "isotonic": "decision",
    "temperature": "logits",
    "vector": "logits",
    "matrix": "logits",
    "dirichlet": "probabilities",
    "beta": "probabilities",
    "histogram": "probabilities",
    "bbq": "probabilities",
    "venn_abers": "probabilities",
}


def test_registry_input_kinds():
    assert set(INPUT_KINDS) == set(CALIBRATORS)
    for method, input_kind in INPUT_KINDS.items():
        clf = CalibratedClassifierCV(method=method)
        assert get_skcalib_tags(clf._get_calibrator()).input_kind == input_kind


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("estimator_name", sorted(ESTIMATORS))
@pytest.mark.parametrize("method", sorted(CALIBRATORS))
def test_every_method_gives_probabilities(method, estimator_name, n_classes):
    X, y, _, _ = _data(n_classes)
    estimator = ESTIMATORS[estimator_name]
    clf = CalibratedClassifierCV(estimator, method=method, cv=3).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (N_SAMPLES, n_classes)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), proba.argmax(axis=1))

    if estimator_name == "both":
        probabilities = INPUT_KINDS[method] == "probabilities"
        expected = "predict_proba" if probabilities else "decision_function"
    else:
        expected = {"decision": "decision_function", "proba": "predict_proba"}[
            estimator_name
        ]
    for item in clf.calibrated_classifiers_:
        assert item.response_method == expected
        assert type(item.calibrator).__name__ == CALIBRATORS[method][1]
        assert item.calibrators == [item.calibrator]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logit_calibrators_get_log_probabilities(n_classes):
    X, y, X_train, y_train = _data(n_classes)
    clf = GaussianNB().fit(X_train, y_train)  # predict_proba only
    calibrated = CalibratedClassifierCV(FrozenEstimator(clf), method="temperature").fit(
        X, y
    )
    reference = TemperatureScaling().fit(np.log(clf.predict_proba(X) + 1e-12), y)
    np.testing.assert_allclose(
        calibrated.predict_proba(X),
        reference.predict_proba(np.log(clf.predict_proba(X) + 1e-12)),
        rtol=1e-12,
    )


@pytest.mark.parametrize("n_classes", [2, 3])
def test_probability_calibrators_get_softmax_of_decision_values(n_classes):
    X, y, X_train, y_train = _data(n_classes)
    clf = LinearSVC(random_state=0).fit(X_train, y_train)  # decision_function only
    calibrated = CalibratedClassifierCV(FrozenEstimator(clf), method="histogram")
    calibrated.fit(X, y)
    decision = clf.decision_function(X)
    if n_classes == 2:  # a sigmoid: the softmax of [0, x]
        decision = np.stack([np.zeros_like(decision), decision], axis=1)
    reference = HistogramBinning().fit(softmax(decision), y)
    np.testing.assert_allclose(
        calibrated.predict_proba(X), reference.predict_proba(softmax(decision))
    )


def test_decision_calibrators_get_positive_class_probability():
    X, y, X_train, y_train = _data(2)
    clf = GaussianNB().fit(X_train, y_train)
    calibrated = CalibratedClassifierCV(FrozenEstimator(clf), method="sigmoid")
    calibrated.fit(X, y)
    positive = clf.predict_proba(X)[:, 1]
    reference = PlattScaling().fit(positive, y)
    np.testing.assert_allclose(
        calibrated.predict_proba(X), reference.predict_proba(positive)
    )


def test_plain_classifier_as_method_gets_decision_values():
    X, y, X_train, y_train = _data(2)
    clf = LinearSVC(random_state=0).fit(X_train, y_train)
    calibrated = CalibratedClassifierCV(
        FrozenEstimator(clf), method=LogisticRegression()
    ).fit(X, y)
    scores = clf.decision_function(X)[:, None]
    reference = LogisticRegression().fit(scores, y)
    np.testing.assert_allclose(
        calibrated.predict_proba(X), reference.predict_proba(scores)
    )


def test_instance_method_is_cloned_per_fold():
    X, y, _, _ = _data(3)
    instance = TemperatureScaling()
    by_instance = CalibratedClassifierCV(
        LogisticRegression(), method=instance, cv=3
    ).fit(X, y)
    by_name = CalibratedClassifierCV(
        LogisticRegression(), method="temperature", cv=3
    ).fit(X, y)
    np.testing.assert_array_equal(
        by_instance.predict_proba(X), by_name.predict_proba(X)
    )
    calibrators = [item.calibrator for item in by_instance.calibrated_classifiers_]
    assert len({id(c) for c in calibrators}) == 3
    assert all(c is not instance for c in calibrators)
    assert not hasattr(instance, "temperature_")


def test_instance_parameters_are_nested_params():
    clf = CalibratedClassifierCV(LogisticRegression(), method=TemperatureScaling())
    params = clf.get_params()
    assert params["method__max_iter"] == 100 and "method__tol" in params
    clf.set_params(method__max_iter=7)
    assert clf.method.max_iter == 7
    copy = clone(clf)
    assert copy.method is not clf.method
    assert copy.get_params()["method__max_iter"] == 7


def test_grid_search_over_method_params():
    X, y, _, _ = _data(3)
    search = GridSearchCV(
        CalibratedClassifierCV(LogisticRegression(), method=TemperatureScaling(), cv=3),
        {"method__max_iter": [1, 100]},
        scoring="neg_log_loss",
        cv=3,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    best = search.best_params_["method__max_iter"]
    for item in search.best_estimator_.calibrated_classifiers_:
        assert item.calibrator.max_iter == best


def test_grid_search_over_method_names():
    X, y, _, _ = _data(2)
    search = GridSearchCV(
        CalibratedClassifierCV(GaussianNB(), cv=3),
        {"method": ["sigmoid", "temperature", "beta"]},
        scoring="neg_log_loss",
        cv=3,
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_.calibrated_classifiers_[0].calibrator
    assert type(best).__name__ == CALIBRATORS[search.best_params_["method"]][1]


@pytest.mark.parametrize("ensemble", [True, False])
def test_n_jobs_gives_same_result(ensemble):
    X, y, _, _ = _data(3)
    serial, parallel = (
        CalibratedClassifierCV(
            LogisticRegression(),
            method="dirichlet",
            cv=3,
            ensemble=ensemble,
            n_jobs=n_jobs,
        ).fit(X, y)
        for n_jobs in (None, 2)
    )
    np.testing.assert_array_equal(serial.predict_proba(X), parallel.predict_proba(X))


# ---------------------------------------------------------------------------
# Sample weights and metadata routing
# ---------------------------------------------------------------------------


class _RecordingClassifier(GaussianNB):
    """GaussianNB that records what its ``fit`` received."""

    def fit(self, X, y, sample_weight=None, metadata=None):
        self.sample_weight_ = sample_weight
        self.metadata_ = metadata
        return super().fit(X, y, sample_weight=sample_weight)


def test_fit_params_reach_the_estimator_per_fold():
    X, y, _, _ = _data(2)
    rows = np.arange(N_SAMPLES)
    clf = CalibratedClassifierCV(_RecordingClassifier(), cv=3).fit(X, y, metadata=rows)
    train_sets = [item.estimator.metadata_ for item in clf.calibrated_classifiers_]
    # Each fold estimator got the metadata of its own training rows.
    assert sorted(len(t) for t in train_sets) == [200, 200, 200]
    counts = np.bincount(np.concatenate(train_sets), minlength=N_SAMPLES)
    np.testing.assert_array_equal(counts, 2)
    final = CalibratedClassifierCV(_RecordingClassifier(), cv=3, ensemble=False)
    final.fit(X, y, metadata=rows)
    np.testing.assert_array_equal(
        final.calibrated_classifiers_[0].estimator.metadata_, rows
    )


def test_sample_weight_goes_to_estimator_that_accepts_it():
    X, y, _, _ = _data(2)
    clf = CalibratedClassifierCV(_RecordingClassifier(), cv=3, ensemble=False)
    clf.fit(X, y, sample_weight=SAMPLE_WEIGHT)
    np.testing.assert_array_equal(
        clf.calibrated_classifiers_[0].estimator.sample_weight_, SAMPLE_WEIGHT
    )


def test_sample_weight_warning_like_sklearn():
    X, y, _, _ = _data(2)
    clf = CalibratedClassifierCV(KNeighborsClassifier(), cv=3)
    with pytest.warns(UserWarning, match="does not appear to accept sample_weight"):
        clf.fit(X, y, sample_weight=SAMPLE_WEIGHT)
    # A frozen estimator is not fitted: the calibrator alone uses the weights.
    frozen = FrozenEstimator(KNeighborsClassifier().fit(X, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        CalibratedClassifierCV(frozen).fit(X, y, sample_weight=SAMPLE_WEIGHT)


@pytest.mark.parametrize("request_weights", [False, True])
@pytest.mark.parametrize("ensemble", [True, False])
def test_metadata_routing_of_sample_weight(request_weights, ensemble):
    X, y, _, _ = _data(2)
    with config_context(enable_metadata_routing=True):
        estimator = GaussianNB().set_fit_request(sample_weight=request_weights)
        ours, theirs = _fit_both(
            estimator,
            3,
            X,
            y,
            method="sigmoid",
            ensemble=ensemble,
            sample_weight=SAMPLE_WEIGHT,
        )
        recording = _RecordingClassifier().set_fit_request(
            sample_weight=request_weights, metadata=True
        )
        recorded = CalibratedClassifierCV(recording, cv=3, ensemble=ensemble)
        recorded.fit(X, y, sample_weight=SAMPLE_WEIGHT, metadata=np.arange(N_SAMPLES))
        _assert_same_model(ours, theirs, X, atol=1e-6)
    for item in recorded.calibrated_classifiers_:
        estimator = item.estimator
        if request_weights:
            np.testing.assert_array_equal(
                estimator.sample_weight_, SAMPLE_WEIGHT[estimator.metadata_]
            )
        else:
            assert estimator.sample_weight_ is None


def test_metadata_routing_default_estimator_requests_sample_weight():
    X, y, _, _ = _data(2)
    with config_context(enable_metadata_routing=True):
        ours = CalibratedClassifierCV(cv=3).fit(X, y, sample_weight=SAMPLE_WEIGHT)
        theirs = SklearnCalibratedClassifierCV(cv=3)
        theirs.fit(X, y, sample_weight=SAMPLE_WEIGHT)
        _assert_same_model(ours, theirs, X, atol=1e-6)


@pytest.mark.parametrize("ensemble", [True, False])
def test_metadata_routing_of_groups_to_the_splitter(ensemble):
    X, y, _, _ = _data(2)
    groups = np.arange(N_SAMPLES) % 10
    with config_context(enable_metadata_routing=True):
        recording = _RecordingClassifier().set_fit_request(metadata=True)
        clf = CalibratedClassifierCV(recording, cv=GroupKFold(3), ensemble=ensemble)
        # GroupKFold raises without groups: fitting at all shows they arrived,
        # with ensemble=False too (where scikit-learn does not route them).
        clf.fit(X, y, groups=groups, metadata=np.arange(N_SAMPLES))
        if ensemble:
            theirs = SklearnCalibratedClassifierCV(
                GaussianNB(), cv=GroupKFold(3), ensemble=True
            ).fit(X, y, groups=groups)
            np.testing.assert_allclose(
                clf.predict_proba(X), theirs.predict_proba(X), atol=1e-6
            )
            for item in clf.calibrated_classifiers_:
                train = item.estimator.metadata_
                test = np.setdiff1d(np.arange(N_SAMPLES), train)
                assert not set(groups[train]) & set(groups[test])


def test_metadata_router():
    router = CalibratedClassifierCV(
        GaussianNB(), cv=GroupKFold(3)
    ).get_metadata_routing()
    assert isinstance(router, MetadataRouter)
    assert "groups" in str(router)


# ---------------------------------------------------------------------------
# Errors and tags
# ---------------------------------------------------------------------------


class _BinaryOnlyCalibrator(TemperatureScaling):
    """A calibrator that declares binary targets only."""

    _skcalib_binary_only = True


def _binary():
    X, y, _, _ = _data(2)
    return X, y


def _one_class():
    return np.zeros((6, 2)), np.zeros(6)


def _three_samples_of_a_class():
    X, _ = _binary()
    return X, np.r_[np.zeros(N_SAMPLES - 3), np.ones(3)]


def _three_classes():
    X, y, _, _ = _data(3)
    return X, y


def _three_sorted_classes():
    # KFold(2) then trains the first fold on two of the three classes.
    X, y = _three_classes()
    order = np.argsort(y, kind="stable")
    return X[order], y[order]


@pytest.mark.parametrize(
    "params, data, match",
    [
        (
            dict(method="platt"),
            _binary,
            r"^(?=.*'temperature')(?=.*'venn_abers').*'method' parameter",
        ),
        (dict(method=LinearRegression()), _binary, "'method' parameter"),
        (dict(), _one_class, "one class only"),
        (dict(cv=4), _three_samples_of_a_class, "Requesting 4-fold"),
        (dict(cv=LeaveOneOut()), _binary, "LeaveOneOut"),
        (
            dict(method=_BinaryOnlyCalibrator()),
            _three_classes,
            "binary classifiers only",
        ),
        (
            dict(cv=[(np.arange(100, 300), np.arange(100))] * 2, ensemble=False),
            _binary,
            "partition",
        ),
        (dict(cv=KFold(2)), _three_sorted_classes, "binary decision values cannot"),
    ],
)
def test_fit_errors(params, data, match):
    X, y = data()
    with pytest.raises(ValueError, match=match):
        CalibratedClassifierCV(LinearSVC(random_state=0), **params).fit(X, y)


def test_negative_sample_weight_is_an_error():
    X, y = _binary()
    with pytest.raises(ValueError, match="non-negative"):
        CalibratedClassifierCV(GaussianNB()).fit(X, y, sample_weight=-SAMPLE_WEIGHT)


def test_frozen_estimator_with_classes_absent_from_y():
    X, y, X_train, y_train = _data(3)
    frozen = FrozenEstimator(GaussianNB().fit(X_train, y_train))
    with pytest.raises(ValueError, match=r"frozen estimator .* classes \[2\]"):
        CalibratedClassifierCV(frozen).fit(X[y < 2], y[y < 2])


def test_array_api_support_tag():
    lda = LinearDiscriminantAnalysis()
    supported = get_tags(lda).array_api_support
    assert not get_tags(CalibratedClassifierCV()).array_api_support
    assert (
        get_tags(CalibratedClassifierCV(lda, method="temperature")).array_api_support
        == supported
    )
    assert not get_tags(
        CalibratedClassifierCV(lda, method=DecisionTreeClassifier())
    ).array_api_support
    # An invalid name is reported by fit, not by the tags.
    assert not get_tags(CalibratedClassifierCV(lda, method="platt")).array_api_support


# ---------------------------------------------------------------------------
# scikit-learn's estimator checks and array-API dispatch
# ---------------------------------------------------------------------------


# scikit-learn's estimator checks run on CalibratedClassifierCV (default,
# temperature and histogram-binning variants) in tests/test_common.py.


NAMES = np.array(["ant", "bee", "cat", "dog"])


class _LogitsClassifier(ClassifierMixin, BaseEstimator):
    """Classifier whose decision values are the columns of ``X`` of its classes.

    It runs on every array namespace and device, so that the array-API path of
    CalibratedClassifierCV is tested on its own, whatever the array-API
    support of scikit-learn's classifiers in the installed version. Integer
    labels are column indices; string labels are looked up in ``NAMES``.
    """

    def fit(self, X, y):
        self.classes_ = np.unique(to_numpy(y))
        return self

    def decision_function(self, X):
        xp, device = get_namespace_and_device(X)
        columns = self.classes_
        if columns.dtype.kind == "U":
            columns = np.searchsorted(NAMES, columns)
        return xp.take(X, move_to(columns, xp=xp, device=device), axis=1)


@pytest.mark.parametrize("ensemble, labels", [(True, "integers"), (False, "strings")])
@pytest.mark.parametrize("method", ["sigmoid", "temperature", "histogram"])
@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api_matches_numpy(combination, method, ensemble, labels):
    logits, y = make_classification_logits(240, 4, random_state=0)
    # Sorted labels and KFold: training and calibration folds miss classes.
    order = np.argsort(y, kind="stable")
    logits, y = logits[order], y[order]
    if labels == "strings":
        y = NAMES[y]
    weight = np.random.default_rng(0).uniform(0.5, 2.0, size=y.shape[0])

    def fit_predict(X, y, sample_weight):
        clf = CalibratedClassifierCV(
            _LogitsClassifier(), method=method, cv=KFold(3), ensemble=ensemble
        ).fit(X, y, sample_weight=sample_weight)
        predicted = np.searchsorted(clf.classes_, to_numpy(clf.predict(X)))
        return clf.predict_proba(X), predicted

    assert_same_on_namespace(
        fit_predict,
        [logits, y],
        {"sample_weight": weight},
        combination=combination,
        rtol=1e-4 if combination[2] == "float32" else 1e-8,
    )
