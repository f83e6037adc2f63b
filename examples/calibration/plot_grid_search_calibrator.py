"""
=================================================
Tuning a calibrator with GridSearchCV on the ECE
=================================================

Calibrators are ordinary scikit-learn estimators, so their hyper-parameters are
tuned like any other. Here the ODIR regularisation strength of Dirichlet
calibration (Kull et al. 2019) is chosen by cross-validation on the negative
expected calibration error, through
:class:`~skcalib.calibration.CalibratedClassifierCV` with a calibrator
*instance* as ``method`` (so ``method__reg_lambda`` is a parameter of the
search) and :func:`skcalib.metrics.get_scorer`.
"""

# %%
# A classifier and its calibration data
# -------------------------------------

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.naive_bayes import GaussianNB

from skcalib.calibration import CalibratedClassifierCV, DirichletCalibration
from skcalib.metrics import expected_calibration_error, get_scorer

X, y = load_digits(return_X_y=True)
X_train, X_rest, y_train, y_rest = train_test_split(
    X, y, test_size=0.6, stratify=y, random_state=0
)
X_calib, X_test, y_calib, y_test = train_test_split(
    X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0
)
model = GaussianNB().fit(X_train, y_train)

# %%
# The search
# ----------
# The frozen model is shared by every candidate; each fold of the search fits
# only the 10 x 10 Dirichlet map (plus intercepts) on part of the calibration
# data and scores the ECE on the rest.

warnings.filterwarnings("ignore", category=ConvergenceWarning)
search = GridSearchCV(
    CalibratedClassifierCV(FrozenEstimator(model), method=DirichletCalibration()),
    param_grid={"method__reg_lambda": np.logspace(-4, 1, 6)},
    scoring=get_scorer("neg_expected_calibration_error"),
    cv=5,
)
search.fit(X_calib, y_calib)
for lam, score in zip(
    search.cv_results_["param_method__reg_lambda"],
    search.cv_results_["mean_test_score"],
    strict=True,
):
    print(f"reg_lambda = {lam:8.4f}   cross-validated ECE = {-score:.4f}")
print(f"best: {search.best_params_}")

# %%
# Weak regularisation lets the full matrix over-fit the small calibration sets
# of the inner folds (and L-BFGS may stop before convergence: naive Bayes'
# nearly 0/1 probabilities make the problem almost separable, which is also why
# those warnings are silenced above); strong regularisation shrinks it towards
# the diagonal. The cross-validated ECE is noisy on folds of about 110 samples.
# The refitted best calibrator is then judged on the untouched test set.

ece_before = expected_calibration_error(y_test, model.predict_proba(X_test))
ece_after = expected_calibration_error(y_test, search.predict_proba(X_test))
print(f"test ECE: uncalibrated {ece_before:.4f}, tuned Dirichlet {ece_after:.4f}")
