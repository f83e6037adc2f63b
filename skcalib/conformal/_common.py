"""Fit machinery shared by the conformal classifiers and regressors.

The default model, the tags it lends, metadata routing of the fit
parameters, the validation of ``X`` and ``y`` at fit, the split of the rows
into training and calibration parts, fitting a clone on some rows, the
validation of ``X`` at predict time and the wording of the small-calibration
warnings do not depend on the task.
"""

import math
from numbers import Integral, Real

import numpy as np
from array_api_compat import numpy as np_compat
from sklearn import get_config
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import ShuffleSplit
from sklearn.utils import Bunch, indexable
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from ..utils._array_api import get_namespace_and_device, move_to
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    _check_method_params,
    _safe_indexing,
)
from ..utils._validation import check_confidence_level, check_sample_weight

# ``calibration_size``: a fraction of the rows, a number of rows or a splitter.
CALIBRATION_SIZE_CONSTRAINT = [
    Interval(Real, 0, 1, closed="neither"),
    Interval(Integral, 1, None, closed="left"),
    HasMethods(["split", "get_n_splits"]),
]


def is_splitter(obj):
    """Whether ``obj`` is a splitter (has ``split`` and ``get_n_splits``)."""
    return hasattr(obj, "split") and hasattr(obj, "get_n_splits")


def host_sample_weight(sample_weight, n_samples):
    """Checked ``sample_weight`` as a float64 NumPy array (None stays None)."""
    return check_sample_weight(
        sample_weight, n_samples, xp=np_compat, device="cpu", dtype=np.float64
    )


def weights_like(sample_weight, rows, values):
    """Host weights of ``rows`` in the namespace, device and dtype of ``values``.

    None stays None.
    """
    if sample_weight is None:
        return None
    xp, dev = get_namespace_and_device(values)
    return xp.astype(move_to(sample_weight[rows], xp=xp, device=dev), values.dtype)


def min_calibration_size(level):
    """Fewest calibration samples with a finite conformal quantile at ``level``."""
    return math.ceil(float(level) / (1 - float(level)) - 1e-9)


def calibration_size_text(total):
    """``total`` calibration samples (or weight) as the warnings write it."""
    total = float(total)
    return f"{int(total)}" if total.is_integer() else f"weight {total:g}"


class _ConformalFitMixin:
    """Wrapped-estimator handling of the conformal predictors.

    Subclasses define ``_default_estimator()`` (the model used when
    ``estimator=None``) and ``_splitter()`` (the splitter whose ``split``
    receives ``groups`` and routed metadata, or None).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = self._get_estimator().__sklearn_tags__()
        tags.input_tags.sparse = sub.input_tags.sparse
        tags.input_tags.allow_nan = sub.input_tags.allow_nan
        return tags

    def _get_estimator(self):
        return self._default_estimator() if self.estimator is None else self.estimator

    def get_metadata_routing(self):
        """Metadata routing of this estimator (see scikit-learn's User Guide).

        The predictor requests the metadata that its ``fit`` takes by name
        (``sample_weight``, ``groups``) and uses it as ``fit`` describes;
        other fit parameters go to the estimator's ``fit``. A splitter
        (``cv``, or one given as ``calibration_size``) receives ``groups`` in
        its ``split`` when it requests them.

        Returns
        -------
        routing : MetadataRouter
        """
        return self._router(self._splitter())

    def _route(self, sample_weight, groups, fit_params, splitter):
        """Parameters for the estimator's ``fit`` and the splitter's ``split``."""
        if get_config().get("enable_metadata_routing", False):
            # ``groups`` only when given: the regressors' fit takes none.
            metadata = dict(fit_params)
            if groups is not None:
                metadata["groups"] = groups
            # (predictors whose fit has no sample_weight argument receive it in
            # fit_params)
            if sample_weight is not None:
                metadata["sample_weight"] = sample_weight
            routed = process_routing(self, "fit", **metadata)
            if splitter is None:
                routed.splitter = Bunch(split={})
            return routed
        estimator_params = dict(fit_params)
        if sample_weight is not None and has_fit_parameter(
            self._get_estimator(), "sample_weight"
        ):
            estimator_params["sample_weight"] = sample_weight
        split_params = {}
        if (
            groups is not None
            and splitter is not None
            and splitter.get_metadata_routing().consumes("split", ["groups"])
        ):
            split_params["groups"] = groups
        return Bunch(
            estimator=Bunch(fit=estimator_params), splitter=Bunch(split=split_params)
        )

    def _router(self, splitter):
        router = MetadataRouter(owner=type(self).__name__).add_self_request(self)
        router.add(
            estimator=self._get_estimator(),
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )
        if splitter is not None:
            router.add(
                splitter=splitter,
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
        return router

    def _check_fit_X_y(self, X, y):
        """``X`` and ``y`` made indexable, the features of ``X`` recorded.

        Raises when ``y`` is None; ``y`` itself is checked by the caller.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        X, y = indexable(X, y)
        validate_data(self, X, skip_check_array=True)
        return X, y

    def _fit_estimator(self, X, y, params, rows, **set_params):
        """A clone of the estimator, with ``set_params`` if any, fitted on ``rows``."""
        estimator = clone(self._get_estimator())
        if set_params:
            estimator.set_params(**set_params)
        fold_params = _check_method_params(X, params=params, indices=rows)
        estimator.fit(_safe_indexing(X, rows), y[rows], **fold_params)
        return estimator

    def _levels(self):
        """``confidence_level`` as an array, and whether it was a scalar."""
        levels = check_confidence_level(self.confidence_level)
        return levels, np.ndim(self.confidence_level) == 0

    def _check_X(self, X):
        check_is_fitted(self)
        if hasattr(self, "n_features_in_") and getattr(X, "ndim", 2) == 1:
            raise ValueError(
                "Expected a 2D array, got a 1D array instead. Reshape your data "
                "either using array.reshape(-1, 1) if your data has a single "
                "feature or array.reshape(1, -1) if it contains a single sample."
            )
        validate_data(self, X, reset=False, skip_check_array=True)


class _CalibrationSplitMixin(_ConformalFitMixin):
    """Training / calibration split of the predictors with ``calibration_size``.

    Subclasses have ``calibration_size`` and ``random_state`` parameters; a
    :class:`~sklearn.frozen.FrozenEstimator` is used as is, and then all the
    rows calibrate.
    """

    def _splitter(self):
        return self.calibration_size if is_splitter(self.calibration_size) else None

    def _split(self, X, y, sample_weight, groups, fit_params, rng):
        """Training rows, calibration rows and the estimator's routed fit params.

        The first split of the ``calibration_size`` splitter, or a random
        :class:`~sklearn.model_selection.ShuffleSplit` of that size drawn
        with ``rng``.
        """
        routed = self._route(sample_weight, groups, fit_params, self._splitter())
        splitter = self._splitter() or ShuffleSplit(
            n_splits=1, test_size=self.calibration_size, random_state=rng
        )
        train, rows = next(splitter.split(X, y, **routed.splitter.split))
        return train, rows, routed.estimator.fit

    def _fit_split(
        self, X, y, sample_weight, groups, fit_params, rng, *, split_frozen=False
    ):
        """Set ``estimator_``: fitted on the training rows, or the frozen model.

        Returns the training rows (None when nothing is split), the
        calibration rows and their ``X``. A ``FrozenEstimator`` is not
        refitted, and all the rows calibrate unless ``split_frozen`` (the
        training rows then serve another model, such as the score's own).
        """
        estimator = self._get_estimator()
        frozen = isinstance(estimator, FrozenEstimator)
        if frozen and not split_frozen:
            self.estimator_ = estimator
            return None, np.arange(y.shape[0]), X
        train, rows, params = self._split(X, y, sample_weight, groups, fit_params, rng)
        self.estimator_ = (
            estimator if frozen else self._fit_estimator(X, y, params, train)
        )
        return train, rows, _safe_indexing(X, rows)
