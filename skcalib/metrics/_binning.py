"""Shared binning and kernel-smoothing kernels of the calibration metrics.

Everything here is written once against the array API: the binned metrics
(ECE, ACE, MCE, the Brier decomposition) and :func:`reliability_curve` all go
through :func:`_bin_statistics`, and the smooth ECE and the smoothed
reliability curve through :func:`_kernel_apply`.

Binning conventions
-------------------
``"uniform"``
    ``n_bins`` equal-width bins on ``[0, 1]`` with edges ``b / n_bins``. Bins are
    closed on the right: a value ``p`` falls in bin ``b`` (0-based) when
    ``b / n_bins < p <= (b + 1) / n_bins``, and ``p = 0`` falls in the first bin.
    This is the convention of Guo et al. (2017), ``I_m = ((m - 1) / M, m / M]``,
    and of MAPIE (``np.digitize(..., right=True)``).
``"quantile"``
    Equal-mass bins, computed separately for each set of confidences (each
    class for the classwise metrics). The edges are the weighted inverted-CDF
    quantiles at levels ``b / n_bins`` (the smallest value whose cumulative
    weight reaches ``b / n_bins`` of the total) and bins are closed on the
    right, so with ``n`` distinct values and unit weights bin ``b`` holds the
    values of rank ``ceil(b n / B) + 1`` to ``ceil((b + 1) n / B)`` (``n = 5``,
    ``B = 2``: ranks 1-3 and 4-5). Tied values always share a bin (some bins
    may then be empty). An integer weight ``w`` gives exactly the bins of the
    row repeated ``w`` times, and a zero weight the bins without the row.
"""

import math

from ..utils._array_api import bincount

__all__ = []  # private module

# Regulariser added by relplot to the kernel density before dividing by it
# (``BaseKernelMixin.smooth(..., eps=0.0001)``), on the scale of counts.
_RELPLOT_DENSITY_EPS = 1e-4


def _quantile_edges(conf, weight, n_bins, xp, device):
    """Per-row inverted-CDF quantile edges at levels b / n_bins, shape (C, B - 1).

    Edge ``b`` of a row is its smallest value whose cumulative weight reaches
    ``b / n_bins`` of the row's total weight.
    """
    n_cols, m = conf.shape
    if weight is None:
        # unit weights: the cumulative weight of sorted position j is j + 1
        sorted_conf = xp.sort(conf, axis=-1)
        positions = [max(-(-b * m // n_bins) - 1, 0) for b in range(1, n_bins)]
        idx = xp.asarray(positions, dtype=xp.int64, device=device)
        return xp.take(sorted_conf, idx, axis=-1)
    order = xp.argsort(conf, axis=-1)
    sorted_conf = xp.take_along_axis(conf, order, axis=-1)
    weight = xp.broadcast_to(weight, conf.shape)
    cum = xp.cumulative_sum(xp.take_along_axis(weight, order, axis=-1), axis=-1)
    total = cum[:, -1:]
    # first position whose cumulative weight reaches b / B of the total, i.e.
    # the number of positions with cum * B < b * total (exact for integer weights)
    scaled = cum * n_bins
    positions = [
        xp.sum(xp.astype(scaled < b * total, xp.int64), axis=-1)
        for b in range(1, n_bins)
    ]
    positions = xp.clip(xp.stack(positions, axis=-1), 0, m - 1)
    return xp.take_along_axis(sorted_conf, positions, axis=-1)


def _bin_statistics(conf, outcome, weight, *, n_bins, strategy, xp, device, edges=None):
    """Per-bin sums of weights, weighted confidences and weighted outcomes.

    Parameters
    ----------
    conf, outcome : arrays of shape (C, m)
        Each of the ``C`` rows is binned on its own (for ``"quantile"`` each
        row gets its own edges). ``outcome`` is 0/1 in the floating dtype.
    weight : array of shape (C, m) or (1, m), or None
        Sample weights (None: all ones).
    n_bins : int
    strategy : {"uniform", "quantile"}
    edges : array of shape (C, n_bins - 1), default=None
        The inner edges of the ``"quantile"`` bins when they are known already
        (those of all the rows of a Dask array, for one of its blocks).

    Returns
    -------
    w_sum, conf_sum, outcome_sum : arrays of shape (C, n_bins)
        ``sum w``, ``sum w * conf`` and ``sum w * outcome`` over the entries
        that fall in each bin. A bin with ``w_sum == 0`` is empty.
    """
    n_cols, m = conf.shape
    dtype = conf.dtype
    if n_bins == 1:
        bins = xp.zeros((n_cols, m), dtype=xp.int64, device=device)
    elif strategy == "uniform":
        inner_edges = xp.arange(1, n_bins, dtype=dtype, device=device) / n_bins
        bins = xp.searchsorted(inner_edges, xp.reshape(conf, (-1,)), side="left")
        bins = xp.reshape(bins, (n_cols, m))
    else:
        if edges is None:
            edges = _quantile_edges(conf, weight, n_bins, xp, device)
        # bin = number of edges strictly below the value (closed on the right)
        bins = xp.zeros((n_cols, m), dtype=xp.int64, device=device)
        for b in range(n_bins - 1):
            bins = bins + xp.astype(conf > edges[:, b : b + 1], xp.int64)
    offsets = xp.arange(n_cols, dtype=bins.dtype, device=device) * n_bins
    idx = xp.reshape(bins + offsets[:, None], (-1,))
    size = n_cols * n_bins
    conf_flat = xp.reshape(conf, (-1,))
    outcome_flat = xp.reshape(outcome, (-1,))
    if weight is None:
        w_sum = xp.astype(bincount(idx, minlength=size, xp=xp), dtype)
    else:
        w_flat = xp.reshape(xp.broadcast_to(weight, conf.shape), (-1,))
        w_sum = bincount(idx, weights=w_flat, minlength=size, xp=xp)
        conf_flat = conf_flat * w_flat
        outcome_flat = outcome_flat * w_flat
    conf_sum = bincount(idx, weights=conf_flat, minlength=size, xp=xp)
    out_sum = bincount(idx, weights=outcome_flat, minlength=size, xp=xp)
    shape = (n_cols, n_bins)
    return (
        xp.reshape(w_sum[:size], shape),
        xp.reshape(conf_sum[:size], shape),
        xp.reshape(out_sum[:size], shape),
    )


def _calibration_error_from_stats(w_sum, conf_sum, out_sum, *, norm, xp):
    """Binned calibration error of each column, shape (C,).

    ``l1``: ``sum_b w_b |acc_b - conf_b|``; ``l2``: the square root of
    ``sum_b w_b (acc_b - conf_b) ** 2``; ``max``: ``max_b |acc_b - conf_b|`` over
    non-empty bins; ``w_b`` is the fraction of the column's weight in bin b.
    """
    total = xp.sum(w_sum, axis=1)
    diff = out_sum - conf_sum
    nonempty = w_sum > 0
    safe_w = xp.where(nonempty, w_sum, xp.ones_like(w_sum))
    if norm == "l1":
        return xp.sum(xp.abs(diff), axis=1) / total
    if norm == "l2":
        sq = xp.where(nonempty, diff * diff / safe_w, xp.zeros_like(diff))
        return xp.sqrt(xp.sum(sq, axis=1) / total)
    gaps = xp.where(nonempty, xp.abs(diff) / safe_w, xp.zeros_like(diff))
    return xp.max(gaps, axis=1)


# --------------------------------------------------------------------------
# Kernel smoothing, reproducing relplot (Blasiok & Nakkiran 2023) exactly:
# relplot.kernels.ReflectedGaussianKernel.apply / smooth and relplot.metrics.
# --------------------------------------------------------------------------


def _round_to_grid(f, rows, n_grid, xp, device):
    """relplot ``smooth_round_to_grid`` for several weight rows at once.

    Each value ``f_i`` is split linearly between its two neighbouring points of
    the grid ``linspace(0, 1, n_grid)``. ``rows`` has shape (R, m); returns
    (R, n_grid).
    """
    n_rows = rows.shape[0]
    pos = f * (n_grid - 1)
    lower = xp.clip(xp.astype(xp.floor(pos), xp.int64), 0, n_grid - 2)
    frac = pos - xp.astype(lower, f.dtype)
    idx = xp.concat([lower, lower + 1])
    row_off = xp.arange(n_rows, dtype=idx.dtype, device=device) * n_grid
    idx = xp.reshape(idx[None, :] + row_off[:, None], (-1,))
    weights = xp.concat([rows * (1 - frac)[None, :], rows * frac[None, :]], axis=1)
    out = bincount(
        idx, weights=xp.reshape(weights, (-1,)), minlength=n_rows * n_grid, xp=xp
    )
    return xp.reshape(out[: n_rows * n_grid], (n_rows, n_grid))


def _reflected_gaussian_convolve(values, sigma, xp, device):
    """relplot ``ReflectedGaussianKernel.convolve`` on each row, through an FFT.

    The grid is reflected at both ends, convolved with the Gaussian density of
    standard deviation ``sigma`` sampled on ``linspace(0, 1, n) - 0.5`` and cut
    back to ``n`` points (``np.convolve(..., "valid")[n // 2 : n // 2 + n]``).
    """
    n = values.shape[-1]
    dtype = values.dtype
    t = xp.linspace(0.0, 1.0, n, dtype=dtype, device=device)
    ker = xp.exp(-(t - 0.5) * (t - 0.5) / (2 * sigma**2))
    ker = ker / (math.sqrt(2 * math.pi) * sigma)
    flipped = xp.flip(values, axis=-1)
    ext = xp.concat([flipped[:, :-1], values, flipped[:, 1:]], axis=-1)
    n_full = ext.shape[-1] + n - 1
    n_fft = 1 << (n_full - 1).bit_length()
    spec = xp.fft.rfft(ext, n=n_fft, axis=-1) * xp.fft.rfft(ker, n=n_fft)[None, :]
    full = xp.fft.irfft(spec, n=n_fft, axis=-1)
    start = n - 1 + n // 2
    return xp.astype(full[:, start : start + n], dtype)


def _interpolate(t, grid_values, xp):
    """relplot ``interpolate``: piecewise-linear read of a grid at points ``t``."""
    n = grid_values.shape[-1]
    bucket = 1 / (n - 1)
    inds = xp.clip(xp.astype(xp.floor(t * (n - 1)), xp.int64), 0, n - 2)
    residual = (t - xp.astype(inds, t.dtype) * bucket) / bucket
    lo = xp.take(grid_values, inds, axis=-1)
    hi = xp.take(grid_values, inds + 1, axis=-1)
    return lo * (1 - residual) + hi * residual


def _kernel_apply(f, rows, x_eval, sigma, xp, device, grid_cache=None):
    """relplot ``GaussianKernel.apply`` (reflected) for weight rows (R, m).

    The rounding onto the grid depends on ``sigma`` only through the grid size,
    so ``grid_cache`` (a dict keyed by grid size) lets a bandwidth search reuse
    it (for ``sigma >= 0.01`` the grid always has 1001 points).
    """
    n_grid = max(2000, round(20 / sigma)) // 2 + 1
    if grid_cache is None:
        grid = _round_to_grid(f, rows, n_grid, xp, device)
    else:
        if n_grid not in grid_cache:
            grid_cache[n_grid] = _round_to_grid(f, rows, n_grid, xp, device)
        grid = grid_cache[n_grid]
    smoothed = _reflected_gaussian_convolve(grid, sigma, xp, device)
    return _interpolate(x_eval, smoothed, xp)


def _smooth_ece_at(f, rows, sigma, xp, device, grid_cache=None):
    """relplot ``smooth_ece(f, y, sigma)``, 0-d array.

    ``rows`` is ``stack([w * (f - y), w])`` (``w = 1`` reproduces relplot).
    """
    n_eval = max(round(10 / sigma), 200)
    t = xp.linspace(0.0, 1.0, n_eval, dtype=f.dtype, device=device)
    out = _kernel_apply(f, rows, t, sigma, xp, device, grid_cache)
    density = out[1, :] + _RELPLOT_DENSITY_EPS
    smoothed = out[0, :] / density
    return xp.sum(xp.abs(smoothed) * density) / xp.sum(density)


def _smooth_ece_search(f, outcome, weight, *, eps, xp, device):
    """relplot ``smECE``: bandwidth fixed point by bisection, then smooth ECE.

    Reproduces ``search_param(check, start=1, refine=10)`` with
    ``check(a) = a < eps or a < smooth_ece(a)``: if ``check(1)`` holds the
    bandwidth is 1; otherwise ten bisection steps on ``[0, 1]`` and the bandwidth
    is the last point where the check failed (the lower end of relplot's
    bracket is its ``start``).

    Returns
    -------
    value : 0-d array
    sigma : float
    """
    rows = xp.stack([(f - outcome) * weight, weight])
    grid_cache, cache = {}, {}

    def value_at(alpha):
        if alpha not in cache:
            cache[alpha] = _smooth_ece_at(f, rows, alpha, xp, device, grid_cache)
        return cache[alpha]

    def check(alpha):
        return alpha < eps or alpha < float(value_at(alpha))

    sigma = 1.0
    if not check(sigma):
        start, end = 1.0, 0.0
        for _ in range(10):
            mid = (start + end) / 2
            if check(mid):
                end = mid
            else:
                start = mid
        sigma = start
    return value_at(sigma), sigma
