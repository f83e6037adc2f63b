"""
=======================================================
In- and out-of-distribution feature clusters
=======================================================

:func:`~skcalib.datasets.make_ood_features` draws in-distribution (ID) samples
from Gaussian class clusters and out-of-distribution (OOD) samples from one more
cluster placed at a controlled distance from a class: ``shift="near"`` overlaps
the ID data, ``shift="far"`` is nearly separable, and a float sets the distance in
units of the cluster standard deviation. The OOD rows come last and have label
``-1``.

This example looks at both shifts and scores them with a simple distance-based
detector written in a few lines of NumPy: minus the distance to the nearest class
mean (the idea behind the Mahalanobis detector of Lee et al. 2018, with an
identity covariance), so that a **higher score means more in-distribution**, the
convention of :mod:`skcalib.metrics`.
"""

# %%
# Generating the data
# -------------------

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

from skcalib.datasets import make_ood_features
from skcalib.metrics import aupr_out, detection_error, fpr_at_tpr, ood_auroc

data = {
    shift: make_ood_features(
        n_samples=1500,
        n_ood_samples=300,
        n_features=16,
        n_classes=3,
        shift=shift,
        random_state=0,
    )
    for shift in ("near", "far")
}
X, y = data["near"]
print(f"X: {X.shape}, classes: {np.unique(y).tolist()} (-1 = OOD)")

# %%
# A distance-based OOD score
# --------------------------
# The class means are estimated on half of the ID samples; the score of a sample
# is minus its Euclidean distance to the closest mean. The other half of the ID
# samples and all OOD samples are scored and the metrics take the ID indicator as
# ``y_true``.


def nearest_mean_score(X_fit, y_fit, X):
    means = np.stack([X_fit[y_fit == c].mean(axis=0) for c in np.unique(y_fit)])
    distances = np.linalg.norm(X[:, None, :] - means[None, :, :], axis=2)
    return -distances.min(axis=1)


for shift, (X, y) in data.items():
    is_ood = y == -1
    X_id, y_id = X[~is_ood], y[~is_ood]
    fit, test = np.arange(len(y_id)) % 2 == 0, np.arange(len(y_id)) % 2 == 1
    X_eval = np.concatenate([X_id[test], X[is_ood]])
    is_in = np.concatenate([np.ones(test.sum(), bool), np.zeros(is_ood.sum(), bool)])
    score = nearest_mean_score(X_id[fit], y_id[fit], X_eval)
    print(
        f"{shift:>4} shift: AUROC {ood_auroc(is_in, score):.3f}  "
        f"FPR@95%TPR {fpr_at_tpr(is_in, score):.3f}  "
        f"AUPR-out {aupr_out(is_in, score):.3f}  "
        f"detection error {detection_error(is_in, score):.3f}"
    )

# %%
# What the shifts look like
# -------------------------
# A two-dimensional PCA projection of each data set (fitted on the ID samples):
# the near OOD cluster touches one class, the far one sits well apart.

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
for ax, (shift, (X, y)) in zip(axes, data.items(), strict=True):
    pca = PCA(n_components=2).fit(X[y != -1])
    Z = pca.transform(X)
    for c in np.unique(y[y != -1]):
        ax.scatter(*Z[y == c].T, s=6, alpha=0.5, label=f"class {c}")
    ax.scatter(*Z[y == -1].T, s=8, alpha=0.7, color="k", marker="x", label="OOD")
    ax.set(title=f'shift="{shift}"', xlabel="PC 1", ylabel="PC 2")
axes[0].legend(loc="best", markerscale=2)
