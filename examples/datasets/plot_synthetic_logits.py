"""
=======================================================
Logits with a known miscalibration
=======================================================

:func:`~skcalib.datasets.make_classification_logits` draws logits whose true class
probabilities are known exactly: each sample has true logits ``z``, its label is
*drawn* from ``softmax(z)`` (so ``softmax(z)`` is perfectly calibrated by
construction), and the returned logits are ``temperature * z``. Dividing the
returned logits by the temperature therefore recovers the truth, which makes these
data a test bench for calibrators and calibration metrics.

This example scans the temperature ``t`` used to rescale the logits: the negative
log-likelihood of ``softmax(logits / t)`` is smallest near the true temperature,
and the calibration errors vanish there. Then
:class:`~skcalib.calibration.TemperatureScaling`, fitted on held-out logits, finds
that temperature by itself.
"""

# %%
# Over- and under-confident logits
# --------------------------------
# A temperature above 1 makes the logits more extreme than the truth
# (over-confidence), below 1 less extreme (under-confidence). The predicted class,
# hence the accuracy, does not depend on the temperature.

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from skcalib.calibration import TemperatureScaling
from skcalib.datasets import make_classification_logits
from skcalib.metrics import (
    expected_calibration_error,
    negative_log_likelihood,
    smooth_ece,
)
from skcalib.utils._array_api import softmax

true_temperature = 2.0
logits, y, proba_true = make_classification_logits(
    n_samples=5000,
    n_classes=4,
    temperature=true_temperature,
    class_sep=0.7,
    return_proba=True,
    random_state=0,
)
accuracy = np.mean(logits.argmax(axis=1) == y)
print(f"accuracy: {accuracy:.3f}")
ece_logits = expected_calibration_error(y, softmax(logits))
print(f"ECE of softmax(logits):        {ece_logits:.3f}")
print(f"ECE of the true probabilities: {expected_calibration_error(y, proba_true):.3f}")

# %%
# Scanning the temperature
# ------------------------
# Temperature scaling (Guo et al. 2017) fits exactly this one parameter by
# minimising the NLL on held-out data; the NLL is a convex function of ``1 / t``.

temperatures = np.geomspace(0.5, 6.0, 40)
nll, ece, smece = [], [], []
for t in temperatures:
    proba = softmax(logits / t)
    nll.append(negative_log_likelihood(y, proba))
    ece.append(expected_calibration_error(y, proba))
    smece.append(smooth_ece(y, proba))
best = temperatures[np.argmin(nll)]
print(f"NLL-optimal temperature on the grid: {best:.2f} (true: {true_temperature})")

fig, (ax_nll, ax_ece) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
ax_nll.plot(temperatures, nll, color="C0")
ax_nll.axvline(true_temperature, color="k", linestyle=":", label="true temperature")
ax_nll.axvline(best, color="C3", linestyle="--", label=f"NLL minimum ({best:.2f})")
ax_nll.set(
    xscale="log",
    xlabel="temperature t",
    ylabel="NLL of softmax(logits / t)",
    title="Negative log-likelihood",
)
ax_nll.legend()

ax_ece.plot(temperatures, ece, label="ECE (15 bins)")
ax_ece.plot(temperatures, smece, label="smooth ECE")
ax_ece.axvline(true_temperature, color="k", linestyle=":", label="true temperature")
ax_ece.set(
    xscale="log",
    xlabel="temperature t",
    ylabel="calibration error",
    title="Calibration error",
)
ax_ece.legend()
for ax in (ax_nll, ax_ece):
    ax.set_xticks([0.5, 1, 2, 4], labels=["0.5", "1", "2", "4"])
    ax.xaxis.set_minor_formatter(NullFormatter())

# %%
# Left of the true temperature the rescaled logits are over-confident, right of it
# under-confident; both directions raise the NLL and the calibration errors. The
# calibration errors do not reach exactly zero at the true temperature: with a
# finite sample, binned and smoothed estimates keep a small positive bias.

# %%
# Fitting the temperature
# -----------------------
# :class:`~skcalib.calibration.TemperatureScaling` minimises the same NLL over
# ``t`` with a few Newton steps. Fitted on the first half of the logits and
# evaluated on the second half, it recovers the true temperature (up to the
# sampling noise of 2500 samples) and removes the miscalibration without changing
# a single prediction.

half = len(y) // 2
ts = TemperatureScaling().fit(logits[:half], y[:half])
proba_before = softmax(logits[half:])
proba_after = ts.predict_proba(logits[half:])
print(f"fitted temperature: {ts.temperature_:.3f} (true: {true_temperature})")
for name, proba in [("before", proba_before), ("after", proba_after)]:
    print(
        f"{name:>6}: NLL {negative_log_likelihood(y[half:], proba):.4f}  "
        f"ECE {expected_calibration_error(y[half:], proba):.4f}  "
        f"smooth ECE {smooth_ece(y[half:], proba):.4f}"
    )
print(
    "same predictions:",
    bool(np.all(proba_before.argmax(axis=1) == proba_after.argmax(axis=1))),
)
