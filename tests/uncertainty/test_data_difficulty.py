"""EL2N scores (el2n_score) and DataDifficultyScorer."""

import math

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcalib.metrics._calibration import brier_score
from skcalib.metrics._data_quality import el2n_score
from skcalib.uncertainty._data_difficulty import DataDifficultyScorer, _seeded
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

# --------------------------------------------------------------------------
# el2n_score
# --------------------------------------------------------------------------


def test_el2n_by_hand():
    y_prob = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.0, 0.0, 1.0]])
    # ||(.7, .2, .1) - (1, 0, 0)|| = sqrt(.09 + .04 + .01) = sqrt(.14)
    # ||(.7, .2, .1) - (0, 1, 0)|| = sqrt(.49 + .64 + .01) = sqrt(1.14)
    np.testing.assert_allclose(
        el2n_score([0, 1, 2], y_prob), [math.sqrt(0.14), math.sqrt(1.14), 0.0]
    )
    # The largest possible value: all mass on another class.
    np.testing.assert_allclose(el2n_score([0], [[0.0, 1.0]]), [math.sqrt(2)])


def test_el2n_stack_averages_norms_over_models():
    first = np.array([[0.6, 0.4], [0.1, 0.9]])
    second = np.array([[1.0, 0.0], [0.5, 0.5]])
    y = [0, 0]
    # Norms: model 1 (.4 sqrt2, .9 sqrt2), model 2 (0, .5 sqrt2).
    expected = math.sqrt(2) * np.array([0.2, 0.7])
    np.testing.assert_allclose(el2n_score(y, np.stack([first, second])), expected)
    # The mean of the norms, not the norm of the mean probabilities: two models
    # wrong in different directions, each at distance sqrt(.5) from (1, 0, 0);
    # their mean (.5, .25, .25) is only sqrt(.375) away.
    stack = np.array([[[0.5, 0.5, 0.0]], [[0.5, 0.0, 0.5]]])
    np.testing.assert_allclose(el2n_score([0], stack), [math.sqrt(0.5)])
    np.testing.assert_allclose(el2n_score([0], stack.mean(axis=0)), [math.sqrt(0.375)])
    # One model in a stack is the same as the matrix.
    np.testing.assert_array_equal(el2n_score(y, first[None]), el2n_score(y, first))


def test_el2n_binary_vector_and_labels():
    # A 1-D y_prob is P(pos_label): the two-column norm sqrt(2) |p - 1[y=pos]|.
    p = np.array([0.9, 0.2, 0.5])
    y = np.array([1, 1, 0])
    np.testing.assert_allclose(
        el2n_score(y, p), math.sqrt(2) * np.array([0.1, 0.8, 0.5])
    )
    np.testing.assert_allclose(
        el2n_score(["b", "b", "a"], p, pos_label="b"), el2n_score(y, p)
    )
    two_col = np.stack([1 - p, p], axis=1)
    np.testing.assert_allclose(
        el2n_score(["yes", "yes", "no"], two_col, labels=["no", "yes"]),
        el2n_score(y, p),
    )
    # Nested lists are accepted, stacks too.
    np.testing.assert_allclose(
        el2n_score(y, two_col[None].tolist()), el2n_score(y, two_col)
    )


def test_el2n_is_the_root_of_the_per_sample_brier_score():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=50)
    y = rng.integers(0, 4, size=50)
    y[:4] = np.arange(4)
    np.testing.assert_allclose(
        np.mean(el2n_score(y, proba) ** 2), brier_score(y, proba), rtol=1e-12
    )


def test_el2n_errors():
    with pytest.raises(ValueError, match="y_prob must hold probabilities whose rows"):
        el2n_score([0, 1], np.array([[[0.5, 0.6], [0.5, 0.5]]]))
    with pytest.raises(ValueError, match="y_prob must hold probabilities in"):
        el2n_score([0, 1], np.array([[1.5, -0.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="at least one model"):
        el2n_score([0, 1], np.zeros((0, 2, 2)))
    with pytest.raises(ValueError, match="Inconsistent numbers of samples"):
        el2n_score([0, 1, 1], np.full((2, 2, 2), 0.5))
    with pytest.raises(ValueError, match="must have 1, 2 or 3 dimensions"):
        el2n_score([0], np.full((1, 1, 1, 2), 0.5))


def test_el2n_does_not_modify_inputs():
    y_prob = np.array([[[0.6, 0.4], [0.1, 0.9]]])
    y = np.array([0, 1])
    copy_prob, copy_y = y_prob.copy(), y.copy()
    el2n_score(y, y_prob)
    np.testing.assert_array_equal(y_prob, copy_prob)
    np.testing.assert_array_equal(y, copy_y)


@pytest.mark.parametrize("combination", array_api_combinations())
def test_el2n_array_api(combination):
    rng = np.random.default_rng(0)
    stack = rng.dirichlet(np.ones(3), size=(4, 60))
    y = rng.integers(0, 3, size=60)

    def run(y, stack):
        return {"stack": el2n_score(y, stack), "one": el2n_score(y, stack[0, ...])}

    assert_same_on_namespace(run, [y, stack], combination=combination)


# --------------------------------------------------------------------------
# DataDifficultyScorer
# --------------------------------------------------------------------------


def _noisy_data(n=400, noise=0.1, seed=0):
    X, y = make_classification(
        n,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    flipped = rng.choice(n, size=round(noise * n), replace=False)
    y_noisy = y.copy()
    y_noisy[flipped] = (y[flipped] + rng.integers(1, 3, flipped.size)) % 3
    return X, y_noisy, flipped


def test_mislabelled_samples_score_higher():
    X, y, flipped = _noisy_data()
    scorer = DataDifficultyScorer(LogisticRegression(), n_fits=3, random_state=0)
    scores = scorer.fit(X, y).scores_
    clean = np.setdiff1d(np.arange(y.size), flipped)
    assert scores[flipped].mean() > 3 * scores[clean].mean()
    # Ranking quality: a random flipped sample outscores a random clean one
    # (the AUROC of the score as a noise detector) far more often than 1/2.
    auroc = np.mean(scores[flipped][:, None] > scores[clean][None, :])
    assert auroc > 0.95, auroc
    # The top decile is mostly noise (10% flipped overall).
    top = np.argsort(-scores)[: flipped.size]
    assert np.isin(top, flipped).mean() > 0.8


@pytest.mark.parametrize("seed", range(5))
def test_mislabelled_samples_score_higher_many_seeds(seed):
    X, y, flipped = _noisy_data(n=1000, seed=seed)
    scores = DataDifficultyScorer(n_fits=5, random_state=seed).fit(X, y).scores_
    clean = np.setdiff1d(np.arange(y.size), flipped)
    auroc = np.mean(scores[flipped][:, None] > scores[clean][None, :])
    assert auroc > 0.95, auroc


def test_scores_are_el2n_of_the_stored_probabilities():
    X, y, _ = _noisy_data(n=200)
    scorer = DataDifficultyScorer(GaussianNB(), n_fits=3, cv=4, random_state=1)
    scorer.fit(X, y)
    assert scorer.pred_proba_.shape == (3, 200, 3)
    np.testing.assert_array_equal(scorer.scores_, el2n_score(y, scorer.pred_proba_))
    np.testing.assert_array_equal(scorer.classes_, [0, 1, 2])
    assert scorer.n_features_in_ == 6
    # Every repetition reshuffles the folds: the probabilities differ.
    assert not np.allclose(scorer.pred_proba_[0], scorer.pred_proba_[1])
    # Each repetition is a plain cross_val_predict with shuffled stratified
    # folds seeded from random_state.
    seeds = np.random.RandomState(1).randint(np.iinfo(np.int32).max, size=3)
    expected = cross_val_predict(
        GaussianNB(),
        X,
        y,
        cv=StratifiedKFold(4, shuffle=True, random_state=int(seeds[2])),
        method="predict_proba",
    )
    np.testing.assert_array_equal(scorer.pred_proba_[2], expected)


def test_deterministic_given_random_state():
    X, y, _ = _noisy_data(n=200)
    model = RandomForestClassifier(n_estimators=10)
    first = DataDifficultyScorer(model, n_fits=2, random_state=3).fit(X, y)
    second = DataDifficultyScorer(model, n_fits=2, random_state=3).fit(X, y)
    np.testing.assert_array_equal(first.scores_, second.scores_)
    other = DataDifficultyScorer(model, n_fits=2, random_state=4).fit(X, y)
    assert not np.array_equal(first.scores_, other.scores_)
    # The user's estimator is not modified (clones are reseeded).
    assert model.random_state is None


def test_seeded_reaches_nested_random_states():
    pipe = make_pipeline(StandardScaler(), RandomForestClassifier())
    seeded = _seeded(pipe, 7)
    assert seeded.get_params()["randomforestclassifier__random_state"] == 7
    assert _seeded(GaussianNB(), 7).get_params() == GaussianNB().get_params()


def test_given_splitter_is_used_in_every_repetition():
    X, y, _ = _noisy_data(n=200)
    cv = KFold(4, shuffle=True, random_state=0)
    scorer = DataDifficultyScorer(GaussianNB(), n_fits=2, cv=cv).fit(X, y)
    # GaussianNB has no seed and the folds are fixed: identical repetitions.
    np.testing.assert_array_equal(scorer.pred_proba_[0], scorer.pred_proba_[1])
    expected = cross_val_predict(GaussianNB(), X, y, cv=cv, method="predict_proba")
    np.testing.assert_array_equal(scorer.scores_, el2n_score(y, expected))


def test_frozen_estimator_scores_its_probabilities_once():
    X, y, _ = _noisy_data(n=200)
    model = LogisticRegression().fit(X, y)
    scorer = DataDifficultyScorer(FrozenEstimator(model), n_fits=4).fit(X, y)
    assert scorer.pred_proba_.shape == (1, 200, 3)
    np.testing.assert_array_equal(scorer.scores_, el2n_score(y, model.predict_proba(X)))


def test_string_labels_and_fit_params():
    X, y, _ = _noisy_data(n=200)
    names = np.array(["ant", "bee", "cow"])[y]
    a = DataDifficultyScorer(n_fits=2, random_state=0).fit(X, names)
    b = DataDifficultyScorer(n_fits=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.classes_, ["ant", "bee", "cow"])
    np.testing.assert_allclose(a.scores_, b.scores_)
    weight = np.where(y == 0, 5.0, 1.0)
    weighted = DataDifficultyScorer(n_fits=2, random_state=0).fit(
        X, y, sample_weight=weight
    )
    assert not np.allclose(weighted.scores_, b.scores_)


def test_keep_mask():
    X, y, _ = _noisy_data(n=200)
    scorer = DataDifficultyScorer(GaussianNB(), n_fits=1, random_state=0).fit(X, y)
    order = np.argsort(-scorer.scores_, kind="stable")
    mask = scorer.keep_mask(0.3, offset=0.1)
    assert mask.sum() == 60
    np.testing.assert_array_equal(np.flatnonzero(mask), np.sort(order[20:80]))
    assert scorer.keep_mask(1.0).all()
    # Ties: lower index first.
    scorer.scores_ = np.array([1.0, 2.0, 2.0, 0.5])
    np.testing.assert_array_equal(scorer.keep_mask(0.5), [False, True, True, False])
    np.testing.assert_array_equal(
        scorer.keep_mask(0.25, offset=0.25), [False, False, True, False]
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"keep_fraction": 0.0}, r"keep_fraction must be a float in \(0, 1\]"),
        ({"keep_fraction": 1.2}, r"keep_fraction must be a float in \(0, 1\]"),
        ({"keep_fraction": 0.5, "offset": 1.0}, r"offset must be a float in \[0, 1\)"),
        ({"keep_fraction": 0.6, "offset": 0.5}, "must not exceed 1"),
    ],
)
def test_keep_mask_errors(kwargs, match):
    scorer = DataDifficultyScorer()
    with pytest.raises(NotFittedError):
        scorer.keep_mask(0.5)
    scorer.scores_ = np.arange(10.0)
    with pytest.raises(ValueError, match=match):
        scorer.keep_mask(**kwargs)


def test_fit_errors():
    X, y, _ = _noisy_data(n=100)
    with pytest.raises(ValueError, match="requires y to be passed"):
        DataDifficultyScorer().fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type"):
        DataDifficultyScorer().fit(X, np.linspace(0, 1, 100))
    with pytest.raises(ValueError, match="n_fits"):
        DataDifficultyScorer(n_fits=0).fit(X, y)


def test_inputs_not_modified():
    X, y, _ = _noisy_data(n=100)
    X_copy, y_copy = X.copy(), y.copy()
    DataDifficultyScorer(n_fits=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
