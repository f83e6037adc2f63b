"""``CalibratedClassifierCV``: scikit-learn's meta-estimator, every skcalib method."""

import math
import warnings
from importlib import import_module
from inspect import signature
from numbers import Integral

import numpy as np
from array_api_compat import is_array_api_obj
from array_api_compat import numpy as np_compat
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import LeaveOneOut, check_cv
from sklearn.svm import LinearSVC
from sklearn.utils import Bunch, get_tags, indexable
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ..base import get_skcalib_tags
from ..utils._array_api import (
    get_namespace_and_device,
    is_numpy_namespace,
    move_to,
    softmax,
    to_numpy,
)
from ..utils._sklearn_compat import (
    HasMethods,
    StrOptions,
    _check_method_params,
    _fit_context,
    _safe_indexing,
)
from ..utils._validation import check_consistent_length, check_sample_weight

__all__ = ["CALIBRATORS", "CalibratedClassifierCV"]

#: ``method`` name -> (module in :mod:`skcalib.calibration`, calibrator class).
#: Modules are imported on first use.
CALIBRATORS = {
    "sigmoid": ("._platt", "PlattScaling"),
    "isotonic": ("._isotonic", "IsotonicCalibration"),
    "temperature": ("._temperature", "TemperatureScaling"),
    "vector": ("._matrix_scaling", "VectorScaling"),
    "matrix": ("._matrix_scaling", "MatrixScaling"),
    "dirichlet": ("._matrix_scaling", "DirichletCalibration"),
    "beta": ("._beta", "BetaCalibration"),
    "histogram": ("._histogram", "HistogramBinning"),
    "bbq": ("._bbq", "BBQ"),
    "venn_abers": ("._venn_abers", "VennAbersCalibrator"),
}

# Added to probabilities before their logarithm (as scikit-learn's temperature
# scaling does), so that a probability of 0 gives a finite logit. Likewise a
# class an estimator did not see gets a decision value log(_LOG_EPS) below the
# smallest of its row.
_LOG_EPS = 1e-12


def _calibrator_class(name):
    module, class_name = CALIBRATORS[name]
    return getattr(import_module(module, __package__), class_name)


def _response_method(estimator, input_kind):
    """Name of the ``estimator`` method whose output feeds the calibrator.

    Calibrators of probabilities prefer ``predict_proba``; all others
    ``decision_function``, as scikit-learn does.
    """
    preferred = ["decision_function", "predict_proba"]
    if input_kind == "probabilities":
        preferred.reverse()
    return next(name for name in preferred if hasattr(estimator, name))


def _seen_classes(estimator, fit_classes):
    """Mask of the classes the fitted ``estimator`` saw, over ``fit_classes``.

    ``fit_classes`` holds every class as the estimator's ``y`` holds it (the
    labels, or their indices where the labels were encoded for the estimator).
    """
    return np.isin(fit_classes, to_numpy(estimator.classes_))


def _response(estimator, X, response_method, seen):
    """``estimator.<response_method>(X)`` with one column per class.

    Binary decision values keep their shape (n_samples,). The classes the
    estimator did not see (``~seen``) get a probability of 0, or a decision
    value ``log(_LOG_EPS)`` below the smallest of the row: a finite stand-in
    for "impossible" on the scale of the estimator's own scores.
    """
    response = getattr(estimator, response_method)(X)
    if seen.all():
        return response
    if response.ndim == 1:
        raise ValueError(
            f"The estimator was fitted on 2 of the {seen.shape[0]} classes in y: "
            "its binary decision values cannot be mapped to all classes. Use a "
            "splitter whose training folds hold every class, such as "
            "StratifiedKFold."
        )
    xp, device = get_namespace_and_device(response)
    if response_method == "predict_proba":
        fill = xp.zeros_like(response[:, :1])
    else:
        fill = xp.min(response, axis=1, keepdims=True) + math.log(_LOG_EPS)
    padded = xp.concat([response, fill], axis=1)
    # Column of each class in `padded`: its column in the response, or the fill.
    columns = np.full(seen.shape[0], response.shape[1])
    columns[seen] = np.arange(response.shape[1])
    return xp.take(padded, move_to(columns, xp=xp, device=device), axis=1)


def _calibrator_input(response, response_method, input_kind):
    """Turn an estimator's response into the scores the calibrator expects.

    - ``"probabilities"``: probabilities (n_samples, n_classes); decision values
      go through a softmax (a sigmoid for binary decision values).
    - ``"logits"``: decision values, or the logarithm of the probabilities.
    - anything else (``"decision"``, estimators without skcalib tags): the
      response as scikit-learn's calibrators get it, that is decision values or
      probabilities, with only the positive class for two classes.

    Binary decision values are returned with shape (n_samples, 1).
    """
    xp, _ = get_namespace_and_device(response)
    if input_kind == "probabilities":
        if response_method == "predict_proba":
            return response
        if response.ndim == 1:
            response = xp.stack([xp.zeros_like(response), response], axis=1)
        return softmax(response, axis=1, xp=xp)
    if response.ndim == 1:
        return xp.reshape(response, (-1, 1))
    if response_method == "decision_function":
        return response
    if input_kind == "logits":
        return xp.log(response + _LOG_EPS)
    return response[:, 1:] if response.shape[1] == 2 else response


def _fit_calibrator(calibrator, scores, y, sample_weight, classes):
    """Fit ``calibrator`` on ``scores`` and the NumPy labels ``y``; return it.

    A calibrator learns its classes from ``y``. Classes absent from ``y`` (a
    calibration fold of a non-stratified splitter) are shown to it through
    rows of weight 0, which leave a weighted fit unchanged.
    """
    absent = np.setdiff1d(classes, y)
    if absent.size:
        xp, device = get_namespace_and_device(scores)
        rows = move_to(np.zeros(absent.size, dtype=np.int64), xp=xp, device=device)
        scores = xp.concat([scores, xp.take(scores, rows, axis=0)], axis=0)
        y = np.concatenate([y, absent])
        if sample_weight is None:
            sample_weight = np.ones(y.shape[0] - absent.size)
        sample_weight = np.concatenate([sample_weight, np.zeros(absent.size)])
    fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
    return calibrator.fit(scores, y, **fit_params)


class _CalibratedClassifier:
    """A fitted classifier chained with the calibrator fitted on its scores.

    The items of ``CalibratedClassifierCV.calibrated_classifiers_``.

    Parameters
    ----------
    estimator : estimator instance
        Fitted classifier.
    calibrator : estimator instance
        Calibrator fitted on the scores of ``estimator``.
    classes : ndarray of shape (n_classes,)
        All the classes.
    seen : ndarray of shape (n_classes,), dtype=bool
        Which classes the estimator saw during fit; the others get a
        probability of 0.
    response_method : {"decision_function", "predict_proba"}
        Method of ``estimator`` whose output feeds the calibrator.
    input_kind : str
        The skcalib ``input_kind`` tag of the calibrator.
    """

    # Label arrays: NumPy wherever the classifier runs (see move_estimator).
    _host_attributes = ("classes", "seen")

    def __init__(
        self, estimator, calibrator, *, classes, seen, response_method, input_kind
    ):
        self.estimator = estimator
        self.calibrator = calibrator
        self.classes = classes
        self.seen = seen
        self.response_method = response_method
        self.input_kind = input_kind

    @property
    def calibrators(self):
        """``[calibrator]``, under the name scikit-learn's items use."""
        return [self.calibrator]

    def predict_proba(self, X):
        """Calibrated probabilities of the classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, as accepted by the estimator.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
        """
        response = _response(self.estimator, X, self.response_method, self.seen)
        scores = _calibrator_input(response, self.response_method, self.input_kind)
        proba = self.calibrator.predict_proba(scores)
        if self.seen.all():
            return proba
        xp, device = get_namespace_and_device(proba)
        proba = proba * xp.astype(move_to(self.seen, xp=xp, device=device), proba.dtype)
        total = xp.sum(proba, axis=1, keepdims=True)
        positive = total > 0
        # Rows where every seen class got 0 become uniform, as in scikit-learn.
        proba = proba / xp.where(positive, total, xp.ones_like(total))
        uniform = xp.full_like(proba, 1 / self.classes.shape[0])
        return xp.where(positive, proba, uniform)


def _take_rows(a, rows):
    """Rows ``rows`` (NumPy indices) of ``a``, an array-like or a sample list.

    Arrays of another array-API namespace than NumPy are indexed in their own
    namespace and device, which ``_safe_indexing`` does not do in every
    supported scikit-learn version (1.6 does not).
    """
    if is_array_api_obj(a):
        xp, device = get_namespace_and_device(a)
        if not is_numpy_namespace(xp):
            return xp.take(a, move_to(rows, xp=xp, device=device), axis=0)
    return _safe_indexing(a, rows)


def _fit_fold(
    estimator, X, y, *, train, test, fit_classes, response_method, fit_params
):
    """Fit ``estimator`` on the ``train`` rows and respond on the ``test`` rows.

    Returns the fitted estimator, the mask of the classes it saw (over
    ``fit_classes``) and its response on ``test`` (see :func:`_response`).
    """
    fit_params_train = _check_method_params(X, params=fit_params, indices=train)
    estimator.fit(_take_rows(X, train), _take_rows(y, train), **fit_params_train)
    seen = _seen_classes(estimator, fit_classes)
    response = _response(estimator, _take_rows(X, test), response_method, seen)
    return estimator, seen, response


def _fit_calibrated_classifier(
    estimator,
    calibrator,
    X,
    y,
    y_labels,
    *,
    train,
    test,
    classes,
    input_kind,
    sample_weight,
    fit_classes,
    response_method,
    fit_params,
):
    """Fit ``estimator`` on ``train`` and ``calibrator`` on its scores on ``test``."""
    estimator, seen, response = _fit_fold(
        estimator,
        X,
        y,
        train=train,
        test=test,
        fit_classes=fit_classes,
        response_method=response_method,
        fit_params=fit_params,
    )
    calibrator = _fit_calibrator(
        calibrator,
        _calibrator_input(response, response_method, input_kind),
        y_labels[test],
        None if sample_weight is None else sample_weight[test],
        classes,
    )
    return _CalibratedClassifier(
        estimator,
        calibrator,
        classes=classes,
        seen=seen,
        response_method=response_method,
        input_kind=input_kind,
    )


def _cross_val_response(estimator, X, y, splits, *, n_samples, n_jobs, **fold_params):
    """Out-of-fold responses of clones of ``estimator``, in sample order.

    What :func:`~sklearn.model_selection.cross_val_predict` computes, with the
    classes a fold's estimator did not see filled as in :func:`_response`.
    ``fold_params`` are passed to :func:`_fit_fold`.
    """
    test_rows = np.concatenate([test for _, test in splits])
    if not np.array_equal(np.sort(test_rows), np.arange(n_samples)):
        raise ValueError(
            "ensemble=False calibrates out-of-fold scores: the test folds of cv "
            "must partition the samples, holding each sample exactly once."
        )
    folds = Parallel(n_jobs=n_jobs)(
        delayed(_fit_fold)(
            clone(estimator), X, y, train=train, test=test, **fold_params
        )
        for train, test in splits
    )
    responses = [response for _, _, response in folds]
    xp, device = get_namespace_and_device(*responses)
    order = move_to(np.argsort(test_rows), xp=xp, device=device)
    return xp.take(xp.concat(responses, axis=0), order, axis=0)


class CalibratedClassifierCV(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Calibrate a classifier with cross-validation and any skcalib calibrator.

    A drop-in superset of :class:`sklearn.calibration.CalibratedClassifierCV`:
    the same parameters, attributes and behaviour (cross-validation, ensembles,
    :class:`~sklearn.frozen.FrozenEstimator` for prefit models, sample weights,
    metadata routing), so code written for scikit-learn's class keeps working
    when only the import changes. In addition, ``method`` accepts every skcalib
    calibrator, by name or as an instance whose parameters can be tuned as
    ``method__<param>`` in a grid search.

    With ``ensemble=True``, for each cross-validation split a clone of
    ``estimator`` is fitted on the training part and a clone of the calibrator
    on the estimator's scores of the test part; ``predict_proba`` averages the
    probabilities of these pairs. With ``ensemble=False``, the out-of-fold
    scores of all splits (as :func:`~sklearn.model_selection.cross_val_predict`
    computes them) calibrate ``estimator`` fitted on all the data. A
    :class:`~sklearn.frozen.FrozenEstimator` is never refitted: with the
    default ``ensemble="auto"`` all the data calibrate it.

    The calibrator is fitted on the estimator's scores, chosen by the kind of
    input it declares (its skcalib ``input_kind`` tag):

    - calibrators of decision values (``"sigmoid"``, ``"isotonic"``) and
      plain classifiers given as ``method`` get ``decision_function``, else
      ``predict_proba``, exactly as in scikit-learn: one score per class,
      calibrated one-vs-rest and renormalised, or the positive class's score for
      two classes;
    - calibrators of logits (``"temperature"``, ``"vector"``, ``"matrix"``)
      get ``decision_function``, else the logarithm of ``predict_proba``;
    - calibrators of probabilities (``"dirichlet"``, ``"beta"``,
      ``"histogram"``, ``"bbq"``, ``"venn_abers"``) get ``predict_proba``, else
      the softmax of ``decision_function`` (a sigmoid for two classes).

    Parameters
    ----------
    estimator : estimator instance, default=None
        The classifier to calibrate, with ``decision_function`` or
        ``predict_proba``. Wrap a fitted classifier in a
        :class:`~sklearn.frozen.FrozenEstimator` to calibrate it without
        refitting; keep its training data apart from the data passed to
        ``fit``. ``None`` means ``LinearSVC(random_state=0)``.
    method : str or estimator instance, default="sigmoid"
        The calibrator:

        - ``"sigmoid"``: :class:`PlattScaling`, Platt's logistic model;
        - ``"isotonic"``: :class:`IsotonicCalibration`, isotonic regression;
        - ``"temperature"``: :class:`TemperatureScaling`;
        - ``"vector"``, ``"matrix"``: :class:`VectorScaling`,
          :class:`MatrixScaling`;
        - ``"dirichlet"``: :class:`DirichletCalibration`;
        - ``"beta"``: :class:`BetaCalibration`;
        - ``"histogram"``: :class:`HistogramBinning`;
        - ``"bbq"``: :class:`BBQ`, Bayesian binning into quantiles;
        - ``"venn_abers"``: :class:`VennAbersCalibrator`;
        - an estimator instance with ``fit`` and ``predict_proba`` (a skcalib
          calibrator or any classifier), cloned for every calibration.

        Binary calibrators (``"sigmoid"``, ``"isotonic"``, ...) extend to more
        classes one-vs-rest and renormalise the probabilities to sum to one, as
        scikit-learn does.
    cv : int, cross-validation generator or iterable, default=None
        Cross-validation splitting strategy: ``None`` for 5 folds, an integer
        number of folds (stratified for binary or multiclass ``y``), a
        a CV splitter, or an iterable of (train, test) index arrays.
    n_jobs : int, default=None
        Number of jobs fitting the cross-validation folds in parallel. ``None``
        means 1 unless in a :obj:`joblib.parallel_backend` context; ``-1`` uses
        all processors.
    ensemble : bool or "auto", default="auto"
        Whether to keep one classifier-calibrator pair per fold (``True``) or a
        single calibrator of cross-validated scores and ``estimator`` fitted on
        all data (``False``). ``"auto"`` is ``False`` for a
        :class:`~sklearn.frozen.FrozenEstimator` and ``True`` otherwise.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of features seen during ``fit``. Only defined if the
        underlying estimator exposes such an attribute when fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Only defined if the
        underlying estimator exposes such an attribute when fit.
    calibrated_classifiers_ : list
        The fitted classifier-calibrator pairs: one per fold with
        ``ensemble=True``, else one. Each has the attributes ``estimator``,
        ``calibrator`` (also as the one-element list ``calibrators``) and
        ``classes``, and a ``predict_proba(X)`` method.

    See Also
    --------
    sklearn.calibration.CalibratedClassifierCV : The scikit-learn class this one
        extends.
    TemperatureScaling : A calibrator of scores, to use directly on held-out
        logits.

    Notes
    -----
    Splitters that are not stratified can leave a class out of a fold. A
    training fold without a class gives a classifier that never predicts it:
    that fold's calibrated probability of the class is 0, as in scikit-learn
    (unless every other class gets 0 too: then all classes are equally
    likely). Its scores for the class are a probability of 0, or a decision
    value far below the others of the sample; with ``ensemble=False``
    scikit-learn puts the most negative float there instead, which only its
    one-vs-rest calibrators survive, so the results differ in that case. A
    calibration fold without a class still calibrates it.

    Other departures from scikit-learn: splitter metadata (``groups``) is
    routed with ``ensemble=False`` too; ``sample_weight`` must be
    non-negative; and passing ``sample_weight`` with a
    :class:`~sklearn.frozen.FrozenEstimator` raises no warning, since the
    weights are used by the calibrator and a frozen estimator is not fitted.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcalib.calibration import TemperatureScaling
    >>> from skcalib.calibration import CalibratedClassifierCV
    >>> X, y = make_classification(n_samples=300, n_classes=3, n_informative=4,
    ...                            random_state=0)
    >>> clf = CalibratedClassifierCV(LogisticRegression(), method="temperature",
    ...                              cv=3).fit(X, y)
    >>> len(clf.calibrated_classifiers_)
    3
    >>> clf.predict_proba(X[:2]).round(2)
    array([[0.53, 0.19, 0.27],
           [0.17, 0.58, 0.25]])

    An instance exposes its parameters to grid searches:

    >>> from sklearn.model_selection import GridSearchCV
    >>> calibrated = CalibratedClassifierCV(
    ...     LogisticRegression(), method=TemperatureScaling(), cv=3)
    >>> search = GridSearchCV(calibrated, {"method__max_iter": [5, 100]},
    ...                       scoring="neg_log_loss", cv=3).fit(X, y)
    >>> sorted(search.best_params_)
    ['method__max_iter']
    """

    _parameter_constraints: dict = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
            None,
        ],
        "method": [StrOptions(set(CALIBRATORS)), HasMethods(["fit", "predict_proba"])],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
        "ensemble": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        estimator=None,
        *,
        method="sigmoid",
        cv=None,
        n_jobs=None,
        ensemble="auto",
    ):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.n_jobs = n_jobs
        self.ensemble = ensemble

    def _get_estimator(self):
        """The estimator to calibrate (``LinearSVC(random_state=0)`` by default)."""
        if self.estimator is not None:
            return self.estimator
        # Deterministic, like every classifier without a random_state.
        estimator = LinearSVC(random_state=0)
        if get_config()["enable_metadata_routing"]:
            estimator.set_fit_request(sample_weight=True)
        return estimator

    def _get_calibrator(self):
        """An unfitted calibrator: a clone of ``method`` or the named class."""
        if isinstance(self.method, str):
            return _calibrator_class(self.method)()
        return clone(self.method)

    @_fit_context(
        # `estimator` and `method` are validated when they are fitted.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the classifier(s) and calibrator(s).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, as accepted by the estimator.
        y : array-like of shape (n_samples,)
            Target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, used by the calibrator and, if it accepts them (or
            requests them with metadata routing), by the estimator.
        **fit_params : dict
            Parameters passed to the estimator's ``fit`` (routed with metadata
            routing enabled).

        Returns
        -------
        self : object
            The fitted meta-estimator.
        """
        if y is None:
            raise ValueError(
                "CalibratedClassifierCV requires y to be passed, but the target y "
                "is None."
            )
        X, y = indexable(X, y)
        # Labels on the host: for the classes, the splitter and the calibrator.
        y_labels = to_numpy(y) if is_array_api_obj(y) else np.asarray(y)
        check_classification_targets(y_labels)
        check_consistent_length(X=X, y=y_labels)
        estimator = self._get_estimator()
        calibrator = self._get_calibrator()
        skcalib_tags = get_skcalib_tags(calibrator)

        self.classes_ = np.unique(y_labels)
        self._check_classes(estimator, skcalib_tags)
        routed_params = self._route_params(estimator, sample_weight, fit_params)
        # For the calibrator: validated, on the host (it moves them to its device).
        sample_weight = check_sample_weight(
            sample_weight,
            y_labels.shape[0],
            xp=np_compat,
            device="cpu",
            dtype=np.float64,
        )
        y, fit_classes = self._estimator_targets(X, y, y_labels, estimator)
        cv = self._check_cv(y_labels)

        ensemble = self.ensemble
        if ensemble == "auto":
            ensemble = not isinstance(estimator, FrozenEstimator)
        input_kind = skcalib_tags.input_kind
        response_method = _response_method(estimator, input_kind)
        fold_params = dict(
            fit_classes=fit_classes,
            response_method=response_method,
            fit_params=routed_params.estimator.fit,
        )
        splits = list(cv.split(X, y_labels, **routed_params.splitter.split))
        if ensemble:
            self.calibrated_classifiers_ = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_calibrated_classifier)(
                    clone(estimator),
                    clone(calibrator),
                    X,
                    y,
                    y_labels,
                    train=train,
                    test=test,
                    classes=self.classes_,
                    input_kind=input_kind,
                    sample_weight=sample_weight,
                    **fold_params,
                )
                for train, test in splits
            )
        else:
            response = _cross_val_response(
                estimator,
                X,
                y,
                splits,
                n_samples=y_labels.shape[0],
                n_jobs=self.n_jobs,
                **fold_params,
            )
            estimator = clone(estimator).fit(X, y, **routed_params.estimator.fit)
            calibrator = _fit_calibrator(
                calibrator,
                _calibrator_input(response, response_method, input_kind),
                y_labels,
                sample_weight,
                self.classes_,
            )
            self.calibrated_classifiers_ = [
                _CalibratedClassifier(
                    estimator,
                    calibrator,
                    classes=self.classes_,
                    seen=_seen_classes(estimator, fit_classes),
                    response_method=response_method,
                    input_kind=input_kind,
                )
            ]

        first_estimator = self.calibrated_classifiers_[0].estimator
        if hasattr(first_estimator, "n_features_in_"):
            self.n_features_in_ = first_estimator.n_features_in_
        if hasattr(first_estimator, "feature_names_in_"):
            self.feature_names_in_ = first_estimator.feature_names_in_
        return self

    def _check_classes(self, estimator, skcalib_tags):
        """Validate ``classes_`` against the calibrator and a frozen estimator."""
        n_classes = self.classes_.shape[0]
        if n_classes < 2:
            raise ValueError(
                "CalibratedClassifierCV needs samples of at least two classes; y "
                f"contains one class only: {self.classes_.tolist()}."
            )
        if skcalib_tags.binary_only and n_classes > 2:
            raise ValueError(
                f"method={self.method!r} calibrates binary classifiers only, but y "
                f"has {n_classes} classes. Use a multiclass method such as "
                "'sigmoid', 'isotonic' or 'temperature'."
            )
        if isinstance(estimator, FrozenEstimator):
            unknown = np.setdiff1d(to_numpy(estimator.classes_), self.classes_)
            if unknown.size:
                raise ValueError(
                    "The frozen estimator was fitted on classes "
                    f"{unknown.tolist()[:10]} that y does not contain: calibrate it "
                    "on data holding all of its classes."
                )

    def _estimator_targets(self, X, y, y_labels, estimator):
        """``y`` for the estimator, and every class as that ``y`` holds it.

        With array-API dispatch the estimator gets ``y`` in ``X``'s namespace;
        labels that cannot go there (strings) become their indices in
        ``classes_``, unless the estimator is frozen (fitted on the labels).
        """
        if is_array_api_obj(X):
            xp, device = get_namespace_and_device(X)
            if not is_numpy_namespace(xp):
                if y_labels.dtype.kind in "biuf":
                    return move_to(y_labels, xp=xp, device=device), self.classes_
                if not isinstance(estimator, FrozenEstimator):
                    indices = np.searchsorted(self.classes_, y_labels)
                    fit_classes = np.arange(self.classes_.shape[0])
                    return move_to(indices, xp=xp, device=device), fit_classes
        return y, self.classes_

    def _route_params(self, estimator, sample_weight, fit_params):
        """Metadata for the estimator's ``fit`` and the splitter's ``split``."""
        if get_config()["enable_metadata_routing"]:
            return process_routing(
                self, "fit", sample_weight=sample_weight, **fit_params
            )
        fit_kwargs = dict(fit_params)
        if sample_weight is not None:
            if "sample_weight" in signature(estimator.fit).parameters:
                fit_kwargs["sample_weight"] = sample_weight
            elif not isinstance(estimator, FrozenEstimator):
                warnings.warn(
                    f"Since {type(estimator).__name__} does not appear to accept "
                    "sample_weight, sample weights will only be used for the "
                    "calibration itself. This can be caused by a limitation of the "
                    "current scikit-learn API. See the following issue for more "
                    "details: https://github.com/scikit-learn/scikit-learn/issues/"
                    "21134. Be warned that the result of the calibration is likely "
                    "to be incorrect."
                )
        return Bunch(estimator=Bunch(fit=fit_kwargs), splitter=Bunch(split={}))

    def _check_cv(self, y_labels):
        """The splitter, after checking that every fold can hold every class."""
        if isinstance(self.cv, Integral):
            n_folds = self.cv
        else:
            n_folds = getattr(self.cv, "n_splits", None)
        if n_folds and np.any(np.unique(y_labels, return_counts=True)[1] < n_folds):
            raise ValueError(
                f"Requesting {n_folds}-fold cross-validation but provided less than "
                f"{n_folds} examples for at least one class."
            )
        if isinstance(self.cv, LeaveOneOut):
            raise ValueError(
                "LeaveOneOut cross-validation does not allow all classes to be "
                "present in test splits. Please use a cross-validation generator "
                "that allows all classes to appear in every test and train split."
            )
        return check_cv(self.cv, y_labels, classifier=True)

    def predict_proba(self, X):
        """Calibrated probabilities, averaged over the calibrated classifiers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, as accepted by the estimator.

        Returns
        -------
        proba : array of shape (n_samples, n_classes)
            Probabilities of ``classes_``, in ``X``'s namespace with array-API
            dispatch.
        """
        check_is_fitted(self)
        first, *others = self.calibrated_classifiers_
        proba = first.predict_proba(X)
        for calibrated_classifier in others:
            proba = proba + calibrated_classifier.predict_proba(X)
        return proba / len(self.calibrated_classifiers_)

    def predict(self, X):
        """Most probable class after calibration.

        It can differ from the prediction of the uncalibrated classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, as accepted by the estimator.

        Returns
        -------
        labels : array of shape (n_samples,)
            Labels from ``classes_``: numeric labels in the namespace and on
            the device of the probabilities, other labels (strings) in NumPy.
        """
        proba = self.predict_proba(X)
        xp, device = get_namespace_and_device(proba)
        labels = self.classes_[to_numpy(xp.argmax(proba, axis=1))]
        if labels.dtype.kind in "biuf":
            return move_to(labels, xp=xp, device=device)
        return labels

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        See scikit-learn's user guide on metadata routing for how the routing
        mechanism works.

        Returns
        -------
        routing : MetadataRouter
            Routes ``fit`` metadata to the estimator's ``fit`` and the splitter's
            ``split``; ``sample_weight`` is also used by the calibrator.
        """
        return (
            MetadataRouter(owner=type(self).__name__)
            .add_self_request(self)
            .add(
                estimator=self._get_estimator(),
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
            .add(
                splitter=self.cv,
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        estimator_tags = get_tags(self._get_estimator())
        tags.input_tags.sparse = estimator_tags.input_tags.sparse
        known = not isinstance(self.method, str) or self.method in CALIBRATORS
        tags.array_api_support = (
            estimator_tags.array_api_support
            and known
            and get_tags(self._get_calibrator()).array_api_support
        )
        return tags
