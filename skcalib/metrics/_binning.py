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
    Equal-mass bins, computed separately for each column of confidences. The
    edges are the weighted inverted-CDF quantiles at levels ``b / n_bins``
    (the smallest value whose cumulative weight reaches ``b / n_bins`` of the
    total) and bins are closed on the right, so with ``n`` distinct values and
    unit weights bin ``b`` holds the values of rank ``ceil(b n / B) + 1`` to
    ``ceil((b + 1) n / B)`` (with ``n = 5`` and ``B = 2``: ranks 1-3 and 4-5). Tied values always share a bin (some bins may then
    be empty). An integer weight ``w`` gives exactly the bins of the row
    repeated ``w`` times, and a zero weight the bins without the row.
"""

import math

from ..utils._array_api import bincount

__all__ = []  # private module

# Regulariser added by relplot to the kernel density before dividing by it
# (``BaseKernelMixin.smooth(..., eps=0.0001)``), on the scale of counts.
_RELPLOT_DENSITY_EPS = 1e-4


def _flatten_columns(a, xp):
    """(m, C) -> (C * m,), column after column."""
    return xp.reshape(xp.permute_dims(a, (1, 0)), (-1,))


def _bin_statistics(conf, outcome, weight, *, n_bins, strategy, xp, device):
    """Per-bin sums of weights, weighted confidences and weighted outcomes.

    Parameters
    ----------
    conf, outcome, weight : arrays of shape (m, C)
        Each of the ``C`` columns is binned on its own (for ``"quantile"`` each
        column gets its own edges). ``outcome`` is 0/1 in the floating dtype.
    n_bins : int
    strategy : {"uniform", "quantile"}

    Returns
    -------
    w_sum, conf_sum, outcome_sum : arrays of shape (C, n_bins)
        ``sum w``, ``sum w * conf`` and ``sum w * outcome`` over the rows that
        fall in each bin. A bin with ``w_sum == 0`` is empty.
    """
    m, n_cols = conf.shape
    dtype = conf.dtype
    if strategy == "uniform":
        inner_edges = xp.arange(1, n_bins, dtype=dtype, device=device) / n_bins
        conf_flat = _flatten_columns(conf, xp)
        bins = xp.searchsorted(inner_edges, conf_flat, side="left")
        outcome_flat = _flatten_columns(outcome, xp)
        weight_flat = _flatten_columns(weight, xp)
    else:
        order = xp.argsort(conf, axis=0, stable=True)
        conf_s = xp.take_along_axis(conf, order, axis=0)
        outcome_s = xp.take_along_axis(outcome, order, axis=0)
        weight_s = xp.take_along_axis(weight, order, axis=0)
        cum = xp.cumulative_sum(weight_s, axis=0)
        zeros = xp.zeros((1, n_cols), dtype=dtype, device=device)
        # Weight strictly before each sorted position (exact, no subtraction).
        before = xp.concat([zeros, cum[:-1, :]], axis=0)
        total = cum[-1:, :]
        # Number of inner edges b / n_bins (as weight fractions) already passed.
        rank_bin = xp.astype(xp.floor(before * n_bins / total), xp.int64)
        rank_bin = xp.clip(rank_bin, 0, n_bins - 1)
        # Ties share the bin of the first member of their group: the weight
        # strictly below a value decides its bin.
        first_row = xp.ones((1, n_cols), dtype=xp.bool, device=device)
        is_start = xp.concat([first_row, conf_s[1:, :] != conf_s[:-1, :]], axis=0)
        is_start = _flatten_columns(is_start, xp)
        starts = xp.nonzero(is_start)[0]
        group = xp.cumulative_sum(xp.astype(is_start, xp.int64)) - 1
        bins = xp.take(_flatten_columns(rank_bin, xp), xp.take(starts, group))
        conf_flat = _flatten_columns(conf_s, xp)
        outcome_flat = _flatten_columns(outcome_s, xp)
        weight_flat = _flatten_columns(weight_s, xp)
    offsets = xp.arange(n_cols, dtype=bins.dtype, device=device) * n_bins
    offsets = xp.reshape(
        xp.broadcast_to(offsets[:, None], (n_cols, m)), (-1,)
    )
    idx = bins + offsets
    size = n_cols * n_bins
    w_sum = bincount(idx, weights=weight_flat, minlength=size, xp=xp)
    conf_sum = bincount(idx, weights=weight_flat * conf_flat, minlength=size, xp=xp)
    out_sum = bincount(idx, weights=weight_flat * outcome_flat, minlength=size, xp=xp)
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


def _kernel_apply(f, rows, x_eval, sigma, xp, device):
    """relplot ``GaussianKernel.apply`` (reflected) for weight rows (R, m)."""
    n_grid = max(2000, round(20 / sigma)) // 2 + 1
    grid = _round_to_grid(f, rows, n_grid, xp, device)
    smoothed = _reflected_gaussian_convolve(grid, sigma, xp, device)
    return _interpolate(x_eval, smoothed, xp)


def _smooth_ece_at(f, residual, weight, sigma, xp, device):
    """relplot ``smooth_ece(f, y, sigma)`` (with optional weights), 0-d array."""
    n_eval = max(round(10 / sigma), 200)
    t = xp.linspace(0.0, 1.0, n_eval, dtype=f.dtype, device=device)
    rows = xp.stack([residual * weight, weight])
    out = _kernel_apply(f, rows, t, sigma, xp, device)
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
    residual = f - outcome
    cache = {}

    def value_at(alpha):
        if alpha not in cache:
            cache[alpha] = _smooth_ece_at(f, residual, weight, alpha, xp, device)
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
