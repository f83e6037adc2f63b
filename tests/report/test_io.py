"""Reading and writing score files: layouts, label matching, every bad-file error."""

import numpy as np
import pandas as pd
import pytest

from skcalib.report import InputError, read_scores, write_probabilities
from skcalib.utils._array_api import softmax


def _scores(n=40, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    logits = 2 * np.eye(k)[y] + rng.normal(0, 1, (n, k))
    return y, logits, softmax(logits, axis=1)


def _frame(y, proba, label="label"):
    df = pd.DataFrame(proba, columns=[f"p{j}" for j in range(proba.shape[1])])
    df[label] = y
    return df


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tables_default_columns(tmp_path, suffix):
    y, _, proba = _scores()
    path = tmp_path / f"s{suffix}"
    df = _frame(y, proba, label="y_true")
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    data = read_scores(path)
    np.testing.assert_allclose(data.scores, proba)
    np.testing.assert_array_equal(data.y, y)
    np.testing.assert_array_equal(data.classes, [0, 1, 2])
    assert data.columns == ["p0", "p1", "p2"] and not data.logits


def test_csv_named_columns_and_labels(tmp_path):
    y, logits, _ = _scores()
    df = pd.DataFrame(logits, columns=["a", "b", "c"])
    df["truth"] = y
    df["note"] = "x"
    df["id"] = np.arange(len(y))
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    data = read_scores(path, labels="truth", scores="a, b,c", logits=True)
    np.testing.assert_allclose(data.scores, logits)
    assert data.logits and data.columns == ["a", "b", "c"]


def test_string_labels_matched_to_column_names(tmp_path):
    y, _, proba = _scores()
    names = np.array(["cat", "dog", "emu"])
    # columns in another order than the sorted labels: matched by name
    df = pd.DataFrame({"emu": proba[:, 2], "cat": proba[:, 0], "dog": proba[:, 1]})
    df["label"] = names[y]
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    data = read_scores(path)
    np.testing.assert_array_equal(data.classes, names)
    np.testing.assert_allclose(data.scores, proba)
    np.testing.assert_array_equal(data.y_index, y)


def test_npy_last_column_labels(tmp_path):
    y, _, proba = _scores()
    path = tmp_path / "s.npy"
    np.save(path, np.column_stack([proba, y]))
    data = read_scores(path)
    np.testing.assert_allclose(data.scores, proba)
    np.testing.assert_array_equal(data.y, y)
    assert data.y.dtype.kind == "i"
    # as many columns as expected scores: scores only
    np.save(path, proba)
    data = read_scores(path, require_labels=False, n_scores=3)
    assert data.y is None and data.scores.shape == (40, 3)


def test_npz_names_and_logits_key(tmp_path):
    y, logits, proba = _scores()
    path = tmp_path / "s.npz"
    np.savez(path, logits=logits, y=y)
    data = read_scores(path)
    assert data.logits
    np.testing.assert_allclose(data.scores, logits)
    np.savez(path, out=proba, truth=y)
    data = read_scores(path, labels="truth", scores="out")
    np.testing.assert_allclose(data.scores, proba)
    assert not data.logits


@pytest.mark.parametrize("logits", [False, True])
def test_binary_single_column(tmp_path, logits):
    rng = np.random.default_rng(0)
    y = np.arange(30) % 2
    score = rng.normal(0, 1, 30) if logits else rng.uniform(0, 1, 30)
    path = tmp_path / "b.csv"
    pd.DataFrame({"score": score, "label": y}).to_csv(path, index=False)
    data = read_scores(path, logits=logits)
    expected = np.c_[np.zeros(30), score] if logits else np.c_[1 - score, score]
    np.testing.assert_allclose(data.scores, expected)
    np.testing.assert_array_equal(data.classes, [0, 1])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npy", ".npz"])
def test_write_reads_back(tmp_path, suffix):
    y, _, proba = _scores()
    path = tmp_path / f"out{suffix}"
    write_probabilities(path, proba, classes=np.arange(3), y=y)
    data = read_scores(path)
    np.testing.assert_allclose(data.scores, proba)
    np.testing.assert_array_equal(data.y, y)
    write_probabilities(path, proba, classes=np.arange(3))
    data = read_scores(path, require_labels=False, n_scores=3)
    assert data.y is None
    np.testing.assert_allclose(data.scores, proba)


def test_write_errors(tmp_path):
    proba = np.full((2, 2), 0.5)
    with pytest.raises(InputError, match="unknown output format '.txt'"):
        write_probabilities(tmp_path / "o.txt", proba, classes=np.arange(2))
    with pytest.raises(InputError, match="numeric labels only"):
        write_probabilities(
            tmp_path / "o.npy", proba, classes=np.array(["a", "b"]), y=["a", "b"]
        )


def test_bad_files(bad_file):
    _, path, kwargs, message = bad_file
    with pytest.raises(InputError, match=message) as info:
        read_scores(path, **kwargs)
    assert "\n" not in str(info.value)


def test_bad_npy_and_npz(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.zeros(5))
    with pytest.raises(InputError, match="numeric 2-D array"):
        read_scores(path)
    path = tmp_path / "s.npz"
    np.savez(path, z=np.zeros((4, 2)))
    with pytest.raises(InputError, match="no score array"):
        read_scores(path)
    np.savez(path, scores=np.full((4, 2), 0.5))
    with pytest.raises(InputError, match="no label array"):
        read_scores(path)
    path = tmp_path / "garbage.parquet"
    path.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="garbage.parquet: cannot be read"):
        read_scores(path)
