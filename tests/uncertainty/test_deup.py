"""DEUPClassifier and DEUPRegressor (direct epistemic uncertainty prediction)."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import config_context
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.datasets import make_classification, make_regression
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError, UnsetMetadataPassedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    LeaveOneOut,
    ShuffleSplit,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.neighbors import (
    KNeighborsClassifier,
    KNeighborsRegressor,
    NearestNeighbors,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures
from sklearn.utils._param_validation import InvalidParameterError

from skcalib.uncertainty._deup import DEUPClassifier, DEUPRegressor

# --------------------------------------------------------------------------
# Hand-computed out-of-fold losses
# --------------------------------------------------------------------------


def test_regressor_losses_by_hand():
    # Mean predictor, leave-one-out on y = (0, 1, 2, 5) (sum 8): the
    # prediction for sample i is the mean of the others, (8 - y_i) / 3 =
    # 8/3, 7/3, 2, 1, with residuals -8/3, -4/3, 0, 4.
    X = np.arange(4.0)[:, None]
    y = np.array([0.0, 1.0, 2.0, 5.0])
    reg = DEUPRegressor(
        DummyRegressor(), error_estimator=DummyRegressor(), cv=LeaveOneOut()
    ).fit(X, y)
    np.testing.assert_allclose(reg.oof_losses_, [64 / 9, 16 / 9, 0.0, 16.0])
    assert reg.loss_ == "squared_error"
    # A constant error predictor predicts the mean loss, (80/9 + 16) / 4.
    np.testing.assert_allclose(reg.predict_total_error(X), np.full(4, 56 / 9))
    np.testing.assert_allclose(reg.predict_epistemic(X), np.full(4, 56 / 9))
    np.testing.assert_array_equal(reg.predict_aleatoric(X), np.zeros(4))
    # predict: the model refitted on all the data (mean 2).
    np.testing.assert_allclose(reg.predict(X), np.full(4, 2.0))

    reg.set_params(loss="absolute_error").fit(X, y)
    np.testing.assert_allclose(reg.oof_losses_, [8 / 3, 4 / 3, 0.0, 4.0])
    np.testing.assert_allclose(reg.predict_total_error(X[:1]), [2.0])


@pytest.mark.parametrize(
    "loss, expected",
    [
        # Leaving out a 0 leaves prior (1/4, 3/4); leaving out a 1, (1/2, 1/2).
        ("log_loss", [math.log(4)] * 2 + [math.log(2)] * 3),
        ("auto", [math.log(4)] * 2 + [math.log(2)] * 3),
        # (3/4)^2 + (3/4)^2 = 9/8 and (1/2)^2 + (1/2)^2 = 1/2.
        ("brier", [9 / 8] * 2 + [1 / 2] * 3),
        # argmax (1/4, 3/4) = 1 is wrong for a 0; the tie (1/2, 1/2) picks 0,
        # wrong for a 1.
        ("zero_one", [1.0] * 5),
    ],
)
def test_classifier_losses_by_hand(loss, expected):
    X = np.zeros((5, 1))
    y = np.array([0, 0, 1, 1, 1])
    clf = DEUPClassifier(
        DummyClassifier(strategy="prior"),
        error_estimator=DummyRegressor(),
        cv=LeaveOneOut(),
        loss=loss,
    ).fit(X, y)
    np.testing.assert_allclose(clf.oof_losses_, expected)
    np.testing.assert_allclose(clf.predict_total_error(X[:2]), [np.mean(expected)] * 2)
    np.testing.assert_allclose(clf.predict_proba(X[:1]), [[0.4, 0.6]])
    np.testing.assert_array_equal(clf.classes_, [0, 1])


def test_losses_equal_cross_val_predict():
    X, y = make_classification(300, n_features=5, n_classes=3, n_informative=3)
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    error = Ridge(alpha=1.0)
    clf = DEUPClassifier(LogisticRegression(), error_estimator=error, cv=cv)
    clf.fit(X, y)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=cv, method="predict_proba")
    losses = -np.log(proba[np.arange(300), y])
    np.testing.assert_allclose(clf.oof_losses_, losses, rtol=1e-10)
    # The error predictor is fitted on (X, losses); the model on all the data.
    manual = clone(error).fit(X, losses)
    np.testing.assert_allclose(clf.error_estimator_.coef_, manual.coef_, rtol=1e-10)
    full = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), full.predict_proba(X))

    # "input+output": the entropy of the out-of-fold probabilities is appended
    # (at fit), of the final model's probabilities (at predict).
    clf.set_params(features="input+output").fit(X, y)
    entropy = -np.sum(proba * np.log(proba), axis=1)
    manual = clone(error).fit(np.column_stack([X, entropy]), losses)
    np.testing.assert_allclose(clf.error_estimator_.coef_, manual.coef_, rtol=1e-9)
    final = full.predict_proba(X[:10])
    inputs = np.column_stack([X[:10], -np.sum(final * np.log(final), axis=1)])
    np.testing.assert_allclose(
        clf.predict_total_error(X[:10]),
        np.maximum(manual.predict(inputs), 0),
        rtol=1e-9,
    )

    Xr, yr = make_regression(200, n_features=4, noise=5.0, random_state=0)
    cv = KFold(5, shuffle=True, random_state=1)
    reg = DEUPRegressor(Ridge(), error_estimator=Ridge(), cv=cv, features="output")
    reg.fit(Xr, yr)
    pred = cross_val_predict(Ridge(), Xr, yr, cv=cv)
    np.testing.assert_allclose(reg.oof_losses_, (yr - pred) ** 2, rtol=1e-10)
    manual = Ridge().fit(pred[:, None], (yr - pred) ** 2)
    np.testing.assert_allclose(reg.error_estimator_.coef_, manual.coef_, rtol=1e-9)


def test_distance_feature_by_hand():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=60)
    cv = KFold(3)
    reg = DEUPRegressor(
        LinearRegression(),
        error_estimator=LinearRegression(),
        cv=cv,
        features="distance",
    ).fit(X, y)
    # Mean distance to the 5 nearest rows of the fold's training part.
    distance = np.zeros(60)
    for train, test in cv.split(X):
        nn = NearestNeighbors(n_neighbors=5).fit(X[train])
        distance[test] = nn.kneighbors(X[test])[0].mean(axis=1)
    manual = LinearRegression().fit(distance[:, None], reg.oof_losses_)
    np.testing.assert_allclose(reg.error_estimator_.coef_, manual.coef_, rtol=1e-10)
    # At predict time: to the 5 nearest of all training rows.
    X_new = rng.normal(size=(7, 2)) * 3
    d_new = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(X_new)[0].mean(axis=1)
    np.testing.assert_allclose(
        reg.predict_total_error(X_new),
        np.maximum(manual.predict(d_new[:, None]), 0),
        rtol=1e-10,
    )


# --------------------------------------------------------------------------
# Simulations: where the model has seen little data
# --------------------------------------------------------------------------


def _sparse_right_half(random_state, n_dense=900, n_sparse=60):
    """x dense on [-3, 0], sparse on [0, 3]."""
    rng = np.random.default_rng(random_state)
    x = np.concatenate([rng.uniform(-3, 0, n_dense), rng.uniform(0, 3, n_sparse)])
    return x[:, None], rng


_DENSE = np.linspace(-2.5, -0.5, 50)[:, None]
_SPARSE = np.linspace(0.5, 2.5, 50)[:, None]
_FAR = np.linspace(-10, -5, 50)[:, None]  # beyond the dense edge


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_regression_epistemic_higher_in_sparse_regions_and_far(random_state):
    X, rng = _sparse_right_half(random_state)
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(X.shape[0])
    model = KNeighborsRegressor(n_neighbors=10)
    by_x = DEUPRegressor(model, random_state=0).fit(X, y)
    dense = by_x.predict_epistemic(_DENSE).mean()
    # Measured about 0.01 (dense) and 0.52 (sparse).
    assert by_x.predict_epistemic(_SPARSE).mean() > 10 * dense
    # Far beyond the dense edge a tree error predictor reading x repeats its
    # prediction at that edge (measured 0.009 to 0.016): DEUP's failure mode
    # without a stationarizing feature ...
    assert by_x.predict_epistemic(_FAR).mean() < 3 * dense
    # ... that the distance to the training data removes (measured 0.44-0.56).
    by_distance = DEUPRegressor(model, features="distance", random_state=0)
    by_distance.fit(X, y)
    far = by_distance.predict_epistemic(_FAR).mean()
    assert far > 10 * by_distance.predict_epistemic(_DENSE).mean()


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_classifier_epistemic_higher_in_sparse_regions_and_far(random_state):
    X, rng = _sparse_right_half(random_state, n_dense=1500, n_sparse=100)
    y = (np.sin(3 * X[:, 0]) > 0).astype(int)
    y = np.where(rng.uniform(size=y.shape[0]) < 0.05, 1 - y, y)  # 5% noise
    clf = DEUPClassifier(
        KNeighborsClassifier(n_neighbors=15),
        loss="brier",
        features="output+distance",
        random_state=0,
    ).fit(X, y)
    dense = clf.predict_epistemic(_DENSE).mean()
    # Measured: dense 0.06-0.10, sparse 1.2-1.7, far 1.1-1.7.
    assert clf.predict_epistemic(_SPARSE).mean() > 5 * dense
    assert clf.predict_epistemic(_FAR).mean() > 5 * dense


class _NoiseVariance(RegressorMixin, BaseEstimator):
    """Known noise variance sigma(x)^2 = (0.2 + 0.3 x^2)^2 (nothing to fit)."""

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return (0.2 + 0.3 * np.asarray(X)[:, 0] ** 2) ** 2


def _heteroscedastic(random_state, n=3000):
    rng = np.random.default_rng(random_state)
    x = rng.uniform(-2, 2, n)
    y = 1 + x - x**2 + (0.2 + 0.3 * x**2) * rng.standard_normal(n)
    return x[:, None], y


_GRID = np.linspace(-1.8, 1.8, 40)[:, None]


@pytest.mark.parametrize("random_state", [0, 1])
def test_aleatoric_subtraction_with_known_noise(random_state):
    X, y = _heteroscedastic(random_state)
    noise = _NoiseVariance().predict(_GRID)
    known = FrozenEstimator(_NoiseVariance())
    # A well-specified model: its expected squared error is about the noise
    # variance, and what remains after subtracting it is small.
    quadratic = make_pipeline(PolynomialFeatures(2), LinearRegression())
    reg = DEUPRegressor(quadratic, aleatoric_estimator=known, random_state=0)
    reg.fit(X, y)
    total = reg.predict_total_error(_GRID)
    np.testing.assert_array_equal(reg.predict_aleatoric(_GRID), noise)
    np.testing.assert_array_equal(
        reg.predict_epistemic(_GRID), np.maximum(total - noise, 0)
    )
    # Measured 0.25 and 0.27 (noise of a regression of chi-square losses).
    assert np.mean(np.abs(total - noise)) < 0.35 * np.mean(noise)
    # Measured 0.03 and 0.06, against a mean noise variance of 0.385.
    assert reg.predict_epistemic(_GRID).mean() < 0.2 * noise.mean()

    # A misspecified (linear) model: the epistemic part is its squared bias.
    reg = DEUPRegressor(LinearRegression(), aleatoric_estimator=known)
    reg.set_params(random_state=0).fit(X, y)
    truth = 1 + _GRID[:, 0] - _GRID[:, 0] ** 2
    bias2 = (reg.predict(_GRID) - truth) ** 2
    epistemic = reg.predict_epistemic(_GRID)
    # Measured: correlation 0.86 and 0.94, mean 0.95 and 1.08 against 1.06.
    assert np.corrcoef(epistemic, bias2)[0, 1] > 0.8
    assert abs(epistemic.mean() - bias2.mean()) < 0.2 * bias2.mean()


def test_unfitted_aleatoric_estimator_learns_aleatoric_loss():
    X, y = _heteroscedastic(0, n=500)
    variance = _NoiseVariance().predict(X)  # a degree-4 polynomial of x
    aleatoric = make_pipeline(PolynomialFeatures(4), LinearRegression())
    reg = DEUPRegressor(aleatoric_estimator=aleatoric, random_state=0)
    reg.fit(X, y, aleatoric_loss=variance)
    assert reg.aleatoric_estimator_ is not aleatoric
    np.testing.assert_allclose(
        reg.predict_aleatoric(_GRID), _NoiseVariance().predict(_GRID), rtol=1e-8
    )


def test_no_aleatoric_estimator_means_epistemic_is_total():
    X, y = _heteroscedastic(0, n=300)
    for aleatoric in (None, "zero"):
        reg = DEUPRegressor(aleatoric_estimator=aleatoric, random_state=0).fit(X, y)
        assert reg.aleatoric_estimator_ is None
        np.testing.assert_array_equal(
            reg.predict_epistemic(_GRID), reg.predict_total_error(_GRID)
        )
        assert reg.predict_total_error(_GRID).min() >= 0


# --------------------------------------------------------------------------
# Frozen models, determinism, pass-through, classes
# --------------------------------------------------------------------------


def test_frozen_model_losses_on_the_fit_data():
    X, y = make_classification(400, n_features=4, random_state=0)
    model = LogisticRegression().fit(X[:200], y[:200])
    clf = DEUPClassifier(FrozenEstimator(model), error_estimator=Ridge())
    clf.fit(X[200:], y[200:])
    assert clf.estimator_.estimator is model
    proba = model.predict_proba(X[200:])
    np.testing.assert_allclose(
        clf.oof_losses_, -np.log(proba[np.arange(200), y[200:]]), rtol=1e-12
    )
    np.testing.assert_array_equal(clf.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="FrozenEstimator does not keep"):
        clf.set_params(features="distance").fit(X[200:], y[200:])


def test_deterministic_given_random_state_and_n_jobs():
    X, y = make_classification(300, n_features=5, random_state=0)
    model = KNeighborsClassifier(n_neighbors=10)
    first = DEUPClassifier(model, random_state=0).fit(X, y).predict_epistemic(X)
    second = DEUPClassifier(model, random_state=0, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(first, second.predict_epistemic(X))


def test_pass_through_string_labels():
    X, y = make_classification(
        300, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = DEUPClassifier(error_estimator=Ridge()).fit(X, labels)
    full = LogisticRegression().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["ant", "bee", "cat"])
    np.testing.assert_array_equal(clf.predict(X), full.predict(X))
    np.testing.assert_allclose(clf.predict_proba(X), full.predict_proba(X))
    np.testing.assert_allclose(clf.predict_log_proba(X), full.predict_log_proba(X))
    np.testing.assert_allclose(clf.decision_function(X), full.decision_function(X))
    assert clf.score(X, labels) == full.score(X, labels)
    assert not hasattr(DEUPRegressor(), "predict_proba")
    assert not hasattr(DEUPClassifier(DummyClassifier()), "decision_function")


def test_fold_without_a_class_gives_it_probability_zero():
    # Sorted labels and unshuffled folds: the first fold's model never saw
    # class 0, so the samples of class 0 in that fold have p_y = 0 and the
    # log loss of the clipped probability, -log(eps).
    X = np.linspace(0, 1, 30)[:, None]
    y = np.repeat([0, 1, 2], 10)
    clf = DEUPClassifier(
        DummyClassifier(strategy="prior"), cv=KFold(3), error_estimator=Ridge()
    ).fit(X, y)
    np.testing.assert_allclose(
        clf.oof_losses_, np.full(30, -math.log(np.finfo(float).eps))
    )


# --------------------------------------------------------------------------
# Weights, routing, input types
# --------------------------------------------------------------------------


def test_sample_weight_reaches_the_model_and_the_error_predictor():
    X, y = make_classification(200, n_features=4, random_state=0)
    weight = np.ones(200)
    weight[::4] = 0.0
    clf = DEUPClassifier(error_estimator=DummyRegressor(), cv=KFold(4))
    clf.fit(X, y, sample_weight=weight)
    # The final model: as if the zero-weight rows were absent.
    kept = LogisticRegression().fit(X[weight > 0], y[weight > 0])
    np.testing.assert_allclose(clf.estimator_.coef_, kept.coef_, rtol=1e-5)
    # The constant error predictor: the weighted mean of the losses.
    np.testing.assert_allclose(
        clf.predict_total_error(X[:1]),
        [np.average(clf.oof_losses_, weights=weight)],
    )


def test_metadata_routing_of_weights_and_groups():
    X, y = make_classification(120, n_features=4, random_state=0)
    groups = np.repeat(np.arange(6), 20)
    weight = np.random.default_rng(0).uniform(0.5, 2.0, 120)
    with config_context(enable_metadata_routing=True):
        model = LogisticRegression().set_fit_request(sample_weight=True)
        clf = DEUPClassifier(model, cv=GroupKFold(3), error_estimator=Ridge())
        clf.fit(X, y, sample_weight=weight, groups=groups)
        proba = np.zeros((120, 2))
        for train, test in GroupKFold(3).split(X, y, groups):
            fold = LogisticRegression().fit(
                X[train], y[train], sample_weight=weight[train]
            )
            proba[test] = fold.predict_proba(X[test])
        np.testing.assert_allclose(
            clf.oof_losses_, -np.log(proba[np.arange(120), y]), rtol=1e-6
        )
        # Weights passed to a model that did not request them: an error.
        unrequested = DEUPClassifier(LogisticRegression(), error_estimator=Ridge())
        with pytest.raises(UnsetMetadataPassedError):
            unrequested.fit(X, y, sample_weight=weight)


def test_sparse_and_dataframe_inputs():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(150, n_features=4, random_state=0)
    params = dict(error_estimator=Ridge(), features="input+output", cv=3)
    dense = DEUPClassifier(**params).fit(X, y)
    sparse = DEUPClassifier(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        sparse.predict_epistemic(sp.csr_matrix(X)),
        dense.predict_epistemic(X),
        rtol=1e-6,
    )
    frame = pd.DataFrame(X, columns=list("abcd"))
    named = DEUPClassifier(**params).fit(frame, y)
    np.testing.assert_array_equal(named.feature_names_in_, list("abcd"))
    np.testing.assert_allclose(
        named.predict_epistemic(frame), dense.predict_epistemic(X), rtol=1e-10
    )


def test_inputs_not_modified():
    X, y = make_regression(100, n_features=3, random_state=0)
    weight = np.ones(100)
    copies = X.copy(), y.copy(), weight.copy()
    reg = DEUPRegressor(features="input+output+distance", random_state=0)
    reg.fit(X, y, sample_weight=weight)
    reg.predict_epistemic(X)
    for a, b in zip((X, y, weight), copies, strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_errors():
    X, y = make_regression(60, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="requires y to be passed"):
        DEUPRegressor().fit(X, None)
    with pytest.raises(InvalidParameterError, match="loss"):
        DEUPRegressor(loss="log_loss").fit(X, y)
    with pytest.raises(InvalidParameterError, match="loss"):
        DEUPClassifier(loss="squared_error").fit(X, y > 0)
    with pytest.raises(InvalidParameterError, match="features"):
        DEUPRegressor(features="output+input").fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        DEUPClassifier().fit(X, y)
    with pytest.raises(ValueError, match="exactly one test fold"):
        DEUPRegressor(cv=ShuffleSplit(3, random_state=0)).fit(X, y)
    with pytest.raises(ValueError, match="would be unused"):
        DEUPRegressor().fit(X, y, aleatoric_loss=np.ones(60))
    with pytest.raises(ValueError, match="pass fit\\(..., aleatoric_loss=...\\)"):
        DEUPRegressor(aleatoric_estimator=LinearRegression()).fit(X, y)
    with pytest.raises(ValueError, match="non-negative losses"):
        DEUPRegressor(aleatoric_estimator=LinearRegression()).fit(
            X, y, aleatoric_loss=-np.ones(60)
        )
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        DEUPRegressor().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(NotFittedError):
        DEUPRegressor().predict_epistemic(X)
    reg = DEUPRegressor(error_estimator=HistGradientBoostingRegressor(max_iter=5))
    reg.fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features"):
        reg.predict_epistemic(X[:, :2])
    with pytest.raises(ValueError, match="Reshape your data"):
        reg.predict_total_error(X[0])
