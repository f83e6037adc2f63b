"""Scorers: skcalib metrics usable as ``scoring=`` in scikit-learn model selection.

scikit-learn's :func:`sklearn.metrics.make_scorer` only accepts the response
methods ``predict``, ``predict_proba`` and ``decision_function`` by name, and
for binary classifiers it reduces ``predict_proba`` to the positive column,
which loses the class order a calibration metric needs. :class:`_Scorer` here
follows scikit-learn's scorer protocol instead (``scorer(estimator, X, y,
sample_weight=None)``, sign so that greater is better, metadata-routing
requests for ``sample_weight``) and calls any response method: ``predict_proba``
(the full probability matrix, with ``labels=estimator.classes_``),
``predict_set``, ``predict_interval``, ``score_samples``, ...

Registered names (see :func:`get_scorer_names`):

=============================  =================  ============================
name                           response method    metric
=============================  =================  ============================
neg_expected_calibration_error predict_proba      -expected_calibration_error
neg_adaptive_calibration_error predict_proba      -adaptive_calibration_error
neg_maximum_calibration_error  predict_proba      -maximum_calibration_error
neg_smooth_ece                 predict_proba      -smooth_ece
neg_brier_score                predict_proba      -brier_score
neg_negative_log_likelihood    predict_proba      -negative_log_likelihood
neg_balance_score              predict_proba      -abs(balance_score)
coverage_score                 predict_set        coverage_score
neg_mean_set_size              predict_set        -mean_set_size
interval_coverage_score        predict_interval   interval_coverage_score
neg_mean_interval_width        predict_interval   -mean_interval_width
ood_auroc                      score_samples      ood_auroc
neg_fpr_at_tpr                 score_samples      -fpr_at_tpr
aupr_in                        score_samples      aupr_in
aupr_out                       score_samples      aupr_out
neg_detection_error            score_samples      -detection_error
=============================  =================  ============================

For the OOD scorers, ``y`` is the in-distribution indicator (1 / True / +1 for
in-distribution samples, 0 / False / -1 for OOD samples).
"""

import importlib
import inspect
from numbers import Real

import numpy as np
from sklearn import get_config
from sklearn.utils.metadata_routing import MetadataRequest

__all__ = [
    "coverage_constrained_refit",
    "get_scorer",
    "get_scorer_names",
    "make_scorer",
]

_PROBA_LIKE = ("predict_proba", "predict_log_proba", "predict_set")


def _positional_arity(func):
    """Number of required positional parameters of ``func`` (None if unknown)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    return sum(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        for p in params
    )


def _accepts(func, name, *, var_keyword=True):
    """Whether ``func`` takes ``name``: by name, or (``var_keyword``) ``**kwargs``."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or (
        var_keyword and any(p.kind == p.VAR_KEYWORD for p in params.values())
    )


class _Scorer:
    """Scorer following scikit-learn's protocol for any response method.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_response, **kwargs)``, or
        ``score_func(y_response, **kwargs)`` when it needs no ``y_true``
        (for example :func:`~skcalib.metrics.mean_set_size`).
    sign : {1, -1}
        ``-1`` for losses, so that greater is better.
    kwargs : dict
        Extra keyword arguments for ``score_func``.
    response_method : str or tuple of str
        Estimator method(s) to call on ``X``, the first available one is used.
    needs_y : bool
        Whether ``score_func`` takes ``y_true`` first.
    """

    def __init__(self, score_func, sign, kwargs, response_method, needs_y=True):
        self._score_func = score_func
        self._sign = sign
        self._kwargs = kwargs
        self._response_method = response_method
        self._needs_y = needs_y

    # -- scikit-learn scorer protocol ------------------------------------- #
    def __call__(self, estimator, X, y_true=None, sample_weight=None, **kwargs):
        """Score ``estimator`` on ``X`` against ``y_true``.

        Parameters
        ----------
        estimator : fitted estimator
        X : array-like
            Input of the response method.
        y_true : array-like of shape (n_samples,), default=None
            Targets (labels, values, or the in-distribution indicator for
            OOD scorers); ignored by metrics that need none.
        sample_weight : array-like of shape (n_samples,), default=None
        **kwargs
            Other metadata. What the response method accepts by name (for
            example the ``groups`` of a Mondrian conformal predictor's
            ``predict_set``) is passed to it; what the metric accepts, to the
            metric; anything else to the metric.

        Returns
        -------
        score : float
            Greater is better.
        """
        method = self._find_method(estimator)
        method_kwargs = {
            k: v for k, v in kwargs.items() if _accepts(method, k, var_keyword=False)
        }
        response = method(X, **method_kwargs)
        score_kwargs = {**self._kwargs}
        for key, value in kwargs.items():
            if key not in method_kwargs or _accepts(self._score_func, key):
                score_kwargs[key] = value
        if sample_weight is not None:
            score_kwargs["sample_weight"] = sample_weight
        if (
            self._response_name(method) in _PROBA_LIKE
            and "labels" not in score_kwargs
            and getattr(estimator, "classes_", None) is not None
            and _accepts(self._score_func, "labels")
        ):
            score_kwargs["labels"] = estimator.classes_
        if self._needs_y:
            if y_true is None:
                raise ValueError(f"{self!r} needs y to score.")
            value = self._score_func(y_true, response, **score_kwargs)
        else:
            value = self._score_func(response, **score_kwargs)
        return self._sign * float(value)

    def _find_method(self, estimator):
        names = (
            (self._response_method,)
            if isinstance(self._response_method, str)
            else tuple(self._response_method)
        )
        for name in names:
            method = getattr(estimator, name, None)
            if method is not None:
                return method
        raise AttributeError(
            f"{type(estimator).__name__} has none of the methods {list(names)} "
            f"needed by {self!r}."
        )

    @staticmethod
    def _response_name(method):
        return getattr(method, "__name__", None)

    def _accept_sample_weight(self):
        # Used by scikit-learn (GridSearchCV, cross_validate) without routing.
        return _accepts(self._score_func, "sample_weight")

    def set_score_request(self, **kwargs):
        """Request metadata (for example ``sample_weight=True``) for scoring.

        Only available with ``sklearn.set_config(enable_metadata_routing=True)``.

        Returns
        -------
        self : object
        """
        if not get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "This method is only available when metadata routing is enabled."
                " You can enable it using"
                " sklearn.set_config(enable_metadata_routing=True)."
            )
        request = MetadataRequest(owner=self)
        for param, alias in kwargs.items():
            request.score.add_request(param=param, alias=alias)
        self._metadata_request = request
        return self

    def get_metadata_routing(self):
        """Metadata requested by this scorer (``sample_weight`` unless set)."""
        if getattr(self, "_metadata_request", None) is not None:
            return self._metadata_request
        request = MetadataRequest(owner=self)
        if self._accept_sample_weight():
            request.score.add_request(param="sample_weight", alias=None)
        return request

    def __repr__(self):
        name = getattr(self._score_func, "__name__", repr(self._score_func))
        sign = "" if self._sign > 0 else ", greater_is_better=False"
        kw = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        return (
            f"make_scorer({name}{sign}, response_method={self._response_method!r}{kw})"
        )


def make_scorer(
    score_func, *, response_method="predict", greater_is_better=True, **kwargs
):
    """Make a scorer from a metric, for any response method of the estimator.

    Like :func:`sklearn.metrics.make_scorer`, but ``response_method`` may name
    any method (``"predict_set"``, ``"predict_interval"``, ``"score_samples"``,
    ...). For ``predict_proba`` the full ``(n_samples, n_classes)`` matrix is
    passed (also for binary problems) and, with ``predict_proba`` /
    ``predict_set``, ``labels=estimator.classes_`` when the metric accepts
    ``labels``. A metric with a single required positional parameter (such as
    :func:`~skcalib.metrics.mean_set_size`) is called without ``y_true``.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_response, **kwargs)`` or
        ``score_func(y_response, **kwargs)``.
    response_method : str or list/tuple of str, default="predict"
        Method(s) of the estimator giving the response; the first one the
        estimator has is used.
    greater_is_better : bool, default=True
        False for losses: the scorer then returns ``-score_func(...)``.
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None)``, usable as ``scoring=``
        in :class:`~sklearn.model_selection.GridSearchCV` and
        :func:`~sklearn.model_selection.cross_validate`.

    Examples
    --------
    >>> from skcalib.metrics import make_scorer, mean_set_size
    >>> make_scorer(mean_set_size, response_method="predict_set",
    ...             greater_is_better=False)
    make_scorer(mean_set_size, greater_is_better=False, response_method='predict_set')
    """
    if not callable(score_func):
        raise ValueError(f"score_func must be callable, got {score_func!r}.")
    if not isinstance(response_method, str) and not (
        isinstance(response_method, (list, tuple))
        and response_method
        and all(isinstance(m, str) for m in response_method)
    ):
        raise ValueError(
            "response_method must be a method name or a non-empty list/tuple of "
            f"method names, got {response_method!r}."
        )
    if isinstance(response_method, list):
        response_method = tuple(response_method)
    arity = _positional_arity(score_func)
    needs_y = arity is None or arity >= 2
    return _Scorer(
        score_func, 1 if greater_is_better else -1, kwargs, response_method, needs_y
    )


def _neg_abs_balance(y_true, y_prob, **kwargs):
    """``abs(balance_score)``: the balance score is signed, 0 is best."""
    from ._calibration import balance_score

    return abs(balance_score(y_true, y_prob, **kwargs))


_neg_abs_balance.__name__ = "abs_balance_score"

# name -> (module, function, greater_is_better, response_method)
_REGISTRY = {
    "neg_expected_calibration_error": (
        "_calibration",
        "expected_calibration_error",
        False,
        "predict_proba",
    ),
    "neg_adaptive_calibration_error": (
        "_calibration",
        "adaptive_calibration_error",
        False,
        "predict_proba",
    ),
    "neg_maximum_calibration_error": (
        "_calibration",
        "maximum_calibration_error",
        False,
        "predict_proba",
    ),
    "neg_smooth_ece": ("_calibration", "smooth_ece", False, "predict_proba"),
    "neg_brier_score": ("_calibration", "brier_score", False, "predict_proba"),
    "neg_negative_log_likelihood": (
        "_calibration",
        "negative_log_likelihood",
        False,
        "predict_proba",
    ),
    "neg_balance_score": (None, _neg_abs_balance, False, "predict_proba"),
    "coverage_score": ("_conformal", "coverage_score", True, "predict_set"),
    "neg_mean_set_size": ("_conformal", "mean_set_size", False, "predict_set"),
    "interval_coverage_score": (
        "_conformal",
        "interval_coverage_score",
        True,
        "predict_interval",
    ),
    "neg_mean_interval_width": (
        "_conformal",
        "mean_interval_width",
        False,
        "predict_interval",
    ),
    "ood_auroc": ("_ood", "ood_auroc", True, "score_samples"),
    "neg_fpr_at_tpr": ("_ood", "fpr_at_tpr", False, "score_samples"),
    "aupr_in": ("_ood", "aupr_in", True, "score_samples"),
    "aupr_out": ("_ood", "aupr_out", True, "score_samples"),
    "neg_detection_error": ("_ood", "detection_error", False, "score_samples"),
}


def _build(name):
    module, func, greater, method = _REGISTRY[name]
    if module is not None:
        func = getattr(importlib.import_module(f"skcalib.metrics.{module}"), func)
    return make_scorer(func, response_method=method, greater_is_better=greater)


def get_scorer(scoring):
    """Return a scorer from its name (skcalib's first, then scikit-learn's).

    Parameters
    ----------
    scoring : str, callable or None
        A name from :func:`get_scorer_names`; names unknown to skcalib are
        looked up with :func:`sklearn.metrics.get_scorer`. A callable (or
        None) is returned unchanged, as scikit-learn does.

    Returns
    -------
    scorer : callable
        A fresh copy: changing its metadata requests does not affect others.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skcalib.metrics import get_scorer
    >>> search = GridSearchCV(
    ...     LogisticRegression(), {"C": [0.1, 1.0]},
    ...     scoring=get_scorer("neg_expected_calibration_error"))
    >>> get_scorer("neg_mean_set_size")
    make_scorer(mean_set_size, greater_is_better=False, response_method='predict_set')
    >>> get_scorer("accuracy")  # falls back to scikit-learn
    make_scorer(accuracy_score, response_method='predict')
    """
    if isinstance(scoring, str) and scoring in _REGISTRY:
        return _build(scoring)
    if scoring is None or callable(scoring):
        return scoring
    from sklearn.metrics import get_scorer as sklearn_get_scorer

    try:
        return sklearn_get_scorer(scoring)
    except ValueError as exc:
        raise ValueError(
            f"{scoring!r} is not a valid scoring value. Use "
            "skcalib.metrics.get_scorer_names() to get the valid names."
        ) from exc


def get_scorer_names():
    """Names accepted by :func:`get_scorer`: skcalib's and scikit-learn's.

    Returns
    -------
    names : list of str
        Sorted.

    Examples
    --------
    >>> from skcalib.metrics import get_scorer_names
    >>> "neg_expected_calibration_error" in get_scorer_names()
    True
    >>> "accuracy" in get_scorer_names()
    True
    """
    from sklearn.metrics import get_scorer_names as sklearn_names

    return sorted(set(_REGISTRY) | set(sklearn_names()))


def coverage_constrained_refit(min_coverage, *, coverage="coverage", size="size"):
    """``refit`` rule: the smallest sets (or intervals) with enough coverage.

    Conformal predictors are tuned for *efficiency subject to validity*: among
    the candidates of a search whose mean cross-validated coverage is at least
    ``min_coverage``, pick the one with the smallest mean set size (or
    interval width). Use it as ``refit=`` of
    :class:`~sklearn.model_selection.GridSearchCV` (or any search) with a
    multi-metric ``scoring`` holding a coverage scorer and a size scorer,
    for example ``"coverage_score"`` and ``"neg_mean_set_size"`` (or
    ``"interval_coverage_score"`` and ``"neg_mean_interval_width"``).

    Parameters
    ----------
    min_coverage : float in (0, 1]
        Smallest acceptable mean test coverage over the inner folds.
    coverage : str, default="coverage"
        Key of the coverage scorer in ``scoring``.
    size : str, default="size"
        Key of the size scorer in ``scoring``, negated so that greater is
        better (``"neg_mean_set_size"``, ``"neg_mean_interval_width"``).

    Returns
    -------
    refit : callable
        ``refit(cv_results) -> best_index``. It raises a ``ValueError`` naming
        the best coverage reached when no candidate reaches ``min_coverage``
        (lower it, or enlarge the calibration data); ties on size go to the
        higher coverage, then to the first candidate.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skcalib.conformal import SplitConformalClassifier
    >>> from skcalib.metrics import coverage_constrained_refit, get_scorer
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(
    ...     SplitConformalClassifier(confidence_level=0.9, random_state=0),
    ...     {"conformity_score": ["lac", "aps"]},
    ...     scoring={"coverage": get_scorer("coverage_score"),
    ...              "size": get_scorer("neg_mean_set_size")},
    ...     refit=coverage_constrained_refit(0.85),
    ...     cv=3,
    ... ).fit(X, y)
    >>> search.best_params_["conformity_score"] in ("lac", "aps")
    True
    """
    if not (isinstance(min_coverage, Real) and 0 < min_coverage <= 1):
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage!r}.")

    def refit(cv_results):
        keys = (f"mean_test_{coverage}", f"mean_test_{size}")
        missing = [k for k in keys if k not in cv_results]
        if missing:
            raise ValueError(
                f"coverage_constrained_refit needs scoring keys {coverage!r} and "
                f"{size!r}; cv_results_ has no {missing}. Pass scoring="
                f"{{{coverage!r}: <coverage scorer>, {size!r}: <size scorer>}}."
            )
        cov = np.asarray(cv_results[keys[0]], dtype=float)
        neg_size = np.asarray(cv_results[keys[1]], dtype=float)
        valid = cov >= min_coverage
        if not np.any(valid):
            raise ValueError(
                f"No candidate reaches a mean coverage of {min_coverage}; the best "
                f"is {np.nanmax(cov):.4f}."
            )
        # lexicographic: largest -size, then largest coverage, then first index
        order = np.lexsort((-np.arange(cov.size), cov, neg_size))
        return int(next(i for i in order[::-1] if valid[i]))

    return refit
