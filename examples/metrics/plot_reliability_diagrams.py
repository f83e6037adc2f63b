"""
===============================================================
Reliability diagrams: binned, smoothed, bootstrapped, classwise
===============================================================

A reliability diagram plots the observed frequency of an outcome against the
predicted probability; a calibrated model follows the diagonal. This example shows
the options of :class:`~skcalib.metrics.ReliabilityDisplay` on synthetic logits
whose miscalibration is known exactly
(:func:`~skcalib.datasets.make_classification_logits`): the logits are the true ones
multiplied by a temperature ``T = 2``, so ``softmax(logits)`` is over-confident and
``softmax(logits / 2)`` is perfectly calibrated by construction.
"""

# %%
# Data: an over-confident and a calibrated model
# ----------------------------------------------

import matplotlib.pyplot as plt

from skcalib.datasets import make_classification_logits
from skcalib.metrics import (
    ReliabilityDisplay,
    expected_calibration_error,
    smooth_ece,
)
from skcalib.utils._array_api import softmax

logits, y = make_classification_logits(
    n_samples=3000, n_classes=3, temperature=2.0, class_sep=0.5, random_state=0
)
proba_over = softmax(logits)  # over-confident
proba_cal = softmax(logits / 2.0)  # the true probabilities

for name, proba in [("over-confident", proba_over), ("calibrated", proba_cal)]:
    ece_uniform = expected_calibration_error(y, proba)
    ece_quantile = expected_calibration_error(y, proba, strategy="quantile")
    print(
        f"{name:<15} ECE (15 equal-width bins) {ece_uniform:.3f}  "
        f"ECE (equal-mass) {ece_quantile:.3f}  smooth ECE {smooth_ece(y, proba):.3f}"
    )

# %%
# Binned versus smoothed
# ----------------------
# The classic diagram bins the top-label confidences (15 equal-width bins by
# default) and plots each bin's accuracy against its mean confidence. Bins with
# few samples give noisy points, and the picture depends on the number of bins.
# ``smooth=True`` draws instead the kernel-smoothed curve of Blasiok & Nakkiran
# (2023), with the bandwidth chosen by the smooth ECE, and keeps the binned points
# as markers. The histogram below each diagram shows where the confidences lie.
# The bandwidth is the smooth ECE itself (about 0.15 here): the more miscalibrated
# the model, the smoother the curve, which flattens it near the ends of the data.

fig, (ax_binned, ax_smooth) = plt.subplots(1, 2, figsize=(11, 5.5))
ReliabilityDisplay.from_predictions(
    y, proba_over, n_bins=10, ax=ax_binned, name="T = 2"
)
ax_binned.set_title("Binned (10 bins)")
ReliabilityDisplay.from_predictions(
    y, proba_over, n_bins=10, smooth=True, ax=ax_smooth, name="T = 2"
)
ax_smooth.set_title("Kernel-smoothed")
fig.tight_layout()

# %%
# Comparing models, with bootstrap bands
# --------------------------------------
# A display drawn on the axes of another (``ax=display.ax_``) overlays its curve,
# and its histogram goes into the same panel. ``n_bootstrap`` adds a pointwise
# bootstrap band at ``confidence_level`` (90% by default): where the band of the
# calibrated model covers the diagonal, its deviations are compatible with noise.

display = None
for name, proba in [("over-confident", proba_over), ("calibrated", proba_cal)]:
    display = ReliabilityDisplay.from_predictions(
        y,
        proba,
        smooth=True,
        n_bootstrap=100,
        random_state=0,
        name=name,
        ax=None if display is None else display.ax_,
    )
ax = display.ax_
ax.set_title("Smoothed curves with 90% bootstrap bands")

# %%
# One curve per class
# -------------------
# The top-label diagram only looks at the predicted class. ``multi_class=
# "classwise"`` plots, for every class ``k``, the predicted probability ``p_k``
# against the frequency of class ``k``: the view behind the classwise ECE and the
# adaptive calibration error (ACE). Over-confidence pushes every class's curve
# below the diagonal at high probabilities and above it at low ones.

display = ReliabilityDisplay.from_predictions(
    y,
    proba_over,
    multi_class="classwise",
    strategy="quantile",
    n_bins=10,
    name="T = 2",
)
display.ax_.set_title("Classwise reliability (equal-mass bins)")
print(
    "classwise ECE of the over-confident model: "
    f"{expected_calibration_error(y, proba_over, multi_class='classwise'):.3f}"
)
