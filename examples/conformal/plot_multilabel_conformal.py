"""
====================================================
Multilabel prediction sets with the label powerset
====================================================

In multilabel classification every sample has a *set* of labels, and the
true label set must match on every label at once. A multilabel model gives
per-label probabilities :math:`p_j(x)`; predicting ``p_j >= 0.5`` for each
label gets the whole set right only some of the time.
:class:`~skcalib.conformal.LabelPowersetConformalClassifier` treats each of
the :math:`2^L` label sets as one candidate and returns the label sets that
conform well enough: the prediction set contains the true label set with
probability at least the confidence level, whatever the model. The
:math:`2^L` candidates are never enumerated (here :math:`2^{15} = 32768`).
"""

# %%
# Data and model
# --------------
# 15 labels, about two per sample, from bag-of-words counts (taken as log
# counts). A one-vs-rest logistic regression predicts each label; 30% of the
# training rows calibrate.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_multilabel_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier

from skcalib.conformal import LabelPowersetConformalClassifier

LEVELS = [0.8, 0.9, 0.95]

X, Y = make_multilabel_classification(
    n_samples=4000,
    n_features=40,
    n_classes=15,
    n_labels=2,
    length=500,
    random_state=0,
)
X = np.log1p(X)
X_fit, X_test, Y_fit, Y_test = train_test_split(X, Y, test_size=0.5, random_state=0)


def make_predictor(random_state=0, **params):
    return LabelPowersetConformalClassifier(
        OneVsRestClassifier(LogisticRegression(max_iter=1000)),
        confidence_level=LEVELS,
        random_state=random_state,
        **params,
    )


clf = make_predictor().fit(X_fit, Y_fit)
Y_pred = clf.predict(X_test)
print(f"labels per sample: {Y.sum(axis=1).mean():.2f} on average")
print(f"per-label accuracy of the model:   {np.mean(Y_pred == Y_test):.3f}")
print(f"whole label set right (p >= 0.5):  {np.mean((Y_pred == Y_test).all(1)):.3f}")

# %%
# Coverage of the true label set
# ------------------------------
# The true label set is in the prediction set at level :math:`\ell` exactly
# when its conformal p-value exceeds :math:`1 - \ell`, so
# ``predict_pvalues(X, Y_true)`` gives the coverage without listing the sets.
# One calibration draw covers a little more or a little less than the level
# (with 600 calibration samples, a standard deviation of about 0.012 at 90%,
# before the noise of a finite test set); the guarantee holds on average over
# draws, which 20 random splits check.

pvalues = clf.predict_pvalues(X_test, Y_test)
repeated = []
for seed in range(1, 21):
    X_a, X_b, Y_a, Y_b = train_test_split(X, Y, test_size=0.5, random_state=seed)
    p = make_predictor(seed).fit(X_a, Y_a).predict_pvalues(X_b, Y_b)
    repeated.append([np.mean(p > 1 - level) for level in LEVELS])
repeated = np.array(repeated)

print("level  coverage (this split)  mean +- sd over 20 splits")
for k, level in enumerate(LEVELS):
    print(
        f"{level:5.2f}  {np.mean(pvalues > 1 - level):21.3f}  "
        f"{repeated[:, k].mean():.3f} +- {repeated[:, k].std():.3f}"
    )

# %%
# How many label sets per prediction?
# -----------------------------------
# ``predict_set`` lists, for each sample and level, the label sets of the
# prediction set as boolean rows, most conforming first. When the model is
# sure of every label the set is a single label set; higher levels admit
# more alternatives.

sets = clf.predict_set(X_test)
sizes = np.array([[len(s) for s in per_level] for per_level in sets])
for k, level in enumerate(LEVELS):
    counts = sizes[:, k]
    print(
        f"level {level:.2f}: median {np.median(counts):4.0f} label sets, "
        f"90th percentile {np.percentile(counts, 90):4.0f}, max {counts.max():3d}, "
        f"a single label set for {np.mean(counts == 1):.1%} of the samples"
    )

fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.unique(np.round(np.geomspace(1, sizes.max() + 1, 25)))
for k, level in enumerate(LEVELS):
    ax.hist(sizes[:, k], bins=bins, histtype="step", lw=2, label=f"level {level}")
ax.set(
    xscale="log",
    xlabel="number of label sets in the prediction set",
    ylabel="test samples",
    title="Size of the multilabel prediction sets",
)
ax.legend()
fig.tight_layout()

# %%
# Which labels are decided?
# -------------------------
# ``predict_label_status`` summarises each prediction set per label, in
# :math:`O(L)` per sample however large the set: ``1`` when the label is in
# every label set (certainly present), ``0`` when it is in none (certainly
# absent) and ``-1`` when the sets disagree (undecided).
#
# With the Euclidean score, flipping a label the model is sure of adds about 1
# to the squared score of a label set. At 0.8 and 0.9 the squared threshold is
# below 1 (``clf.quantiles_`` holds the thresholds), so only the labels with
# intermediate probabilities can change; at 0.95 it is above 1, any single
# label can flip and nearly every label is undecided, although the sets hold
# only a few dozen of the 32768 label sets.

status = clf.predict_label_status(X_test)
print("squared score thresholds:", np.round(clf.quantiles_**2, 2))
print("level  certain in  certain out  undecided  samples with nothing undecided")
for k, level in enumerate(LEVELS):
    s = status[..., k]
    print(
        f"{level:5.2f}  {np.mean(s == 1):10.3f}  {np.mean(s == 0):11.3f}  "
        f"{np.mean(s == -1):9.3f}  {np.mean((s != -1).all(axis=1)):.3f}"
    )

# %%
# One prediction set
# ------------------
# A test sample whose 90% prediction set holds a few label sets: each row is
# a label set with its p-value; the labels marked ``?`` are the undecided ones.

k = LEVELS.index(0.9)
i = int(np.flatnonzero(sizes[:, k] == 4)[0]) if (sizes[:, k] == 4).any() else 0
label_sets = sets[i][k]
print(f"sample {i}: true labels {np.flatnonzero(Y_test[i]).tolist()}")
print(
    "status at 0.9:",
    " ".join({1: "+", 0: ".", -1: "?"}[v] for v in status[i, :, k]),
)
candidates = np.repeat(X_test[i : i + 1], len(label_sets), axis=0)
set_pvalues = clf.predict_pvalues(candidates, label_sets.astype(int))
for labels, p in zip(label_sets, set_pvalues, strict=True):
    true = " (true)" if np.array_equal(labels, Y_test[i].astype(bool)) else ""
    print(f"  labels {np.flatnonzero(labels).tolist()!s:16s} p-value {p:.3f}{true}")

# %%
# Another nonconformity score
# ---------------------------
# The default score is the Euclidean distance between the label set and the
# probabilities. ``"log_loss"`` (minus the log-probability of the label set for
# independent labels) makes a confident label expensive to flip, which keeps
# it decided; here it gives smaller sets at the higher levels.

log_loss = make_predictor(conformity_score="log_loss").fit(X_fit, Y_fit)
print("score      level  coverage  mean label sets  undecided labels")
for name, predictor in [("euclidean", clf), ("log_loss", log_loss)]:
    p = predictor.predict_pvalues(X_test, Y_test)
    n_sets = np.array([[len(s) for s in per] for per in predictor.predict_set(X_test)])
    undecided = (predictor.predict_label_status(X_test) == -1).mean(axis=(0, 1))
    for k, level in enumerate(LEVELS):
        print(
            f"{name:9s}  {level:5.2f}  {np.mean(p > 1 - level):8.3f}  "
            f"{n_sets[:, k].mean():15.1f}  {undecided[k]:16.3f}"
        )
plt.show()
