"""Base class of the conformity scores and the resolver of their string aliases."""

import importlib
from abc import ABCMeta

from sklearn.base import BaseEstimator, clone

from ...utils._sklearn_compat import validate_parameter_constraints

__all__ = ["BaseConformityScore", "resolve_conformity_score"]

# task -> module (relative to this package) defining ``ALIASES`` (name -> class)
# and ``BASE_CLASS``. A new family of scores (regression: absolute residual,
# CQR, ...) adds its module here.
_TASK_MODULES = {
    "classification": "._classification",
    "regression": "._regression",
}


class BaseConformityScore(BaseEstimator, metaclass=ABCMeta):
    """Base class of every conformity score.

    A conformity score is *stateless*: its constructor only stores parameters,
    and every method takes the data it needs as arguments. Conformal
    predictors clone the score they are given in ``fit``; whatever is learned
    from data (the calibration scores, their quantiles, data-driven score
    parameters) is stored on the predictor. Scores are scikit-learn
    estimators in the sense of :func:`sklearn.base.clone` and ``get_params``,
    so their parameters can be searched with ``conformity_score__<param>`` in
    :class:`~sklearn.model_selection.GridSearchCV`.

    Subclasses list their parameter constraints in ``_parameter_constraints``
    (scikit-learn's format); :func:`resolve_conformity_score` validates them.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from skcalib.conformal.scores import BaseConformityScore, RAPSScore
    >>> score = RAPSScore(k_reg=2)
    >>> isinstance(score, BaseConformityScore)
    True
    >>> clone(score).get_params()["k_reg"]
    2
    """

    _parameter_constraints: dict = {}

    def _check_params(self):
        """Raise a ``ValueError``/``TypeError`` naming a parameter that is invalid."""
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )


def resolve_conformity_score(conformity_score, *, task="classification"):
    """Return a validated, fresh conformity score from an alias or an instance.

    Parameters
    ----------
    conformity_score : str or BaseConformityScore
        An alias (for classification: ``"lac"``, ``"aps"``, ``"raps"``,
        ``"topk"``; for regression: ``"absolute"``, ``"gamma"``,
        ``"normalized"``) or a score instance, which is cloned (the caller's
        object is never modified).
    task : {"classification", "regression"}, default="classification"
        Which family of scores the alias refers to.

    Returns
    -------
    score : BaseConformityScore
        A new, unfitted score whose parameters have been validated.

    Raises
    ------
    ValueError
        For an unknown alias or an invalid score parameter.
    TypeError
        If ``conformity_score`` is neither a string nor a score of the task.

    Examples
    --------
    >>> from skcalib.conformal.scores import resolve_conformity_score
    >>> resolve_conformity_score("aps")
    APSScore()
    """
    if task not in _TASK_MODULES:
        raise ValueError(f"task must be one of {sorted(_TASK_MODULES)}, got {task!r}.")
    module = importlib.import_module(_TASK_MODULES[task], package=__package__)
    aliases, base = module.ALIASES, module.BASE_CLASS
    if isinstance(conformity_score, str):
        if conformity_score not in aliases:
            raise ValueError(
                f"conformity_score={conformity_score!r} is not a known {task} "
                f"conformity score; use one of {sorted(aliases)} or an instance of "
                f"{base.__name__}."
            )
        score = aliases[conformity_score]()
    elif isinstance(conformity_score, base):
        score = clone(conformity_score)
    else:
        raise TypeError(
            f"conformity_score must be one of {sorted(aliases)} or an instance of "
            f"{base.__name__}, got {conformity_score!r}."
        )
    score._check_params()
    return score
