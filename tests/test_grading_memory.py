"""The graded exercise of chapter 11, factored_v(r, c): right answers pass, each classic mistake is named,
and the reference is tied to the definition (a rank-1 g² is recovered exactly)."""

import numpy as np
import pytest

from adamedu.course.grading import CheckFailed, cases, check, expected


def factored_v_ok(r, c):
    if np.ndim(r) == 1:
        return np.outer(r, c) / r.mean()
    return r[..., :, None] * c[..., None, :] / r.mean(-1)[..., None, None]


def factored_v_by_loops(r, c):  # another correct way: the normaliser as the mean of c (the same overall mean)
    r, c = np.atleast_2d(r), np.atleast_2d(c)
    out = np.empty(r.shape + c.shape[-1:])
    for k in range(r.shape[0]):
        for i in range(r.shape[1]):
            for j in range(c.shape[1]):
                out[k, i, j] = r[k, i] * c[k, j] / c[k].mean()
    return out.reshape(np.shape(r) + np.shape(c)[-1:]) if out.shape[0] > 1 else out[0]


def not_normalised(r, c):
    return r[..., :, None] * c[..., None, :]


def by_sum(r, c):
    return r[..., :, None] * c[..., None, :] / r.sum(-1)[..., None, None]


def rooted(r, c):
    return np.sqrt(factored_v_ok(r, c))


def swapped(r, c):
    return c[..., :, None] * r[..., None, :] / c.mean(-1)[..., None, None]


@pytest.mark.parametrize("fn", [factored_v_ok, factored_v_by_loops])
def test_correct_answers_pass(fn, capsys):
    check("factored_v", fn)
    assert "factored_v" in capsys.readouterr().out


@pytest.mark.parametrize("fn, words", [
    (not_normalised, "not normalised"),
    (by_sum, "sum(r), not mean(r)"),
    (rooted, "square root"),
    (swapped, "r and c swapped"),
])
def test_each_mistake_is_named(fn, words):
    with pytest.raises(CheckFailed, match=words.replace("(", r"\(").replace(")", r"\)")):
        check("factored_v", fn)


def test_reference_recovers_a_rank_one_second_moment():
    """Independent of the package's code: for g² = a bᵀ (rank 1), V̂ from its row and column means is g²."""
    a, b = np.array([1.0, 4.0, 0.25]), np.array([2.0, 0.5])
    g2 = np.outer(a, b)
    (v_hat,) = expected("factored_v", {"r": g2.mean(axis=1), "c": g2.mean(axis=0)})
    np.testing.assert_allclose(v_hat, g2, rtol=1e-14)


def test_cases_cover_shapes_and_scales():
    made = cases("factored_v")
    shapes = {np.shape(c["r"]) + np.shape(c["c"])[-1:] for c in made}
    assert (2, 3, 4) in shapes and (1, 3) in shapes
    sizes = [float(np.max(c["r"])) for c in made]
    assert min(sizes) < 1e-12 and max(sizes) > 100
