"""Array-API core: namespace and device resolution, transfers and stable kernels.

Every skcalib kernel is written once against the `Python array API standard
<https://data-apis.org/array-api/latest/>`_ and resolves its namespace here.
With scikit-learn's ``array_api_dispatch`` off (the default) the namespace is
always NumPy (through :mod:`array_api_compat.numpy`); with
``sklearn.config_context(array_api_dispatch=True)`` it is the namespace of the
inputs (CuPy, PyTorch, array-api-strict, ...), and the computation stays on
their device.

The numerical kernels here (:func:`softmax`, :func:`log_softmax`,
:func:`logsumexp`, :func:`nll_from_logits`, :func:`conformal_quantile`) are the
only implementations in the package: estimators and metrics call them instead
of writing their own.
"""

import math

import array_api_compat
import array_api_extra as xpx
import numpy as np
from array_api_compat import numpy as np_compat
from sklearn import get_config

from ._parallel import by_row_blocks

__all__ = [
    "bincount",
    "conformal_quantile",
    "device",
    "float_dtype",
    "get_namespace",
    "get_namespace_and_device",
    "is_numpy_namespace",
    "log_softmax",
    "logsumexp",
    "move_to",
    "nll_from_logits",
    "softmax",
    "temperature_nll_derivatives",
    "to_numpy",
]


def _is_array(obj):
    return obj is not None and not isinstance(obj, (str, list, tuple, int, float))


def get_namespace(*arrays, xp=None):
    """Return the array namespace shared by ``arrays``.

    Parameters
    ----------
    *arrays : array-like or None
        Arrays to inspect; ``None``, Python scalars, lists and tuples are ignored.
    xp : namespace, default=None
        A namespace already resolved by the caller; returned unchanged.

    Returns
    -------
    xp : namespace
        :mod:`array_api_compat.numpy` when scikit-learn's ``array_api_dispatch``
        is off or no array is given, otherwise the common namespace of the arrays.

    Raises
    ------
    TypeError
        If dispatch is on and the arrays come from different namespaces.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import get_namespace
    >>> get_namespace(np.zeros(3)).__name__
    'array_api_compat.numpy'
    """
    if xp is not None:
        return xp
    if not get_config()["array_api_dispatch"]:
        return np_compat
    arrays = [a for a in arrays if _is_array(a)]
    if not arrays:
        return np_compat
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError as exc:
        names = sorted({type(a).__module__ + "." + type(a).__name__ for a in arrays})
        raise TypeError(
            "All arrays must come from the same array namespace, got arrays of "
            f"types {names}. Move them to one namespace first, for example with "
            "skcalib.utils.move_to."
        ) from exc


def device(x):
    """Return the device of array ``x`` (``"cpu"`` for NumPy arrays)."""
    return array_api_compat.device(x)


def get_namespace_and_device(*arrays, xp=None):
    """Return the common namespace and device of ``arrays``.

    Parameters
    ----------
    *arrays : array-like or None
        Arrays to inspect; ``None`` and Python containers are ignored.
    xp : namespace, default=None
        A namespace already resolved by the caller.

    Returns
    -------
    xp : namespace
    device : device object
        The device shared by all arrays; ``"cpu"`` when dispatch is off.

    Raises
    ------
    ValueError
        If the arrays live on different devices.

    Examples
    --------
    >>> import numpy as np
    >>> import array_api_strict
    >>> from sklearn import config_context
    >>> from skcalib.utils import get_namespace_and_device
    >>> xp, device = get_namespace_and_device(np.ones(3))
    >>> xp.__name__, device
    ('array_api_compat.numpy', 'cpu')
    >>> with config_context(array_api_dispatch=True):
    ...     xp, device = get_namespace_and_device(array_api_strict.ones(3))
    >>> xp.__name__, device
    ('array_api_strict', array_api_strict.Device('CPU_DEVICE'))
    """
    xp = get_namespace(*arrays, xp=xp)
    if is_numpy_namespace(xp):
        return xp, "cpu"
    arrays = [a for a in arrays if _is_array(a)]
    if not arrays:
        return xp, None
    dev = device(arrays[0])
    for other in arrays[1:]:
        other_dev = device(other)
        if other_dev != dev:
            raise ValueError(
                f"All arrays must be on the same device, got {dev!r} and "
                f"{other_dev!r}. Move them to one device first, for example with "
                "skcalib.utils.move_to."
            )
    return xp, dev


def is_numpy_namespace(xp):
    """Whether ``xp`` is NumPy or its array-API-compat wrapper."""
    return xp.__name__ in {"numpy", "array_api_compat.numpy"}


def float_dtype(xp, *arrays, device=None):
    """Floating dtype to compute in: float32 if any input is float32, else float64.

    Integer and boolean inputs compute in float64 unless the device has no
    float64 support (some GPUs, MPS), in which case float32 is used.
    """
    for a in arrays:
        if a is not None and getattr(a, "dtype", None) == xp.float32:
            return xp.float32
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        if "float64" not in info().dtypes(device=device, kind="real floating"):
            return xp.float32
    return xp.float64


def to_numpy(x):
    """Return ``x`` as a NumPy array on the host (no copy when already NumPy).

    Tries DLPack first, then the library's own host transfer.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import to_numpy
    >>> to_numpy(np.arange(3))
    array([0, 1, 2])
    """
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.asarray(x)
    module = type(x).__module__.split(".")[0]
    if module == "cupy":
        return x.get()
    if module == "torch":
        return x.detach().cpu().numpy()
    if module == "array_api_strict":
        import array_api_strict

        x = array_api_strict.asarray(x, device=array_api_strict.Device("CPU_DEVICE"))
    try:
        return np.from_dlpack(x)
    except (AttributeError, TypeError, BufferError, RuntimeError, ValueError):
        return np.asarray(x)


def move_to(x, *, xp, device):
    """Move array ``x`` to namespace ``xp`` on ``device``.

    DLPack is tried first (zero copy where the libraries allow it); otherwise the
    array goes through host memory. ``None`` is returned unchanged.

    Parameters
    ----------
    x : array or None
    xp : namespace
        Target namespace (for example ``array_api_compat.numpy``, ``cupy``).
    device : device object
        Target device in that namespace.

    Returns
    -------
    array or None

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import move_to
    >>> from array_api_compat import numpy as xp
    >>> move_to(np.ones(2), xp=xp, device="cpu")
    array([1., 1.])
    """
    if x is None:
        return None
    if is_numpy_namespace(xp):
        return to_numpy(x)
    if not hasattr(x, "__array_namespace__") and not isinstance(x, np.ndarray):
        x = np.asarray(x)
    src = array_api_compat.array_namespace(x)
    if src.__name__ == xp.__name__ and array_api_compat.device(x) == device:
        return x
    try:
        return xp.from_dlpack(x, device=device)
    except (
        AttributeError,
        TypeError,
        NotImplementedError,
        BufferError,
        ValueError,
        RuntimeError,
    ):
        return xp.asarray(to_numpy(x), device=device)


# NumPy kernels over (n, k) matrices go by row blocks of about this many
# entries (1 MiB of float32): their temporaries stay in cache, so the matrix
# is read from memory once, and the blocks run in threads.
_BLOCK_ENTRIES = 1 << 18


def _by_rows(kernel, x, *args, xp):
    """``kernel(x, *args)``, by row blocks for large NumPy matrices.

    Every argument is sliced along its rows; ``kernel`` must be row-wise, so
    the result is the same as one call (see
    :func:`~skcalib.utils._parallel.by_row_blocks`). Other namespaces get one
    call on the whole arrays, which their own kernels fuse.
    """
    n_rows, n_cols = x.shape
    if not is_numpy_namespace(xp) or n_rows * n_cols <= 2 * _BLOCK_ENTRIES:
        return kernel(x, *args)
    return by_row_blocks(
        kernel,
        (x, *args),
        (True,) * (1 + len(args)),
        n_rows=n_rows,
        block_rows=max(1, _BLOCK_ENTRIES // n_cols),
        xp=xp,
    )


def _max_and_sum_exp(x, axis, xp):
    """Shift ``m`` (the maximum, 0 where not finite) and ``sum(exp(x - m))``.

    Both with kept dimensions; ``logsumexp = log(s) + m``. Rows that are all
    -inf would give nan from (-inf) - (-inf): they are shifted by 0.
    """
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    return m, xp.sum(xp.exp(x - m), axis=axis, keepdims=True)


def _shift_and_normaliser(x, axis, xp):
    """:func:`_max_and_sum_exp`; along the rows of a matrix, by row blocks.

    The blocks make one read of ``x`` from memory: the row maximum and the
    exponential sum of a block are computed while it is in cache.
    """
    if x.ndim != 2 or axis not in (1, -1):
        return _max_and_sum_exp(x, axis, xp)
    stats = _by_rows(
        lambda block: xp.concat(_max_and_sum_exp(block, 1, xp), axis=1), x, xp=xp
    )
    return stats[:, :1], stats[:, 1:]


def logsumexp(x, *, axis=-1, keepdims=False, xp=None):
    """Numerically stable ``log(sum(exp(x), axis))``.

    Along the rows of a large NumPy matrix it goes by cache-sized row blocks
    (in threads), so the matrix is read from memory once (the exponentials of
    a block are summed while it is in cache).

    Parameters
    ----------
    x : array of shape (..., k)
        Finite values (``-inf`` entries are allowed and contribute nothing).
    axis : int, default=-1
    keepdims : bool, default=False
    xp : namespace, default=None

    Returns
    -------
    array
        Same namespace, device and floating dtype as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import logsumexp
    >>> float(logsumexp(np.array([1e4, 1e4])))
    10000.69314718056
    """
    xp = get_namespace(x, xp=xp)
    m, s = _shift_and_normaliser(x, axis, xp)
    out = xp.log(s) + m
    if not keepdims:
        out = xp.squeeze(out, axis=axis)
    return out


def _numpy_rows_into(x, axis, xp):
    """Whether the rows of ``x`` can be written block by block into a NumPy array."""
    return (
        is_numpy_namespace(xp)
        and x.ndim == 2
        and axis in (1, -1)
        and xp.isdtype(x.dtype, "real floating")
    )


def _log_softmax_into(x, out):
    """NumPy: log-softmax of the rows of ``x`` written into ``out`` (a block).

    ``out`` holds ``x - m`` first, so the block is read from memory once.
    """
    m = np.max(x, axis=1, keepdims=True)
    m[~np.isfinite(m)] = 0
    np.subtract(x, m, out=out)
    out -= np.log(np.sum(np.exp(out), axis=1, keepdims=True))
    return m


def _softmax_into(x, out):
    """NumPy: softmax of the rows of ``x`` written into ``out`` (a block)."""
    m = np.max(x, axis=1, keepdims=True)
    m[~np.isfinite(m)] = 0
    np.subtract(x, m, out=out)
    np.exp(out, out=out)
    out /= np.sum(out, axis=1, keepdims=True)
    return m


def log_softmax(x, *, axis=-1, xp=None):
    """Numerically stable log-softmax along ``axis``: ``x - m - log(sum(exp(x - m)))``.

    For a NumPy matrix, every cache-sized block of rows is normalised in the
    output array, in place (in threads), so ``x`` is read from memory once
    and the output written once.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import log_softmax
    >>> log_softmax(np.array([[0.0, 0.0]]))
    array([[-0.69314718, -0.69314718]])
    """
    xp = get_namespace(x, xp=xp)
    if _numpy_rows_into(x, axis, xp):
        out = np.empty_like(x)
        _by_rows(_log_softmax_into, x, out, xp=xp)
        return out
    m, s = _max_and_sum_exp(x, axis, xp)
    return (x - m) - xp.log(s)


def softmax(x, *, axis=-1, xp=None):
    """Numerically stable softmax along ``axis``: ``exp(x - m) / sum(exp(x - m))``.

    Two passes over ``x`` (as in Dukhan and Ablavatski 2020, "The Two-Pass
    Softmax Algorithm"): each row's maximum ``m`` and exponential sum, then
    the normalised exponentials. For a NumPy matrix both passes run on one
    cache-sized block of rows at a time, in the output array (in threads),
    so ``x`` is read from memory once and the output written once.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import softmax
    >>> softmax(np.array([[1e4, 0.0]]))
    array([[1., 0.]])
    """
    xp = get_namespace(x, xp=xp)
    if _numpy_rows_into(x, axis, xp):
        out = np.empty_like(x)
        _by_rows(_softmax_into, x, out, xp=xp)
        return out
    m, s = _max_and_sum_exp(x, axis, xp)
    e = xp.exp(x - m)
    e /= s
    return e


def sigmoid(x, *, xp=None):
    """Numerically stable logistic function ``1 / (1 + exp(-x))``.

    One exponential per element, of ``-|x|``, so it never overflows.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import sigmoid
    >>> sigmoid(np.array([-1e4, 0.0, 1e4]))
    array([0. , 0.5, 1. ])
    """
    xp = get_namespace(x, xp=xp)
    e = xp.exp(-xp.abs(x))
    r = 1.0 / (1.0 + e)
    return xp.where(x >= 0, r, e * r)


def nll_from_logits(logits, y, *, sample_weight=None, xp=None):
    """Mean negative log-likelihood of integer labels ``y`` under ``softmax(logits)``.

    Fused: the row maximum, the shifted exponential sum and the true-class
    logit of a block of rows are computed while it is in cache (a large NumPy
    matrix goes by row blocks, in threads), so the logits are read from memory
    once; no probability matrix is formed.

    Parameters
    ----------
    logits : array of shape (n_samples, n_classes)
    y : array of shape (n_samples,)
        Integer class indices in ``[0, n_classes)``.
    sample_weight : array of shape (n_samples,), default=None
    xp : namespace, default=None

    Returns
    -------
    nll : 0-d array
        ``sum_i w_i (logsumexp(z_i) - z_{i, y_i}) / sum_i w_i``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import nll_from_logits
    >>> round(float(nll_from_logits(np.array([[0.0, 0.0]]), np.array([1]))), 6)
    0.693147
    """
    xp = get_namespace(logits, y, sample_weight, xp=xp)
    idx = xp.astype(y, xp.int64) if y.dtype != xp.int64 else y

    def row_losses(z, true_class):
        m, s = _max_and_sum_exp(z, 1, xp)
        true_logit = xp.take_along_axis(z, true_class[:, None], axis=1)
        return (xp.log(s) + m - true_logit)[:, 0]

    losses = _by_rows(row_losses, logits, idx, xp=xp)
    if sample_weight is None:
        return xp.mean(losses)
    sample_weight = xp.astype(sample_weight, losses.dtype)
    return xp.sum(losses * sample_weight) / xp.sum(sample_weight)


def entr(p, *, xp):
    """``-p log p`` elementwise, with ``0 log 0 = 0`` (``scipy.special.entr``).

    Summed along the classes it is the Shannon entropy (in nats) of
    probability vectors.
    """
    positive = p > 0
    return -p * xp.log(xp.where(positive, p, xp.ones_like(p)))


def partition_rows(values, position, *, xp):
    """``values`` partitioned along the rows around column ``position``.

    In every row the entry at ``position`` is the one a sort would put there,
    smaller (or equal) entries come before it and larger (or equal) ones
    after, in no particular order: a selection (``numpy.partition``,
    ``torch.topk``, ...) through ``array_api_extra.partition`` when it exists
    (array-api-extra >= 0.9.1), otherwise a full ascending sort of the rows.
    """
    partition = getattr(xpx, "partition", None)
    if partition is not None:
        return partition(values, position, axis=1, xp=xp)
    return xp.sort(values, axis=1)


def _conformal_rank(n, confidence_level):
    """1-based rank ``ceil((n + 1) * level)``, robust to floating-point noise."""
    target = (n + 1) * confidence_level
    # 0.9 * 10 == 9.000000000000002 must give rank 9, not 10.
    return math.ceil(target - 1e-9 * max(1.0, target))


def conformal_quantile(
    scores, confidence_level, *, sample_weight=None, test_weight=1.0, xp=None
):
    """Finite-sample conformal quantile of calibration ``scores``.

    Unweighted, this is the ``ceil((n + 1) * confidence_level)``-th smallest score
    (Vovk et al.; Lei et al. 2018), and ``+inf`` when that rank exceeds ``n``
    (the calibration set is too small for the requested level, so the prediction
    set must be everything). With weights ``w_i`` (frequency weights or
    covariate-shift likelihood ratios, Tibshirani et al. 2019) it is the smallest
    score ``s`` such that ``sum_{s_i <= s} w_i >= level * (sum_i w_i + w_test)``;
    with integer weights this equals the unweighted quantile of the data with
    each row repeated ``w_i`` times.

    Parameters
    ----------
    scores : array of shape (n_samples,)
        Conformity scores of the calibration points (no NaN).
    confidence_level : float or sequence of float in (0, 1)
        Target coverage(s).
    sample_weight : array of shape (n_samples,), default=None
        Non-negative weights of the calibration points.
    test_weight : float, default=1.0
        Weight of the test point (only used with ``sample_weight``).
    xp : namespace, default=None

    Returns
    -------
    quantile : array
        0-d for a scalar ``confidence_level``, else shape ``(n_levels,)``; same
        namespace, device and dtype as ``scores``; ``+inf`` where out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import conformal_quantile
    >>> scores = np.arange(1.0, 10.0)  # n = 9
    >>> float(conformal_quantile(scores, 0.8))  # ceil(10 * 0.8) = 8th smallest
    8.0
    >>> float(conformal_quantile(scores, 0.95))  # rank 10 > n
    inf
    """
    xp, dev = get_namespace_and_device(scores, sample_weight, xp=xp)
    scalar = np.ndim(confidence_level) == 0
    levels = np.atleast_1d(np.asarray(confidence_level, dtype=float))
    if levels.ndim != 1 or np.any(~((levels > 0) & (levels < 1))):
        raise ValueError(
            "confidence_level must be a float or a sequence of floats in the open "
            f"interval (0, 1), got {confidence_level!r}."
        )
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {tuple(scores.shape)}.")
    n = scores.shape[0]
    dtype = scores.dtype
    inf = xp.asarray(xp.inf, dtype=dtype, device=dev)
    if sample_weight is None:
        sorted_scores = xp.sort(scores)
        ranks = [max(1, _conformal_rank(n, lev)) for lev in levels]
        out = [sorted_scores[r - 1] if r <= n else inf for r in ranks]
    else:
        order = xp.argsort(scores, stable=True)
        sorted_scores = xp.take(scores, order)
        w = xp.take(sample_weight, order)
        w = xp.astype(w, float_dtype(xp, device=dev))
        cum_w = xp.cumulative_sum(w)
        total = (float(cum_w[-1]) if n else 0.0) + float(test_weight)
        # Tolerance so that integer weights reproduce the unweighted rank exactly.
        targets = xp.asarray(
            [lev * total * (1 - 1e-12) for lev in levels], dtype=w.dtype, device=dev
        )
        idx = to_numpy(xp.searchsorted(cum_w, targets, side="left")) if n else None
        out = [
            sorted_scores[int(i)] if n and i < n else inf
            for i in (idx if n else [n] * levels.shape[0])
        ]
    result = xp.stack([xp.asarray(o, dtype=dtype, device=dev) for o in out])
    return result[0] if scalar else result


def bincount(x, *, weights=None, minlength=0, xp=None):
    """Weighted counts of non-negative integers ``x`` (``numpy.bincount`` semantics).

    Uses the namespace's own ``bincount`` where it has one (NumPy, CuPy,
    PyTorch), otherwise a one-hot reduction on the device. Always returns
    ``max(minlength, max(x) + 1)`` floating-point sums when ``weights`` is
    given, integer counts otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import bincount
    >>> bincount(np.array([0, 2, 2]), weights=np.array([1.0, 0.5, 0.5]), minlength=4)
    array([1., 0., 1., 0.])
    """
    xp, dev = get_namespace_and_device(x, weights, xp=xp)
    n_bins = max(int(minlength), int(xp.max(x)) + 1 if x.shape[0] else 0)
    if hasattr(xp, "bincount"):
        if weights is None:
            return xp.bincount(x, minlength=n_bins)
        return xp.astype(
            xp.bincount(x, weights=weights, minlength=n_bins), weights.dtype
        )
    one_hot = x[:, None] == xp.arange(n_bins, dtype=x.dtype, device=dev)[None, :]
    if weights is None:
        return xp.sum(xp.astype(one_hot, xp.int64), axis=0)
    return xp.sum(xp.astype(one_hot, weights.dtype) * weights[:, None], axis=0)


def temperature_nll_derivatives(
    shifted_logits,
    shifted_logits_sq,
    shifted_true_logit,
    inv_temperature,
    *,
    sample_weight=None,
    xp=None,
):
    """NLL of ``softmax(a * logits)`` and its first two derivatives in ``a``.

    Works on row-shifted logits ``d = z - max_k z`` and their squares, computed
    once by the caller (``d <= 0``: nothing overflows, and the variance below
    does not cancel catastrophically for logits of 1e4). One fused pass per
    call (by cache-sized row blocks, in threads, for large NumPy matrices):
    the exponentials ``e = exp(a d)`` are reduced against ``1``, ``d`` and
    ``d^2`` (``vecdot``, no further temporaries) to give, per row, ``S0``,
    ``E[d]`` and ``E[d^2]``, from which

    - ``f(a)   = mean(log S0 - a d_y)``,
    - ``f'(a)  = mean(E[d] - d_y)`` (expected minus true logit),
    - ``f''(a) = mean(E[d^2] - E[d]^2)`` (variance of the logit, >= 0),

    so ``f`` is convex in ``a``. Row statistics stay in the input dtype; the
    final means over rows are accumulated in float64 where the device has it.

    Parameters
    ----------
    shifted_logits : array of shape (n_samples, n_classes)
        ``logits - max(logits, axis=1)``.
    shifted_logits_sq : array of shape (n_samples, n_classes)
        ``shifted_logits ** 2``.
    shifted_true_logit : array of shape (n_samples,)
        ``logits[i, y_i] - max_k logits[i, k]``.
    inv_temperature : float
        ``a = 1 / T > 0``.
    sample_weight : array of shape (n_samples,), default=None
    xp : namespace, default=None

    Returns
    -------
    value, gradient, hessian : float
        Three host scalars (the only data crossing the device boundary).

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._array_api import temperature_nll_derivatives
    >>> d = np.array([[0.0, -1.0]])
    >>> out = temperature_nll_derivatives(d, d**2, np.array([-1.0]), 1.0)
    >>> [round(v, 6) for v in out]
    [1.313262, 0.731059, 0.196612]
    """
    xp, dev = get_namespace_and_device(shifted_logits, xp=xp)
    a = inv_temperature

    def row_terms(d, d_sq, d_true):
        e = xp.exp(a * d)
        s0 = xp.sum(e, axis=1)
        m1 = xp.vecdot(e, d, axis=-1) / s0
        m2 = xp.vecdot(e, d_sq, axis=-1) / s0
        return xp.stack([xp.log(s0) - a * d_true, m1 - d_true, m2 - m1 * m1], axis=1)

    acc = float_dtype(xp, device=dev)
    stacked = xp.astype(
        _by_rows(
            row_terms, shifted_logits, shifted_logits_sq, shifted_true_logit, xp=xp
        ),
        acc,
    )
    if sample_weight is None:
        totals = xp.mean(stacked, axis=0)
    else:
        w = xp.astype(sample_weight, acc)
        totals = xp.sum(stacked * w[:, None], axis=0) / xp.sum(w)
    value, grad, hess = (float(v) for v in to_numpy(totals))
    return value, grad, hess
