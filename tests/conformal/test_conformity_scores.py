"""Conformity scores for classification: definitions, ties, consistency, devices."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skcalib.conformal.scores import (
    APSScore,
    BaseClassificationScore,
    LACScore,
    RAPSScore,
    TopKScore,
    resolve_conformity_score,
)
from skcalib.utils._testing import array_api_combinations, assert_same_on_namespace

RULES = [True, False, "randomized"]


def _proba(n=60, k=5, seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=scale, size=(n, k))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def _discrete_proba(n=80, k=5, seed=0):
    """Probabilities with ties and zeros, as a tree or kNN model gives."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(5, np.ones(k) / k, size=n).astype(float)
    return counts / 5.0


def _labels(p, seed=1):
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(p.shape[1], p=row) for row in p])


def _scores_under_test():
    scores = [LACScore(), TopKScore()]
    for rule in RULES:
        for randomized in (True, False):
            scores.append(APSScore(randomized=randomized, include_last_label=rule))
            scores.append(
                RAPSScore(
                    lambda_reg=0.05,
                    k_reg=2,
                    randomized=randomized,
                    include_last_label=rule,
                )
            )
    return scores


SCORES = _scores_under_test()


def _reference_sets(p, tau, score, u=None):
    """Direct, loop-based construction of the sets from their definition."""
    n, k = p.shape
    out = np.zeros((n, k), dtype=bool)
    for i in range(n):
        if isinstance(score, LACScore):
            out[i] = 1 - p[i] <= tau
            continue
        values = np.array(sorted(p[i], reverse=True))
        if isinstance(score, TopKScore):
            size = k if np.isinf(tau) else min(k, int(np.floor(tau)))
        else:
            lam = getattr(score, "lambda_reg", 0.0)
            k_reg = getattr(score, "k_reg", 0)
            pen = lam * np.maximum(0, np.arange(1, k + 1) - k_reg)
            c = np.cumsum(values)
            if score.include_last_label is True:
                # MAPIE: up to the first rank whose mass reaches tau; plus the
                # labels of zero probability when the mass above them is tau
                crossing = np.flatnonzero(c + pen >= tau)
                size = crossing[0] + 1 if crossing.size else k
                zero_at_tau = (values[1:] == 0) & ((c + pen)[:-1] == tau)
                size = min(k, size + int(zero_at_tau.sum()))
            elif score.include_last_label is False:
                size = max(1, int(np.sum(c + pen <= tau)))
            else:
                size = int(np.sum((c - u[i] * values) + pen <= tau))
        if size:
            out[i] = p[i] >= values[size - 1]
    return out


def _u(n, seed=3):
    return np.random.default_rng(seed).uniform(size=n)


# --------------------------------------------------------------------------- #
# definitions
# --------------------------------------------------------------------------- #
def test_lac_scores_and_sets_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])
    np.testing.assert_allclose(
        LACScore().conformity_scores(p, np.array([1, 2])), [0.8, 0.75]
    )
    sets = LACScore().prediction_sets(p, np.array([0.65, 0.8]))
    np.testing.assert_array_equal(
        sets[0].T, [[True, False, False], [True, True, False]]
    )
    np.testing.assert_array_equal(sets[1].T, [[True, True, False], [True, True, True]])


def test_aps_scores_by_hand():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    y = np.array([1, 2])
    # deterministic: mass of the labels ranked above y, plus p_y
    np.testing.assert_allclose(
        APSScore(randomized=False).conformity_scores(p, y), [0.8, 0.9]
    )
    # randomised: c_r - u * p_y
    u = np.array([0.5, 0.25])
    np.testing.assert_allclose(
        APSScore().conformity_scores(p, y, u=u), [0.8 - 0.15, 0.9 - 0.075]
    )


@pytest.mark.parametrize(
    "rule, expected",
    [
        # cumulative masses 0.5, 0.8, 1.0 and threshold 0.6
        (True, [True, True, False]),  # the label crossing 0.6 is kept
        (False, [True, False, False]),  # ... and dropped
        ("randomized", [True, True, False]),  # rank 2: 0.8 - 0.9 * 0.3 <= 0.6
    ],
)
def test_aps_include_last_label_by_hand(rule, expected):
    p = np.array([[0.5, 0.3, 0.2]])
    u = np.array([0.9])
    score = APSScore(include_last_label=rule)
    sets = score.prediction_sets(p, np.array([0.6]), u=u)[:, :, 0]
    np.testing.assert_array_equal(sets[0], expected)


def test_aps_false_keeps_the_top_label_and_randomized_can_be_empty():
    p = np.array([[0.5, 0.3, 0.2]])
    t = np.array([0.1])
    assert APSScore(include_last_label=False).prediction_sets(p, t)[0, :, 0].sum() == 1
    sets = APSScore(include_last_label="randomized").prediction_sets(
        p, t, u=np.array([0.0])
    )
    assert sets.sum() == 0


def test_raps_scores_by_hand():
    p = np.array([[0.5, 0.3, 0.2]])
    score = RAPSScore(lambda_reg=0.1, k_reg=1, randomized=False)
    np.testing.assert_allclose(
        score.conformity_scores(np.repeat(p, 3, axis=0), np.array([0, 1, 2])),
        [0.5, 0.8 + 0.1, 1.0 + 0.2],
    )


def test_topk_scores_and_sets():
    p = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    np.testing.assert_array_equal(
        TopKScore().conformity_scores(p, np.array([0, 0])), [3.0, 1.0]
    )
    sets = TopKScore().prediction_sets(p, np.array([1.0, 2.5, np.inf]))
    np.testing.assert_array_equal(sets.sum(axis=1), [[1, 2, 3], [1, 2, 3]])


@pytest.mark.parametrize("score", SCORES, ids=repr)
@pytest.mark.parametrize("discrete", [False, True])
def test_sets_match_reference_construction(score, discrete):
    p = _discrete_proba() if discrete else _proba()
    u = _u(p.shape[0])
    taus = [0.5, 2.0, np.inf] if isinstance(score, TopKScore) else [0.3, 0.8, 1.05]
    sets = score.prediction_sets(p, np.array(taus), u=u)
    for level, tau in enumerate(taus):
        np.testing.assert_array_equal(
            sets[:, :, level], _reference_sets(p, tau, score, u)
        )


# --------------------------------------------------------------------------- #
# ties, consistency between the two set constructions and the scores
# --------------------------------------------------------------------------- #
def test_tied_labels_enter_sets_together():
    p = np.array([[0.4, 0.4, 0.2]])
    for score in (APSScore(randomized=False), TopKScore()):
        np.testing.assert_array_equal(
            score.conformity_scores(np.repeat(p, 2, axis=0), np.array([0, 1])),
            score.conformity_scores(np.repeat(p, 2, axis=0), np.array([1, 0])),
        )
    sets = APSScore().prediction_sets(p, np.array([0.3]))
    np.testing.assert_array_equal(sets[0, :, 0], [True, True, False])


@pytest.mark.parametrize("score", SCORES, ids=repr)
def test_sets_do_not_depend_on_column_order(score):
    p = _discrete_proba()
    u = _u(p.shape[0])
    perm = np.random.default_rng(0).permutation(p.shape[1])
    taus = np.array([1.5, 3.0]) if isinstance(score, TopKScore) else np.array([0.6])
    sets = score.prediction_sets(p, taus, u=u)
    sets_perm = score.prediction_sets(p[:, perm], taus, u=u)
    np.testing.assert_array_equal(sets[:, perm], sets_perm)


@pytest.mark.parametrize("score", SCORES, ids=repr)
@pytest.mark.parametrize("discrete", [False, True])
def test_per_label_thresholds_agree_with_fast_path(score, discrete):
    p = _discrete_proba() if discrete else _proba(k=7)
    n, k = p.shape
    u = _u(n)
    taus = (
        np.array([1.0, 3.0]) if isinstance(score, TopKScore) else np.array([0.5, 0.9])
    )
    fast = score.prediction_sets(p, taus, u=u)
    per_label = score.prediction_sets(p, np.broadcast_to(taus, (1, k, 2)), u=u)
    np.testing.assert_array_equal(fast, per_label)
    per_sample = np.random.default_rng(0).choice(taus, size=(n, 2))
    np.testing.assert_array_equal(
        score.prediction_sets(p, per_sample, u=u),
        score.prediction_sets(
            p, np.broadcast_to(per_sample[:, None, :], (n, k, 2)), u=u
        ),
    )
    stat = score.label_scores(p, u=u)[:, :, None]
    expected = stat <= taus
    np.testing.assert_array_equal(fast, expected)


@pytest.mark.parametrize("k", [6, 400])  # 400 > 256: the head-sorting path
@pytest.mark.parametrize("discrete", [False, True])
def test_calibration_and_set_arithmetic_are_identical(k, discrete):
    """A label whose score equals the threshold is in the set: same floats."""
    rng = np.random.default_rng(k)
    if discrete:
        p = rng.multinomial(7, np.ones(k) / k, size=200) / 7.0
    else:
        p = _proba(n=200, k=k, scale=4.0)
    y = rng.integers(0, k, size=200)
    y[:50] = np.argmax(p[:50], axis=1)
    u = _u(200)
    for score in (
        APSScore(randomized=False, include_last_label=False),
        RAPSScore(lambda_reg=0.01, k_reg=3, randomized=False, include_last_label=False),
        APSScore(include_last_label="randomized"),
        RAPSScore(lambda_reg=0.01, k_reg=3, include_last_label="randomized"),
        LACScore(),
        TopKScore(),
    ):
        own = score.conformity_scores(p, y, u=u)
        stat = score.label_scores(p, u=u)[np.arange(200), y]
        top = p[np.arange(200), y] == p.max(axis=1)
        # the statistic is the conformity score (False: -inf for the top label)
        np.testing.assert_array_equal(stat[~top], own[~top])
        sets = score.prediction_sets(p, own[:, None], u=u)[:, :, 0]
        assert sets[np.arange(200), y].all(), score


def test_sets_are_nested_in_the_threshold():
    p = _proba(n=100, k=8)
    u = _u(100)
    for score in SCORES:
        taus = np.array([1.0, 2.0, 5.0]) if isinstance(score, TopKScore) else None
        taus = np.linspace(0.1, 1.2, 6) if taus is None else taus
        sets = score.prediction_sets(p, taus, u=u)
        assert np.all(sets[:, :, 1:] | ~sets[:, :, :-1]), score


def test_infinite_threshold_gives_full_sets():
    p = _discrete_proba()
    for score in SCORES:
        sets = score.prediction_sets(p, np.array([np.inf]), u=_u(p.shape[0]))
        assert sets.all(), score


# --------------------------------------------------------------------------- #
# RAPS tuning
# --------------------------------------------------------------------------- #
def test_raps_tune_follows_the_paper():
    p = _proba(n=400, k=10, scale=1.5)
    y = _labels(p)
    u = _u(400)
    score = RAPSScore()
    tuned = score.tune(p, y, 0.9, u=u)
    assert score.lambda_reg == "auto" and score.k_reg == "auto"  # not modified
    # k_reg: the conformal quantile of the (1-based) true-label ranks
    ranks = TopKScore().conformity_scores(p, y)
    assert tuned.k_reg == int(np.sort(ranks)[int(np.ceil(401 * 0.9)) - 1])
    # lambda: the grid value with the smallest tuning-set mean size
    sizes = {}
    for lam in (0.001, 0.01, 0.1, 0.2, 0.5):
        candidate = RAPSScore(lambda_reg=lam, k_reg=tuned.k_reg)
        s = candidate.conformity_scores(p, y, u=u)
        q = np.sort(s)[int(np.ceil(401 * 0.9)) - 1]
        sizes[lam] = candidate.prediction_sets(p, np.array([q]), u=u).sum(axis=1).mean()
    assert tuned.lambda_reg == min(sizes, key=sizes.get)
    assert tuned.tune(p, y, 0.9) is tuned  # nothing left to tune


def test_raps_tune_only_the_auto_parameter():
    p = _proba(n=200, k=6)
    y = _labels(p)
    tuned = RAPSScore(k_reg=2, randomized=False).tune(p, y, [0.8, 0.9])
    assert tuned.k_reg == 2 and tuned.lambda_reg in (0.001, 0.01, 0.1, 0.2, 0.5)
    tuned = RAPSScore(lambda_reg=0.3, randomized=False).tune(p, y, 0.9)
    assert tuned.lambda_reg == 0.3 and isinstance(tuned.k_reg, int)


def test_raps_tune_with_tiny_tuning_set_uses_all_ranks():
    p = _proba(n=5, k=4)
    tuned = RAPSScore(lambda_reg=0.1, randomized=False).tune(p, _labels(p), 0.99)
    assert tuned.k_reg == 4


def test_raps_auto_must_be_tuned_first():
    with pytest.raises(ValueError, match="tune"):
        RAPSScore().conformity_scores(_proba(), np.zeros(60, dtype=int), u=_u(60))


# --------------------------------------------------------------------------- #
# resolution, validation
# --------------------------------------------------------------------------- #
def test_resolve_aliases_and_instances():
    for alias, cls in [
        ("lac", LACScore),
        ("aps", APSScore),
        ("raps", RAPSScore),
        ("topk", TopKScore),
    ]:
        assert type(resolve_conformity_score(alias)) is cls
    score = APSScore(include_last_label=False)
    resolved = resolve_conformity_score(score)
    assert resolved is not score and resolved.get_params() == score.get_params()


@pytest.mark.parametrize(
    "value, error, match",
    [
        ("thr", ValueError, "'aps', 'lac', 'raps', 'topk'"),
        (3, TypeError, "instance of BaseClassificationScore"),
        (RAPSScore(lambda_reg=-1.0), InvalidParameterError, "lambda_reg"),
        (RAPSScore(k_reg=1.5), InvalidParameterError, "k_reg"),
        (APSScore(include_last_label="yes"), InvalidParameterError, "include_last"),
        (RAPSScore(tuning_size=1.0), InvalidParameterError, "tuning_size"),
    ],
)
def test_resolve_errors_name_the_problem(value, error, match):
    with pytest.raises(error, match=match):
        resolve_conformity_score(value)


def test_resolve_unknown_task():
    with pytest.raises(ValueError, match="task"):
        resolve_conformity_score("lac", task="ranking")


def test_scores_clone_and_expose_params():
    score = RAPSScore(lambda_reg=0.2, k_reg=3)
    assert clone(score).get_params() == score.get_params()
    assert isinstance(score, BaseClassificationScore)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: LACScore().conformity_scores(np.ones(3), [0, 1, 2]), "y_prob"),
        (lambda: LACScore().conformity_scores(_proba(), np.zeros(5, int)), "shape"),
        (lambda: LACScore().conformity_scores(_proba(), np.full(60, 9)), "indices"),
        (lambda: LACScore().conformity_scores(_proba(), np.zeros(60)), "integer"),
        (lambda: APSScore().conformity_scores(_proba(), np.zeros(60, int)), "u,"),
        (
            lambda: APSScore().conformity_scores(
                _proba(), np.zeros(60, int), u=np.ones(3)
            ),
            "u must",
        ),
        (
            lambda: LACScore().prediction_sets(_proba(), np.ones((1, 1, 1, 1))),
            "thresholds",
        ),
        (
            lambda: APSScore(include_last_label="randomized").label_scores(_proba()),
            "u,",
        ),
    ],
)
def test_input_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("score", SCORES, ids=repr)
def test_float32_preserved_and_inputs_untouched(score):
    p = _proba().astype(np.float32)
    y = _labels(_proba())
    u = _u(60)
    p_copy, y_copy, u_copy = p.copy(), y.copy(), u.copy()
    assert score.conformity_scores(p, y, u=u).dtype == np.float32
    assert score.label_scores(p, u=u).dtype == np.float32
    assert score.prediction_sets(p, np.array([0.7, 2.0]), u=u).dtype == bool
    for a, b in [(p, p_copy), (y, y_copy), (u, u_copy)]:
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- #
# array API
# --------------------------------------------------------------------------- #
ARRAY_API_SCORES = [
    LACScore(),
    TopKScore(),
    APSScore(include_last_label="randomized"),
    APSScore(randomized=False, include_last_label=False),
    RAPSScore(lambda_reg=0.05, k_reg=2),
]


@pytest.mark.parametrize("combination", array_api_combinations())
@pytest.mark.parametrize("score", ARRAY_API_SCORES, ids=repr)
def test_scores_same_on_namespace(score, combination):
    p = _discrete_proba(n=40, k=5)  # ties exercise the rank-sharing path
    p[20:] = _proba(n=20, k=5)
    y = _labels(p)
    u = _u(40)
    taus = (
        np.array([1.0, 2.0]) if isinstance(score, TopKScore) else np.array([0.45, 0.8])
    )

    def run(p, y, u, taus, per_sample, per_label):
        return (
            score.conformity_scores(p, y, u=u),
            score.label_scores(p, u=u),
            score.prediction_sets(p, taus, u=u),
            score.prediction_sets(p, per_sample, u=u),
            score.prediction_sets(p, per_label, u=u),
        )

    per_sample = np.random.default_rng(0).choice(taus, size=(40, 2))
    per_label = np.broadcast_to(taus, (1, 5, 2)).copy()
    assert_same_on_namespace(
        run, [p, y, u, taus, per_sample, per_label], combination=combination
    )


@pytest.mark.parametrize("combination", array_api_combinations())
def test_head_sorting_path_same_on_namespace(combination):
    p = _proba(n=30, k=300, scale=3.0)
    y = _labels(p)
    y[:5] = np.argsort(p[:5], axis=1)[:, 0]  # least probable: a wide row
    u = _u(30)
    score = APSScore()
    taus = np.array([0.5, 0.9])
    assert_same_on_namespace(
        lambda p, y, u, taus: (
            score.conformity_scores(p, y, u=u),
            score.prediction_sets(p, taus, u=u),
        ),
        [p, y, u, taus],
        combination=combination,
    )


@pytest.mark.parametrize("combination", array_api_combinations())
def test_raps_tuning_same_on_namespace(combination):
    p = _proba(n=150, k=6, scale=1.0)
    y = _labels(p)
    u = _u(150)

    def tuned(p, y, u):
        score = RAPSScore().tune(p, y, 0.9, u=u)
        return {"lambda_reg": score.lambda_reg, "k_reg": score.k_reg}

    assert_same_on_namespace(tuned, [p, y, u], combination=combination)


@pytest.mark.parametrize("partition", [True, False], ids=["partition", "sort"])
@pytest.mark.parametrize("score", SCORES[2:], ids=repr)
def test_long_rows_sorted_by_head_agree_with_full_rows(score, partition, monkeypatch):
    """k > 256: set sizes come from the 128 most probable labels where they can.

    Those are selected by a partition, or by a sort without array-api-extra's
    ``partition`` (array-api-extra < 0.9.1).
    """
    if not partition:
        import skcalib.utils._array_api as array_api_module

        monkeypatch.delattr(array_api_module.xpx, "partition", raising=False)
    p = _proba(n=120, k=600, scale=1.5)  # flat rows: sets of tens to hundreds
    u = _u(120)
    taus = np.array(
        [0.3, 5.0, 20.0] if isinstance(score, RAPSScore) else [0.3, 0.9, 0.999]
    )
    fast = score.prediction_sets(p, taus, u=u)
    sizes = fast.sum(axis=1)
    assert sizes.min() < 128 < sizes.max()  # both kinds of rows
    per_label = score.prediction_sets(p, np.broadcast_to(taus, (1, 600, 3)), u=u)
    np.testing.assert_array_equal(fast, per_label)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("score", SCORES, ids=repr)
def test_row_blocks_give_the_same_results(score, threads, monkeypatch):
    """Large NumPy inputs go by row blocks (in threads): bit-identical output."""
    import skcalib.conformal.scores._classification as module
    import skcalib.utils._parallel as parallel

    p = _proba(n=90, k=300, scale=2.0)
    y = _labels(p)
    u = _u(90)
    taus = np.array([1.0, 3.0] if isinstance(score, TopKScore) else [0.5, 0.9])
    per_sample = np.random.default_rng(0).choice(taus, size=(90, 2))

    def outputs():
        return (
            score.conformity_scores(p, y, u=u),
            score.label_scores(p, u=u),
            score.prediction_sets(p, taus, u=u),
            score.prediction_sets(p, per_sample, u=u),
        )

    whole = outputs()
    calls = []
    monkeypatch.setattr(module, "_BLOCK_ENTRIES", 7 * 300)  # blocks of 7 rows
    monkeypatch.setattr(parallel, "effective_n_threads", lambda: threads)
    original = parallel.by_row_blocks

    def counting(*args, **kwargs):
        calls.append(kwargs["block_rows"])
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "by_row_blocks", counting)
    for a, b in zip(whole, outputs(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert calls == [7, 7, 7, 7]
