"""
=============================================================
Choosing a score and a model: smallest sets that still cover
=============================================================

Conformal predictors are scikit-learn estimators, so the conformity score,
its parameters and the underlying model can be chosen by cross-validation.
Every candidate covers at the level by construction, so the criterion is the
*size* of the sets; the coverage is checked too, because with small
calibration folds it fluctuates. The scorers ``"coverage_score"`` and
``"neg_mean_set_size"`` of :func:`skcalib.metrics.get_scorer` call
``predict_set``, and :func:`skcalib.metrics.coverage_constrained_refit`
picks the candidate with the smallest mean set size among those whose
cross-validated coverage reaches the target (here one point below the level,
the slack allowed for the fluctuation of small calibration folds).
"""

# %%
# The search
# ----------

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.naive_bayes import GaussianNB

from skcalib.conformal import SplitConformalClassifier
from skcalib.conformal.scores import APSScore, RAPSScore
from skcalib.metrics import (
    coverage_constrained_refit,
    coverage_score,
    get_scorer,
    mean_set_size,
)

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
TARGET = 0.9


search = GridSearchCV(
    SplitConformalClassifier(confidence_level=TARGET, random_state=0),
    {
        "estimator": [
            GaussianNB(),
            LogisticRegression(C=0.1, max_iter=1000),
            RandomForestClassifier(n_estimators=50, random_state=0),
        ],
        "conformity_score": [
            "lac",
            APSScore(include_last_label="randomized"),
            RAPSScore(include_last_label="randomized"),
        ],
    },
    scoring={
        "coverage": get_scorer("coverage_score"),
        "set_size": get_scorer("neg_mean_set_size"),
    },
    refit=coverage_constrained_refit(TARGET - 0.01, size="set_size"),
    cv=3,
)
search.fit(X_fit, y_fit)

# %%
# Cross-validated coverage and set size of every candidate
# --------------------------------------------------------

results = search.cv_results_
for i in np.argsort(-results["mean_test_set_size"]):
    estimator = type(results["param_estimator"][i]).__name__
    score = results["param_conformity_score"][i]
    print(
        f"{estimator:24s} {str(score):42s} coverage "
        f"{results['mean_test_coverage'][i]:.3f}  mean size "
        f"{-results['mean_test_set_size'][i]:.2f}"
    )

# %%
# The chosen predictor on held-out data
# -------------------------------------

best = search.best_estimator_
sets = best.predict_set(X_test)
print(f"chosen: {type(best.estimator_).__name__} with {best.conformity_score_}")
print(
    f"test coverage {coverage_score(y_test, sets):.3f}, "
    f"mean set size {mean_set_size(sets):.2f}"
)
