"""
==================================================
Calibrating an already fitted model (prefit)
==================================================

A model trained elsewhere -- expensive to refit, or trained on data you no
longer have -- is calibrated by wrapping it in
:class:`sklearn.frozen.FrozenEstimator`: ``fit`` of the wrapper does nothing,
so :class:`~skcalib.calibration.CalibratedClassifierCV` uses all the data it is
given to learn the calibration map. The reliability diagrams
(:class:`~skcalib.metrics.ReliabilityDisplay`) show the effect.
"""

# %%
# A model fitted beforehand
# -------------------------

import matplotlib.pyplot as plt
from sklearn.datasets import load_breast_cancer
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB

from skcalib.calibration import CalibratedClassifierCV
from skcalib.metrics import ReliabilityDisplay, expected_calibration_error

X, y = load_breast_cancer(return_X_y=True)
X_train, X_rest, y_train, y_rest = train_test_split(
    X, y, test_size=0.6, stratify=y, random_state=0
)
X_calib, X_test, y_calib, y_test = train_test_split(
    X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0
)
model = GaussianNB().fit(X_train, y_train)  # "trained elsewhere"

# %%
# Calibration without refitting
# -----------------------------
# Beta calibration (Kull et al. 2017) suits a binary model whose probabilities
# are pushed to 0 and 1, as naive Bayes' are; isotonic regression is the
# non-parametric alternative.

calibrated = {
    name: CalibratedClassifierCV(FrozenEstimator(model), method=name).fit(
        X_calib, y_calib
    )
    for name in ("beta", "isotonic")
}
ece = expected_calibration_error(y_test, model.predict_proba(X_test))
print(f"uncalibrated ECE {ece:.3f}")
for name, clf in calibrated.items():
    ece = expected_calibration_error(y_test, clf.predict_proba(X_test))
    print(f"{name:<12} ECE {ece:.3f}")

# %%
# Reliability diagrams
# --------------------

fig, axes = plt.subplots(1, 3, figsize=(12, 4.5), sharey=True, layout="constrained")
ReliabilityDisplay.from_estimator(
    model, X_test, y_test, n_bins=8, ax=axes[0], name="naive Bayes"
)
for ax, (name, clf) in zip(axes[1:], calibrated.items(), strict=True):
    ReliabilityDisplay.from_estimator(clf, X_test, y_test, n_bins=8, ax=ax, name=name)
for ax, title in zip(axes, ["uncalibrated", "beta", "isotonic"], strict=True):
    ax.set_title(title)
