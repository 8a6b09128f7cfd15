"""Data sets made for a lesson: Wilson et al.'s classification problem on which adaptive methods generalize badly.

Wilson, Roelofs, Stern, Srebro & Recht (2017), "The marginal value of adaptive gradient methods in machine
learning", Section 3.3, build a linearly separable binary problem whose first feature *is* the label, and yet
AdaGrad, RMSprop and Adam, started from w = 0 on the squared loss, find a solution that labels every new
point +1, while gradient descent finds the minimum-norm solution, which labels new points correctly. ::

    (X, y), (X_test, y_test) = wilson_classification(n=40, n_test=400, p=0.7, seed=0)
    problem = adamedu.LinearRegression(X, y)        # least squares on the labels ±1, as in the paper

The labels are ±1 (floats), the features 0/±1 (floats). X is dense, with 3 + 5N columns for N points in
all: N of a few dozen to a few hundred shows the effect.
"""

# X is the data matrix of the paper's equations.
# ruff: noqa: N806

import numbers

import numpy as np

__all__ = ["wilson_features", "wilson_classification"]

BLOCK = 5  # columns reserved for each example's own features


def wilson_features(y):
    r"""The feature vectors of Wilson et al. (2017, Section 3.3) for the labels ``y``; shape (n, 3 + 5n).

    The paper, counting examples i = 1 … n and features j = 1, 2, … from 1, sets

        x_ij = y_i  for j = 1,
        x_ij = 1    for j = 2, 3,
        x_ij = 1    for j = 4 + 5(i − 1), …, 4 + 5(i − 1) + 2(1 − y_i),
        x_ij = 0    otherwise.

    Implemented exactly so, with numpy's 0-based rows r = i − 1 and columns c = j − 1:

    - column 0 holds the label y_r (the feature that would classify perfectly);
    - columns 1 and 2 hold 1 for every example;
    - example r owns the five columns 3 + 5r … 3 + 5r + 4: a positive example (y = +1, 2(1 − y) = 0) sets
      the first of them to 1, a negative one (y = −1, 2(1 − y) = 4) sets all five;
    - everything else is 0.

    The paper's feature vectors are infinite; the blocks of different examples never overlap, and the
    3 + 5n columns kept here are all that n examples touch. So a positive example has 4 non-zero features
    and a negative one 8. When Σ yᵢ > 0, s = sign(Xᵀy) is 1 on columns 0, 1, 2 and y_r on example r's
    non-zero columns, so x_r · s = y_r + 2 + y_r · (1 or 5) = 4 y_r: Xs = 4y, the fact behind the
    paper's Lemma 3.1.

    ``y`` is a non-empty 1-D sequence of the labels +1 and −1.
    """
    y = _labels(y)
    n = y.size
    X = np.zeros((n, 3 + BLOCK * n))
    X[:, 0] = y
    X[:, 1:3] = 1.0
    for r, label in enumerate(y):
        start = 3 + BLOCK * r
        X[r, start:start + 1 + int(2 * (1 - label))] = 1.0  # 1 column for y = +1, 5 for y = -1
    return X


def wilson_classification(n, n_test, p, seed=0):
    """A training set of ``n`` points and a test set of ``n_test`` points drawn the same way.

    Returns ``(X, y), (X_test, y_test)``. Every label is +1 with probability ``p`` (1/2 < p ≤ 1) and −1
    otherwise, independently, drawn by ``np.random.default_rng(seed)``: the n training labels first,
    then the test labels. The features are :func:`wilson_features` of all n + n_test labels together, so
    training and test points share the dimension d = 3 + 5(n + n_test) and every point, test points
    included, owns a block of columns that no other point touches (the paper's infinite feature vector,
    cut to the columns in use). In ``X`` the test points' columns are zero; a model fitted to ``(X, y)``
    from w = 0 by a gradient method never moves their weights.

    Wilson et al.'s argument for the adaptive methods needs b = Σ yᵢ > 0 on the training set (more +1
    than −1 labels, as p > 1/2 makes likely); it is not enforced here, so check ``y.sum() > 0`` for
    small n.
    """
    n = _count("n", n, minimum=1)
    n_test = _count("n_test", n_test, minimum=1)
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real) or not 0.5 < p <= 1:
        raise ValueError(f"wilson_classification: p, the probability of the label +1, must be a number with "
                         f"1/2 < p <= 1, got {p!r}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"wilson_classification: seed must be a whole number >= 0, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    labels = np.where(rng.random(n + n_test) < p, 1.0, -1.0)
    X_all = wilson_features(labels)
    return (X_all[:n], labels[:n]), (X_all[n:], labels[n:])


def _labels(y):
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"wilson_features: y must be a 1-D array of the labels +1 and -1, got "
                        f"{type(y).__name__}: {err}") from None
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"wilson_features: y must be a non-empty 1-D array of the labels +1 and -1, "
                         f"got shape {y.shape}")
    bad = ~((y == 1) | (y == -1))
    if bad.any():
        raise ValueError(f"wilson_features: y must hold the labels +1 and -1 only, got {float(y[bad][0])!r} "
                         f"at index {int(np.argmax(bad))}")
    return y


def _count(name, value, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"wilson_classification: {name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)
