"""Row blocks for NumPy kernels: cache-sized pieces, run in threads."""

import os
from concurrent.futures import ThreadPoolExecutor

__all__ = ["by_row_blocks", "effective_n_threads"]


def effective_n_threads():
    """Number of threads for NumPy row blocks.

    As many as scikit-learn's OpenMP code uses: ``OMP_NUM_THREADS`` when set,
    otherwise the CPUs available to the process.
    """
    try:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    except ImportError:  # pragma: no cover - private scikit-learn helper moved
        return max(1, os.cpu_count() or 1)
    return max(1, int(_openmp_effective_n_threads()))


def by_row_blocks(kernel, args, row_wise, *, n_rows, block_rows, xp):
    """``kernel(*args)`` computed on blocks of rows, concatenated along axis 0.

    For a kernel whose output rows depend only on the same rows of its inputs
    (so the result is the same, bit for bit, as one call on all rows). NumPy
    releases the GIL in its array operations, so the blocks run in
    :func:`effective_n_threads` threads; blocks of a few megabytes also keep
    each kernel's temporaries in cache.

    Parameters
    ----------
    kernel : callable
        Returns one array whose first axis is the rows.
    args : sequence
        Arguments of ``kernel``.
    row_wise : sequence of bool
        For each argument, whether its first axis is the rows (then it is
        sliced; None stays None) or it is passed whole.
    n_rows : int
    block_rows : int
        Rows per block.
    xp : namespace

    Returns
    -------
    out : array
    """
    starts = range(0, n_rows, max(1, block_rows))
    if len(starts) <= 1:
        return kernel(*args)

    def run(start):
        stop = start + block_rows
        return kernel(
            *(
                a[start:stop, ...] if rows and a is not None else a
                for a, rows in zip(args, row_wise, strict=True)
            )
        )

    n_threads = min(effective_n_threads(), len(starts))
    if n_threads == 1:
        parts = [run(start) for start in starts]
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            parts = list(pool.map(run, starts))
    return xp.concat(parts, axis=0)
