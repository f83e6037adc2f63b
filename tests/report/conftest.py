"""Every kind of bad input file, shared by the reader and the command tests."""

import numpy as np
import pandas as pd
import pytest

from skcalib.utils._array_api import softmax


def _scores(n=40, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    logits = 2 * np.eye(k)[y] + rng.normal(0, 1, (n, k))
    return y, softmax(logits, axis=1)


def _frame(y, proba):
    df = pd.DataFrame(proba, columns=[f"p{j}" for j in range(proba.shape[1])])
    df["label"] = y
    return df


def _write_csv(tmp_path, df, name="bad.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def bad_files(tmp_path):
    """(path, read_scores kwargs, expected message) of every bad-file case."""
    y, proba = _scores()
    ok = _frame(y, proba)
    nan = ok.copy()
    nan.loc[3, "p1"] = np.nan
    inf = ok.copy()
    inf.loc[5, "p0"] = np.inf
    text = ok.copy()
    text["p2"] = ["x"] * len(y)
    unnormalised = ok.copy()
    unnormalised.loc[4, ["p0", "p1", "p2"]] = [0.2, 0.2, 0.2]
    above_one = ok.copy()
    above_one["p0"] = above_one["p0"] + 0.3
    wrong_labels = ok.copy()
    wrong_labels.loc[0, "label"] = 7
    missing = tmp_path / "missing.csv"
    (tmp_path / "scores.txt").write_text("1,2\n")
    return {
        "missing file": (missing, {}, "no such file"),
        "unknown format": (tmp_path / "scores.txt", {}, "unknown format '.txt'"),
        "missing score column": (
            _write_csv(tmp_path, ok, "a.csv"),
            {"scores": "p0,p9"},
            "score column\\(s\\) p9 not found",
        ),
        "missing label column": (
            _write_csv(tmp_path, ok.drop(columns="label"), "b.csv"),
            {},
            "no label column",
        ),
        "named label column missing": (
            _write_csv(tmp_path, ok, "c.csv"),
            {"labels": "truth"},
            "no label column 'truth'",
        ),
        "NaN": (_write_csv(tmp_path, nan, "d.csv"), {}, "'p1' has NaN or inf \\(row 3"),
        "inf": (_write_csv(tmp_path, inf, "e.csv"), {}, "'p0' has NaN or inf \\(row 5"),
        "non-numeric": (
            _write_csv(tmp_path, text, "f.csv"),
            {"scores": "p0,p1,p2"},
            "'p2' is not numeric",
        ),
        "labels vs columns": (
            _write_csv(tmp_path, wrong_labels, "g.csv"),
            {},
            "labels do not match the 3 score column",
        ),
        "not summing to one": (
            _write_csv(tmp_path, unnormalised, "h.csv"),
            {},
            "must sum to one, but row 4 sums to 0.6; pass --logits",
        ),
        "not in [0, 1]": (
            _write_csv(tmp_path, above_one, "j.csv"),
            {},
            "scores outside \\[0, 1\\] .* are not probabilities; pass --logits",
        ),
        "too few rows": (
            _write_csv(tmp_path, ok.iloc[:5], "i.csv"),
            {"min_rows": 20},
            "5 rows, too few \\(at least 20",
        ),
    }


CASES = [
    "missing file",
    "unknown format",
    "missing score column",
    "missing label column",
    "named label column missing",
    "NaN",
    "inf",
    "non-numeric",
    "labels vs columns",
    "not summing to one",
    "not in [0, 1]",
    "too few rows",
]


@pytest.fixture(params=CASES)
def bad_file(request, tmp_path):
    """``(case, path, read_scores kwargs, expected message regex)``."""
    return (request.param, *bad_files(tmp_path)[request.param])
