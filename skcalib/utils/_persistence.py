"""Saving and loading skcalib estimators safely with ``skops.io``."""

import inspect

__all__ = ["get_skops_trusted_types"]

# scikit-learn types held by the default models of skcalib's estimators (the
# gradient-boosted error model of DEUP, the k-d tree behind its distance
# feature and behind EnsembleUncertainty's) that skops does not trust by default.
_SKLEARN_HELPER_TYPES = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
)


def _type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _skcalib_helper_types():
    """Private classes that skcalib stores in fitted attributes."""
    from ..calibration._bbq import _BBQColumn
    from ..calibration._calibrated_classifier_cv import _CalibratedClassifier
    from ..calibration._venn_abers import _VennAbersTable
    from ..conformal._calibration_table import CategoryLayout, ScoreTable

    return (
        _BBQColumn,
        _CalibratedClassifier,
        _VennAbersTable,
        CategoryLayout,
        ScoreTable,
    )


def get_skops_trusted_types():
    """Type names that skcalib vouches for when loading with ``skops.io``.

    ``pickle`` and ``joblib`` run arbitrary code while loading: only load
    files from a source you trust. ``skops.io`` instead refuses to build any
    type it does not trust; by default it trusts NumPy, SciPy and most of
    scikit-learn, but not skcalib's classes, so loading a fitted skcalib
    estimator needs them listed in ``trusted=``. This function returns them:
    every public estimator class and conformity score of skcalib, the private
    helper classes skcalib stores in fitted attributes, and the scikit-learn
    types held by skcalib's default models that skops does not trust by
    default. These types only hold data (arrays, numbers, parameters); they
    run no code while loading.

    Pass the list as ``trusted=`` only after checking, with
    ``skops.io.get_untrusted_types``, that a file asks for nothing else. A
    model you chose yourself (say a decision tree inside a conformal
    predictor) can need more types, such as ``"sklearn.tree._tree.Tree"``:
    review and add them yourself.

    Returns
    -------
    trusted_types : list of str
        Sorted, fully qualified type names (``"module.QualifiedName"``), the
        format of ``skops.io.get_untrusted_types``.

    See Also
    --------
    skops.io.get_untrusted_types : The types a saved file needs and skops does
        not trust by default.

    Examples
    --------
    >>> import skops.io as sio
    >>> from skcalib.calibration import TemperatureScaling
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.utils import get_skops_trusted_types
    >>> logits, y = make_classification_logits(200, 3, random_state=0)
    >>> est = TemperatureScaling().fit(logits, y)
    >>> data = sio.dumps(est)
    >>> sio.get_untrusted_types(data=data)
    ['skcalib.calibration._temperature.TemperatureScaling']
    >>> set(sio.get_untrusted_types(data=data)) <= set(get_skops_trusted_types())
    True
    >>> loaded = sio.loads(data, trusted=get_skops_trusted_types())
    >>> bool((loaded.predict_proba(logits) == est.predict_proba(logits)).all())
    True
    """
    from ..conformal import scores
    from .discovery import all_estimators

    classes = [cls for _, cls in all_estimators()]
    classes += [
        getattr(scores, name)
        for name in scores.__all__
        if inspect.isclass(getattr(scores, name)) and not name.startswith("Base")
    ]
    classes += _skcalib_helper_types()
    names = {_type_name(cls) for cls in classes}
    return sorted(names.union(_SKLEARN_HELPER_TYPES))
