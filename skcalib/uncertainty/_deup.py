r"""DEUP: direct epistemic uncertainty prediction (Lahlou et al. 2023).

The expected loss of a predictor :math:`f` at :math:`x`,
:math:`e(x) = \mathbb{E}[\ell(f(x), Y) \mid x]`, splits into the loss that
no predictor can avoid -- the aleatoric part :math:`a(x)`, the Bayes risk at
:math:`x` (the noise variance for the squared error, the entropy of
:math:`P(Y \mid x)` for the log loss) -- and the excess risk of :math:`f`,
its *epistemic* uncertainty :math:`e(x) - a(x)` (what more data or a better
model could remove, misspecification included). DEUP learns :math:`e`
directly: a second model, the *error predictor*, is trained to predict
out-of-sample losses of :math:`f`, and an estimate of :math:`a` is
subtracted.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from array_api_compat import numpy as np_compat
from joblib import Parallel, delayed
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    clone,
    is_classifier,
)
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import check_cv
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    column_or_1d,
    has_fit_parameter,
)

from ..base import _SkcalibTagsMixin
from ..conformal._common import _ConformalFitMixin, host_sample_weight
from ..conformal._regression import _predict
from ..utils._array_api import entr, to_numpy
from ..utils._sklearn_compat import HasMethods, StrOptions, _fit_context, _safe_indexing
from ..utils._validation import encode_labels

__all__ = ["DEUPClassifier", "DEUPRegressor"]

#: Inputs of the error predictor: any "+"-joined combination, in this order.
_FEATURE_PARTS = ("input", "output", "distance")
FEATURES = tuple(
    "+".join(p for i, p in enumerate(_FEATURE_PARTS) if mask >> i & 1)
    for mask in (1, 2, 4, 3, 5, 6, 7)
)
#: Neighbours averaged by the "distance" feature.
_N_NEIGHBORS = 5


def _estimator_has(attr):
    """``available_if`` check: the (fitted or given) main model has ``attr``."""

    def check(self):
        estimator = getattr(self, "estimator_", None)
        if estimator is None:
            estimator = self._get_estimator()
        return hasattr(estimator, attr)

    return check


class _BaseDEUP(_ConformalFitMixin, MetaEstimatorMixin, BaseEstimator):
    """Cross-fitting, error predictor and aleatoric part shared by both tasks.

    Subclasses define ``_default_estimator()``, ``_check_y(y, estimator)``
    (labels for the model's ``fit`` and loss targets), ``_outputs(model, X)``
    (probabilities or predictions), ``_losses(outputs, target)`` and
    ``_output_feature(outputs)``.
    """

    _skcalib_family = "uncertainty"
    _parameter_constraints: dict = {
        "error_estimator": [None, HasMethods(["fit", "predict"])],
        "aleatoric_estimator": [
            None,
            StrOptions({"zero"}),
            HasMethods(["fit", "predict"]),
        ],
        "cv": ["cv_object"],
        "features": [StrOptions(set(FEATURES))],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        error_estimator=None,
        aleatoric_estimator=None,
        cv=5,
        loss="auto",
        features="input",
        random_state=None,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.error_estimator = error_estimator
        self.aleatoric_estimator = aleatoric_estimator
        self.cv = cv
        self.loss = loss
        self.features = features
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        others = [self._get_error_estimator()]
        if hasattr(self.aleatoric_estimator, "predict"):
            others.append(self.aleatoric_estimator)
        for other in others:
            sub = get_tags(other).input_tags
            tags.input_tags.sparse = tags.input_tags.sparse and sub.sparse
            tags.input_tags.allow_nan = tags.input_tags.allow_nan and sub.allow_nan
        if "distance" in self.features:
            tags.input_tags.allow_nan = False
        return tags

    def _get_error_estimator(self):
        if self.error_estimator is not None:
            return self.error_estimator
        return HistGradientBoostingRegressor(random_state=self.random_state)

    def _parts(self):
        return self.features.split("+")

    def _splitter(self):
        return check_cv(self.cv)

    def _fit(self, X, y, sample_weight, groups, aleatoric_loss, fit_params):
        X, y = self._check_fit_X_y(X, y)
        estimator = self._get_estimator()
        frozen = isinstance(estimator, FrozenEstimator)
        y_fit, target = self._check_y(y, estimator if frozen else None)
        n_samples = target.shape[0]
        sw = host_sample_weight(sample_weight, n_samples)
        self.loss_ = self._resolve_loss()
        parts = self._parts()
        distance = None
        if frozen:
            if "distance" in parts:
                raise ValueError(
                    "features with 'distance' measure how far inputs are from the "
                    "training data of the model, which a FrozenEstimator does not "
                    "keep; use features without 'distance', or let "
                    f"{type(self).__name__} fit the model."
                )
            # The model never saw X: its losses on X are out-of-sample already.
            self.estimator_ = estimator
            outputs = self._outputs(estimator, X)
        else:
            splits = self._splits(X, y_fit, groups, sample_weight, fit_params)
            outputs = self._cross_fit(X, y_fit, splits)
            if "distance" in parts:
                distance = self._fold_distances(X, splits, n_samples)
        self.oof_losses_ = self._losses(outputs, target)
        error = clone(self._get_error_estimator())
        error_params = {}
        if sw is not None and has_fit_parameter(error, "sample_weight"):
            error_params["sample_weight"] = sw
        inputs = self._error_inputs(X, outputs, distance)
        self.error_estimator_ = error.fit(inputs, self.oof_losses_, **error_params)
        self._fit_aleatoric(X, aleatoric_loss, n_samples)
        return self

    def _splits(self, X, y_fit, groups, sample_weight, fit_params):
        """Folds of ``cv``; also stores the routed parameters of the model's fit."""
        splitter = check_cv(self.cv, y_fit, classifier=is_classifier(self))
        routed = self._route(sample_weight, groups, fit_params, splitter)
        self._routed_fit_params = routed.estimator.fit
        splits = list(splitter.split(X, y_fit, **routed.splitter.split))
        n_samples = y_fit.shape[0]
        counts = np.zeros(n_samples, dtype=np.int64)
        for _, test in splits:
            counts[test] += 1
        if np.any(counts != 1):
            raise ValueError(
                "cv must put every sample in exactly one test fold (a partition, "
                "as KFold does), so that each sample gets one out-of-fold loss; "
                f"{int(np.sum(counts == 0))} sample(s) are in no test fold and "
                f"{int(np.sum(counts > 1))} in several."
            )
        return splits

    def _cross_fit(self, X, y_fit, splits):
        """Out-of-fold outputs of the fold models; sets ``estimator_`` (all rows)."""
        params = self._routed_fit_params
        del self._routed_fit_params
        n_samples = y_fit.shape[0]
        rows = [train for train, _ in splits] + [np.arange(n_samples)]
        models = Parallel(n_jobs=self.n_jobs)(
            delayed(self._fit_estimator)(X, y_fit, params, train) for train in rows
        )
        self.estimator_ = models[-1]
        outputs = None
        for model, (_, test) in zip(models, splits, strict=False):
            fold = self._outputs(model, _safe_indexing(X, test))
            if outputs is None:
                outputs = np.zeros((n_samples,) + fold.shape[1:])
            outputs[test] = fold
        return outputs

    def _numeric(self, X):
        """``X`` as a float array (CSR if sparse), for stacking and distances."""
        return check_array(
            X,
            accept_sparse="csr",
            dtype=(np.float64, np.float32),
            ensure_all_finite=False,
            input_name="X",
        )

    def _fold_distances(self, X, splits, n_samples):
        """Mean distance of each sample to its nearest rows of its fold's training part.

        Also fits ``neighbors_`` on all rows, for prediction.
        """
        X_num = self._numeric(X)
        distance = np.zeros(n_samples)
        for train, test in splits:
            k = min(_N_NEIGHBORS, train.shape[0])
            nn = NearestNeighbors(n_neighbors=k).fit(X_num[train])
            distance[test] = nn.kneighbors(X_num[test])[0].mean(axis=1)
        k = min(_N_NEIGHBORS, n_samples)
        self.neighbors_ = NearestNeighbors(n_neighbors=k).fit(X_num)
        return distance

    def _error_inputs(self, X, outputs, distance):
        """What the error predictor reads: ``X`` and/or the stationarizing features."""
        parts = self._parts()
        if parts == ["input"]:
            return X
        columns = []
        if "output" in parts:
            columns.append(self._output_feature(outputs))
        if "distance" in parts:
            columns.append(distance)
        extra = np.column_stack(columns)
        if "input" not in parts:
            return extra
        X_num = self._numeric(X)
        if sp.issparse(X_num):
            return sp.hstack([X_num, extra], format="csr")
        return np.hstack([X_num, extra.astype(X_num.dtype, copy=False)])

    def _fit_aleatoric(self, X, aleatoric_loss, n_samples):
        aleatoric = self.aleatoric_estimator
        fitted_here = hasattr(aleatoric, "predict") and not isinstance(
            aleatoric, FrozenEstimator
        )
        if aleatoric_loss is not None and not fitted_here:
            raise ValueError(
                "aleatoric_loss gives the targets of an unfitted "
                "aleatoric_estimator, fitted here; with aleatoric_estimator="
                f"{aleatoric!r} it would be unused. Pass an unfitted regressor as "
                "aleatoric_estimator, or no aleatoric_loss."
            )
        if aleatoric is None or isinstance(aleatoric, str):
            self.aleatoric_estimator_ = None
        elif not fitted_here:
            self.aleatoric_estimator_ = aleatoric
        else:
            if aleatoric_loss is None:
                raise ValueError(
                    f"aleatoric_estimator={aleatoric!r} is fitted here, on the "
                    "aleatoric loss of every training sample: pass "
                    "fit(..., aleatoric_loss=...), or wrap a fitted model in "
                    "sklearn.frozen.FrozenEstimator."
                )
            targets = column_or_1d(
                check_array(
                    aleatoric_loss, ensure_2d=False, input_name="aleatoric_loss"
                ),
            ).astype(np.float64)
            if targets.shape[0] != n_samples or np.any(targets < 0):
                raise ValueError(
                    f"aleatoric_loss must hold {n_samples} non-negative losses, one "
                    f"per sample, got shape {targets.shape} with minimum "
                    f"{targets.min() if targets.size else float('nan'):.6g}."
                )
            self.aleatoric_estimator_ = clone(aleatoric).fit(X, targets)

    def predict_total_error(self, X):
        """Predicted expected loss of the model at ``X`` (total uncertainty).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        total_error : ndarray of shape (n_samples,)
            The error predictor's output, clipped below at 0 (a loss is
            non-negative, a regression of losses need not be).
        """
        self._check_X(X)
        parts = self._parts()
        outputs = self._outputs(self.estimator_, X) if "output" in parts else None
        distance = None
        if "distance" in parts:
            distance = self.neighbors_.kneighbors(self._numeric(X))[0].mean(axis=1)
        inputs = self._error_inputs(X, outputs, distance)
        total = np.asarray(to_numpy(self.error_estimator_.predict(inputs)), float)
        return np.maximum(total.reshape(-1), 0.0)

    def predict_aleatoric(self, X):
        """Aleatoric part of the loss at ``X`` (zeros without an estimator).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aleatoric : ndarray of shape (n_samples,)
            ``aleatoric_estimator_.predict(X)`` clipped below at 0, or zeros.
        """
        self._check_X(X)
        if self.aleatoric_estimator_ is None:
            n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
            return np.zeros(n_samples)
        aleatoric = to_numpy(_predict(self.aleatoric_estimator_, X))
        return np.maximum(np.asarray(aleatoric, dtype=float), 0.0)

    def predict_epistemic(self, X):
        """Epistemic uncertainty: predicted total loss minus the aleatoric part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        epistemic : ndarray of shape (n_samples,)
            ``max(predict_total_error(X) - predict_aleatoric(X), 0)``: the two
            estimates are learned separately and where the second exceeds the
            first their difference carries no information beyond "no
            detectable excess loss", hence the clipping at 0.
        """
        total = self.predict_total_error(X)
        return np.maximum(total - self.predict_aleatoric(X), 0.0)

    def predict(self, X):
        """Predictions of the model fitted on all the data (``estimator_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        self._check_X(X)
        return self.estimator_.predict(X)


_DOC_COMMON = r"""
    ``fit(X, y)`` cross-fits the model (``cv``): every sample gets an
    out-of-fold prediction from a model that did not see it, and so an
    out-of-sample loss :math:`\ell_i = \ell(f_{{-k(i)}}(x_i), y_i)`
    (``oof_losses_``). The error predictor is fitted to these losses, so that
    it estimates the expected loss :math:`e(x)` (``predict_total_error``); the
    model is then refitted on all the data (``estimator_``) for ``predict``.
    ``predict_epistemic(X)`` returns :math:`\max(e(x) - a(x), 0)`, with
    :math:`a(x)` the aleatoric estimate (``predict_aleatoric``, zero by
    default: then the epistemic and total uncertainties coincide).

    Parameters
    ----------
    estimator : estimator or None, default=None
        The model, cloned for every fold and for the final fit. A
        :class:`~sklearn.frozen.FrozenEstimator` (fitted on other data) is
        used as it is: its losses on the ``X`` given to ``fit`` are
        out-of-sample already, and nothing is cross-fitted.
    error_estimator : regressor or None, default=None
        The error predictor, cloned and fitted on (inputs, ``oof_losses_``)
        with ``sample_weight`` when given and accepted. None means
        :class:`~sklearn.ensemble.HistGradientBoostingRegressor` seeded by
        ``random_state``.
    aleatoric_estimator : None, "zero" or regressor, default=None
        The aleatoric part :math:`a(x)` of the loss. None or ``"zero"``: no
        aleatoric part. A :class:`~sklearn.frozen.FrozenEstimator` of a
        fitted regressor: ``predict(X)`` is :math:`a(x)` (for instance a
        known noise variance). An unfitted regressor is cloned and fitted on
        ``(X, aleatoric_loss)``, per-sample aleatoric losses passed to
        ``fit`` (for instance noise variances known from repeated
        measurements).
    cv : int, cross-validation generator or iterable, default=5
        The folds, a partition of the samples (every sample in one test
        fold). An int is the number of folds of
        :class:`~sklearn.model_selection.StratifiedKFold` (classifiers) or
        :class:`~sklearn.model_selection.KFold` (regressors), without
        shuffling, as in scikit-learn.
    loss : {loss_options}, default="auto"
        The per-sample loss:
{loss_doc}
    features : str, default="input"
        What the error predictor reads: ``"input"``, ``"output"``,
        ``"distance"`` or a ``+``-joined combination of them, such as
        ``"input+output+distance"``. ``"input"`` is ``X``. DEUP
        recommends adding *stationarizing* features, which tell the error
        predictor how much the model knows about ``x`` and change less than
        ``x`` between the cross-fitted and the final model.
        ``"output"`` adds {output_doc}.
        ``"distance"`` adds the mean Euclidean distance to the
        {n_neighbors} nearest training inputs (of the fold's training part
        during fit, of all training inputs after), a density proxy in the
        units of ``X`` (scale ``X`` first) that keeps growing far from the
        data, where a tree-based error predictor reading ``X`` repeats its
        prediction at the nearest edge of the data -- low if that edge is
        dense. Together with ``"input"``, the trees may still split on ``X``
        first; ``"distance"`` without ``"input"`` is the reliable choice for
        inputs far from the data.
    random_state : int, RandomState instance or None, default=None
        Seeds the default error predictor (a given one keeps its own
        ``random_state``).
    n_jobs : int, default=None
        Number of models fitted in parallel (joblib); None means 1.

    Attributes
    ----------
    estimator_ : estimator
        The model fitted on all the data (or the frozen model).
    error_estimator_ : regressor
        The fitted error predictor.
    aleatoric_estimator_ : regressor or None
        The aleatoric estimator (None for zero).
    oof_losses_ : ndarray of shape (n_samples,)
        Out-of-sample loss of every training sample.
    loss_ : str
        The loss used (``"auto"`` resolved).
    neighbors_ : NearestNeighbors
        The training inputs, with ``"distance"`` in ``features``.{classes_doc}
    n_features_in_ : int
        Number of features seen during ``fit`` (when ``X`` has columns).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    {see_also}
    skcalib.uncertainty.EnsembleUncertainty : Epistemic uncertainty as the
        disagreement of an ensemble.

    Notes
    -----
    **Cross-fitting.** The fold models see a fraction ``(K - 1) / K`` of the
    data, so their losses slightly overestimate those of the final model:
    the estimate is conservative. The error predictor is a regression of
    noisy losses: it is unbiased for the expected loss under the squared
    error it minimises by default, and needs many samples where losses are
    heavy-tailed (log loss of confident mistakes).

    **Aleatoric part.** Subtracting it only makes sense for a loss whose
    aleatoric part it estimates (the noise variance for the squared error,
    the entropy of the true label distribution for the log loss). With the
    default ``None``, ``predict_epistemic`` is the total expected loss:
    DEUP's bound of the epistemic uncertainty, accurate where the noise is
    small.

    The computation runs on NumPy (scikit-learn models).

    References
    ----------
    Lahlou, S., Jain, M., Nekoei, H., Butoi, V. I., Bertin, P.,
    Rector-Brooks, J., Korablyov, M. and Bengio, Y. (2023). DEUP: Direct
    Epistemic Uncertainty Prediction. Transactions on Machine Learning
    Research.
"""


class DEUPClassifier(_SkcalibTagsMixin, ClassifierMixin, _BaseDEUP):
    __doc__ = (
        r"""Classifier with DEUP's direct prediction of its epistemic uncertainty.

    Wraps a probabilistic classifier: ``predict``, ``predict_proba`` (and
    ``decision_function`` / ``predict_log_proba`` when the model has them)
    pass through to the model fitted on all the data; ``predict_epistemic``,
    ``predict_total_error`` and ``predict_aleatoric`` predict the model's
    expected loss at new inputs and its parts.
"""
        + _DOC_COMMON.format(
            loss_options='{"auto", "log_loss", "brier", "zero_one"}',
            loss_doc=(
                '        ``"log_loss"`` (and ``"auto"``), the cross-entropy of\n'
                "        the true label :math:`-\\log p_y(x)` (probabilities clipped\n"
                '        below at the machine epsilon); ``"brier"``,\n'
                '        :math:`\\sum_c (p_c(x) - [y = c])^2`; ``"zero_one"``, 1\n'
                "        when the most probable class is wrong."
            ),
            output_doc="the entropy of the model's probabilities (in nats)",
            n_neighbors=_N_NEIGHBORS,
            classes_doc="\n    classes_ : ndarray of shape (n_classes,)\n"
            "        The class labels.",
            see_also="DEUPRegressor : The same for regressors.",
        )
        + r"""
    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from skcalib.uncertainty._deup import DEUPClassifier
    >>> X, y = make_classification(n_samples=600, n_features=4, random_state=0)
    >>> clf = DEUPClassifier(
    ...     error_estimator=RandomForestRegressor(min_samples_leaf=20, random_state=0),
    ...     features="input+output",
    ... ).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.oof_losses_.shape  # cross-entropy of each sample, out of fold
    (600,)
    >>> epistemic = clf.predict_epistemic(X)
    >>> bool(epistemic.min() >= 0)
    True
"""
    )

    _parameter_constraints: dict = {
        **_BaseDEUP._parameter_constraints,
        "estimator": [None, HasMethods(["fit", "predict_proba"])],
        "loss": [StrOptions({"auto", "log_loss", "brier", "zero_one"})],
    }

    def _default_estimator(self):
        return LogisticRegression()

    def _resolve_loss(self):
        return "log_loss" if self.loss == "auto" else self.loss

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self, X, y, sample_weight=None, groups=None, aleatoric_loss=None, **fit_params
    ):
        """Cross-fit the model, fit the error predictor, refit the model on all data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the model.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the model's ``fit`` (when it accepts it, or routed with
            metadata routing enabled) and to the error predictor's.
        groups : array-like of shape (n_samples,), default=None
            Passed to ``cv.split`` (for instance
            :class:`~sklearn.model_selection.GroupKFold`).
        aleatoric_loss : array-like of shape (n_samples,), default=None
            Targets of an unfitted ``aleatoric_estimator``.
        **fit_params : dict
            Passed to the model's ``fit`` (or routed).

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, groups, aleatoric_loss, fit_params)

    def _check_y(self, y, frozen_estimator):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if frozen_estimator is None:
            self.classes_ = np.unique(y)
        else:
            self.classes_ = np.asarray(frozen_estimator.classes_)
        return y, encode_labels(y, self.classes_)

    def _outputs(self, model, X):
        """Probabilities of ``model`` in the columns of ``classes_``."""
        proba = np.asarray(to_numpy(model.predict_proba(X)), dtype=np.float64)
        columns = encode_labels(model.classes_, self.classes_, name="classes_")
        full = np.zeros((proba.shape[0], self.classes_.shape[0]))
        full[:, columns] = proba
        return full

    def _losses(self, proba, target):
        rows = np.arange(target.shape[0])
        if self.loss_ == "log_loss":
            eps = np.finfo(proba.dtype).eps
            return -np.log(np.clip(proba[rows, target], eps, 1.0))
        if self.loss_ == "brier":
            one_hot = np.zeros_like(proba)
            one_hot[rows, target] = 1.0
            return np.sum((proba - one_hot) ** 2, axis=1)
        return (np.argmax(proba, axis=1) != target).astype(np.float64)

    def _output_feature(self, proba):
        return np.sum(entr(proba, xp=np_compat), axis=1)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the model fitted on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        self._check_X(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log-probabilities of the model fitted on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        self._check_X(X)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the model fitted on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        self._check_X(X)
        return self.estimator_.decision_function(X)


class DEUPRegressor(_SkcalibTagsMixin, RegressorMixin, _BaseDEUP):
    __doc__ = (
        r"""Regressor with DEUP's direct prediction of its epistemic uncertainty.

    Wraps a regressor: ``predict`` passes through to the model fitted on all
    the data; ``predict_epistemic``, ``predict_total_error`` and
    ``predict_aleatoric`` predict the model's expected loss at new inputs
    and its parts. With the squared error and the noise variance
    :math:`\sigma^2(x)` as aleatoric part, ``predict_epistemic`` estimates
    :math:`\mathbb{E}[(f(x) - \mathbb{E}[Y \mid x])^2]`, the squared bias plus
    the variance of the model at :math:`x`.
"""
        + _DOC_COMMON.format(
            loss_options='{"auto", "squared_error", "absolute_error"}',
            loss_doc=(
                '        ``"squared_error"`` (and ``"auto"``), :math:`(y - f(x))^2`;\n'
                '        ``"absolute_error"``, :math:`|y - f(x)|`.'
            ),
            output_doc="the model's prediction",
            n_neighbors=_N_NEIGHBORS,
            classes_doc="",
            see_also="DEUPClassifier : The same for classifiers.",
        )
        + r"""
    Examples
    --------
    Training inputs are dense on [-3, 0] and sparse on [0, 3]; a
    nearest-neighbour model is worse where data are sparse, and DEUP says so:

    >>> import numpy as np
    >>> from sklearn.neighbors import KNeighborsRegressor
    >>> from skcalib.uncertainty._deup import DEUPRegressor
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.uniform(-3, 0, 900), rng.uniform(0, 3, 60)])
    >>> y = np.sin(2 * x) + 0.1 * rng.standard_normal(x.shape[0])
    >>> reg = DEUPRegressor(KNeighborsRegressor(n_neighbors=10), random_state=0)
    >>> reg = reg.fit(x[:, None], y)
    >>> dense, sparse = reg.predict_epistemic(np.array([[-1.5], [1.5]]))
    >>> bool(sparse > 5 * dense)
    True
"""
    )

    _parameter_constraints: dict = {
        **_BaseDEUP._parameter_constraints,
        "estimator": [None, HasMethods(["fit", "predict"])],
        "loss": [StrOptions({"auto", "squared_error", "absolute_error"})],
    }

    def _default_estimator(self):
        return LinearRegression()

    def _resolve_loss(self):
        return "squared_error" if self.loss == "auto" else self.loss

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self, X, y, sample_weight=None, groups=None, aleatoric_loss=None, **fit_params
    ):
        """Cross-fit the model, fit the error predictor, refit the model on all data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input accepted by the model.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the model's ``fit`` (when it accepts it, or routed with
            metadata routing enabled) and to the error predictor's.
        groups : array-like of shape (n_samples,), default=None
            Passed to ``cv.split`` (for instance
            :class:`~sklearn.model_selection.GroupKFold`).
        aleatoric_loss : array-like of shape (n_samples,), default=None
            Targets of an unfitted ``aleatoric_estimator`` (for the squared
            error, noise variances).
        **fit_params : dict
            Passed to the model's ``fit`` (or routed).

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, groups, aleatoric_loss, fit_params)

    def _check_y(self, y, frozen_estimator):
        y = check_array(
            to_numpy(y) if hasattr(y, "__array_namespace__") else y,
            ensure_2d=False,
            dtype="numeric",
            input_name="y",
        )
        y = column_or_1d(y, warn=True).astype(np.float64, copy=False)
        return y, y

    def _outputs(self, model, X):
        return np.asarray(to_numpy(_predict(model, X)), dtype=np.float64)

    def _losses(self, prediction, target):
        residual = target - prediction
        if self.loss_ == "squared_error":
            return residual**2
        return np.abs(residual)

    def _output_feature(self, prediction):
        return prediction
