"""Fit machinery shared by the conformal classifiers and regressors.

The default model, the tags it lends, metadata routing of the fit
parameters, fitting a clone on some rows and the validation of ``X`` at
predict time do not depend on the task.
"""

from sklearn import get_config
from sklearn.base import clone
from sklearn.utils import Bunch
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from ..utils._sklearn_compat import _check_method_params, _safe_indexing


def is_splitter(obj):
    """Whether ``obj`` is a splitter (has ``split`` and ``get_n_splits``)."""
    return hasattr(obj, "split") and hasattr(obj, "get_n_splits")


class _ConformalFitMixin:
    """Wrapped-estimator handling of the conformal predictors.

    Subclasses define ``_default_estimator()`` (the model used when
    ``estimator=None``).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = self._get_estimator().__sklearn_tags__()
        tags.input_tags.sparse = sub.input_tags.sparse
        tags.input_tags.allow_nan = sub.input_tags.allow_nan
        return tags

    def _get_estimator(self):
        return self._default_estimator() if self.estimator is None else self.estimator

    def _route(self, sample_weight, groups, fit_params, splitter):
        """Parameters for the estimator's ``fit`` and the splitter's ``split``."""
        if get_config().get("enable_metadata_routing", False):
            # ``groups`` only when given: the regressors' fit takes none.
            metadata = {} if groups is None else {"groups": groups}
            routed = process_routing(
                self, "fit", sample_weight=sample_weight, **metadata, **fit_params
            )
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

    def _fit_estimator(self, X, y, params, rows):
        estimator = clone(self._get_estimator())
        fold_params = _check_method_params(X, params=params, indices=rows)
        estimator.fit(_safe_indexing(X, rows), y[rows], **fold_params)
        return estimator

    def _check_X(self, X):
        check_is_fitted(self)
        if hasattr(self, "n_features_in_") and getattr(X, "ndim", 2) == 1:
            raise ValueError(
                "Expected a 2D array, got a 1D array instead. Reshape your data "
                "either using array.reshape(-1, 1) if your data has a single "
                "feature or array.reshape(1, -1) if it contains a single sample."
            )
        validate_data(self, X, reset=False, skip_check_array=True)
