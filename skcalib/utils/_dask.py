"""Dask arrays in the row-wise methods: lazy, block-wise scoring.

A fitted skcalib estimator maps each row of its input to one row of output in
``predict_proba``, ``predict_set``, ``predict_interval``, ``score_samples``,
``decision_function``, ``predict`` and the p-value methods: nothing in row
``i`` of the output depends on another row. So a Dask array is scored by
calling the NumPy method on each block of rows
(:func:`dask.array.map_blocks`), and the result is a lazy Dask array with the
same row chunks. :func:`dask_rowwise` wraps these methods once, for every
estimator of the families in :mod:`skcalib.base`; Dask is never imported
unless a Dask array is passed (:func:`is_dask_array` only looks at the type's
module).
"""

import functools
import warnings

import numpy as np

__all__ = [
    "ROWWISE_METHODS",
    "as_row_chunked",
    "dask_rowwise",
    "is_dask_array",
    "map_row_blocks",
    "reduce_row_blocks",
    "rows_like",
    "shippable",
    "wrap_rowwise_methods",
]

#: The methods whose output rows depend only on the same input rows.
ROWWISE_METHODS = (
    "predict_proba",
    "predict_log_proba",
    "predict",
    "decision_function",
    "score_samples",
    "predict_set",
    "predict_interval",
    "predict_pvalues",
    "score_pvalues",
)

# Rows of the first block scored eagerly to learn the output's dtype and shape.
_PROBE_ROWS = 2


def is_dask_array(x):
    """Whether ``x`` is a :class:`dask.array.Array` (without importing Dask).

    Examples
    --------
    >>> import numpy as np
    >>> from skcalib.utils._dask import is_dask_array
    >>> is_dask_array(np.zeros(3))
    False
    """
    cls = type(x)
    return cls.__name__ == "Array" and cls.__module__.startswith("dask.array")


def as_row_chunked(X):
    """``X`` rechunked so that only the rows are split (one chunk per row block).

    Examples
    --------
    >>> import dask.array as da
    >>> from skcalib.utils._dask import as_row_chunked
    >>> as_row_chunked(da.zeros((6, 4), chunks=(3, 2))).chunks
    ((3, 3), (4,))
    """
    if X.ndim < 2 or all(len(c) == 1 for c in X.chunks[1:]):
        return X
    return X.rechunk({axis: -1 for axis in range(1, X.ndim)})


def rows_like(values, X, *, name):
    """``values`` (NumPy or Dask, or None) as a Dask array with ``X``'s row chunks.

    Parameters
    ----------
    values : array-like of shape (n_samples, ...) or None
    X : dask.array.Array
        Row-chunked reference array.
    name : str
        Name of the argument, for the error message.

    Returns
    -------
    dask.array.Array or None

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skcalib.utils._dask import rows_like
    >>> X = da.zeros((5, 2), chunks=(2, 2))
    >>> rows_like(np.arange(5), X, name="y").chunks
    ((2, 2, 1),)
    """
    if values is None:
        return None
    import dask.array as da

    if not is_dask_array(values):
        values = np.asarray(values)
    if values.shape[0] != X.shape[0]:
        raise ValueError(
            f"{name} must have one entry per row of X ({X.shape[0]} rows), got "
            f"shape {tuple(values.shape)}."
        )
    if is_dask_array(values):
        return as_row_chunked(values).rechunk({0: X.chunks[0]})
    chunks = (X.chunks[0],) + tuple((s,) for s in values.shape[1:])
    return da.from_array(values, chunks=chunks)


class _ROWS:
    """Marks the positional arguments that are row blocks in ``_call_on_block``.

    (A class: it keeps its identity when pickled to Dask workers.)
    """


def _call_on_block(method, estimator, args, names, kwargs, *blocks):
    """``method(estimator, *args, **named_blocks, **kwargs)`` on NumPy blocks.

    The ``_ROWS`` entries of ``args`` take the first blocks, in order; the
    others are passed unchanged. The remaining blocks are named ``names``.
    """
    blocks = iter(blocks)
    positional = [next(blocks) if a is _ROWS else a for a in args]
    named = dict(zip(names, blocks, strict=True))
    return method(estimator, *positional, **named, **kwargs)


def _is_row_aligned(value, n):
    """Whether an argument has one entry per row of X (else it is passed whole)."""
    return value is not None and (
        is_dask_array(value) or getattr(value, "shape", (None,))[:1] == (n,)
    )


def _single_threaded(func, *blocks):
    """``func(*blocks)`` with skcalib's NumPy kernels on one thread.

    They split their rows over
    :func:`~skcalib.utils._parallel.effective_n_threads` threads, OpenMP's
    thread count of the calling thread; inside a Dask task (Dask runs many at
    once) it is limited to one, for this thread only, so that the threads do
    not multiply.
    """
    with _thread_controller().limit(limits=1, user_api="openmp"):
        return func(*blocks)


@functools.cache
def _thread_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _lazy_rowwise(method, estimator, X, args, kwargs):
    """The Dask version of ``method(estimator, X, *args, **kwargs)``."""
    X = as_row_chunked(X)
    n = X.shape[0]
    if not isinstance(n, int) or any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"{type(estimator).__name__}.{method.__name__} needs a Dask array with "
            "known chunk sizes; call X.compute_chunk_sizes() first."
        )
    # Row-aligned arguments (groups, test_weight, ...) follow X's row chunks;
    # anything else (None, scalars, options) is passed unchanged to every block.
    row_args, names = [X], []
    positional, fixed = [_ROWS], {}
    for i, value in enumerate(args):
        if _is_row_aligned(value, n):
            row_args.append(rows_like(value, X, name=f"argument {i + 1}"))
            value = _ROWS
        positional.append(value)
    for key, value in kwargs.items():
        if _is_row_aligned(value, n):
            names.append(key)
            row_args.append(rows_like(value, X, name=key))
        else:
            fixed[key] = value
    probe_rows = min(_PROBE_ROWS, X.chunks[0][0]) if n else 0
    probe = [a[:probe_rows].compute() for a in row_args]
    with warnings.catch_warnings():
        # The probe only learns the output's type: its warnings (for example
        # about 2 rows) would mislead; those of the real blocks are kept.
        warnings.simplefilter("ignore")
        sample = _call_on_block(method, estimator, positional, names, fixed, *probe)
    sample = np.asarray(sample)
    func = functools.partial(
        _call_on_block, method, shippable(estimator), positional, tuple(names), fixed
    )
    return map_row_blocks(
        func,
        row_args,
        sample.shape[1:],
        sample.dtype,
        token=f"{type(estimator).__name__.lower()}-{method.__name__}",
    )


def map_row_blocks(func, arrays, tail_shape, dtype, *, token=None):
    """Lazy ``func(*row_blocks)`` over arrays split only along their rows.

    Unlike :func:`dask.array.map_blocks`, arrays of different dimensions are
    aligned on their first axis (``y`` of shape (n,) with ``X`` of shape
    (n, k)), not on their last.

    Parameters
    ----------
    func : callable
        Maps NumPy blocks (same rows of every array) to an array of shape
        ``(n_block_rows, *tail_shape)``.
    arrays : sequence of dask.array.Array
        Row-chunked, all with the same row chunks.
    tail_shape : tuple of int
        Shape of the output beyond its rows.
    dtype : dtype

    Returns
    -------
    dask.array.Array of shape (n_rows, *tail_shape)

    Examples
    --------
    >>> import dask.array as da
    >>> from skcalib.utils._dask import map_row_blocks
    >>> X, y = da.ones((4, 3), chunks=(2, 3)), da.arange(4, chunks=2)
    >>> out = map_row_blocks(lambda x, v: x.sum(axis=1) + v, [X, y], (), float)
    >>> out.compute()
    array([3., 4., 5., 6.])
    """
    import dask.array as da

    letters = iter("abcdefghjklmnopqrstuvwxyz")
    out_tail = "".join(next(letters) for _ in tail_shape)
    pairs = []
    for a in arrays:
        pairs += [a, "i" + "".join(next(letters) for _ in range(a.ndim - 1))]
    return da.blockwise(
        functools.partial(_single_threaded, func),
        "i" + out_tail,
        *pairs,
        new_axes=dict(zip(out_tail, tail_shape, strict=True)),
        concatenate=True,
        dtype=dtype,
        meta=np.empty((0,) * (1 + len(tail_shape)), dtype=dtype),
        token=token,
    )


def reduce_row_blocks(func, arrays, *, combine=np.add):
    """``func(*blocks_b)`` over the row blocks, combined: a NumPy array.

    Only the small per-block results (float64) reach the client, where they
    are combined (added by default) in block order, so the result does not
    depend on the scheduler.

    Examples
    --------
    >>> import dask.array as da
    >>> from skcalib.utils._dask import reduce_row_blocks
    >>> X = da.arange(10, chunks=3)
    >>> reduce_row_blocks(lambda x: [x.size, x.sum()], [X])
    array([10., 45.])
    """
    import dask

    per_block = dask.delayed(_float64_row)
    blocks = zip(*(a.to_delayed().ravel() for a in arrays), strict=True)
    parts = dask.compute(*[per_block(func, *b) for b in blocks])
    return functools.reduce(combine, parts)


def _float64_row(func, *blocks):
    return np.asarray(_single_threaded(func, *blocks), dtype=np.float64)


def shippable(estimator):
    """A shallow copy of ``estimator`` without its lazy Dask attributes.

    Fitted on Dask arrays, an estimator may keep lazy results (its
    calibration scores) whose graphs refer back to the estimator; the copy
    sent with each block's task leaves them out (blocks never need them), and
    attributes set on the estimator later do not reach the graph.
    """
    copy = object.__new__(type(estimator))
    copy.__dict__.update(
        {
            key: None if is_dask_array(value) else value
            for key, value in vars(estimator).items()
        }
    )
    return copy


def dask_rowwise(method):
    """Wrap a row-wise estimator method so that a Dask ``X`` gives a lazy result.

    With a NumPy (or any non-Dask) ``X`` the method runs unchanged. With a
    :class:`dask.array.Array` it returns a lazy Dask array: ``X`` is
    rechunked so that only its rows are split, a couple of rows of the first
    block are scored eagerly to learn the output's dtype and trailing shape,
    and every block of rows is then scored by the original method (in the
    workers of a distributed cluster, if one is active). Arguments with one
    entry per row (``groups``, ``test_weight``) follow ``X``'s chunks.

    The wrapper keeps the method's name, docstring and signature
    (``inspect.signature`` follows ``__wrapped__``), which metadata routing
    and scikit-learn's checks inspect.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skcalib.calibration import TemperatureScaling
    >>> rng = np.random.default_rng(0)
    >>> logits, y = rng.normal(size=(100, 3)), rng.integers(0, 3, 100)
    >>> ts = TemperatureScaling().fit(logits, y)
    >>> lazy = ts.predict_proba(da.from_array(logits, chunks=(25, 3)))
    >>> lazy.chunks
    ((25, 25, 25, 25), (3,))
    >>> np.allclose(lazy.compute(), ts.predict_proba(logits))
    True
    """
    if getattr(method, "_skcalib_dask_rowwise", False):
        return method

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        X = args[0] if args else kwargs.get("X")
        if not is_dask_array(X):
            return method(self, *args, **kwargs)
        if args:
            args = args[1:]
        else:
            kwargs = {k: v for k, v in kwargs.items() if k != "X"}
        return _lazy_rowwise(method, self, X, args, kwargs)

    wrapper._skcalib_dask_rowwise = True
    return wrapper


def wrap_rowwise_methods(cls):
    """Wrap the row-wise methods of ``cls`` with :func:`dask_rowwise`.

    Those defined in ``cls`` itself, and those it inherits from bases that
    are not wrapped themselves (private mixins outside the families, such as
    the one with the conformal regressors' ``predict_interval``). Plain
    functions are replaced; for scikit-learn's ``available_if`` descriptors
    the wrapped function replaces the descriptor's ``fn``, so that
    availability is still checked first.
    """
    for name in ROWWISE_METHODS:
        owner = next((c for c in cls.__mro__ if name in c.__dict__), None)
        if owner is None:
            continue
        attr = owner.__dict__[name]
        if owner is not cls and getattr(attr, "_skcalib_dask_rowwise", False):
            continue
        if callable(attr) and not isinstance(attr, (staticmethod, classmethod)):
            setattr(cls, name, dask_rowwise(attr))
        elif callable(getattr(attr, "fn", None)) and hasattr(attr, "check"):
            attr.fn = dask_rowwise(attr.fn)
