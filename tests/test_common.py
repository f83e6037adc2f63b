"""Common tests run on every public estimator returned by ``all_estimators()``.

- scikit-learn's ``parametrize_with_checks`` (clone, fit/predict contracts, NaN
  handling, pickling, sample weights, ...), with a written reason for every
  expected failure (the goal is none);
- skcalib's own checks from :mod:`skcalib.utils.estimator_checks`.

Estimators that need parameter variants list them in ``ESTIMATOR_INSTANCES``;
the rest are checked with their defaults. This file grows as families land.
"""

import pytest
from sklearn.base import is_classifier
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from skcalib.base import get_skcalib_tags
from skcalib.calibration import (
    BetaCalibration,
    CalibratedClassifierCV,
    CorrectnessAwareCalibrator,
    DirichletCalibration,
    HistogramBinning,
    MatrixScaling,
    VennAbersCalibrator,
)
from skcalib.conformal import (
    ConformalizedQuantileRegressor,
    CrossConformalClassifier,
    CrossConformalRegressor,
    LabelPowersetConformalClassifier,
    SelectiveConformalClassifier,
    SplitConformalClassifier,
    SplitConformalRegressor,
)
from skcalib.conformal.scores import APSScore, CQRScore
from skcalib.ood import ClassifierOODDetector, MahalanobisDetector
from skcalib.pipeline import TrustPipeline
from skcalib.uncertainty import (
    BradleyTerryConfidence,
    DataDifficultyScorer,
    DEUPClassifier,
    DEUPRegressor,
    LabelIssueDetector,
    SubjectiveLogicClassifier,
    TopTwoCrowdAggregator,
)
from skcalib.utils._sklearn_compat import SKLEARN_VERSION
from skcalib.utils.discovery import all_estimators
from skcalib.utils.estimator_checks import parametrize_with_skcalib_checks

# name -> list of instances to check (parameter variants).
ESTIMATOR_INSTANCES = {
    # Conformal classifiers: the default (LAC, marginal) and randomised adaptive
    # sets with label-conditional calibration; cross-conformal CV+.
    "SplitConformalClassifier": [
        SplitConformalClassifier(),
        SplitConformalClassifier(
            conformity_score=APSScore(include_last_label="randomized"),
            class_conditional=True,
        ),
    ],
    "CrossConformalClassifier": [CrossConformalClassifier()],
    # Conformal regressors: absolute and normalized residuals (split), CV+ and
    # jackknife+-after-bootstrap with median aggregation (cross), symmetric and
    # asymmetric CQR.
    "SplitConformalRegressor": [
        SplitConformalRegressor(),
        SplitConformalRegressor(conformity_score="normalized"),
    ],
    "CrossConformalRegressor": [
        CrossConformalRegressor(),
        CrossConformalRegressor(
            cv="bootstrap", n_resamplings=10, agg_function="median", random_state=0
        ),
    ],
    "ConformalizedQuantileRegressor": [
        ConformalizedQuantileRegressor(),
        ConformalizedQuantileRegressor(
            conformity_score=CQRScore(symmetric=False), point_prediction="midpoint"
        ),
    ],
    # Multilabel: default (one-vs-rest logistic, Euclidean) and a list-of-arrays
    # predict_proba (MultiOutputClassifier) with smoothed p-values.
    "LabelPowersetConformalClassifier": [
        LabelPowersetConformalClassifier(),
        LabelPowersetConformalClassifier(
            MultiOutputClassifier(LogisticRegression()),
            conformity_score="manhattan",
            randomized=True,
        ),
    ],
    # Uncertainty and data quality.
    "DEUPClassifier": [
        DEUPClassifier(),
        DEUPClassifier(features="input+output+distance", loss="brier", random_state=0),
    ],
    "DEUPRegressor": [
        DEUPRegressor(),
        DEUPRegressor(
            features="output+distance",
            error_estimator=RandomForestRegressor(n_estimators=10, random_state=0),
            cv=3,
        ),
    ],
    "SubjectiveLogicClassifier": [
        SubjectiveLogicClassifier(),
        SubjectiveLogicClassifier(
            evidence="relu", confusion_measure="dissonance", reject_label=None
        ),
    ],
    "LabelIssueDetector": [
        LabelIssueDetector(),
        LabelIssueDetector(
            GaussianNB(), cv=3, filter_by="both", rank_by="normalized_margin"
        ),
    ],
    # (the default n_fits=5, cv=5 takes 44 s under the checks)
    "DataDifficultyScorer": [DataDifficultyScorer(n_fits=2, cv=3, random_state=0)],
    "TopTwoCrowdAggregator": [
        TopTwoCrowdAggregator(),
        TopTwoCrowdAggregator(max_iter=0),
    ],
    "BradleyTerryConfidence": [
        BradleyTerryConfidence(),
        BradleyTerryConfidence(method="elo", shuffle=True, random_state=0),
    ],
    # Selective classification: abstains by default (-1), or plain labels.
    "SelectiveConformalClassifier": [
        SelectiveConformalClassifier(),
        SelectiveConformalClassifier(abstain_label=None),
        SelectiveConformalClassifier(
            uncertainty="margin", target_risk=0.2, abstain_label=None
        ),
    ],
    # OOD wrappers: unsupervised (a transformer's features, so scikit-learn's
    # outlier checks apply) and around a classifier pipeline.
    # Trust pipeline: the default chain (temperature, LAC, MSP gate) and an
    # isotonic/APS chain without gate. Seeded: the coverage check's tolerance is
    # set for 1000 conformal rows and the pipeline conformalises 400 of them.
    "TrustPipeline": [
        TrustPipeline(random_state=0),
        TrustPipeline(
            GaussianNB(),
            calibrator="isotonic",
            conformity_score="aps",
            ood_detector=None,
            random_state=0,
        ),
    ],
    "ClassifierOODDetector": [
        ClassifierOODDetector(StandardScaler(), method=MahalanobisDetector()),
        ClassifierOODDetector(
            make_pipeline(StandardScaler(), LogisticRegression()),
            method=MahalanobisDetector(shrinkage="auto"),
        ),
    ],
    "BetaCalibration": [BetaCalibration(parameters=p) for p in ("abm", "am", "ab")],
    "CalibratedClassifierCV": [
        CalibratedClassifierCV(),
        CalibratedClassifierCV(GaussianNB(), method="temperature", cv=3),
        CalibratedClassifierCV(GaussianNB(), method=HistogramBinning(n_bins=5), cv=3),
    ],
    "CorrectnessAwareCalibrator": [
        CorrectnessAwareCalibrator(),
        CorrectnessAwareCalibrator(loss="log", balanced=True),
    ],
    "DirichletCalibration": [
        DirichletCalibration(),
        DirichletCalibration(matrix_type="diagonal", reg_lambda=1e-3),
    ],
    "HistogramBinning": [
        HistogramBinning(),
        HistogramBinning(n_bins=5, strategy="quantile"),
    ],
    "MatrixScaling": [
        MatrixScaling(),
        MatrixScaling(regularization="odir", reg_lambda=1e-2),
        MatrixScaling(regularization="l2", reg_lambda=1e-2),
    ],
    "VennAbersCalibrator": [
        VennAbersCalibrator(),
        VennAbersCalibrator(multiclass="pairwise"),
        VennAbersCalibrator(LogisticRegression()),
        VennAbersCalibrator(
            DecisionTreeClassifier(max_depth=3, random_state=0), inductive=False, cv=3
        ),
    ],
}

# name -> {check name: reason}. Every entry needs a reason a reviewer accepts.
_LOGITS_SHAPE = (
    "scikit-learn feeds a generic feature matrix whose number of columns differs "
    "from the number of classes in y; a score-space calibrator needs one logit per "
    "class (or one decision value for two classes) and raises a ValueError naming "
    "the mismatch. The same contract is checked with proper logits by skcalib's "
    "own checks and tests/calibration."
)
_SCORE_SPACE_CHECKS = [
    "check_all_zero_sample_weights_error",
    "check_array_api_input",
    "check_array_api_mixed_inputs",
    "check_array_api_same_namespace",
    "check_classifiers_classes",
    "check_classifiers_train",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_n_features_in_after_fitting",
    "check_non_transformer_estimators_n_iter",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_sample_weight_equivalence_on_dense_data",
    "check_supervised_y_2d",
]
_NOT_PROBABILITIES = (
    "X must hold probabilities (in [0, 1], rows summing to one); scikit-learn "
    "feeds arbitrary real features, which a calibrator of probabilities rejects "
    "with a ValueError naming X, so that logits passed by mistake cannot give "
    "meaningless calibration. Checked with real probabilities by skcalib's own "
    "checks and tests/calibration."
)
_PROBABILITY_CHECKS = [
    "check_classifier_data_not_an_array",
    "check_classifiers_one_label_sample_weights",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_sample_weights_list",
    "check_sample_weights_not_an_array",
    "check_sample_weights_not_overwritten",
    "check_sample_weights_pandas_series",
    "check_sample_weights_shape",
]
_INDUCTIVE_SPLIT = (
    "inductive Venn-ABERS with an estimator splits the rows into a proper "
    "training and a calibration part; repeating rows (sample_weight=2) changes "
    "which rows fall where, so weights and duplication cannot agree exactly. The "
    "Venn-ABERS step itself is weight-exact: the cross (inductive=False) variant "
    "passes this check."
)

# Applied to every calibrator whose X holds scores (skcalib tag input_kind
# "logits", "probabilities" or "decision"): all score-space calibrators share it.
SCORE_SPACE_EXPECTED_FAILURES = dict.fromkeys(_SCORE_SPACE_CHECKS, _LOGITS_SHAPE)
_SCORE_KINDS = {"logits", "probabilities", "decision"}

# Estimator-specific expected failures beyond the score-space ones.
_OOD_NEEDS_LABELS = (
    "scikit-learn's outlier checks call fit(X) without y, but this detector is "
    "defined from class labels (it raises the standard 'requires y to be "
    "passed' error, checked by check_requires_y_none); its outlier contract "
    "(score direction, decision_function = score_samples - offset_, +1/-1 "
    "predictions, contamination) is checked with labels by skcalib's own checks "
    "and tests/ood."
)
_OOD_OUTLIER_CHECKS = [
    "check_outliers_train",
    "check_outliers_fit_predict",
]
_OOD_WRAPPED_CLASSIFIER_NEEDS_LABELS = (
    "scikit-learn's outlier checks call fit(X) without y; the wrapped classifier "
    "(registered instance with a LogisticRegression pipeline) needs labels and "
    "raises its standard 'requires y to be passed' error. The unsupervised "
    "instance (a StandardScaler's features) passes these checks."
)
_OOD_REJECT_LABEL = (
    "predict returns reject_label (-1 by default, not one of classes_) for the "
    "inputs its OOD detector rejects -- about 1 - tpr of in-distribution inputs, "
    "by design -- so predictions are not all among classes_. Accuracy and the "
    "rejection rate are tested in tests/ood/test_wrappers.py."
)
_CONFORMAL_SPLIT = (
    "SplitConformalClassifier draws its training and calibration rows at random; "
    "repeating rows (sample_weight=2) changes which rows fall in each part, so "
    "weights and duplication cannot agree exactly. The weighted conformal "
    "quantile itself equals the repeated-rows one (tests/conformal, "
    "test_integer_weights_equal_repeated_rows, with a frozen model)."
)
_SPLIT_REGRESSOR = (
    "{} draws its training and calibration rows at random; repeating rows "
    "(sample_weight=2) changes which rows fall in each part, so weights and "
    "duplication cannot agree exactly. The weighted conformal quantile itself "
    "equals the repeated-rows one ({}, with frozen models)."
)
_ABSTAINS = (
    "predict returns abstain_label (-1) where the classifier abstains, by design, "
    "so predictions are not all among classes_ nor the argmax of predict_proba; "
    "the instance with abstain_label=None passes this check."
)
_MINUS_ONE_IS_A_CLASS = (
    "scikit-learn's data has classes {-1, 1}, and the default abstain_label=-1 "
    "is then refused with a ValueError asking for another one; the instance "
    "with abstain_label=None passes this check."
)
_WEIGHT_EQUIVALENCE = [
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
]
_LABEL_SETS_NOT_INDICATOR = (
    "y must be a binary indicator matrix of label sets (0/1 per label). With the "
    "multi_output/not single_output tags scikit-learn reshapes its y to (n, 1) but "
    "these checks use the classes {1, 2}, which are not label-set indicators and "
    "are refused with a ValueError naming y. tests/conformal/test_multilabel.py "
    "covers lists, pandas, sparse, bool and float indicators and sample weights."
)
_LABEL_SETS_OLD_SKLEARN = (
    "scikit-learn < 1.8 builds the y of these checks as multi-output class labels "
    "({1, 2} or {2, 3}) for estimators tagged multi_output without single_output; "
    "they are not label-set indicators and are refused with a ValueError naming y "
    "before the check's own assertion runs. With scikit-learn >= 1.8 (CI's main "
    "run) these checks pass."
)
_LABEL_SETS_OLD_SKLEARN_CHECKS = [
    "check_" + name
    for name in (
        "dict_unchanged dont_overwrite_parameters dtype_object "
        "estimator_sparse_array estimator_sparse_matrix "
        "estimators_empty_data_messages estimators_fit_returns_self "
        "estimators_overwrite_params estimators_pickle f_contiguous_array_estimator "
        "fit2d_predict1d fit_check_is_fitted methods_sample_order_invariance "
        "methods_subset_invariance pipeline_consistency readonly_memmap_input "
        "sample_weight_equivalence_on_dense_data "
        "sample_weight_equivalence_on_sparse_data"
    ).split()
]
_LABEL_SETS_1D = (
    "this check fits 1-D (string) class labels whatever the tags; a label-powerset "
    "predictor needs a (n_samples, n_labels) indicator matrix and raises a "
    "ValueError suggesting y.reshape(-1, 1)."
)
_LABEL_SETS_PREDICT_SHAPE = (
    "scikit-learn fits y of shape (n, 1) (multi_output tags) but asserts predict "
    "returns shape (n,); predict returns label sets of the shape of y, (n, "
    "n_labels), as check_classifiers_multilabel_output_format_predict requires "
    "(it passes)."
)
_PAIRS = (
    "X must be (n_comparisons, 2) non-negative integer item indices of distinct "
    "items; scikit-learn feeds real-valued features with other column counts, "
    "which are refused with a ValueError naming pairs. Fit/predict contracts, "
    "weights, NaN, determinism and the array API are tested with valid pairs in "
    "tests/uncertainty/test_bradley_terry.py."
)
_PAIRS_CHECKS = [
    "check_" + name
    for name in (
        "all_zero_sample_weights_error array_api_input array_api_mixed_inputs "
        "array_api_same_namespace dict_unchanged dont_overwrite_parameters "
        "dtype_object estimators_dtypes estimators_fit_returns_self "
        "estimators_nan_inf estimators_overwrite_params estimators_pickle "
        "f_contiguous_array_estimator fit2d_1feature fit2d_1sample fit2d_predict1d "
        "fit_check_is_fitted fit_idempotent fit_score_takes_y "
        "methods_sample_order_invariance methods_subset_invariance n_features_in "
        "n_features_in_after_fitting pipeline_consistency "
        "positive_only_tag_during_fit readonly_memmap_input "
        "sample_weight_equivalence_on_dense_data sample_weights_list "
        "sample_weights_not_an_array sample_weights_not_overwritten "
        "sample_weights_pandas_series sample_weights_shape"
    ).split()
]
EXPECTED_FAILED_CHECKS = {
    "BradleyTerryConfidence": dict.fromkeys(_PAIRS_CHECKS, _PAIRS),
    "TopTwoCrowdAggregator": {
        "check_fit_idempotent": (
            "scikit-learn predicts on held-out rows of continuous features; each "
            "distinct value is an answer choice, so the held-out rows contain "
            "answers not in classes_, and predict raises a ValueError. Idempotence "
            "and predict on new tasks are tested in tests/uncertainty/test_crowd.py."
        )
    },
    "CalibratedClassifierCV": {
        "check_array_api_same_namespace": (
            "scikit-learn >= 1.9 wants predict on another namespace than fit's to "
            "raise a ValueError naming CalibratedClassifierCV; the meta-estimator "
            "keeps no array of its own to compare with, so the mismatch is caught "
            "by the wrapped estimator and the calibrator, under their own names."
        ),
    },
    "SplitConformalClassifier": dict.fromkeys(_WEIGHT_EQUIVALENCE, _CONFORMAL_SPLIT),
    "SplitConformalRegressor": dict.fromkeys(
        _WEIGHT_EQUIVALENCE,
        _SPLIT_REGRESSOR.format(
            "SplitConformalRegressor",
            "tests/conformal/test_conformal_regression.py, "
            "test_integer_weights_equal_repeated_rows",
        ),
    ),
    "LabelPowersetConformalClassifier": {
        **dict.fromkeys(
            [
                "check_classifier_data_not_an_array",
                "check_estimators_dtypes",
                "check_fit2d_1feature",
                "check_sample_weights_not_an_array",
                "check_sample_weights_not_overwritten",
                "check_sample_weights_pandas_series",
                "check_sample_weights_shape",
            ],
            _LABEL_SETS_NOT_INDICATOR,
        ),
        "check_classifiers_classes": _LABEL_SETS_1D,
        "check_classifiers_train": _LABEL_SETS_PREDICT_SHAPE,
    },
    "ConformalizedQuantileRegressor": dict.fromkeys(
        _WEIGHT_EQUIVALENCE,
        _SPLIT_REGRESSOR.format(
            "ConformalizedQuantileRegressor",
            "tests/conformal/test_quantile_regression.py",
        ),
    ),
    "OODRejectClassifier": {"check_classifiers_classes": _OOD_REJECT_LABEL},
    "EnsembleUncertainty": dict.fromkeys(_OOD_OUTLIER_CHECKS, _OOD_NEEDS_LABELS),
    "LearnedTemperatureEnergyDetector": dict.fromkeys(
        _OOD_OUTLIER_CHECKS, _OOD_NEEDS_LABELS
    ),
    "RelativeMahalanobisDetector": dict.fromkeys(
        _OOD_OUTLIER_CHECKS, _OOD_NEEDS_LABELS
    ),
}


def _instances():
    instances = []
    for name, cls in all_estimators():
        instances.extend(ESTIMATOR_INSTANCES.get(name, [cls()]))
    return instances


_CLASSES_ON_HOST = (
    "scikit-learn < 1.8 wants classes_ in the input's array namespace (skcalib "
    "keeps classes_ as a NumPy array, labels may be strings, as scikit-learn >= "
    "1.8 accepts) and pins array_api_strict to the 2023.12 standard, which lacks "
    "take_along_axis. The check runs on the newest scikit-learn in CI."
)
_STEP_FUNCTION = (
    "Venn-ABERS is a step function of the wrapped model's scores: the model's "
    "predictions on a subset can differ from those on the full batch in the last "
    "bit (BLAS blocking), and a last-bit change at a step changes the output."
)


def _expected_failed_checks(estimator):
    failures = {}
    if SKLEARN_VERSION < (1, 8):
        failures["check_array_api_input"] = _CLASSES_ON_HOST
    tags = get_skcalib_tags(estimator)
    input_kind = tags.input_kind
    if tags.family in ("calibrator", "uncertainty") and input_kind in _SCORE_KINDS:
        failures.update(SCORE_SPACE_EXPECTED_FAILURES)
        # Only iterative fits report n_iter_; the others pass that check.
        if "max_iter" not in estimator.get_params():
            del failures["check_non_transformer_estimators_n_iter"]
        # A 2-D y with one column is raveled with a warning, as the check wants.
        if tags.family == "uncertainty":
            del failures["check_supervised_y_2d"]
    if isinstance(estimator, ClassifierOODDetector) and is_classifier(
        estimator.estimator
    ):
        failures.update(
            dict.fromkeys(_OOD_OUTLIER_CHECKS, _OOD_WRAPPED_CLASSIFIER_NEEDS_LABELS)
        )
    # Venn-ABERS only uses the order of its scores and accepts any.
    takes_any_scores = isinstance(estimator, VennAbersCalibrator)
    if (
        tags.family == "calibrator"
        and input_kind == "probabilities"
        and not takes_any_scores
    ):
        failures.update(dict.fromkeys(_PROBABILITY_CHECKS, _NOT_PROBABILITIES))
    if isinstance(estimator, VennAbersCalibrator) and estimator.estimator is not None:
        failures["check_methods_subset_invariance"] = _STEP_FUNCTION
        if estimator.inductive:
            failures.update(
                dict.fromkeys(
                    [
                        "check_sample_weight_equivalence_on_dense_data",
                        "check_sample_weight_equivalence_on_sparse_data",
                    ],
                    _INDUCTIVE_SPLIT,
                )
            )
    old_sklearn = SKLEARN_VERSION < (1, 8)
    if isinstance(estimator, LabelPowersetConformalClassifier) and old_sklearn:
        failures.update(
            dict.fromkeys(_LABEL_SETS_OLD_SKLEARN_CHECKS, _LABEL_SETS_OLD_SKLEARN)
        )
    if (
        isinstance(estimator, LabelPowersetConformalClassifier)
        and estimator.estimator is not None
    ):
        # (the default one-vs-rest model happens to pass these checks)
        failures.update(
            dict.fromkeys(
                _WEIGHT_EQUIVALENCE,
                _CONFORMAL_SPLIT.replace(
                    "SplitConformalClassifier", "LabelPowersetConformalClassifier"
                ).replace("tests/conformal,", "tests/conformal/test_multilabel.py,"),
            )
        )
    if (
        isinstance(estimator, SelectiveConformalClassifier)
        and estimator.abstain_label is not None
    ):
        failures["check_classifiers_train"] = _ABSTAINS
        failures["check_classifiers_one_label_sample_weights"] = _ABSTAINS
        failures["check_classifiers_classes"] = _MINUS_ONE_IS_A_CLASS
    failures.update(EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}))
    return failures


@parametrize_with_checks(_instances(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@parametrize_with_skcalib_checks(_instances())
def test_skcalib_checks(estimator, check):
    check(estimator)


def test_registries_name_real_estimators():
    names = {name for name, _ in all_estimators()}
    assert set(ESTIMATOR_INSTANCES) <= names
    assert set(EXPECTED_FAILED_CHECKS) <= names


@pytest.mark.parametrize("estimator", _instances(), ids=repr)
def test_expected_failures_have_reasons(estimator):
    for check, reason in _expected_failed_checks(estimator).items():
        assert isinstance(reason, str) and len(reason) > 20, (estimator, check)
