"""
=========================================
Quick start: how trustworthy is my model?
=========================================

This is skcalib's quick-start demo. It trains a scikit-learn classifier on the
handwritten digits shipped with scikit-learn and asks four questions about its
predicted probabilities, each answered with :mod:`skcalib.metrics`:

1. **Are they accurate and sharp?** Accuracy, negative log-likelihood, Brier score.
2. **Are they calibrated?** ECE, ACE and smooth ECE, each with a bootstrap 95%
   confidence interval, and a reliability diagram.
3. **Do they flag inputs unlike the training data?** The maximum softmax
   probability (MSP) used as an out-of-distribution (OOD) score, judged by AUROC and
   FPR at 95% TPR.
4. **Can they give sets with guaranteed coverage?** A split-conformal prediction set
   built from the probabilities, judged by coverage and mean set size.

Run it directly with ``python examples/plot_quickstart.py``: it prints the report
and saves the reliability diagram as a PNG file in the current directory.
"""

# %%
# Data and model
# --------------
# The digits are split in three: a training set for the classifier, a calibration
# set (used only by the conformal step) and a test set on which everything is
# measured. A random forest is accurate on this data set; its probabilities are
# another matter.

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from skcalib.metrics import (
    ReliabilityDisplay,
    adaptive_calibration_error,
    bootstrap_confidence_interval,
    brier_score,
    coverage_score,
    expected_calibration_error,
    fpr_at_tpr,
    mean_set_size,
    negative_log_likelihood,
    ood_auroc,
    smooth_ece,
)
from skcalib.utils._array_api import conformal_quantile

X, y = load_digits(return_X_y=True)
X_train, X_rest, y_train, y_rest = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)
X_calib, X_test, y_calib, y_test = train_test_split(
    X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0
)

model = RandomForestClassifier(n_estimators=100, random_state=0)
model.fit(X_train, y_train)
proba_test = model.predict_proba(X_test)
proba_calib = model.predict_proba(X_calib)
print(
    f"train / calibration / test sizes: {len(y_train)} / {len(y_calib)} / {len(y_test)}"
)

# %%
# 1. Accuracy and proper scores
# -----------------------------
# The negative log-likelihood and the Brier score are *proper scoring rules*: they
# reward probabilities that are both sharp and calibrated (lower is better).

accuracy = np.mean(model.classes_[proba_test.argmax(axis=1)] == y_test)
print(f"accuracy : {accuracy:.3f}")
print(f"NLL      : {negative_log_likelihood(y_test, proba_test):.3f}")
print(f"Brier    : {brier_score(y_test, proba_test):.3f}")

# %%
# 2. Calibration, with bootstrap confidence intervals
# ---------------------------------------------------
# The expected calibration error (ECE, 15 equal-width bins on the top-label
# confidence), the adaptive calibration error (ACE: classwise, equal-mass bins) and
# the binning-free smooth ECE. Each is computed on 450 test samples only, so each
# gets a 95% bootstrap confidence interval.

print("calibration (95% bootstrap CI):")
for name, metric in [
    ("ECE", expected_calibration_error),
    ("ACE", adaptive_calibration_error),
    ("smooth ECE", smooth_ece),
]:
    estimate, low, high = bootstrap_confidence_interval(
        metric,
        y_test,
        proba_test,
        n_resamples=200,
        confidence_level=0.95,
        random_state=0,
    )
    print(f"  {name:<10} {estimate:.3f}  [{low:.3f}, {high:.3f}]")

# %%
# ECE and smooth ECE agree; ACE is much smaller because it averages the
# calibration error of all ten class probabilities, most of which are near zero
# and well calibrated. The forest is *under*-confident: averaging 100 trees pulls
# its probabilities towards the middle, so it is right more often than it claims.
# The reliability diagram shows it: the smoothed curve (and the binned points) lie
# above the diagonal. The band is a pointwise 90% bootstrap band; the histogram
# below shows where the confidences fall.

display = ReliabilityDisplay.from_predictions(
    y_test,
    proba_test,
    smooth=True,
    n_bootstrap=100,
    random_state=0,
    name="Random forest",
)
display.ax_.set_title("Reliability diagram on the digits test set")

# %%
# 3. Detecting inputs unlike the training data
# --------------------------------------------
# The maximum softmax probability (MSP, Hendrycks & Gimpel 2017) is the simplest OOD
# score: higher means "more in-distribution", skcalib's convention. We compare the
# in-distribution test digits with two kinds of unfamiliar inputs:
#
# * *near* OOD: the test digits transposed (mirrored along the diagonal);
# * *far* OOD: images of uniform noise with the same pixel range.
#
# ``y_true`` of the OOD metrics marks the in-distribution samples.

rng = np.random.default_rng(0)
shifted = {
    "transposed digits": X_test.reshape(-1, 8, 8).transpose(0, 2, 1).reshape(-1, 64),
    "uniform noise": rng.integers(0, 17, size=X_test.shape).astype(float),
}
msp_in = proba_test.max(axis=1)
print("OOD detection with the maximum softmax probability:")
for name, X_ood in shifted.items():
    msp_out = model.predict_proba(X_ood).max(axis=1)
    scores = np.concatenate([msp_in, msp_out])
    is_in = np.concatenate([np.ones_like(msp_in), np.zeros_like(msp_out)])
    print(
        f"  {name:<18} AUROC {ood_auroc(is_in, scores):.3f}   "
        f"FPR@95%TPR {fpr_at_tpr(is_in, scores, tpr=0.95):.3f}"
    )

# %%
# 4. Prediction sets with guaranteed coverage
# -------------------------------------------
# Split conformal prediction with the LAC score ``1 - p_y`` (Sadinle et al. 2019):
# at confidence level ``1 - alpha`` the threshold is the
# ``ceil((n + 1) * (1 - alpha))``-th smallest score of the ``n`` calibration
# samples, and the set of a test sample holds every class whose score is at most
# that threshold. Whatever the model, the set contains the true class with
# probability at least ``1 - alpha`` (for exchangeable data). skcalib's conformal
# predictors are landing; here the set is built by hand from the project's
# finite-sample conformal quantile.

calib_scores = (
    1 - proba_calib[np.arange(len(y_calib)), np.searchsorted(model.classes_, y_calib)]
)
for confidence_level in (0.9, 0.95, 0.99):
    threshold = float(conformal_quantile(calib_scores, confidence_level))
    pred_set = (1 - proba_test) <= threshold  # boolean (n_samples, n_classes)
    print(
        f"conformal sets at {confidence_level:.0%}: coverage "
        f"{coverage_score(y_test, pred_set, labels=model.classes_):.3f}, "
        f"mean set size {mean_set_size(pred_set):.2f}"
    )

# %%
# The coverage matches the requested level. With a 98%-accurate model, a 90% set
# may be *empty* (the threshold asks for less than the model already achieves), so
# the mean size can fall below one; at 99% the sets grow to include the runner-up
# class on the hard digits.

# %%
# Saving the figure when run as a script
# --------------------------------------
# Under the documentation build (sphinx-gallery) the figure is captured
# automatically; run directly, the script writes it next to where it was started.

if "sphinx_gallery" not in sys.modules:
    path = Path.cwd() / "skcalib_quickstart_reliability.png"
    display.figure_.savefig(path, dpi=120)
    print(f"reliability diagram saved to {path}")
