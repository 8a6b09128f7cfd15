"""The graded exercise of chapter 9, newton_schulz: any correct implementation passes, each classic mistake is named."""

import numpy as np
import pytest

from adamedu.grading import EXERCISES, CheckFailed, check

A, B, C = 3.4445, -4.775, 2.0315


def ns_plain(x, steps):
    x = x / np.linalg.norm(x)
    for _ in range(steps):
        gram = x @ x.T
        x = A * x + (B * gram + C * gram @ gram) @ x
    return x


def ns_transposed_when_tall(x, steps):  # as Jordan et al. and PyTorch: iterate on the wide orientation
    tall = x.shape[0] > x.shape[1]
    x = x.T if tall else x
    x = x / (np.sqrt(np.sum(x * x)) + 1e-7)  # Keras's ε
    for _ in range(steps):
        gram = x @ x.T
        x = A * x + B * gram @ x + C * gram @ gram @ x
    return x.T if tall else x


def ns_right_gram(x, steps):  # the same polynomial with Xᵀ X on the right: a X + X (b XᵀX + c (XᵀX)²)
    x = x / np.linalg.norm(x, "fro")
    for _ in range(steps):
        gram = x.T @ x
        x = A * x + x @ (B * gram + C * gram @ gram)
    return x


def ns_by_svd(x, steps):  # what the iteration does to the singular values, computed through the SVD
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    s = s / np.linalg.norm(s)
    for _ in range(steps):
        s = A * s + B * s**3 + C * s**5
    return (u * s) @ vt


@pytest.mark.parametrize("fn", [ns_plain, ns_transposed_when_tall, ns_right_gram, ns_by_svd])
def test_correct_implementations_pass(fn):
    assert check("newton_schulz", fn).passed


def test_each_classic_mistake_is_named():
    for diagnosis, wrong in EXERCISES["newton_schulz"].mistakes.items():
        with pytest.raises(CheckFailed) as excinfo:
            check("newton_schulz", lambda x, steps, wrong=wrong: wrong(x, steps)[0])
        assert diagnosis in str(excinfo.value), (diagnosis, str(excinfo.value))


def test_a_mistake_outside_the_list_still_fails():
    with pytest.raises(CheckFailed):  # the orthogonal factor U alone: right for square x, wrong in shape else
        check("newton_schulz", lambda x, steps: np.linalg.svd(x, full_matrices=False)[0])
