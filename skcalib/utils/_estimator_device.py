"""Move a fitted estimator to another array namespace or device.

Fit where the data is (a GPU, say) and serve where the requests are (a CPU),
or the reverse: :func:`move_estimator` returns a copy of a fitted estimator
whose fitted arrays live in the target namespace and on the target device,
exactly as if it had been fitted there.

Two conventions let skcalib objects keep host state through a move:

- ``classes_`` and the attribute names listed in a class attribute
  ``_host_attributes`` stay on the host (labels, masks over the labels);
- an attribute ``_fit_placement``, the ``(namespace name, device string)``
  recorded by estimators that check their prediction inputs against ``fit``,
  is set to the target.
"""

import copy
import importlib

import array_api_compat
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from ._array_api import is_numpy_namespace, move_to

__all__ = ["move_estimator"]

# Names accepted for ``xp``: the libraries skcalib is tested with.
_NAMESPACE_NAMES = ("array_api_strict", "cupy", "numpy", "torch")


def _resolve_namespace(xp):
    """The array-API compatible namespace named or given by ``xp``."""
    if isinstance(xp, str):
        if xp not in _NAMESPACE_NAMES:
            raise ValueError(
                f"xp must be an array namespace or one of {list(_NAMESPACE_NAMES)}, "
                f"got {xp!r}."
            )
        try:
            xp = importlib.import_module(xp)
        except ImportError as exc:
            raise ValueError(f"xp={xp!r} is not installed.") from exc
    try:
        return array_api_compat.array_namespace(xp.asarray(0))
    except (AttributeError, TypeError) as exc:
        raise TypeError(
            "xp must be an array namespace (a module such as numpy, torch or "
            f"array_api_strict) or its name, got {xp!r}."
        ) from exc


def _resolve_device(xp, device):
    """The device object of ``xp`` named or given by ``device`` (default: its own)."""
    if device is None:
        return xp.__array_namespace_info__().default_device()
    if isinstance(device, str) and xp.__name__ == "array_api_strict":
        device = xp.Device(device) if device in _strict_device_names(xp) else device
    try:
        return array_api_compat.device(xp.empty((0,), device=device))
    except Exception as exc:
        raise ValueError(
            f"device={device!r} is not a device of the namespace {xp.__name__}."
        ) from exc


def _strict_device_names(xp):
    return {d._device for d in xp.__array_namespace_info__().devices()}


def _is_numeric_array(obj):
    if isinstance(obj, np.generic) or not array_api_compat.is_array_api_obj(obj):
        return False
    source = array_api_compat.array_namespace(obj)
    return source.isdtype(obj.dtype, ("bool", "numeric"))


class _Mover:
    """One recursive copy of an estimator, with its arrays moved.

    Arrays are moved (and copied, so nothing is shared with the original);
    estimators, skcalib objects (conformity scores, calibration tables,
    fitted calibrators), lists, tuples and dicts are rebuilt around the moved
    arrays; ``memo`` keeps objects referenced twice shared in the copy.
    scikit-learn estimators without array-API support are only copied: they
    compute in NumPy wherever their wrapper runs.
    """

    def __init__(self, xp, device):
        self.xp = xp
        self.device = device
        self.memo = {}

    def __call__(self, obj, *, host=False):
        key = id(obj)
        if key in self.memo:
            return self.memo[key]
        if _is_numeric_array(obj) and not host:
            out = self.xp.asarray(
                move_to(obj, xp=self.xp, device=self.device), copy=True
            )
        elif isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
            out = type(obj)(*(self(item) for item in obj))
        elif isinstance(obj, (list, tuple)):
            out = type(obj)(self(item) for item in obj)
        elif isinstance(obj, dict):
            out = type(obj)((k, self(v)) for k, v in obj.items())
        elif self._traverses(obj):
            out = copy.copy(obj)
            self.memo[key] = out
            kept = ()
            if type(obj).__module__.startswith("skcalib."):
                # skcalib keeps labels on the host (they may be strings).
                kept = ("classes_", *getattr(obj, "_host_attributes", ()))
            for name, value in vars(obj).items():
                setattr(out, name, self(value, host=name in kept))
            if hasattr(out, "_fit_placement"):
                out._fit_placement = (self.xp.__name__, str(self.device))
            return out
        else:
            out = copy.deepcopy(obj)
        self.memo[key] = out
        return out

    @staticmethod
    def _traverses(obj):
        if isinstance(obj, type) or not hasattr(obj, "__dict__"):
            return False
        if type(obj).__module__.startswith("skcalib."):
            return True
        return isinstance(obj, BaseEstimator) and get_tags(obj).array_api_support


def move_estimator(estimator, *, xp=None, device=None):
    """Copy a fitted estimator with its fitted arrays in another namespace/device.

    The array counterpart of :func:`~skcalib.utils.move_to` for fitted
    estimators: fit on a GPU and predict on a CPU, or the reverse. Every array
    of the estimator -- recursively through nested estimators, fitted
    calibrators, conformity scores, lists, tuples and dicts -- is copied to
    ``xp`` on ``device``; labels (``classes_``) stay NumPy arrays, as after a
    fit on any namespace. The original estimator is left untouched.

    Predict with the moved estimator on inputs of the target namespace, inside
    ``sklearn.config_context(array_api_dispatch=True)`` unless the target is
    NumPy.

    Parameters
    ----------
    estimator : fitted estimator
        An skcalib (or array-API capable scikit-learn) estimator, fitted.
    xp : namespace or {"numpy", "torch", "array_api_strict", "cupy"}, \
default=None
        Target namespace, as a module (``numpy``, ``torch``,
        ``array_api_strict``, ``cupy``, or their ``array_api_compat``
        wrappers) or its name. ``None`` is NumPy.
    device : device or str, default=None
        Target device in that namespace (a device object or its name, for
        example ``"cuda:0"`` or ``"device1"``); ``None`` is the namespace's
        default device.

    Returns
    -------
    moved : estimator
        A new fitted estimator of the same class and parameters.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.
    ValueError
        If ``xp`` or ``device`` is unknown, or the target is not NumPy and the
        estimator does not support the array API (its ``array_api_support``
        tag is False).

    Examples
    --------
    >>> import array_api_strict
    >>> from sklearn import config_context
    >>> from skcalib.calibration import TemperatureScaling
    >>> from skcalib.datasets import make_classification_logits
    >>> from skcalib.utils import move_estimator
    >>> logits, y = make_classification_logits(200, 3, random_state=0)
    >>> ts = TemperatureScaling().fit(logits, y)
    >>> moved = move_estimator(ts, xp="array_api_strict", device="device1")
    >>> X = array_api_strict.asarray(
    ...     logits[:2], device=array_api_strict.Device("device1")
    ... )
    >>> with config_context(array_api_dispatch=True):
    ...     proba = moved.predict_proba(X)
    >>> proba.device
    array_api_strict.Device('device1')
    >>> back = move_estimator(moved, xp="numpy")
    >>> bool(abs(back.predict_proba(logits[:2]) - ts.predict_proba(logits[:2])).max()
    ...      < 1e-12)
    True
    """
    check_is_fitted(estimator)
    xp = _resolve_namespace("numpy" if xp is None else xp)
    device = _resolve_device(xp, device)
    if not is_numpy_namespace(xp) and not get_tags(estimator).array_api_support:
        raise ValueError(
            f"{type(estimator).__name__} does not support the array API (its "
            "array_api_support tag is False): it can only be moved to NumPy, "
            f"not to {xp.__name__}."
        )
    return _Mover(xp, device)(estimator)
