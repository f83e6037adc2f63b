"""Input validation with precise error messages.

Every check names the offending parameter and says what was expected. None of
them modifies its input in place: where a conversion is needed, a new array is
returned.
"""

import numbers

import array_api_compat
import numpy as np
from sklearn.utils.validation import check_array

from ._array_api import (
    device,
    float_dtype,
    get_namespace,
    get_namespace_and_device,
    is_numpy_namespace,
    move_to,
    to_numpy,
)

__all__ = [
    "check_confidence_level",
    "check_consistent_length",
    "check_probabilities",
    "check_proba_targets",
    "check_sample_weight",
    "check_scores",
    "encode_labels",
]

# |sum(p) - 1| allowed for a row of probabilities, by dtype. Lenient enough for
# probabilities read back from text files with 6 decimals, strict enough to
# catch logits or unnormalised scores.
_SIMPLEX_ATOL = {"float32": 1e-3, "float64": 1e-4}


def _shape_str(x):
    return str(tuple(int(d) for d in x.shape))


def check_scores(X, *, name="X", ndim=(1, 2), allow_inf=False, xp=None):
    """Validate a score array (logits, decision values, features).

    Parameters
    ----------
    X : array-like
        Scores. Lists and NumPy arrays are converted; with array-API dispatch on,
        arrays of other namespaces keep their namespace and device.
    name : str, default="X"
        Parameter name used in error messages.
    ndim : tuple of int, default=(1, 2)
        Accepted numbers of dimensions.
    allow_inf : bool, default=False
        Whether ``+-inf`` entries are accepted (NaN never is).
    xp : namespace, default=None

    Returns
    -------
    X : array
        Floating-point array (float32 is preserved, other types become float64).

    Raises
    ------
    ValueError
        On NaN/inf entries, an empty array or a wrong number of dimensions.

    Examples
    --------
    >>> from skcalib.utils._validation import check_scores
    >>> check_scores([[0.0, 1.0]]).dtype
    dtype('float64')
    """
    xp = get_namespace(X, xp=xp)
    if is_numpy_namespace(xp):
        # NumPy path (also lists, pandas, and any input when dispatch is off):
        # scikit-learn's own checks, so messages match what users know.
        X = np.asarray(X) if not hasattr(X, "ndim") else X
        if X.ndim not in ndim:
            raise ValueError(_ndim_message(name, ndim, X))
        X = check_array(
            X,
            input_name=name,
            ensure_2d=False,
            allow_nd=max(ndim) > 2,
            dtype=(np.float64, np.float32),
            ensure_all_finite=not allow_inf,
        )
        if allow_inf and np.isnan(X).any():
            raise ValueError(f"Input {name} contains NaN.")
        return X
    if X.ndim not in ndim:
        raise ValueError(_ndim_message(name, ndim, X))
    if X.dtype not in (xp.float32, xp.float64):
        if not xp.isdtype(X.dtype, ("real floating", "integral", "bool")):
            raise ValueError(f"{name} must be real-valued, got dtype {X.dtype}.")
        X = xp.astype(X, float_dtype(xp, device=device(X)))
    if X.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={_shape_str(X)}) while a minimum "
            f"of 1 is required by {name}."
        )
    if bool(xp.any(xp.isnan(X))):
        raise ValueError(f"Input {name} contains NaN.")
    if not allow_inf and not bool(xp.all(xp.isfinite(X))):
        raise ValueError(f"Input {name} contains infinity.")
    return X


def _ndim_message(name, ndim, X):
    return (
        f"{name} must have {' or '.join(map(str, ndim))} dimension(s), got an "
        f"array of shape {_shape_str(X)}."
    )


def check_probabilities(y_prob, *, name="y_prob", ndim=(1, 2), xp=None):
    """Validate probabilities: finite, in [0, 1], rows of a 2-D array sum to one.

    Parameters
    ----------
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        A 1-D array holds the probability of the positive class.
    name : str, default="y_prob"
    ndim : tuple of int, default=(1, 2)
    xp : namespace, default=None

    Returns
    -------
    y_prob : array
        Floating-point array in the input's namespace.

    Raises
    ------
    ValueError
        If values fall outside [0, 1] or a row does not sum to one (within
        1e-4 in float64, 1e-3 in float32). Logits passed by mistake are caught
        here.

    Examples
    --------
    >>> from skcalib.utils._validation import check_probabilities
    >>> check_probabilities([[0.2, 0.7]])
    Traceback (most recent call last):
    ...
    ValueError: y_prob must hold probabilities whose rows sum to one; ...
    """
    y_prob = check_scores(y_prob, name=name, ndim=ndim, xp=xp)
    xp = get_namespace(y_prob, xp=xp)
    if y_prob.shape[0] == 0:
        return y_prob
    lo, hi = float(xp.min(y_prob)), float(xp.max(y_prob))
    if lo < 0 or hi > 1:
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values in "
            f"[{lo:.6g}, {hi:.6g}]. If these are logits or decision values, pass "
            "them to an estimator that accepts scores, or apply a softmax first."
        )
    if y_prob.ndim == 2:
        atol = _SIMPLEX_ATOL["float32" if y_prob.dtype == xp.float32 else "float64"]
        err = xp.abs(xp.sum(y_prob, axis=1) - 1)
        worst = float(xp.max(err))
        if worst > atol:
            bad = int(xp.argmax(err))
            raise ValueError(
                f"{name} must hold probabilities whose rows sum to one; row {bad} "
                f"sums to {float(xp.sum(y_prob[bad, :])):.6g} (tolerance {atol:g})."
            )
    return y_prob


def check_consistent_length(**arrays):
    """Raise if the named arrays do not share their first dimension.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._validation import check_consistent_length
    >>> check_consistent_length(y_true=np.zeros(3), y_prob=np.zeros((2, 2)))
    Traceback (most recent call last):
    ...
    ValueError: Inconsistent numbers of samples: y_true has 3, y_prob has 2.
    """
    lengths = {
        k: int(v.shape[0]) if hasattr(v, "shape") else len(v)
        for k, v in arrays.items()
        if v is not None
    }
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"Inconsistent numbers of samples: {desc}.")


def check_sample_weight(sample_weight, n_samples, *, xp, device, dtype):
    """Validate ``sample_weight`` and move it to ``xp`` / ``device`` / ``dtype``.

    Returns ``None`` when ``sample_weight`` is ``None``. Weights must be 1-D of
    length ``n_samples``, finite, non-negative, with a positive sum.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, float(sample_weight))
    sw = sample_weight
    if not array_api_compat.is_array_api_obj(sw):
        sw = np.asarray(sw)
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), got {_shape_str(sw)}."
        )
    sw = move_to(sw, xp=xp, device=device)
    sw = xp.astype(sw, dtype)
    if not bool(xp.all(xp.isfinite(sw))):
        raise ValueError("sample_weight must be finite (no NaN or inf).")
    if bool(xp.any(sw < 0)):
        raise ValueError("sample_weight must be non-negative.")
    if n_samples and float(xp.sum(sw)) <= 0:
        raise ValueError(
            "sample_weight must not be all zero: a positive sum is required."
        )
    return sw


def check_confidence_level(confidence_level, *, name="confidence_level"):
    """Return confidence levels as a 1-D float NumPy array, validated in (0, 1).

    Examples
    --------
    >>> from skcalib.utils._validation import check_confidence_level
    >>> check_confidence_level(0.9)
    array([0.9])
    """
    levels = np.atleast_1d(np.asarray(confidence_level, dtype=float))
    if levels.ndim != 1 or levels.size == 0 or not np.all((levels > 0) & (levels < 1)):
        raise ValueError(
            f"{name} must be a float or a non-empty sequence of floats in the open "
            f"interval (0, 1), got {confidence_level!r}."
        )
    return levels


def encode_labels(y, classes, *, name="y"):
    """Map labels ``y`` to indices into ``classes`` (a sorted NumPy array).

    Raises
    ------
    ValueError
        If ``y`` holds labels that are not in ``classes``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._validation import encode_labels
    >>> encode_labels(np.array(["b", "a"]), np.array(["a", "b"]))
    array([1, 0])
    """
    y = np.asarray(y)
    classes = np.asarray(classes)
    idx = np.searchsorted(classes, y)
    idx_clipped = np.clip(idx, 0, max(len(classes) - 1, 0))
    unseen = (
        (idx >= len(classes)) | (classes[idx_clipped] != y)
        if len(classes)
        else np.ones(y.shape, dtype=bool)
    )
    if np.any(unseen):
        raise ValueError(
            f"{name} contains labels not seen during fit: "
            f"{np.unique(y[unseen])[:10].tolist()}; expected labels among "
            f"{classes.tolist()}."
        )
    return idx


_BINARY_LABEL_SETS = [{0, 1}, {-1, 1}, {False, True}]


def check_proba_targets(
    y_true, y_prob, *, labels=None, pos_label=None, sample_weight=None, xp=None
):
    """Validate ``(y_true, y_prob)`` for probabilistic metrics.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (any hashable type).
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted probabilities; a 1-D array is the probability of ``pos_label``.
    labels : array-like of shape (n_classes,), default=None
        The classes the columns of ``y_prob`` stand for, sorted. By default the
        sorted unique labels of ``y_true``; when ``y_true`` holds integers that
        are all in ``range(n_classes)``, ``range(n_classes)``.
    pos_label : int, float, bool or str, default=None
        Positive class for a 1-D ``y_prob``; by default 1 (or ``True``) when the
        labels are ``{0, 1}``, ``{-1, 1}`` or ``{False, True}``.
    sample_weight : array-like of shape (n_samples,), default=None
    xp : namespace, default=None

    Returns
    -------
    y_idx : int64 array of shape (n_samples,)
        Column index of each true label, on ``y_prob``'s device.
    proba : array of shape (n_samples, n_classes)
        Probabilities (a 1-D input becomes ``[1 - p, p]``).
    classes : ndarray of shape (n_classes,)
    sample_weight : array or None
        On ``y_prob``'s device, in its floating dtype.
    """
    xp, dev = get_namespace_and_device(y_prob, xp=xp)
    y_prob = check_probabilities(y_prob, xp=xp)
    y_np = (
        to_numpy(y_true)
        if array_api_compat.is_array_api_obj(y_true)
        else np.asarray(y_true)
    )
    if y_np.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {_shape_str(y_np)}.")
    check_consistent_length(y_true=y_np, y_prob=y_prob)
    if y_np.shape[0] == 0:
        raise ValueError("y_true and y_prob are empty: at least one sample is needed.")
    if y_np.dtype.kind == "f" and not np.all(np.isfinite(y_np)):
        raise ValueError("y_true contains NaN or inf.")
    if y_prob.ndim == 1:
        present = np.unique(y_np)
        if pos_label is None:
            cand = set(present.tolist()) | (
                set(labels) if labels is not None else set()
            )
            if not any(cand <= s for s in _BINARY_LABEL_SETS):
                raise ValueError(
                    "y_prob is 1-D (probability of the positive class) but y_true "
                    f"has labels {present.tolist()[:10]}; pass pos_label to say which "
                    "label is positive."
                )
            pos_label = True if cand <= {False, True} and y_np.dtype == bool else 1
        if labels is None and len(present) > 2:
            raise ValueError(
                f"y_prob is 1-D but y_true has {len(present)} classes; pass "
                "probabilities of shape (n_samples, n_classes)."
            )
        y_idx_np = (y_np == pos_label).astype(np.int64)
        classes = np.array([f"not {pos_label}", pos_label], dtype=object)
        proba = xp.stack([1 - y_prob, y_prob], axis=1)
    else:
        n_classes = y_prob.shape[1]
        if labels is not None:
            classes = np.asarray(labels)
            if classes.shape != (n_classes,):
                raise ValueError(
                    f"labels must have one entry per column of y_prob ({n_classes}), "
                    f"got {classes.shape[0] if classes.ndim else 0}."
                )
            order = np.argsort(classes, kind="stable")
            if np.any(order != np.arange(n_classes)):
                raise ValueError("labels must be sorted in increasing order.")
        else:
            present = np.unique(y_np)
            if (
                y_np.dtype.kind in "iub"
                and present.min() >= 0
                and present.max() < n_classes
            ):
                classes = np.arange(n_classes)
            elif len(present) == n_classes:
                classes = present
            else:
                raise ValueError(
                    f"y_prob has {n_classes} columns but y_true has {len(present)} "
                    f"distinct labels {present.tolist()[:10]}; pass labels= to say "
                    "which class each column stands for."
                )
        y_idx_np = encode_labels(y_np, classes, name="y_true")
        proba = y_prob
    y_idx = move_to(y_idx_np.astype(np.int64), xp=xp, device=dev)
    sample_weight = check_sample_weight(
        sample_weight,
        y_np.shape[0],
        xp=xp,
        device=dev,
        dtype=float_dtype(xp, proba, device=dev),
    )
    return y_idx, proba, classes, sample_weight
