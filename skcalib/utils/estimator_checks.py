"""skcalib's own estimator checks, on top of scikit-learn's.

These check the promises that scikit-learn's ``check_estimator`` does not know
about: probabilities on the simplex, conformal coverage at the target level,
prediction sets nested across levels, the OOD score direction, inputs left
untouched and determinism given ``random_state``. They are public so that
users can run them on their own estimators::

    from skcalib.utils.estimator_checks import check_skcalib_estimator
    check_skcalib_estimator(MyCalibrator())

Each check takes ``(name, estimator)`` and raises ``AssertionError`` with an
explanation when the estimator breaks the promise.
"""

import math
from functools import partial

import numpy as np
from sklearn.base import clone
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.utils import get_tags

from ..base import get_skcalib_tags
from ._array_api import softmax, to_numpy

__all__ = [
    "check_conformal_coverage",
    "check_conformal_nested_sets",
    "check_deterministic_given_random_state",
    "check_inputs_not_modified",
    "check_ood_score_direction",
    "check_predict_proba_simplex",
    "check_skcalib_estimator",
    "parametrize_with_skcalib_checks",
    "yield_skcalib_checks",
]


def _classification_data(estimator, n_samples=600, n_classes=3, random_state=0):
    """Training data suited to what the estimator expects as ``X``."""
    tags = get_skcalib_tags(estimator)
    if tags.input_kind == "pairs":  # (winner, loser) item indices, outcomes
        rng = np.random.default_rng(random_state)
        a = rng.integers(20, size=n_samples)
        b = (a + rng.integers(1, 20, size=n_samples)) % 20
        return np.stack([a, b], axis=1), rng.integers(2, size=n_samples)
    if tags.binary_only:
        n_classes = 2
    if tags.input_kind in ("logits", "probabilities", "decision"):
        from ..datasets import make_classification_logits

        X, y = make_classification_logits(
            n_samples, n_classes, temperature=2.0, random_state=random_state
        )
        if tags.input_kind == "probabilities":
            X = softmax(X)
        elif tags.input_kind == "decision":
            X = X[:, 1] - X[:, 0] if n_classes == 2 else X
        return X, y
    return make_classification(
        n_samples=n_samples,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=random_state,
    )


def _binomial_tolerance(level, n_test, n_calib):
    """Three standard deviations of the empirical coverage of one split.

    The coverage of a split conformal predictor, conditional on its calibration
    set, is Beta distributed with variance about level(1 - level) / n_calib; the
    test-set estimate adds binomial noise level(1 - level) / n_test.
    """
    return 3 * math.sqrt(level * (1 - level) * (1 / n_test + 1 / n_calib))


def check_predict_proba_simplex(name, estimator):
    """``predict_proba`` returns finite probabilities in [0, 1] summing to one.

    Also checks that ``predict`` is the most probable class. Raises an
    ``AssertionError`` naming the estimator when a property fails.

    Examples
    --------
    >>> from skcalib.calibration import TemperatureScaling
    >>> from skcalib.utils.estimator_checks import check_predict_proba_simplex
    >>> check_predict_proba_simplex("TemperatureScaling", TemperatureScaling())
    >>> class Doubled(TemperatureScaling):
    ...     def predict_proba(self, X):
    ...         return 2 * super().predict_proba(X)
    >>> check_predict_proba_simplex("Doubled", Doubled())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    AssertionError: Doubled.predict_proba returned values outside [0, 1]: ...
    """
    X, y = _classification_data(estimator)
    est = clone(estimator).fit(X, y)
    proba = to_numpy(est.predict_proba(X))
    n_classes = len(np.unique(y))
    assert proba.shape == (X.shape[0], n_classes), (
        f"{name}.predict_proba returned shape {proba.shape}, expected "
        f"{(X.shape[0], n_classes)}"
    )
    assert np.all(np.isfinite(proba)), (
        f"{name}.predict_proba returned non-finite values"
    )
    assert proba.min() >= 0 and proba.max() <= 1, (
        f"{name}.predict_proba returned values outside [0, 1]: "
        f"[{proba.min()}, {proba.max()}]"
    )
    atol = 1e-4 if proba.dtype == np.float32 else 1e-8
    np.testing.assert_allclose(
        proba.sum(axis=1),
        1.0,
        atol=atol,
        err_msg=f"{name}.predict_proba rows do not sum to one",
    )
    pred = to_numpy(est.predict(X))
    np.testing.assert_array_equal(
        pred,
        est.classes_[proba.argmax(axis=1)],
        err_msg=f"{name}.predict is not the argmax of predict_proba",
    )


def _split(X, y, n_train, random_state=0):
    rng = np.random.default_rng(random_state)
    perm = rng.permutation(X.shape[0])
    return X[perm[:n_train]], y[perm[:n_train]], X[perm[n_train:]], y[perm[n_train:]]


def _is_multilabel(estimator):
    """Whether ``estimator`` takes a binary indicator matrix of label sets as y."""
    tags = get_tags(estimator)
    return bool(
        tags.classifier_tags is not None
        and tags.classifier_tags.multi_label
        and not tags.target_tags.single_output
    )


def _covered_label_sets(sets, y):
    """Whether each true label set is a row of its prediction set (a list)."""
    pairs = zip(sets, y, strict=True)
    return np.array([np.all(s == t.astype(bool), axis=1).any() for s, t in pairs])


def _conformal_data(estimator, n_samples):
    tags = get_skcalib_tags(estimator)
    if _is_multilabel(estimator):
        X, y = make_multilabel_classification(
            n_samples=n_samples,
            n_features=6,
            n_classes=4,
            n_labels=2,
            length=200,
            random_state=0,
        )
        return X / X.max(), y
    if tags.family == "conformal_regressor":
        X, y = make_regression(
            n_samples=n_samples, n_features=5, noise=10.0, random_state=0
        )
        return X, y
    return _classification_data(estimator, n_samples=n_samples)


def check_conformal_coverage(name, estimator, *, confidence_level=0.9):
    """Empirical coverage on fresh data reaches ``confidence_level``.

    Fits on 2000 rows (the estimator splits them between training and
    calibration) and measures coverage on 3000 fresh rows, allowing three
    standard deviations of split-to-split and test-set noise below the target.

    Examples
    --------
    >>> from skcalib.conformal import SplitConformalRegressor
    >>> from skcalib.utils.estimator_checks import check_conformal_coverage
    >>> est = SplitConformalRegressor(random_state=0)
    >>> check_conformal_coverage("SplitConformalRegressor", est, confidence_level=0.8)
    """
    tags = get_skcalib_tags(estimator)
    X, y = _conformal_data(estimator, 5000)
    X_fit, y_fit, X_test, y_test = _split(X, y, 2000)
    est = clone(estimator).set_params(confidence_level=confidence_level)
    est.fit(X_fit, y_fit)
    if tags.family == "conformal_regressor":
        interval = to_numpy(est.predict_interval(X_test))
        covered = (interval[:, 0] <= y_test) & (y_test <= interval[:, 1])
    elif _is_multilabel(estimator):
        covered = _covered_label_sets(est.predict_set(X_test), y_test)
    else:
        sets = to_numpy(est.predict_set(X_test))
        col = np.searchsorted(est.classes_, y_test)
        covered = sets[np.arange(len(y_test)), col]
    coverage = covered.mean()
    # At most half of the fitting rows calibrate in any sensible splitter.
    tol = _binomial_tolerance(confidence_level, len(y_test), 1000)
    assert coverage >= confidence_level - tol, (
        f"{name} covers {coverage:.4f} of fresh samples at confidence_level="
        f"{confidence_level} (allowed down to {confidence_level - tol:.4f})"
    )


def check_conformal_nested_sets(name, estimator):
    """Sets (or intervals) at a higher confidence level contain the lower-level ones.

    The level is changed with ``set_params`` after fitting: conformal predictors
    read ``confidence_level`` at predict time, so no refit may be needed.

    Examples
    --------
    >>> from skcalib.conformal import SplitConformalClassifier
    >>> from skcalib.utils.estimator_checks import check_conformal_nested_sets
    >>> est = SplitConformalClassifier(random_state=0)
    >>> check_conformal_nested_sets("SplitConformalClassifier", est)
    """
    tags = get_skcalib_tags(estimator)
    X, y = _conformal_data(estimator, 800)
    X_fit, y_fit, X_test, _ = _split(X, y, 500)
    est = clone(estimator).set_params(confidence_level=0.5).fit(X_fit, y_fit)
    outputs = []
    for level in (0.5, 0.8, 0.95):
        est.set_params(confidence_level=level)
        if tags.family == "conformal_regressor":
            outputs.append(to_numpy(est.predict_interval(X_test)))
        elif _is_multilabel(estimator):
            outputs.append([{tuple(r) for r in s} for s in est.predict_set(X_test)])
        else:
            outputs.append(to_numpy(est.predict_set(X_test)).astype(bool))
    for low, high in zip(outputs[:-1], outputs[1:], strict=True):
        if tags.family == "conformal_regressor":
            ok = (high[:, 0] <= low[:, 0]) & (low[:, 1] <= high[:, 1])
        elif _is_multilabel(estimator):
            ok = np.array([a <= b for a, b in zip(low, high, strict=True)])
        else:
            ok = np.all(high | ~low, axis=1)
        assert ok.all(), (
            f"{name}: the prediction at a higher confidence_level does not contain "
            f"the lower-level one for {int((~ok).sum())} samples"
        )


def check_ood_score_direction(name, estimator):
    """In-distribution inputs score higher than far out-of-distribution ones.

    Feature-space detectors get Gaussian class clusters and a far OOD cluster
    (:func:`~skcalib.datasets.make_ood_features`). Logit-space detectors get
    the logits of a classifier: confident in-distribution logits with a clear
    class signal (``class_sep=2``) and OOD logits without one (``class_sep=0``),
    from
    :func:`~skcalib.datasets.make_classification_logits`. (A random linear
    map of far OOD features would not do: linear logits grow, and become more
    confident, far from the data.)

    Also checks ``decision_function == score_samples - offset_`` and that
    ``predict`` returns +1 / -1 with the sign of ``decision_function``.

    Examples
    --------
    >>> from skcalib.ood import EnergyDetector, MahalanobisDetector
    >>> from skcalib.utils.estimator_checks import check_ood_score_direction
    >>> check_ood_score_direction("EnergyDetector", EnergyDetector())
    >>> check_ood_score_direction("MahalanobisDetector", MahalanobisDetector())
    """
    from ..datasets import make_classification_logits, make_ood_features

    tags = get_skcalib_tags(estimator)
    if tags.input_kind == "logits":
        X_in, y_in = make_classification_logits(
            1200, 3, temperature=2.0, class_sep=2.0, random_state=0
        )
        X_out, _ = make_classification_logits(
            300, 3, temperature=2.0, class_sep=0.0, random_state=1
        )
        X = np.concatenate([X_in, X_out])
        y = np.concatenate([y_in, np.full(300, -1)])
    else:
        X, y = make_ood_features(
            1200, 300, n_features=8, n_classes=3, shift="far", random_state=0
        )
    is_ood = y == -1
    X_id, y_id = X[~is_ood], y[~is_ood]
    X_train, y_train, X_test_id, _ = _split(X_id, y_id, 800)
    est = clone(estimator)
    if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
        # A fixed calibration split, so the check is deterministic.
        est.set_params(random_state=0)
    est.fit(X_train, y_train)
    s_id = to_numpy(est.score_samples(X_test_id))
    s_ood = to_numpy(est.score_samples(X[is_ood]))
    # AUROC by pairwise comparison (small sizes).
    auroc = np.mean(s_id[:, None] > s_ood[None, :]) + 0.5 * np.mean(
        s_id[:, None] == s_ood[None, :]
    )
    assert auroc > 0.9, (
        f"{name}.score_samples must be higher for in-distribution data: AUROC of "
        f"in-distribution vs far OOD is {auroc:.3f}"
    )
    dec = to_numpy(est.decision_function(X_test_id))
    np.testing.assert_allclose(
        dec,
        s_id - float(est.offset_),
        rtol=1e-6,
        atol=1e-8,
        err_msg=f"{name}.decision_function != score_samples - offset_",
    )
    pred = to_numpy(est.predict(X_test_id))
    assert set(np.unique(pred)) <= {-1, 1}, f"{name}.predict must return +1 / -1"
    np.testing.assert_array_equal(
        pred,
        np.where(dec >= 0, 1, -1),
        err_msg=f"{name}.predict disagrees with the sign of decision_function",
    )


def _fit_outputs(estimator, X, y):
    est = clone(estimator).fit(X, y)
    outs = []
    for method in (
        "predict_proba",
        "predict_set",
        "predict_interval",
        "score_samples",
        "predict",
    ):
        if hasattr(est, method):
            out = getattr(est, method)(X)
            # Multilabel prediction sets: one array of label sets per sample.
            outs.extend(
                map(to_numpy, out) if isinstance(out, list) else [to_numpy(out)]
            )
    return outs


def _data_for(estimator):
    tags = get_skcalib_tags(estimator)
    if tags.family in ("conformal_classifier", "conformal_regressor"):
        return _conformal_data(estimator, 400)
    if tags.family == "ood_detector":
        from ..datasets import make_ood_features

        X, y = make_ood_features(300, 0, n_features=8, random_state=0)
        return X, y
    return _classification_data(estimator, n_samples=300)


def check_inputs_not_modified(name, estimator):
    """``fit`` and the prediction methods leave ``X`` and ``y`` unchanged.

    Examples
    --------
    >>> from skcalib.calibration import TemperatureScaling
    >>> from skcalib.utils.estimator_checks import check_inputs_not_modified
    >>> check_inputs_not_modified("TemperatureScaling", TemperatureScaling())
    """
    X, y = _data_for(estimator)
    X_copy, y_copy = X.copy(), y.copy()
    _fit_outputs(estimator, X, y)
    np.testing.assert_array_equal(X, X_copy, err_msg=f"{name} modified X in place")
    np.testing.assert_array_equal(y, y_copy, err_msg=f"{name} modified y in place")


def check_deterministic_given_random_state(name, estimator):
    """Two fits with the same integer ``random_state`` give identical outputs.

    Estimators without a ``random_state`` parameter pass trivially.

    Examples
    --------
    >>> from skcalib.conformal import SplitConformalClassifier
    >>> from skcalib.utils.estimator_checks import (
    ...     check_deterministic_given_random_state,
    ... )
    >>> check_deterministic_given_random_state(
    ...     "SplitConformalClassifier", SplitConformalClassifier()
    ... )
    """
    if "random_state" not in estimator.get_params():
        return
    X, y = _data_for(estimator)
    est = clone(estimator).set_params(random_state=42)
    first, second = _fit_outputs(est, X, y), _fit_outputs(est, X, y)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(
            a, b, err_msg=f"{name} is not deterministic given random_state"
        )


def yield_skcalib_checks(estimator):
    """Yield the skcalib checks that apply to ``estimator``, as ``check(name, est)``.

    Which checks apply depends on the estimator's family
    (:func:`~skcalib.base.get_skcalib_tags`).

    Examples
    --------
    >>> from skcalib.conformal import SplitConformalClassifier
    >>> from skcalib.utils.estimator_checks import yield_skcalib_checks
    >>> for check in yield_skcalib_checks(SplitConformalClassifier()):
    ...     print(check.__name__)
    check_inputs_not_modified
    check_deterministic_given_random_state
    check_conformal_coverage
    check_conformal_nested_sets
    """
    tags = get_skcalib_tags(estimator)
    yield check_inputs_not_modified
    yield check_deterministic_given_random_state
    if tags.family == "calibrator" or (
        tags.family is None and hasattr(estimator, "predict_proba")
    ):
        yield check_predict_proba_simplex
    if tags.family in ("conformal_classifier", "conformal_regressor"):
        yield check_conformal_coverage
        yield check_conformal_nested_sets
    if tags.family == "ood_detector":
        yield check_ood_score_direction


def check_skcalib_estimator(estimator):
    """Run every applicable skcalib check on ``estimator``; raise on the first failure.

    Parameters
    ----------
    estimator : estimator instance
        An unfitted estimator (it is cloned by each check).

    Examples
    --------
    Nothing is printed when every check passes:

    >>> from skcalib.ood import KNNDetector
    >>> from skcalib.utils.estimator_checks import check_skcalib_estimator
    >>> check_skcalib_estimator(KNNDetector())
    """
    name = type(estimator).__name__
    for check in yield_skcalib_checks(estimator):
        check(name, estimator)


def parametrize_with_skcalib_checks(estimators):
    """``pytest.mark.parametrize`` over ``(estimator, check)`` for skcalib's checks.

    The test function takes ``estimator`` and ``check`` and calls
    ``check(estimator)``.

    Examples
    --------
    >>> from skcalib.utils.estimator_checks import parametrize_with_skcalib_checks
    >>> from sklearn.linear_model import LogisticRegression
    >>> @parametrize_with_skcalib_checks([LogisticRegression()])
    ... def test_skcalib(estimator, check):
    ...     check(estimator)
    """
    import pytest

    params, ids = [], []
    for est in estimators:
        name = type(est).__name__
        for check in yield_skcalib_checks(est):
            params.append((est, partial(check, name)))
            ids.append(f"{est!r}-{check.__name__}")
    return pytest.mark.parametrize("estimator, check", params, ids=ids)
