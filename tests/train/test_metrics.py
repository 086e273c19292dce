"""Metrics against hand-computed values and the error messages they raise."""

import functools

import numpy as np
import pytest

from chainrule.train import metrics


def test_accuracy_multiclass_binary_and_probability_targets():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.1, 0.2], [5.0, 0.0, 0.0]])
    y = np.array([0, 1, 1, 2])
    assert metrics.accuracy(logits, y) == 0.5           # rows 0 and 1 right
    assert metrics.accuracy(logits, np.eye(3)[y]) == 0.5  # one-hot targets
    probs = np.array([[0.9], [0.2], [0.6], [0.4]])
    assert metrics.accuracy(probs, np.array([1.0, 0.0, 0.0, 0.0])) == 0.75
    assert metrics.accuracy(probs.ravel(), np.array([1, 0, 0, 0])) == 0.75
    assert metrics.accuracy(probs - 0.5, np.array([[1], [0], [0], [0]]), threshold=0.0) == 0.75


def test_top_k_accuracy():
    scores = np.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.3, 0.3, 0.4]])
    y = np.array([2, 2, 0])
    # ranks of the true class: 1 (one higher), 2, 1 (0.4 above; the tie at 0.3 does not count)
    assert metrics.top_k_accuracy(scores, y, k=1) == 0.0
    assert metrics.top_k_accuracy(scores, y, k=2) == pytest.approx(2 / 3)
    assert metrics.top_k_accuracy(scores, y, k=3) == 1.0
    name, fn = metrics.get_metric("top2_accuracy")
    assert name == "top2_accuracy" and fn(scores, y) == pytest.approx(2 / 3)


def test_regression_metrics():
    out = np.array([[1.0], [2.0], [4.0]], dtype=np.float32)
    target = np.array([1.0, 3.0, 2.0])
    assert metrics.mse(out, target) == pytest.approx((0 + 1 + 4) / 3)
    assert metrics.mae(out, target) == pytest.approx((0 + 1 + 2) / 3)
    with pytest.raises(ValueError, match=r"mean_squared_error expected target of the output's shape \(3, 1\), got \(2,\)"):
        metrics.mse(out, target[:2])


def test_confusion_matrix_rows_are_truth_columns_predictions():
    y = np.array([0, 0, 1, 2, 2, 2])
    pred = np.array([0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(metrics.confusion_matrix(pred, y), expected)
    np.testing.assert_array_equal(metrics.confusion_matrix(np.eye(3)[pred] * 5, y), expected)
    cm = metrics.confusion_matrix(pred, y, num_classes=4)
    assert cm.shape == (4, 4) and cm.dtype == np.int64 and cm.sum() == 6
    with pytest.raises(ValueError, match=r"confusion_matrix target holds class 2, outside \[0, 2\)"):
        metrics.confusion_matrix(pred, y, num_classes=2)


def test_get_metric_names_and_callables():
    assert metrics.get_metric("accuracy")[1] is metrics.accuracy
    assert metrics.get_metric(metrics.mae) == ("mean_absolute_error", metrics.mae)
    assert metrics.get_metric(functools.partial(metrics.accuracy, threshold=0.0))[0] == "accuracy"
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        metrics.get_metric("f1")
    with pytest.raises(TypeError, match="a metric must be a name or a callable"):
        metrics.get_metric(3)
    with pytest.raises(ValueError, match=r"top_k_accuracy k must be an int in \[1, 3\]"):
        metrics.top_k_accuracy(np.zeros((2, 3)), np.zeros(2, dtype=int), k=4)
    with pytest.raises(ValueError, match="accuracy expected target of shape"):
        metrics.accuracy(np.zeros((4, 3)), np.zeros(3, dtype=int))


def test_accuracy_on_a_regression_target_says_what_to_do():
    with pytest.raises(ValueError, match=r"non-integer values \(a regression target\? use metrics=\('mse', 'mae'\)"):
        metrics.accuracy(np.zeros((3, 1)), np.array([0.2, 0.1, 1.5]))
