"""Tests of input validation messages."""

import numpy as np
import pytest
from sklearn import config_context

from skcalib.utils._validation import (
    check_confidence_level,
    check_consistent_length,
    check_proba_targets,
    check_probabilities,
    check_sample_weight,
    check_scores,
    encode_labels,
)


@pytest.mark.parametrize(
    "value, match",
    [
        ([[np.nan, 1.0]], "Input X contains NaN"),
        ([[np.inf, 1.0]], "Input X contains infinity"),
        (np.zeros((2, 2, 2)), "X must have 1 or 2 dimension"),
    ],
)
def test_check_scores_errors(value, match):
    with pytest.raises(ValueError, match=match):
        check_scores(value)


def test_check_scores_allow_inf_still_rejects_nan():
    assert check_scores([1.0, np.inf], allow_inf=True)[1] == np.inf
    with pytest.raises(ValueError, match="NaN"):
        check_scores([1.0, np.nan], allow_inf=True)


def test_check_scores_dtype_and_no_copy_side_effects():
    x = np.array([[1, 2]], dtype=np.int64)
    out = check_scores(x)
    assert out.dtype == np.float64
    x32 = np.ones((2, 2), np.float32)
    assert check_scores(x32).dtype == np.float32


def test_check_probabilities_messages():
    with pytest.raises(ValueError, match="rows sum to one; row 1 sums to 0.9"):
        check_probabilities(np.array([[0.5, 0.5], [0.2, 0.7]]))
    with pytest.raises(ValueError, match=r"in \[0, 1\].*logits"):
        check_probabilities(np.array([[2.0, -1.0]]))
    with pytest.raises(ValueError, match="my_probs"):
        check_probabilities(np.array([1.5]), name="my_probs")
    # rounding to 6 decimals is tolerated
    check_probabilities(np.array([[0.333333, 0.333333, 0.333333]]))


def test_check_consistent_length():
    with pytest.raises(ValueError, match="y_true has 3, y_prob has 2"):
        check_consistent_length(y_true=np.zeros(3), y_prob=np.zeros((2, 2)))


def test_check_sample_weight():
    from array_api_compat import numpy as xp

    sw = check_sample_weight([1, 2], 2, xp=xp, device="cpu", dtype=xp.float32)
    assert sw.dtype == np.float32
    for bad, match in [
        ([1.0], r"shape \(2,\)"),
        ([1.0, -1.0], "non-negative"),
        ([0.0, 0.0], "all zero"),
        ([np.nan, 1.0], "finite"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_sample_weight(bad, 2, xp=xp, device="cpu", dtype=xp.float64)
    assert check_sample_weight(None, 2, xp=xp, device="cpu", dtype=xp.float64) is None


def test_check_confidence_level():
    np.testing.assert_array_equal(check_confidence_level([0.8, 0.9]), [0.8, 0.9])
    for bad in [0, 1, [], [0.5, 2], "a"]:
        with pytest.raises((ValueError, TypeError)):
            check_confidence_level(bad)


def test_encode_labels_unseen():
    classes = np.array(["cat", "dog"])
    np.testing.assert_array_equal(encode_labels(["dog", "cat"], classes), [1, 0])
    with pytest.raises(ValueError, match=r"not seen during fit: \['eel'\]"):
        encode_labels(["eel", "cat"], classes)


def test_check_proba_targets_binary_and_multiclass():
    y_idx, proba, classes, sw = check_proba_targets(
        ["a", "b", "a"], np.array([0.1, 0.8, 0.3]), pos_label="b"
    )
    np.testing.assert_array_equal(y_idx, [0, 1, 0])
    np.testing.assert_allclose(proba[:, 1], [0.1, 0.8, 0.3])
    assert sw is None
    # integer labels in range(k) map to columns even when a class is absent
    y_idx, proba, classes, _ = check_proba_targets(
        np.array([0, 2]), np.full((2, 3), 1 / 3)
    )
    np.testing.assert_array_equal(classes, [0, 1, 2])
    with pytest.raises(ValueError, match="pass labels="):
        check_proba_targets(np.array(["a", "b"]), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="pos_label"):
        check_proba_targets(np.array(["a", "b"]), np.array([0.2, 0.3]))
    with pytest.raises(ValueError, match="not seen"):
        check_proba_targets(
            np.array(["a", "z"]), np.full((2, 2), 0.5), labels=["a", "b"]
        )


def test_check_proba_targets_torch_keeps_device():
    torch = pytest.importorskip("torch")
    p = torch.tensor([[0.2, 0.8], [0.6, 0.4]])
    with config_context(array_api_dispatch=True):
        y_idx, proba, _, sw = check_proba_targets(
            np.array([1, 0]), p, sample_weight=[1.0, 2.0]
        )
    assert isinstance(y_idx, torch.Tensor) and isinstance(sw, torch.Tensor)
    assert sw.dtype == torch.float32
