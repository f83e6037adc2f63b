"""
=====================================================
Finding injected label noise in the digits data set
=====================================================

We flip 10% of the training labels of scikit-learn's digits data set at
random, then ask two tools of :mod:`skcalib.uncertainty` which labels to
doubt, without telling them which were flipped:

- :class:`~skcalib.uncertainty.LabelIssueDetector` runs *confident learning*
  (Northcutt, Jiang and Chuang, 2021) on cross-fitted, out-of-sample
  probabilities: it estimates how many samples of each given label are truly
  of another class (the *confident joint*) and flags that many;
- :class:`~skcalib.uncertainty.DataDifficultyScorer` scores every sample by
  its EL2N norm (:func:`~skcalib.metrics.el2n_score`, Paul, Ganguli and
  Dziugaite, 2021), the distance between the predicted probabilities and the
  one-hot given label: the hardest samples are mostly mislabelled ones.

Since we know the truth, we can measure how well each finds the flipped
labels, look at the most suspicious images, and check what cleaning the
training set does to the accuracy on clean test data.
"""

# %%
# Data with 10% of the labels flipped
# -----------------------------------
# A quarter of the digits is kept aside, with its correct labels, as a clean
# test set. In the training set 10% of the samples get a label drawn uniformly
# among the nine *other* classes, so every flipped label is wrong.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcalib.uncertainty import (
    DataDifficultyScorer,
    LabelIssueDetector,
    find_label_issues,
)

digits = load_digits()
X_train, X_test, y_train, y_test, img_train, _ = train_test_split(
    digits.data,
    digits.target,
    digits.images,
    test_size=0.25,
    random_state=0,
    stratify=digits.target,
)
n_train, n_classes = len(y_train), 10

rng = np.random.default_rng(0)
flipped = rng.choice(n_train, size=round(0.1 * n_train), replace=False)
y_noisy = y_train.copy()
# Adding 1 to 9 (mod 10) to the label gives a uniformly drawn other class.
y_noisy[flipped] = (y_train[flipped] + rng.integers(1, n_classes, flipped.size)) % 10
is_flipped = y_noisy != y_train
chance = is_flipped.mean()
print(f"{n_train} training digits, {is_flipped.sum()} labels flipped ({chance:.0%})")

# %%
# Confident learning
# ------------------
# The detector fits a clone of the model on four folds and predicts the fifth,
# five times, so that every training sample is scored by a model that has not
# seen it (a model scored on its own training data has memorised part of the
# noise). With the default ``filter_by="prune_by_noise_rate"`` it flags, for
# every pair (given label ``i``, estimated true label ``j``), as many samples
# as the confident joint counts, those with the largest margin
# :math:`\hat p_j(x) - \hat p_i(x)`.


def make_model():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


folds = StratifiedKFold(5, shuffle=True, random_state=0)
detector = LabelIssueDetector(make_model(), cv=folds).fit(X_train, y_noisy)

flagged = detector.label_issues_
true_positives = np.sum(flagged & is_flipped)
print(
    f"flagged {flagged.sum()} samples: precision {true_positives / flagged.sum():.3f}"
    f", recall {true_positives / is_flipped.sum():.3f} "
    f"(chance precision {chance:.3f})"
)

# %%
# Rankings and precision at k
# ---------------------------
# ``issue_ranking_`` orders the flagged samples by their label quality score
# (``label_quality_scores_``, here the self-confidence :math:`\hat p_{\tilde
# y}(x)` of the given label :math:`\tilde y`), most suspicious first. To rank
# the whole training set we append the unflagged samples, also by increasing
# score. The EL2N ranking sorts by decreasing difficulty, averaged over five
# repetitions of the cross-fitting with reshuffled folds.

scorer = DataDifficultyScorer(make_model(), n_fits=5, random_state=0)
scorer.fit(X_train, y_noisy)

scores = detector.label_quality_scores_
unflagged = np.flatnonzero(~flagged)
cl_ranking = np.r_[
    detector.issue_ranking_, unflagged[np.argsort(scores[unflagged], kind="stable")]
]
el2n_ranking = np.argsort(-scorer.scores_, kind="stable")

ks = np.arange(1, 2 * is_flipped.sum() + 1)
precision_at = {
    "confident learning": np.cumsum(is_flipped[cl_ranking])[ks - 1] / ks,
    "EL2N": np.cumsum(is_flipped[el2n_ranking])[ks - 1] / ks,
}
print(f"{'k':>4} {'confident learning':>19} {'EL2N':>6}   (chance {chance:.3f})")
for k in sorted({10, 25, 50, 100, is_flipped.sum(), flagged.sum(), 200}):
    print(
        f"{k:4d} {precision_at['confident learning'][k - 1]:19.3f} "
        f"{precision_at['EL2N'][k - 1]:6.3f}"
    )

fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
for name, values in precision_at.items():
    ax.plot(ks, values, label=name)
ax.axhline(chance, color="gray", linestyle=":", label="chance (10%)")
ax.axvline(is_flipped.sum(), color="black", linewidth=0.8, linestyle="--")
ax.annotate(
    "number of flipped labels",
    (is_flipped.sum(), 0.3),
    xytext=(5, 0),
    textcoords="offset points",
)
ax.set(
    xlabel="k (top of the ranking)",
    ylabel="fraction of flipped labels in the top k",
    ylim=(0, 1.02),
    title="Precision at k of the two rankings",
)
ax.legend(loc="lower left")


# %%
# Both rankings start with almost only flipped labels and fall towards the
# chance rate once k passes the number of flipped labels. The flipped labels
# found last are those the model itself believes (the digit looks like its
# wrong class), and the correct labels met early are on unusual or ambiguous
# digits. The EL2N ranking, which averages five
# cross-fits, stays a little ahead of the confident-learning one, which uses
# one.
#
# The confident joint
# -------------------
# ``confident_joint_`` estimates how many samples of each given label (rows)
# truly belong to each class (columns); on the left, the counts of the actual
# (given, true) pairs for comparison. Its off-diagonal total is the estimated
# number of label errors, and about the number of flagged samples (a sample
# whose given label is the model's most probable class is never flagged).

true_joint = np.zeros((n_classes, n_classes), dtype=int)
np.add.at(true_joint, (y_noisy, y_train), 1)
joint = detector.confident_joint_
print(
    f"estimated number of label errors: {joint.sum() - np.trace(joint)} "
    f"(true: {is_flipped.sum()})"
)

diagonal = np.eye(n_classes, dtype=bool)
vmax = max(true_joint[~diagonal].max(), joint[~diagonal].max())
fig, axes = plt.subplots(1, 2, figsize=(9, 4.4), layout="constrained")
for ax, matrix, title in zip(
    axes,
    (true_joint, joint),
    ("actual (given, true) counts", "confident joint"),
    strict=True,
):
    image = ax.imshow(np.where(diagonal, 0, matrix), cmap="Reds", vmin=0, vmax=vmax)
    for i, j in zip(*np.nonzero(matrix), strict=True):
        color = "gray" if i == j else "white" if matrix[i, j] > vmax / 2 else "black"
        ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7, color=color)
    ax.set(
        xticks=range(n_classes),
        yticks=range(n_classes),
        xlabel="true label",
        ylabel="given label",
        title=title,
    )
fig.colorbar(image, ax=axes, shrink=0.8, label="count (off-diagonal)")

# %%
# The most suspicious images
# --------------------------
# The first eight of ``issue_ranking_``, with their given label and the
# model's suggested label (the most probable class of the out-of-sample
# probabilities). The title is green when the given label was indeed flipped,
# red when the given label was right.

suggested = detector.classes_[np.argmax(detector.pred_proba_, axis=1)]
fig, axes = plt.subplots(1, 8, figsize=(10, 2), layout="constrained")
for ax, i in zip(axes, detector.issue_ranking_[:8], strict=True):
    ax.imshow(img_train[i], cmap="gray_r")
    ax.set_axis_off()
    ax.set_title(
        f"given {y_noisy[i]}\nsuggested {suggested[i]}",
        fontsize=9,
        color="tab:green" if is_flipped[i] else "tab:red",
    )
fig.suptitle("Most suspicious training labels (green: truly flipped)")

# %%
# Confident learning on averaged probabilities
# --------------------------------------------
# The detector flags more samples than were flipped, in part because one
# cross-fit gives noisy probabilities. The scorer's five cross-fits
# (``pred_proba_``, one array per repetition) can be averaged and passed to
# :func:`~skcalib.uncertainty.find_label_issues`, which runs the same
# procedure on given probabilities.

flagged_avg = find_label_issues(y_noisy, scorer.pred_proba_.mean(axis=0))
true_positives = np.sum(flagged_avg & is_flipped)
print(
    f"averaged probabilities: flagged {flagged_avg.sum()} samples, precision "
    f"{true_positives / flagged_avg.sum():.3f}, recall "
    f"{true_positives / is_flipped.sum():.3f}"
)

# %%
# What to do with it
# ------------------
# The flagged samples can be **removed**, or **relabelled** with the
# suggested label, and the model retrained. Removing loses the correct but
# hard samples among the flagged; relabelling keeps every sample but gives
# those a wrong label, and trusts the model where it was wrong. Either way,
# judge the result on *clean* test data: below, the same model trained on the
# noisy labels, on the cleaned sets, and on the true labels (the best one can
# hope for). "wrong labels" counts the labels of the training set that differ
# from the truth.

everything = np.ones(n_train, dtype=bool)
training_sets = {
    "noisy labels": (everything, y_noisy),
    "flagged removed": (~flagged, y_noisy),
    "flagged relabelled": (everything, np.where(flagged, suggested, y_noisy)),
    "flagged (avg) removed": (~flagged_avg, y_noisy),
    "true labels (oracle)": (everything, y_train),
}
print(f"{'trained on':<22} {'n':>5} {'wrong labels':>13} {'clean test acc':>15}")
for name, (keep, labels) in training_sets.items():
    n_wrong = np.sum(labels[keep] != y_train[keep])
    model = make_model().fit(X_train[keep], labels[keep])
    accuracy = model.score(X_test, y_test)
    print(f"{name:<22} {keep.sum():5d} {n_wrong:13d} {accuracy:15.3f}")

# %%
# Removing the flagged samples recovers most of what the noise cost, even
# though it also drops some correct samples: a missing hard digit hurts a
# linear model much less than a wrong label. Relabelling helps less here,
# because every correct label among the flagged becomes a wrong one. The test
# set has 450 digits, so one point of accuracy is four and a half digits.
#
# On real data nothing is known about the noise: inspect the top of the
# ranking (as above) before trusting it, prefer removal to relabelling unless
# someone checks the suggested labels, and compare the models on a test set
# whose labels were checked.
