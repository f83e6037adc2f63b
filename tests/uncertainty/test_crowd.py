"""Tests for TopTwoCrowdAggregator (top-two model, Jeong & Chung 2023)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skcalib.uncertainty._crowd import TopTwoCrowdAggregator


def simulate(
    n_tasks, n_workers, n_classes, rng, *, p=None, q_range=(0.55, 0.85), answer_rate=0.6
):
    """Answers drawn from the top-two model; -1 marks missing answers."""
    g = rng.integers(n_classes, size=n_tasks)
    h = (g + rng.integers(1, n_classes, size=n_tasks)) % n_classes
    q = rng.uniform(*q_range, size=n_tasks)
    if p is None:
        p = rng.uniform(0.1, 0.9, size=n_workers)
    top = rng.uniform(size=(n_tasks, n_workers)) < p[None, :]
    first = rng.uniform(size=(n_tasks, n_workers)) < q[:, None]
    guess = rng.integers(n_classes, size=(n_tasks, n_workers))
    A = np.where(top, np.where(first, g[:, None], h[:, None]), guess)
    A = np.where(rng.uniform(size=A.shape) < answer_rate, A, -1)
    return A, g, h, q, p


def majority_vote(A, n_classes):
    return np.array([np.bincount(r[r >= 0], minlength=n_classes).argmax() for r in A])


def recovery_errors(n_workers, seeds, n_tasks=240):
    """Mean over seeds of (top-two error rate, confusion MAE)."""
    errors = []
    for seed in seeds:
        A, g, h, q, _ = simulate(n_tasks, n_workers, 4, np.random.default_rng(seed))
        agg = TopTwoCrowdAggregator().fit(A)
        wrong = (agg.top_two_[:, 0] != g) | (agg.top_two_[:, 1] != h)
        errors.append([wrong.mean(), np.abs(agg.confusion_ - (1 - q)).mean()])
    return np.mean(errors, axis=0)


# ---------------------------------------------------------------- hand-checked
def test_confusion_mle_by_hand():
    # K = 3 and every reliability 1/2: r = K p / (1 - p) = 3. Three answers on
    # choice 0 and one on choice 1: the task log-likelihood in q is
    # 3 log(1 + 3q) + log(1 + 3(1 - q)) + const, stationary where
    # 9 / (1 + 3q) = 3 / (4 - 3q), i.e. q = 11/12.
    A = np.array([[0, 0, 0, 1, 2], [1, 1, 2, 2, 0], [2, 0, 2, 1, 2]])
    agg = TopTwoCrowdAggregator().fit(A)
    agg.worker_reliability_ = np.full(5, 0.5)
    proba = agg.predict_proba(np.array([[0, 0, 0, 1, -1]]))
    np.testing.assert_allclose(proba, [[11 / 12, 1 / 12, 0.0]], rtol=1e-10)
    assert agg.predict(np.array([[0, 0, 0, 1, -1]])).tolist() == [0]
    # One answer each on 1 and 2 and two on 0: the pair (0, 1) ties with
    # (0, 2) and goes to the smaller index; q solves 6 / (1 + 3q) = 3 / (4 - 3q).
    proba = agg.predict_proba(np.array([[0, 0, 1, 2, -1]]))
    np.testing.assert_allclose(proba, [[7 / 9, 2 / 9, 0.0]], rtol=1e-10)


def test_tiny_fit_by_hand():
    # Workers 0-3 always answer among the top two of the task (their
    # reliability goes to the upper bound 0.999); worker 4 answers outside
    # the estimated top two or on the confusing answer (lower bound 0.001).
    A = np.array([[0, 0, 0, 1, 2], [1, 1, 1, 1, 0], [2, 2, 0, 2, -1], [0, 1, 0, 0, 0]])
    agg = TopTwoCrowdAggregator().fit(A)
    np.testing.assert_array_equal(agg.top_two_, [[0, 1], [1, 0], [2, 0], [0, 1]])
    np.testing.assert_allclose(agg.worker_reliability_, [0.999] * 4 + [0.001])
    # Three reliable answers on the top answer, one on the second, all with
    # r = 3 * 0.999 / 0.001: q = (3 (1 + r) - 1) / (4 r) (worker 4's answer on
    # task 3 barely counts, r = 3 * 0.001 / 0.999).
    r = 3 * 0.999 / 0.001
    q0 = (3 * (1 + r) - 1) / (4 * r)
    np.testing.assert_allclose(agg.confusion_[[0, 2]], 1 - q0, rtol=1e-9)
    # Task 1: four reliable answers on 1, the spammer's on 0: q at its bound.
    np.testing.assert_allclose(agg.confusion_[1], 0.001)
    np.testing.assert_array_equal(agg.predict(A), [0, 1, 2, 0])


def test_spectral_stage_recovers_top_answers():
    # The paper's first stage alone, on an easy crowd, finds the true answers.
    A, g, _, _, _ = simulate(
        200, 40, 4, np.random.default_rng(0), q_range=(0.8, 1.0), answer_rate=1.0
    )
    idx = np.where(A >= 0, A, -1)
    first, second = TopTwoCrowdAggregator._spectral_top_two(idx, 4)
    assert (first == g).mean() > 0.95
    assert np.all(first != second)


# ------------------------------------------------------------------ statistics
def test_recovery_improves_with_workers():
    seeds = range(3)
    errors = {n: recovery_errors(n, seeds) for n in (8, 24, 72)}
    for small, large in ((8, 24), (24, 72)):
        # top-two error and confusion error fall (tolerance 0.02)
        assert np.all(errors[large] <= errors[small] + 0.02), errors
    assert errors[72][0] < 0.5 * errors[8][0], errors
    assert errors[72][1] < 0.7 * errors[8][1], errors


@pytest.mark.slow
def test_recovery_improves_with_workers_many_seeds():
    seeds = range(10)
    errors = {n: recovery_errors(n, seeds, n_tasks=500) for n in (6, 12, 24, 48, 96)}
    sizes = sorted(errors)
    for small, large in zip(sizes[:-1], sizes[1:], strict=True):
        assert np.all(errors[large] <= errors[small] + 0.01), errors
    assert errors[96][0] < 0.3 * errors[6][0], errors


def test_beats_majority_vote_with_spammers():
    gains = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        n_workers = 15
        good = rng.uniform(size=n_workers) < 0.3
        p = np.where(good, rng.uniform(0.7, 0.95, n_workers), rng.uniform(0, 0.1, 15))
        A, g, _, _, p = simulate(
            400, n_workers, 4, rng, p=p, q_range=(0.6, 1.0), answer_rate=1.0
        )
        agg = TopTwoCrowdAggregator().fit(A)
        ours = (agg.predict(A) == g).mean()
        vote = (majority_vote(A, 4) == g).mean()
        assert ours > vote, (seed, ours, vote)
        gains.append(ours - vote)
        # reliable workers are told apart from spammers
        assert (
            agg.worker_reliability_[good].min() > agg.worker_reliability_[~good].max()
        )
    assert np.mean(gains) > 0.05


def test_worker_reliability_recovered():
    A, _, _, _, p = simulate(400, 30, 5, np.random.default_rng(3), answer_rate=0.8)
    agg = TopTwoCrowdAggregator().fit(A)
    assert np.corrcoef(agg.worker_reliability_, p)[0, 1] > 0.95
    assert np.abs(agg.worker_reliability_ - p).mean() < 0.06


# ------------------------------------------------------------------ behaviour
def _crowd(seed=0):
    A, *_ = simulate(60, 12, 4, np.random.default_rng(seed))
    return A


def test_missing_encodings_agree():
    A = _crowd()
    ref = TopTwoCrowdAggregator().fit(A)
    A_nan = np.where(A < 0, np.nan, A.astype(float))
    other = TopTwoCrowdAggregator(missing_value=None).fit(A_nan)
    shifted = TopTwoCrowdAggregator(missing_value=0).fit(np.where(A < 0, 0, A + 1))
    for est, offset in ((other, 0), (shifted, 1)):
        np.testing.assert_array_equal(est.top_two_, ref.top_two_ + offset)
        np.testing.assert_allclose(est.confusion_, ref.confusion_)
        np.testing.assert_allclose(est.worker_reliability_, ref.worker_reliability_)


def test_more_missing_answers_still_fit():
    A, g, *_ = simulate(300, 40, 4, np.random.default_rng(1), answer_rate=0.15)
    agg = TopTwoCrowdAggregator().fit(A)
    assert (agg.predict(A) == g).mean() > (majority_vote(A, 4) == g).mean() - 0.02
    assert (agg.predict(A) == g).mean() > 0.5  # chance: 0.25


def test_task_without_answers():
    A = _crowd()
    A[5] = -1
    agg = TopTwoCrowdAggregator().fit(A)
    np.testing.assert_array_equal(agg.top_two_[5], [0, 1])
    np.testing.assert_allclose(agg.confusion_[5], 0.499)


def test_worker_without_answers_is_a_spammer():
    A = _crowd()
    A[:, 3] = -1
    agg = TopTwoCrowdAggregator().fit(A)
    assert agg.worker_reliability_[3] == pytest.approx(0.001)


def test_predict_reproduces_fit_and_is_row_wise():
    A = _crowd()
    agg = TopTwoCrowdAggregator().fit(A)
    np.testing.assert_array_equal(agg.predict(A), agg.top_two_[:, 0])
    proba = agg.predict_proba(A)
    rows = np.arange(A.shape[0])
    np.testing.assert_allclose(proba[rows, agg.top_two_[:, 0]], 1 - agg.confusion_)
    np.testing.assert_allclose(proba[rows, agg.top_two_[:, 1]], agg.confusion_)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba > 0).sum(axis=1) == 2)
    np.testing.assert_array_equal(agg.classes_[proba.argmax(axis=1)], agg.predict(A))
    # new tasks answered by the same workers: one task at a time or in a batch
    new = _crowd(seed=7)[:10]
    batch = agg.predict_proba(new)
    single = np.vstack([agg.predict_proba(new[i : i + 1]) for i in range(10)])
    np.testing.assert_allclose(batch, single)
    np.testing.assert_array_equal(
        TopTwoCrowdAggregator().fit_predict(A), agg.top_two_[:, 0]
    )


def test_classes_parameter_declares_unpicked_choices():
    A = np.array([[0, 0, 1, 0], [1, 1, 1, 0], [0, 1, 0, 0]])
    with pytest.raises(ValueError, match="at least 3 answer choices"):
        TopTwoCrowdAggregator().fit(A)
    agg = TopTwoCrowdAggregator(classes=[0, 1, 2]).fit(A)
    np.testing.assert_array_equal(agg.classes_, [0, 1, 2])
    assert agg.predict_proba(A).shape == (3, 3)
    np.testing.assert_array_equal(agg.predict(A), [0, 1, 0])


def test_string_free_labels_and_float_answers():
    A = _crowd()
    labels = np.array([2.5, 7.0, 11.0, 13.5])
    floats = np.where(A < 0, -1, labels[np.maximum(A, 0)])
    ref = TopTwoCrowdAggregator().fit(A)
    agg = TopTwoCrowdAggregator().fit(floats)
    np.testing.assert_array_equal(agg.classes_, labels)
    np.testing.assert_array_equal(agg.top_two_, labels[ref.top_two_])


def test_deterministic_and_inputs_untouched():
    A = _crowd()
    A_copy = A.copy()
    first = TopTwoCrowdAggregator().fit(A)
    second = TopTwoCrowdAggregator().fit(A)
    np.testing.assert_array_equal(A, A_copy)
    np.testing.assert_array_equal(first.top_two_, second.top_two_)
    np.testing.assert_array_equal(first.confusion_, second.confusion_)
    np.testing.assert_array_equal(first.worker_reliability_, second.worker_reliability_)


def test_max_iter_and_convergence_warning():
    A = _crowd()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agg = TopTwoCrowdAggregator(max_iter=0).fit(A)
    assert agg.n_iter_ == 0
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        TopTwoCrowdAggregator(max_iter=1, tol=0).fit(A)
    agg = TopTwoCrowdAggregator().fit(A)
    assert 1 <= agg.n_iter_ < 100


def test_refinement_does_not_hurt():
    # Coordinate ascent after the paper's two stages: on average at least as
    # accurate as stopping after them (max_iter=0).
    acc = []
    for seed in range(3):
        A, g, *_ = simulate(300, 20, 4, np.random.default_rng(seed))
        acc.append(
            [
                (TopTwoCrowdAggregator(max_iter=m).fit(A).predict(A) == g).mean()
                for m in (0, 100)
            ]
        )
    paper, refined = np.mean(acc, axis=0)
    assert refined >= paper - 0.01, acc


@pytest.mark.parametrize(
    ("params", "A", "match"),
    [
        ({}, np.full((3, 4), -1), "A has no answers"),
        ({"classes": [0, 1, 1, 2]}, np.array([[0, 1, 2]]), "must not repeat"),
        ({"classes": [-1, 0, 1, 2]}, np.array([[0, 1, 2]]), "contains missing_value"),
        ({"classes": [0, 1, 2]}, np.array([[0, 1, 3]]), "not in classes: \\[3\\]"),
        ({"classes": [[0, 1, 2]]}, np.array([[0, 1, 2]]), "1-D array"),
        ({}, np.array([0, 1, 2]), "2D array"),
    ],
)
def test_fit_errors(params, A, match):
    with pytest.raises(ValueError, match=match):
        TopTwoCrowdAggregator(**params).fit(A)


def test_predict_errors():
    A = _crowd()
    agg = TopTwoCrowdAggregator().fit(A)
    with pytest.raises(ValueError, match="not seen during fit: \\[9\\]"):
        agg.predict(np.where(A == 2, 9, A))
    with pytest.raises(ValueError, match="features"):
        agg.predict(A[:, :5])
