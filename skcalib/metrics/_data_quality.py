"""Per-sample data-quality scores computed from predicted probabilities.

:func:`el2n_score` is the error L2-norm of "Deep Learning on a Data Diet:
Finding Important Examples Early in Training" (Paul, Ganguli and Dziugaite,
NeurIPS 2021): how far a sample's predicted probabilities are from its
one-hot label, averaged over several models. Unlike the other metrics of
:mod:`skcalib.metrics` it returns one value per sample, not a summary.
"""

import array_api_compat
import numpy as np

from ..utils._array_api import get_namespace_and_device
from ..utils._validation import check_proba_targets, check_probabilities
from ._calibration import _one_hot

__all__ = ["el2n_score"]


def el2n_score(y_true, y_prob, *, labels=None, pos_label=None):
    r"""EL2N score of every sample: distance from probabilities to one-hot labels.

    For a sample with label :math:`y` and predicted probabilities
    :math:`p(x) \in \Delta^{K-1}` (Paul et al. 2021, Definition 2.2),

    .. math::

        \mathrm{EL2N}(x, y) = \mathbb{E}_m \left\| p_m(x) - e_y \right\|_2,

    where :math:`e_y` is the one-hot vector of :math:`y` and the expectation
    is over models :math:`m` (the paper averages ten weight
    initialisations). Given a stack of probabilities of shape
    ``(n_models, n_samples, n_classes)`` the norms are averaged over the
    first axis; given one matrix, this is the norm for that model. The score
    lies in :math:`[0, \sqrt 2]`: near 0 for samples the model finds easy,
    large for hard or mislabelled ones (the largest scores are dominated by
    label noise, Section 5 of the paper). It is the square root of the
    per-sample Brier score of :func:`brier_score`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels.
    y_prob : array-like
        Predicted probabilities, of shape (n_samples,), (n_samples,
        n_classes) or (n_models, n_samples, n_classes); a 1-D array is the
        probability of
        ``pos_label`` (it stands for ``[1 - p, p]``, so the score is
        :math:`\sqrt 2 |p - 1[y = \mathrm{pos}]|`).
    labels : array-like of shape (n_classes,), default=None
        The class of each column, sorted (as in :func:`brier_score`).
    pos_label : int, float, bool or str, default=None
        Positive class of a 1-D ``y_prob``.

    Returns
    -------
    scores : array of shape (n_samples,)
        In the namespace, device and floating dtype of ``y_prob``. Higher
        means harder.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.metrics._data_quality import el2n_score
    >>> y_prob = np.array([[0.6, 0.4], [0.1, 0.9]])
    >>> el2n_score([0, 0], y_prob)  # sqrt(.4^2 + .4^2), sqrt(.9^2 + .9^2)
    array([0.56568542, 1.27279221])
    >>> stack = np.stack([y_prob, [[1.0, 0.0], [0.5, 0.5]]])  # two models
    >>> el2n_score([0, 0], stack)  # (0.566 + 0) / 2, (1.273 + 0.707) / 2
    array([0.28284271, 0.98994949])
    """
    if not array_api_compat.is_array_api_obj(y_prob):
        y_prob = np.asarray(y_prob)
    xp, dev = get_namespace_and_device(y_prob)
    if y_prob.ndim not in (1, 2, 3):
        raise ValueError(
            "y_prob must have 1, 2 or 3 dimensions ((n_samples,), (n_samples, "
            "n_classes) or (n_models, n_samples, n_classes)), got an array of shape "
            f"{tuple(y_prob.shape)}."
        )
    is_stack = y_prob.ndim == 3
    if not is_stack:
        y_idx, proba, _, _ = check_proba_targets(
            y_true, y_prob, labels=labels, pos_label=pos_label, xp=xp
        )
        proba = proba[None, ...]
    else:
        n_models, n_samples, n_classes = y_prob.shape
        if n_models == 0:
            raise ValueError(
                "y_prob of shape (n_models, n_samples, n_classes) must hold at "
                "least one model, got 0."
            )
        flat = xp.reshape(y_prob, (n_models * n_samples, n_classes))
        flat = check_probabilities(flat, name="y_prob", ndim=(2,), xp=xp)
        proba = xp.reshape(flat, (n_models, n_samples, n_classes))
        y_idx, _, _, _ = check_proba_targets(
            y_true, proba[0, ...], labels=labels, xp=xp
        )
    onehot = _one_hot(y_idx, proba.shape[2], proba.dtype, xp, dev)
    distance = xp.sqrt(xp.sum((proba - onehot[None, ...]) ** 2, axis=2))
    return xp.mean(distance, axis=0)
