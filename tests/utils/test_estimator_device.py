"""move_estimator: fitted estimators change namespace/device and predict the same."""

import numpy as np
import pytest
from array_api_compat import numpy as np_compat
from sklearn import config_context
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags

from skcalib.calibration import CalibratedClassifierCV, TemperatureScaling
from skcalib.conformal import SplitConformalClassifier
from skcalib.utils._estimator_device import move_estimator
from skcalib.utils._sklearn_compat import SKLEARN_VERSION
from skcalib.utils._testing import (
    _check_placement,
    convert_inputs,
    skip_if_unavailable,
)
from skcalib.utils.discovery import all_estimators
from skcalib.utils.estimator_checks import _classification_data

METHODS = (
    "predict",
    "predict_proba",
    "predict_set",
    "predict_interval",
    "score_samples",
    "decision_function",
    "predict_proba_interval",
)

TARGETS = [
    pytest.param(("array_api_strict", "device1"), id="array_api_strict-device1"),
    pytest.param(("torch", "cpu"), id="torch-cpu"),
]


def _array_api_estimators():
    estimators = []
    for _, cls in all_estimators():
        estimator = cls()
        if not get_tags(estimator).array_api_support:
            continue
        if "random_state" in estimator.get_params():
            estimator.set_params(random_state=0)
        estimators.append(estimator)
    # A meta-estimator: a scikit-learn classifier and a calibrator per fold.
    # scikit-learn < 1.8 pins array_api_strict to the 2023.12 standard when its
    # estimators see such arrays (no take_along_axis for skcalib's kernels).
    if SKLEARN_VERSION >= (1, 8):
        estimators.append(
            CalibratedClassifierCV(
                LinearDiscriminantAnalysis(), method="temperature", cv=3
            )
        )
    return estimators


ESTIMATORS = _array_api_estimators()


def _outputs(estimator, X):
    return {m: getattr(estimator, m)(X) for m in METHODS if hasattr(estimator, m)}


def _assert_same_outputs(result, expected):
    assert result.keys() == expected.keys()
    for method, value in expected.items():
        np.testing.assert_allclose(
            np.asarray(_to_host(result[method]), dtype=float),
            np.asarray(value, dtype=float),
            rtol=1e-10,
            atol=1e-12,
            err_msg=method,
        )


def _to_host(x):
    from skcalib.utils import to_numpy

    return to_numpy(x)


def _arrays(obj, path="", seen=None, host=False):
    """(path, array, kept on host) for every array of a fitted estimator."""
    import array_api_compat

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if array_api_compat.is_array_api_obj(obj) and not isinstance(obj, np.generic):
        yield path, obj, host
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _arrays(item, f"{path}[{i}]", seen)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _arrays(item, f"{path}[{key!r}]", seen)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith(
        ("skcalib.", "sklearn.")
    ):
        kept = ()
        if type(obj).__module__.startswith("skcalib."):
            kept = ("classes_", *getattr(obj, "_host_attributes", ()))
        for key, item in vars(obj).items():
            yield from _arrays(item, f"{path}.{key}", seen, key in kept)


def _numeric_arrays_on(estimator, xp, device):
    """Every array of the estimator is in ``xp`` on ``device``, labels on NumPy."""
    import array_api_compat

    for path, array, host in _arrays(estimator):
        if host:
            assert isinstance(array, np.ndarray), path
            continue
        namespace = array_api_compat.array_namespace(array)
        assert namespace.__name__ == xp.__name__, (path, namespace.__name__)
        assert array_api_compat.device(array) == device, path


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_fit_on_numpy_predict_on_namespace(estimator, target):
    xp, device = skip_if_unavailable(*target)
    X, y = _classification_data(estimator, n_samples=200)
    fitted = clone(estimator).fit(X[:150], y[:150])
    expected = _outputs(fitted, X[150:])

    moved = move_estimator(fitted, xp=target[0], device=target[1])

    assert type(moved) is type(fitted)
    assert moved.get_params().keys() == fitted.get_params().keys()
    _numeric_arrays_on(moved, xp, device)
    (X_test,) = convert_inputs([X[150:]], xp, device, "float64")
    with config_context(array_api_dispatch=True):
        result = _outputs(moved, X_test)
    _check_placement(
        [v for v in result.values() if not isinstance(v, np.ndarray)], xp, device
    )
    _assert_same_outputs(result, expected)
    # The original is untouched: still NumPy, still the same predictions.
    _numeric_arrays_on(fitted, np_compat, "cpu")
    _assert_same_outputs(_outputs(fitted, X[150:]), expected)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_fit_on_device_predict_on_numpy(estimator):
    """Fit on array_api_strict's second device, serve with NumPy; and back."""
    xp, device = skip_if_unavailable("array_api_strict", "device1")
    X, y = _classification_data(estimator, n_samples=200)
    X_fit, y_fit, X_test = convert_inputs(
        [X[:150], y[:150], X[150:]], xp, device, "float64"
    )
    with config_context(array_api_dispatch=True):
        fitted = clone(estimator).fit(X_fit, y_fit)
        expected = {k: _to_host(v) for k, v in _outputs(fitted, X_test).items()}

    on_numpy = move_estimator(fitted, xp="numpy")

    _numeric_arrays_on(on_numpy, np_compat, "cpu")
    _assert_same_outputs(_outputs(on_numpy, X[150:]), expected)
    # Round trip: NumPy -> torch -> array_api_strict device1 -> NumPy.
    skip_if_unavailable("torch", "cpu")
    import torch

    trip = move_estimator(on_numpy, xp=torch)
    trip = move_estimator(trip, xp=xp, device=device)
    with config_context(array_api_dispatch=True):
        _assert_same_outputs(_outputs(trip, X_test), expected)
    _assert_same_outputs(_outputs(move_estimator(trip), X[150:]), expected)


def test_nested_meta_estimator_moves_every_fold():
    xp, device = skip_if_unavailable("array_api_strict", "device1")
    estimator = CalibratedClassifierCV(
        LinearDiscriminantAnalysis(), method="temperature", cv=3
    )
    X, y = _classification_data(estimator, n_samples=200)
    moved = move_estimator(estimator.fit(X, y), xp=xp, device=device)
    paths = [path for path, _, _ in _arrays(moved)]
    # Each fold's classifier and calibrator were reached.
    for fold in range(3):
        assert any(p.startswith(f".calibrated_classifiers_[{fold}].") for p in paths)
    assert moved.calibrated_classifiers_[0] is not estimator.calibrated_classifiers_[0]
    _numeric_arrays_on(moved, xp, device)
    # skcalib's labels stay NumPy; scikit-learn's LDA follows its input.
    assert isinstance(moved.classes_, np.ndarray)


def test_moved_labels_are_numpy_copies():
    X, y = _classification_data(TemperatureScaling(), n_samples=100)
    fitted = TemperatureScaling().fit(X, np.array(["a", "b", "c"])[y])
    moved = move_estimator(fitted, xp="array_api_strict")
    assert isinstance(moved.classes_, np.ndarray)
    np.testing.assert_array_equal(moved.classes_, fitted.classes_)
    assert moved.classes_ is not fitted.classes_


def test_errors():
    with pytest.raises(NotFittedError):
        move_estimator(TemperatureScaling(), xp="numpy")
    X, y = _classification_data(TemperatureScaling(), n_samples=100)
    fitted = TemperatureScaling().fit(X, y)
    with pytest.raises(ValueError, match="xp must be an array namespace or one of"):
        move_estimator(fitted, xp="tensorflow")
    with pytest.raises(TypeError, match="xp must be an array namespace"):
        move_estimator(fitted, xp=np.linalg)
    with pytest.raises(ValueError, match="is not a device of the namespace"):
        move_estimator(fitted, xp="array_api_strict", device="device42")
    with pytest.raises(ValueError, match="is not a device of the namespace"):
        move_estimator(fitted, xp="numpy", device="cuda")


def test_non_array_api_estimator_moves_to_numpy_only():
    X, y = _classification_data(SplitConformalClassifier(), n_samples=200)
    fitted = SplitConformalClassifier().fit(X, y)
    with pytest.raises(ValueError, match="does not support the array API"):
        move_estimator(fitted, xp="array_api_strict")
    copied = move_estimator(fitted, xp="numpy")
    np.testing.assert_array_equal(copied.predict_set(X), fitted.predict_set(X))
