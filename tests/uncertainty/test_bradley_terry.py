"""Tests for BradleyTerryConfidence (Bradley-Terry MLE and Elo)."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from scipy.stats import spearmanr

from skcalib.metrics import aurc, selective_auc
from skcalib.uncertainty._bradley_terry import BradleyTerryConfidence
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace


def simulate(strengths, n_comparisons, rng):
    """Comparisons of random pairs under Bradley-Terry, winner first."""
    n = strengths.shape[0]
    a = rng.integers(n, size=n_comparisons)
    b = (a + rng.integers(1, n, size=n_comparisons)) % n
    a_wins = rng.uniform(size=n_comparisons) < expit(strengths[a] - strengths[b])
    return np.where(a_wins[:, None], np.stack([a, b], 1), np.stack([b, a], 1))


def penalised_nll(s, pairs, y, w, alpha):
    d = s[pairs[:, 0]] - s[pairs[:, 1]]
    nll = -(w * (y * log_expit(d) + (1 - y) * log_expit(-d))).sum()
    return nll + 0.5 * alpha * s @ s


# ---------------------------------------------------------------- hand-checked
def test_three_items_closed_form():
    # 0 beats 1 twice, 1 beats 2 twice, 0 and 2 beat each other once. By
    # symmetry s = (x, 0, -x); the score equation 4 (1 - sigma(x)) + 2 -
    # 4 sigma(2x) = 0 becomes t^3 - t^2 - t - 3 = 0 for t = e^x.
    pairs = np.array([[0, 1], [0, 1], [1, 2], [1, 2], [0, 2], [2, 0]])
    bt = BradleyTerryConfidence(alpha=0).fit(pairs)
    roots = np.roots([1, -1, -1, -3])
    x = math.log(roots[np.abs(roots.imag) < 1e-12].real[0])
    np.testing.assert_allclose(bt.scores_, [x, 0, -x], atol=1e-10)
    np.testing.assert_allclose(bt.confidence_, expit([x, 0, -x]), atol=1e-10)
    np.testing.assert_allclose(
        bt.predict_proba(np.array([[0, 2], [1, 0]])), expit([2 * x, -x]), atol=1e-10
    )


def test_two_items_is_log_odds():
    # a wins 3 times out of 4: s_0 - s_1 = log(3), centred.
    pairs = np.array([[0, 1], [0, 1], [0, 1], [1, 0]])
    bt = BradleyTerryConfidence(alpha=0).fit(pairs)
    np.testing.assert_allclose(bt.scores_, [math.log(3) / 2, -math.log(3) / 2])
    np.testing.assert_allclose(bt.predict_proba(np.array([[0, 1]])), [0.75])


@pytest.mark.parametrize("alpha", [0.0, 0.05, 1.0])
def test_matches_scipy_minimize(alpha):
    rng = np.random.default_rng(0)
    pairs = simulate(rng.normal(size=6), 60, rng)
    y = rng.choice([0.0, 0.5, 1.0], size=60, p=[0.2, 0.1, 0.7])
    w = rng.uniform(0.5, 2.0, size=60)
    bt = BradleyTerryConfidence(alpha=alpha, tol=1e-12).fit(pairs, y, sample_weight=w)
    ref = minimize(
        penalised_nll,
        np.zeros(6),
        args=(pairs, y, w, alpha),
        method="BFGS",
        options={"gtol": 1e-12},
    ).x
    ref -= ref.mean()
    np.testing.assert_allclose(bt.scores_, ref, atol=1e-6)


def test_elo_by_hand():
    # Equal ratings: the winner of the first match gains k / 2 = 16 points.
    # Second match, 1 (at -16) beats 2 (at 0): E = 1 / (1 + 10^(16/400)).
    pairs = np.array([[0, 1], [1, 2]])
    elo = BradleyTerryConfidence(method="elo").fit(pairs)
    gain = 32 * (1 - 1 / (1 + 10 ** (16 / 400)))
    ratings = np.array([16.0, -16.0 + gain, -gain])
    expected = (ratings - ratings.mean()) * math.log(10) / 400
    np.testing.assert_allclose(elo.scores_, expected, rtol=1e-12)
    # predict_proba is Elo's expected score
    np.testing.assert_allclose(
        elo.predict_proba(np.array([[0, 2]])),
        1 / (1 + 10 ** ((ratings[2] - ratings[0]) / 400)),
        rtol=1e-12,
    )


# ------------------------------------------------------------------ behaviour
def test_outcomes_weights_and_orientation():
    rng = np.random.default_rng(1)
    pairs = simulate(rng.normal(size=5), 40, rng)
    ref = BradleyTerryConfidence().fit(pairs)
    # (a, b) with y = 0 is (b, a) with y = 1
    flipped = BradleyTerryConfidence().fit(pairs[:, ::-1], np.zeros(40))
    np.testing.assert_allclose(flipped.scores_, ref.scores_, atol=1e-9)
    # integer weights count repeated comparisons
    w = rng.integers(1, 4, size=40)
    weighted = BradleyTerryConfidence().fit(pairs, sample_weight=w)
    repeated = BradleyTerryConfidence().fit(np.repeat(pairs, w, axis=0))
    np.testing.assert_allclose(weighted.scores_, repeated.scores_, atol=1e-9)
    # a tie is half a win each way
    tie = BradleyTerryConfidence(alpha=0).fit(
        np.array([[0, 1], [1, 2], [2, 0]]), np.array([0.5, 0.5, 0.5])
    )
    np.testing.assert_allclose(tie.scores_, 0.0, atol=1e-12)


def test_prior_handles_undominated_and_unseen_items():
    # Item 0 always wins, item 3 is never compared.
    pairs = np.array([[0, 1], [0, 2], [1, 2], [2, 1], [0, 1]])
    with pytest.raises(ValueError, match="does not exist.*alpha > 0"):
        BradleyTerryConfidence(alpha=0, n_items=3).fit(pairs)
    bt = BradleyTerryConfidence(alpha=0.1, n_items=4).fit(pairs)
    assert np.all(np.isfinite(bt.scores_))
    assert bt.scores_[0] == bt.scores_.max()
    assert bt.scores_[3] == pytest.approx(0.0, abs=1e-9)  # the prior mean
    assert bt.confidence_[3] == pytest.approx(0.5)
    assert bt.scores_.mean() == pytest.approx(0.0, abs=1e-9)
    # a weaker prior spreads the scores more
    weak = BradleyTerryConfidence(alpha=0.01, n_items=4).fit(pairs)
    assert weak.scores_[0] > bt.scores_[0]


def test_predict_proba_and_decision_function():
    rng = np.random.default_rng(2)
    pairs = simulate(rng.normal(size=8), 80, rng)
    bt = BradleyTerryConfidence().fit(pairs)
    query = np.array([[0, 1], [1, 0], [3, 7], [5, 5]])
    logit = bt.decision_function(query)
    np.testing.assert_allclose(logit, bt.scores_[query[:, 0]] - bt.scores_[query[:, 1]])
    proba = bt.predict_proba(query[:3])
    np.testing.assert_allclose(proba, expit(logit[:3]))
    assert proba[0] + proba[1] == pytest.approx(1.0)
    np.testing.assert_array_equal(
        np.argsort(bt.confidence_, kind="stable"), np.argsort(bt.scores_, kind="stable")
    )


def test_elo_order_dependence_and_random_state():
    rng = np.random.default_rng(3)
    pairs = simulate(rng.normal(size=10), 200, rng)
    forward = BradleyTerryConfidence(method="elo").fit(pairs).scores_
    backward = BradleyTerryConfidence(method="elo").fit(pairs[::-1]).scores_
    assert not np.allclose(forward, backward)  # Elo depends on the order
    bt_fwd = BradleyTerryConfidence().fit(pairs).scores_
    bt_bwd = BradleyTerryConfidence().fit(pairs[::-1]).scores_
    np.testing.assert_allclose(bt_fwd, bt_bwd, atol=1e-9)  # Bradley-Terry does not
    params = {"method": "elo", "shuffle": True, "n_epochs": 3}
    a = BradleyTerryConfidence(**params, random_state=0).fit(pairs).scores_
    b = BradleyTerryConfidence(**params, random_state=0).fit(pairs).scores_
    c = BradleyTerryConfidence(**params, random_state=1).fit(pairs).scores_
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


# ------------------------------------------------------------------ statistics
def _spearman_bt(n_comparisons, seeds, n_items=40):
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        strengths = rng.normal(size=n_items)
        pairs = simulate(strengths, n_comparisons, rng)
        out.append(spearmanr(BradleyTerryConfidence().fit(pairs).scores_, strengths)[0])
    return float(np.mean(out))


def test_recovers_strengths_better_with_more_comparisons():
    rho = {n: _spearman_bt(n, range(3)) for n in (100, 400, 3200)}
    assert rho[100] < rho[400] < rho[3200], rho
    assert rho[3200] > 0.95, rho


def test_elo_agrees_with_bradley_terry_on_strong_signal():
    rng = np.random.default_rng(4)
    strengths = rng.normal(scale=2.0, size=30)
    pairs = simulate(strengths, 6000, rng)
    bt = BradleyTerryConfidence().fit(pairs).scores_
    elo = BradleyTerryConfidence(method="elo", k_factor=16).fit(pairs).scores_
    assert spearmanr(bt, elo)[0] > 0.9
    assert spearmanr(elo, strengths)[0] > 0.9


def test_confidence_ranks_correct_answers_first():
    # Relative confidence estimation: the model answers item i correctly with
    # probability sigmoid(c_i) and prefers the item it is more confident in
    # under Bradley-Terry with strengths c. The fitted confidences must give
    # a lower AURC (higher selective AUC) than random confidences.
    results = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        c = rng.normal(scale=1.5, size=300)
        correct = rng.uniform(size=300) < expit(c)
        y_true, y_pred = np.ones(300, int), correct.astype(int)
        pairs = simulate(c, 300 * 5, rng)  # each item in about 10 matchups
        bt = BradleyTerryConfidence().fit(pairs).confidence_
        elo = BradleyTerryConfidence(method="elo").fit(pairs).confidence_
        random = rng.uniform(size=300)
        results.append(
            [
                aurc(y_true, y_pred, bt),
                aurc(y_true, y_pred, elo),
                aurc(y_true, y_pred, random),
                aurc(y_true, y_pred, c),
                selective_auc(y_true, y_pred, bt),
                selective_auc(y_true, y_pred, random),
            ]
        )
    bt_aurc, elo_aurc, random_aurc, oracle_aurc, bt_auc, random_auc = np.mean(
        results, axis=0
    )
    assert bt_aurc < random_aurc - 0.1, results
    assert elo_aurc < random_aurc - 0.05, results
    assert bt_aurc < oracle_aurc + 0.08, results
    assert bt_auc > random_auc + 0.1, results
    assert all(r[0] < r[2] for r in results)


@pytest.mark.slow
def test_recovery_many_seeds():
    sizes = (100, 200, 400, 800, 1600, 6400)
    rho = [_spearman_bt(n, range(10), n_items=60) for n in sizes]
    assert np.all(np.diff(rho) > 0), rho
    assert rho[-1] > 0.97, rho


# --------------------------------------------------------------------- inputs
def test_deterministic_and_inputs_untouched():
    rng = np.random.default_rng(5)
    pairs = simulate(rng.normal(size=6), 50, rng)
    y = rng.uniform(size=50)
    pairs_copy, y_copy = pairs.copy(), y.copy()
    first = BradleyTerryConfidence().fit(pairs, y)
    second = BradleyTerryConfidence().fit(pairs, y)
    np.testing.assert_array_equal(first.scores_, second.scores_)
    np.testing.assert_array_equal(pairs, pairs_copy)
    np.testing.assert_array_equal(y, y_copy)
    first.predict_proba(pairs)
    np.testing.assert_array_equal(pairs, pairs_copy)


def test_float32_outcomes_and_lists():
    pairs = [[0, 1], [1, 2], [2, 0], [0, 2]]
    bt = BradleyTerryConfidence().fit(pairs, np.ones(4, dtype=np.float32))
    assert bt.scores_.dtype == np.float32
    ref = BradleyTerryConfidence().fit(np.array(pairs, dtype=float))
    np.testing.assert_allclose(bt.scores_, ref.scores_, atol=1e-5)
    assert ref.n_items_ == 3 and ref.n_features_in_ == 2


@pytest.mark.parametrize(
    ("pairs", "y", "params", "match"),
    [
        (np.array([[0, 1, 2]]), None, {}, "shape \\(n_comparisons, 2\\)"),
        (np.array([[0.5, 1.0]]), None, {}, "integer item indices"),
        (np.array([[0, -1]]), None, {}, "indices >= 0"),
        (np.array([[0, 4]]), None, {"n_items": 3}, "item index 4 but n_items=3"),
        (np.array([[0, 1], [2, 2]]), None, {}, "with itself \\(row 1: item 2\\)"),
        (np.array([[0, 1]]), np.array([1.5]), {}, "outcomes in \\[0, 1\\]"),
        (np.array([[0, 1]]), np.array([1.0, 0.0]), {}, "y must have shape \\(1,\\)"),
        (np.array([[0, np.nan]]), None, {}, "NaN"),
        (np.zeros((0, 2), dtype=int), None, {}, "0 sample"),
    ],
)
def test_fit_errors(pairs, y, params, match):
    with pytest.raises(ValueError, match=match):
        BradleyTerryConfidence(**params).fit(pairs, y)


def test_predict_errors():
    bt = BradleyTerryConfidence().fit(np.array([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match="item index 3 but n_items=3"):
        bt.predict_proba(np.array([[0, 3]]))


# ------------------------------------------------------------------ array API
def _outputs(pairs, y, w, method):
    bt = BradleyTerryConfidence(method=method).fit(pairs, y, sample_weight=w)
    query = pairs[:7, ...]
    return (
        bt.scores_,
        bt.confidence_,
        bt.predict_proba(query),
        bt.decision_function(query),
    )


@pytest.mark.parametrize("method", ["bradley_terry", "elo"])
@pytest.mark.parametrize("combination", array_api_combinations())
def test_array_api(combination, method):
    rng = np.random.default_rng(6)
    pairs = simulate(rng.normal(size=8), 60, rng)
    y = rng.choice([0.0, 0.5, 1.0], size=60)
    w = rng.uniform(0.5, 2.0, size=60)
    tol = {"rtol": 1e-4, "atol": 1e-4} if combination[2] == "float32" else {}
    assert_same_on_namespace(
        lambda p, y, w: _outputs(p, y, w, method),
        (pairs, y, w),
        combination=combination,
        **tol,
    )
