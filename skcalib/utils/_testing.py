"""Testing helpers shared by skcalib's test-suite (and usable by downstream code).

The array-API helpers run a function on NumPy and on every other namespace /
device / dtype combination that is installed, and compare the results.
"""

import importlib
import os

import numpy as np
from sklearn import config_context

from ._array_api import move_to, to_numpy
from ._sklearn_compat import SKLEARN_VERSION

__all__ = [
    "array_api_combinations",
    "assert_same_on_namespace",
    "convert_inputs",
    "skip_if_unavailable",
]

# (library name, device name or None, dtype name)
_COMBINATIONS = [
    ("array_api_strict", "CPU_DEVICE", "float64"),
    ("array_api_strict", "CPU_DEVICE", "float32"),
    ("array_api_strict", "device1", "float64"),
    ("array_api_strict", "device1", "float32"),
    ("torch", "cpu", "float64"),
    ("torch", "cpu", "float32"),
    ("cupy", None, "float64"),
    ("cupy", None, "float32"),
]


def array_api_combinations():
    """List of ``(namespace_name, device_name, dtype_name)`` to test against.

    Returns every combination, installed or not, as ``pytest.param`` objects
    with readable ids; use :func:`skip_if_unavailable` inside the test so that
    missing libraries are reported as skips, not silently dropped. Meant for
    ``pytest.mark.parametrize("combination", array_api_combinations())``.
    """
    import pytest

    return [pytest.param(c, id="-".join(str(p) for p in c)) for c in _COMBINATIONS]


def skip_if_unavailable(namespace_name, device_name):
    """Import the namespace and resolve the device, or ``pytest.skip``.

    Returns
    -------
    xp : namespace
        The array-API compatible namespace (``array_api_compat`` wrapped).
    device : device object
    """
    import pytest

    if os.environ.get("SCIPY_ARRAY_API") != "1":
        pytest.skip("SCIPY_ARRAY_API=1 is not set: array-API dispatch is off")
    try:
        mod = importlib.import_module(namespace_name)
    except ImportError:
        pytest.skip(f"{namespace_name} is not installed")
    if namespace_name == "array_api_strict":
        return mod, mod.Device(device_name)
    if namespace_name == "torch":
        return importlib.import_module("array_api_compat.torch"), mod.device(
            device_name
        )
    if namespace_name == "cupy":
        try:
            if mod.cuda.runtime.getDeviceCount() == 0:  # pragma: no cover
                pytest.skip("no CUDA device")
        except Exception:  # pragma: no cover - no driver at all
            pytest.skip("no CUDA device")
        xp = importlib.import_module("array_api_compat.cupy")  # pragma: no cover
        return xp, mod.cuda.Device(0)  # pragma: no cover
    raise ValueError(f"Unknown namespace {namespace_name!r}")


def convert_inputs(arrays, xp, device, dtype_name):
    """Move NumPy ``arrays`` to ``xp``/``device``; floats become ``dtype_name``.

    Integer, boolean and string arrays keep their dtype (strings stay NumPy).
    Non-array entries are passed through.
    """
    out = []
    dtype = getattr(xp, dtype_name)
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind in "fiub":
            moved = move_to(a, xp=xp, device=device)
            if a.dtype.kind == "f":
                moved = xp.astype(moved, dtype)
            out.append(moved)
        else:
            out.append(a)
    return out


def _as_numpy_tree(result):
    if isinstance(result, tuple) and hasattr(result, "_fields"):  # namedtuple
        return type(result)(*(_as_numpy_tree(r) for r in result))
    if isinstance(result, (tuple, list)):
        return type(result)(_as_numpy_tree(r) for r in result)
    if isinstance(result, dict):
        return {k: _as_numpy_tree(v) for k, v in result.items()}
    if isinstance(result, (float, int, bool, str)) or result is None:
        return result
    return to_numpy(result)


def assert_same_on_namespace(
    func, args, kwargs=None, *, combination, rtol=None, atol=None
):
    """Check ``func(*args, **kwargs)`` gives the same result on another namespace.

    ``args`` and the NumPy arrays among ``kwargs`` (``sample_weight``, ...)
    are converted with :func:`convert_inputs`
    for ``combination = (namespace_name, device_name, dtype_name)`` and
    ``func`` is called under ``config_context(array_api_dispatch=True)``.
    Array results must come back in the input namespace and on its device;
    all results are compared with the NumPy reference, with ``rtol`` defaulting
    to 1e-10 in float64 and 1e-4 in float32.

    Returns
    -------
    result : object
        The converted (NumPy) result of the namespace run.
    """
    kwargs = kwargs or {}
    namespace_name, device_name, dtype_name = combination
    xp, device = skip_if_unavailable(namespace_name, device_name)

    def as_dtype(a):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            return a.astype(dtype_name)
        return a

    ref_args = [as_dtype(a) for a in args]
    ref_kwargs = {k: as_dtype(v) for k, v in kwargs.items()}
    expected = _as_numpy_tree(func(*ref_args, **ref_kwargs))
    xp_args = convert_inputs(args, xp, device, dtype_name)
    names = list(kwargs)
    xp_kwargs = dict(
        zip(
            names,
            convert_inputs([kwargs[k] for k in names], xp, device, dtype_name),
            strict=True,
        )
    )
    with config_context(array_api_dispatch=True):
        result = func(*xp_args, **xp_kwargs)
    _check_placement(result, xp, device)
    result = _as_numpy_tree(result)
    if rtol is None:
        rtol = 1e-4 if dtype_name == "float32" else 1e-10
    if atol is None:
        atol = 1e-5 if dtype_name == "float32" else 1e-12
    _assert_tree_close(result, expected, rtol=rtol, atol=atol)
    return result


def _check_placement(result, xp, device):
    if isinstance(result, (tuple, list)):
        for r in result:
            _check_placement(r, xp, device)
        return
    if isinstance(result, dict):
        for r in result.values():
            _check_placement(r, xp, device)
        return
    if hasattr(result, "shape") and not isinstance(result, np.ndarray | np.generic):
        import array_api_compat

        assert array_api_compat.array_namespace(result).__name__ == xp.__name__, (
            f"result namespace {array_api_compat.array_namespace(result).__name__} "
            f"is not the input namespace {xp.__name__}"
        )
        assert array_api_compat.device(result) == device, (
            f"result device {array_api_compat.device(result)} is not {device}"
        )


def _assert_tree_close(result, expected, *, rtol, atol):
    if isinstance(expected, (tuple, list)):
        assert len(result) == len(expected)
        for r, e in zip(result, expected, strict=True):
            _assert_tree_close(r, e, rtol=rtol, atol=atol)
    elif isinstance(expected, dict):
        assert result.keys() == expected.keys()
        for k in expected:
            _assert_tree_close(result[k], expected[k], rtol=rtol, atol=atol)
    elif expected is None or isinstance(expected, str):
        assert result == expected
    else:
        np.testing.assert_allclose(
            np.asarray(result, dtype=float),
            np.asarray(expected, dtype=float),
            rtol=rtol,
            atol=atol,
        )


def requires_sklearn(version, reason):
    """Skip marker for tests needing scikit-learn ``>= version`` (``"1.8"``).

    Used for parity tests whose reference implementation only exists in newer
    scikit-learn releases (for example ``method="temperature"`` in 1.8).
    """
    import pytest

    wanted = tuple(int(part) for part in version.split("."))
    return pytest.mark.skipif(
        SKLEARN_VERSION < wanted,
        reason=f"needs scikit-learn >= {version}: {reason}",
    )
