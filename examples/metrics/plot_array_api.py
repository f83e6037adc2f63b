"""
====================================================
Metrics on the GPU and other array libraries
====================================================

Every skcalib metric is written once against the Python array API standard. With
scikit-learn's ``array_api_dispatch`` turned on, the same function computes on
PyTorch tensors or CuPy arrays, **on their device**, and returns the same numbers
as on NumPy. This example computes a calibration and OOD report on NumPy, then (if
PyTorch is installed) on torch tensors -- on the GPU when there is one, else on the
CPU -- and compares the two.

Two switches are needed, as for scikit-learn:

* the environment variable ``SCIPY_ARRAY_API=1``, set before Python starts;
* ``sklearn.config_context(array_api_dispatch=True)`` around the calls.

Without PyTorch (or without ``SCIPY_ARRAY_API=1``) only the NumPy part runs.
"""

# %%
# Data
# ----
# Logits of a 10-class model that is over-confident by a temperature of 1.5
# (:func:`~skcalib.datasets.make_classification_logits`), and, as OOD inputs,
# logits of the same model on inputs of no known class (``class_sep=0``: no class
# stands out). The OOD score is the maximum softmax probability, higher meaning
# more in-distribution.

import os
import time

import numpy as np
from sklearn import config_context

from skcalib.datasets import make_classification_logits
from skcalib.metrics import (
    ReliabilityDisplay,
    adaptive_calibration_error,
    brier_score,
    expected_calibration_error,
    fpr_at_tpr,
    negative_log_likelihood,
    ood_auroc,
    smooth_ece,
)
from skcalib.utils import get_namespace_and_device, move_to, to_numpy
from skcalib.utils._array_api import softmax

logits, y = make_classification_logits(
    n_samples=20_000, n_classes=10, temperature=1.5, random_state=0
)
logits_ood, _ = make_classification_logits(
    n_samples=5_000, n_classes=10, temperature=1.5, class_sep=0.0, random_state=1
)
proba = softmax(logits)
msp = np.concatenate([proba.max(axis=1), softmax(logits_ood).max(axis=1)])
is_in = np.concatenate([np.ones(len(y), dtype=bool), np.zeros(5_000, dtype=bool)])


def report(y, proba, is_in, msp):
    """The same metric calls whatever the array library."""
    return {
        "ECE": expected_calibration_error(y, proba),
        "ACE": adaptive_calibration_error(y, proba),
        "smooth ECE": smooth_ece(y, proba),
        "Brier": brier_score(y, proba),
        "NLL": negative_log_likelihood(y, proba),
        "OOD AUROC": ood_auroc(is_in, msp),
        "FPR@95%TPR": fpr_at_tpr(is_in, msp, tpr=0.95),
    }


# %%
# NumPy
# -----

tic = time.perf_counter()
results = {"NumPy": report(y, proba, is_in, msp)}
print(f"NumPy report in {time.perf_counter() - tic:.2f} s")

# %%
# PyTorch
# -------
# :func:`skcalib.utils.move_to` moves each array to the torch namespace and device
# (through DLPack when possible). Inside ``config_context(array_api_dispatch=True)``
# the metrics resolve the torch namespace from their inputs,
# :func:`skcalib.utils.get_namespace_and_device` says where they will compute,
# and every result comes back as a Python float.

try:
    import torch
except ImportError:
    torch = None

if torch is None:
    print("PyTorch is not installed: only the NumPy results are shown.")
elif os.environ.get("SCIPY_ARRAY_API") != "1":
    print(
        "Set SCIPY_ARRAY_API=1 before starting Python to enable array-API "
        "dispatch: only the NumPy results are shown."
    )
else:
    import array_api_compat.torch as xp_torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    arrays = [move_to(a, xp=xp_torch, device=device) for a in (y, proba, is_in, msp)]
    with config_context(array_api_dispatch=True):
        xp, dev = get_namespace_and_device(*arrays)
        print(f"computing with {xp.__name__} on {dev}")
        report(*arrays)  # warm-up (CUDA context, kernels)
        tic = time.perf_counter()
        results[f"torch ({device.type})"] = report(*arrays)
        print(f"torch report in {time.perf_counter() - tic:.2f} s")

        # float32 stays float32: the metrics compute in the dtype of y_prob.
        arrays32 = [
            arrays[0],
            arrays[1].to(torch.float32),
            arrays[2],
            arrays[3].to(torch.float32),
        ]
        results[f"torch float32 ({device.type})"] = report(*arrays32)

# %%
# The results agree
# -----------------
# float64 results agree to rounding; float32 ones to about single precision.

names = list(results)
print(f"{'metric':<12}" + "".join(f"{n:>24}" for n in names))
for metric in results["NumPy"]:
    print(f"{metric:<12}" + "".join(f"{results[n][metric]:>24.6f}" for n in names))
for name in names[1:]:
    diff = max(abs(results[name][m] - results["NumPy"][m]) for m in results["NumPy"])
    print(f"largest difference, {name} vs NumPy: {diff:.1e}")

# %%
# Displays accept any array library
# ---------------------------------
# :class:`~skcalib.metrics.ReliabilityDisplay` copies its inputs to NumPy for
# plotting, so tensors can be passed directly (here the last arrays used, torch
# tensors when PyTorch ran). :func:`skcalib.utils.to_numpy` does the same copy
# explicitly for any array.

y_plot, proba_plot = (arrays[0], arrays[1]) if len(results) > 1 else (y, proba)
display = ReliabilityDisplay.from_predictions(
    y_plot, proba_plot, name=f"{type(proba_plot).__module__} input"
)
display.ax_.set_title("Reliability of a model over-confident by T = 1.5")
print(type(to_numpy(proba_plot)), to_numpy(proba_plot).shape)
