import inspect

import pytest
from sklearn.base import BaseEstimator

from skcalib.utils.discovery import all_estimators, all_functions


def test_all_estimators_are_public_estimator_classes():
    for name, cls in all_estimators():
        assert not name.startswith("_")
        assert inspect.isclass(cls) and issubclass(cls, BaseEstimator)
        assert cls.__module__.startswith("skcalib.")


@pytest.mark.parametrize(
    "type_filter",
    [
        "calibrator",
        "conformal_classifier",
        "conformal_regressor",
        "ood_detector",
        "classifier",
        ["calibrator", "ood_detector"],
    ],
)
def test_all_estimators_type_filter_is_subset(type_filter):
    everything = dict(all_estimators())
    for name, cls in all_estimators(type_filter=type_filter):
        assert everything[name] is cls


def test_all_estimators_bad_filter():
    with pytest.raises(ValueError, match="type_filter must be among"):
        all_estimators(type_filter="regresor")


def test_all_functions_lists_public_metrics_and_datasets():
    names = dict(all_functions())
    for expected in [
        "expected_calibration_error",
        "smooth_ece",
        "ood_auroc",
        "coverage_score",
        "bootstrap_confidence_interval",
        "make_classification_logits",
        "make_ood_features",
    ]:
        assert expected in names
    assert all(not n.startswith("_") for n in names)
