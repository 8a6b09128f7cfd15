"""Helpers shared by test_optimizers.py, test_properties.py and test_bad_input.py.

They walk structures of arrays on their own (not with adamedu._tree), so that a bug in the
package's tree handling cannot hide itself in the tests.
"""

import copy

import numpy as np

import adamedu as ae

# Every optimizer of DESIGN.md, with the state keys it must keep (written out by hand).
STATE_KEYS = {
    ae.GradientDescent: ["t"],
    ae.Momentum: ["t", "m"],
    ae.AdaGrad: ["t", "G"],
    ae.RMSprop: ["t", "v"],
    ae.Adam: ["t", "m", "v"],
    ae.AdamW: ["t", "m", "v"],
    ae.AMSGrad: ["t", "m", "v", "v_max"],
    ae.AdaMax: ["t", "m", "u"],
    ae.Nadam: ["t", "m", "v", "mu_product"],
    ae.RAdam: ["t", "m", "v"],
    ae.Lion: ["t", "m"],
    ae.Rprop: ["t", "prev", "step_size"],
    ae.Adadelta: ["t", "v", "u"],
    ae.Yogi: ["t", "m", "v"],
    ae.AdaBelief: ["t", "m", "s"],
    ae.Lamb: ["t", "m", "v"],
    ae.ScheduleFreeAdamW: ["t", "z", "v"],
    ae.Adafactor: ["t", "r", "c", "v"],
}
ALL_OPTIMIZERS = list(STATE_KEYS)


def slot_shape(cls, name, shape):
    """The shape of slot ``name`` for a parameter of ``shape`` (written out by hand): the parameter's, except
    Adafactor's factored second moment (row means r, column means c for two or more axes; v for fewer, the
    unused slots empty)."""
    if cls is not ae.Adafactor:
        return tuple(shape)
    factored = len(shape) >= 2
    return {"r": tuple(shape[:-1]) if factored else (0,),
            "c": tuple(shape[:-2]) + tuple(shape[-1:]) if factored else (0,),
            "v": (0,) if factored else tuple(shape)}[name]


def optimizer_id(cls):
    return cls.__name__


def leaves(tree):
    """The arrays of a dict / list / tuple structure, in order (dict keys in insertion order)."""
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in leaves(value)]
    if isinstance(tree, (list, tuple)):
        return [leaf for value in tree for leaf in leaves(value)]
    return [tree]


def snapshot(tree):
    """A deep copy to compare with after a call that must change nothing."""
    return copy.deepcopy(tree)


def assert_identical(actual, expected, where="value"):
    """Same container types, same keys in the same order, arrays equal in value, shape and dtype."""
    assert type(actual) is type(expected), f"{where}: {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_identical(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_identical(a, e, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, f"{where}: shape {actual.shape} != {expected.shape}"
        equal_nan = np.issubdtype(expected.dtype, np.inexact)  # NaN == NaN here; strings have no NaN
        assert np.array_equal(actual, expected, equal_nan=equal_nan), f"{where}: {actual} != {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def run(opt, w0, grads, dtype=np.float64):
    """Steps of ``opt`` from ``w0`` with the given gradients; returns [(w1, state1), (w2, state2), ...]."""
    w = np.array(w0, dtype=dtype)
    state = opt.init(w)
    out = []
    for g in grads:
        w, state = opt.step(w, np.array(g, dtype=dtype), state)
        out.append((w, state))
    return out
