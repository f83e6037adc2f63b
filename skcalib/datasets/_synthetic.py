"""Synthetic data with a known ground truth.

* :func:`make_classification_logits` draws logits whose true probabilities are
  known exactly and whose miscalibration is a known temperature.
* :func:`make_ood_features` draws in-distribution Gaussian class clusters plus
  an out-of-distribution cluster at a controlled distance.

Both return NumPy arrays and are deterministic given ``random_state``.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ..utils._array_api import softmax

__all__ = ["make_classification_logits", "make_ood_features"]

# Amplitude (in units of the unit-variance noise) of the latent class's logit
# bump for ``class_sep=1``: gives about 85% top-label accuracy with 3 classes.
_LOGIT_SHIFT = 3.0

# Distance of the class centres from the origin, in units of ``cluster_std``.
_CENTER_RADIUS = 5.0

# Distance of the OOD centre from its anchor class centre, in units of
# ``cluster_std``, for the named shifts.
_OOD_SHIFTS = {"near": 2.0, "far": 10.0}


def _check_int(value, name, *, min_value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {min_value}, got {value!r}.")
    if value < min_value:
        raise ValueError(f"{name} must be an integer >= {min_value}, got {value!r}.")
    return int(value)


def _check_real(value, name, *, min_value, strict):
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if ok:
        value = float(value)
        above = value > min_value if strict else value >= min_value
        ok = bool(np.isfinite(value)) and above
    if not ok:
        bound = ">" if strict else ">="
        raise ValueError(
            f"{name} must be a finite real number {bound} {min_value}, got {value!r}."
        )
    return value


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a bool, got {value!r}.")
    return bool(value)


def _sample_categorical(proba, rng):
    """One label per row of ``proba`` by inverse-CDF sampling."""
    u = rng.random(proba.shape[0])
    cum = np.cumsum(proba, axis=1)[:, :-1]
    # Counting the thresholds passed never exceeds n_classes - 1, even when the
    # cumulative sum falls short of one by rounding.
    return np.sum(u[:, None] >= cum, axis=1).astype(np.int64)


def make_classification_logits(
    n_samples=1000,
    n_classes=3,
    *,
    temperature=1.5,
    class_sep=1.0,
    return_proba=False,
    random_state=None,
):
    """Generate classifier logits with a known temperature miscalibration.

    Each sample gets a latent class ``c`` drawn uniformly and true logits
    ``z = 3 * class_sep * onehot(c) + eps`` with ``eps ~ N(0, I)``. Its true class
    probabilities are ``softmax(z)`` and its label ``y`` is **drawn from those
    probabilities**, so ``softmax(z)`` is perfectly calibrated by construction.
    The returned logits are ``temperature * z``: dividing them by
    ``temperature`` (what :class:`~skcalib.calibration.TemperatureScaling` does
    with a fitted ``temperature_``) recovers the true probabilities exactly.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples (>= 1).
    n_classes : int, default=3
        Number of classes (>= 2). Binary problems still get logits of shape
        ``(n_samples, 2)``.
    temperature : float, default=1.5
        Miscalibration temperature (> 0). Values above 1 give overconfident
        logits, values below 1 underconfident ones, and 1 calibrated ones.
    class_sep : float, default=1.0
        Scale (>= 0) of the latent class's logit bump; larger values give
        more confident and more accurate predictions. With 3 classes,
        ``class_sep=1`` gives about 85% top-label accuracy and ``class_sep=0``
        (noise logits only) about 59%.
    return_proba : bool, default=False
        Whether to also return the true probabilities ``softmax(z)``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator, passed to :func:`sklearn.utils.check_random_state`.

    Returns
    -------
    logits : ndarray of shape (n_samples, n_classes), dtype float64
        Observed (miscalibrated) logits ``temperature * z``.
    y : ndarray of shape (n_samples,), dtype int64
        Labels in ``range(n_classes)`` drawn from the true probabilities.
    proba_true : ndarray of shape (n_samples, n_classes), dtype float64
        The true probabilities ``softmax(logits / temperature)``; only
        returned with ``return_proba=True``.

    See Also
    --------
    make_ood_features : In- and out-of-distribution feature clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.datasets import make_classification_logits
    >>> logits, y, proba = make_classification_logits(
    ...     500, 4, temperature=2.0, return_proba=True, random_state=0)
    >>> logits.shape, y.shape, proba.shape
    ((500, 4), (500,), (500, 4))
    >>> z = logits / 2.0
    >>> bool(np.allclose(np.exp(z) / np.exp(z).sum(1, keepdims=True), proba))
    True
    """
    n_samples = _check_int(n_samples, "n_samples", min_value=1)
    n_classes = _check_int(n_classes, "n_classes", min_value=2)
    temperature = _check_real(temperature, "temperature", min_value=0.0, strict=True)
    class_sep = _check_real(class_sep, "class_sep", min_value=0.0, strict=False)
    return_proba = _check_bool(return_proba, "return_proba")
    rng = check_random_state(random_state)

    latent = rng.randint(n_classes, size=n_samples)
    z = rng.standard_normal((n_samples, n_classes))
    z[np.arange(n_samples), latent] += _LOGIT_SHIFT * class_sep
    proba = softmax(z)
    y = _sample_categorical(proba, rng)
    logits = temperature * z
    if return_proba:
        return logits, y, proba
    return logits, y


def make_ood_features(
    n_samples=1000,
    n_ood_samples=200,
    *,
    n_features=16,
    n_classes=3,
    shift="far",
    cluster_std=1.0,
    random_state=None,
):
    """Generate in-distribution class clusters plus out-of-distribution samples.

    In-distribution (ID) samples come from ``n_classes`` isotropic Gaussian
    blobs of standard deviation ``cluster_std``, whose centres lie at distance
    ``5 * cluster_std`` from the origin in random directions. The
    out-of-distribution (OOD) samples come from one more blob of the same
    spread, centred at distance ``d * cluster_std`` from a randomly chosen
    class centre, in a random direction pointing away from the centroid of the
    class centres. ``d`` is 2 for ``shift="near"`` (overlapping the ID data, so
    detection is hard), 10 for ``shift="far"`` (nearly perfectly separable), or
    the float given.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of in-distribution samples (>= 1), split as evenly as possible
        between the classes.
    n_ood_samples : int, default=200
        Number of out-of-distribution samples (>= 0).
    n_features : int, default=16
        Number of features (>= 1).
    n_classes : int, default=3
        Number of in-distribution classes (>= 1).
    shift : {"near", "far"} or float, default="far"
        Distance of the OOD centre from its anchor class centre, in units of
        ``cluster_std``: ``"near"`` is 2.0, ``"far"`` is 10.0, a float (>= 0)
        is used as given.
    cluster_std : float, default=1.0
        Standard deviation (> 0) of every blob along each feature.
    random_state : int, RandomState instance or None, default=None
        Seed or generator, passed to :func:`sklearn.utils.check_random_state`.

    Returns
    -------
    X : ndarray of shape (n_samples + n_ood_samples, n_features), dtype float64
        The ``n_samples`` in-distribution rows first (classes interleaved in
        random order), then the ``n_ood_samples`` OOD rows.
    y : ndarray of shape (n_samples + n_ood_samples,), dtype int64
        The class label in ``range(n_classes)`` for in-distribution rows and
        **-1 for out-of-distribution rows**, so ``y == -1`` is the OOD mask.

    See Also
    --------
    make_classification_logits : Logits with a known miscalibration.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.datasets import make_ood_features
    >>> X, y = make_ood_features(300, 50, n_features=4, shift="near",
    ...                          random_state=0)
    >>> X.shape
    (350, 4)
    >>> np.unique(y).tolist()
    [-1, 0, 1, 2]
    >>> int(np.sum(y == -1))
    50
    """
    n_samples = _check_int(n_samples, "n_samples", min_value=1)
    n_ood_samples = _check_int(n_ood_samples, "n_ood_samples", min_value=0)
    n_features = _check_int(n_features, "n_features", min_value=1)
    n_classes = _check_int(n_classes, "n_classes", min_value=1)
    if isinstance(shift, str):
        if shift not in _OOD_SHIFTS:
            raise ValueError(
                f"shift must be 'near', 'far' or a non-negative float, got {shift!r}."
            )
        distance = _OOD_SHIFTS[shift]
    else:
        try:
            distance = _check_real(shift, "shift", min_value=0.0, strict=False)
        except ValueError:
            raise ValueError(
                f"shift must be 'near', 'far' or a non-negative float, got {shift!r}."
            ) from None
    cluster_std = _check_real(cluster_std, "cluster_std", min_value=0.0, strict=True)
    rng = check_random_state(random_state)

    directions = rng.standard_normal((n_classes, n_features))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    centers = _CENTER_RADIUS * cluster_std * directions

    y_id = np.arange(n_samples, dtype=np.int64) % n_classes
    rng.shuffle(y_id)
    X_id = centers[y_id] + cluster_std * rng.standard_normal((n_samples, n_features))

    anchor = rng.randint(n_classes)
    u = rng.standard_normal(n_features)
    outward = centers[anchor] - centers.mean(axis=0)
    if u @ outward < 0:
        u = -u
    u /= np.linalg.norm(u)
    ood_center = centers[anchor] + distance * cluster_std * u
    X_ood = ood_center + cluster_std * rng.standard_normal((n_ood_samples, n_features))

    X = np.concatenate([X_id, X_ood], axis=0)
    y = np.concatenate([y_id, np.full(n_ood_samples, -1, dtype=np.int64)])
    return X, y
