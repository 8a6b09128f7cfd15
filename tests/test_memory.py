"""Memory and the in-place fast path: what the state holds, what a step allocates, and that
``step(..., inplace=True)`` computes exactly what the pure step computes.

The in-place step runs each rule on blocks of ``BLOCK_BYTES`` bytes; the arrays here are sized around
that block (one element short of it, a few past two blocks) so that the last, partial block is exercised.
"""

import tracemalloc

import numpy as np
import pytest
from optimizer_support import ALL_OPTIMIZERS, STATE_KEYS, leaves, optimizer_id, snapshot

import adamedu as ae
from adamedu.optimizers._base import BLOCK_BYTES

DTYPES = [np.float32, np.float64]


def block(dtype):
    return BLOCK_BYTES // np.dtype(dtype).itemsize


def make_params(dtype, seed=0):
    """A dict of arrays of awkward sizes: a 0-d array, a small matrix, one just under a block, one past one,
    one past two, and a long one."""
    rng = np.random.default_rng(seed)
    n = block(dtype)
    shapes = {"scale": (), "W": (3, 5), "under": (n - 1,), "over": (2, n // 2 + 3)}  # 2·(n/2 + 3) = n + 6
    shapes["long"] = (2 * n + 3,)
    shapes["many"] = (5 * n + 5,)
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in shapes.items()}


def gradients(params, rng):
    return {name: rng.standard_normal(w.shape).astype(w.dtype) for name, w in params.items()}


def bits(x):
    """The bytes of an array as unsigned integers: equal bits, not just equal values (-0.0 is not 0.0)."""
    x = np.asarray(x)
    return x.view(f"u{x.dtype.itemsize}")


def assert_same_bits(actual, expected, where):
    assert type(actual) is type(expected), where
    if isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for key in expected:
            assert_same_bits(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, where
        mismatch = np.flatnonzero(bits(actual).reshape(-1) != bits(expected).reshape(-1))
        assert mismatch.size == 0, (f"{where}: {mismatch.size} elements differ, first at flat index {mismatch[0]}: "
                                    f"{actual.reshape(-1)[mismatch[0]]!r} != {expected.reshape(-1)[mismatch[0]]!r}")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


# -- the state -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("inplace", [False, True], ids=["pure", "inplace"])
def test_adam_state_holds_two_arrays_per_parameter_array(inplace):
    params = make_params(np.float32)
    opt = ae.Adam()
    state = opt.init(params)
    rng = np.random.default_rng(1)
    for _ in range(3):
        params, state = opt.step(params, gradients(params, rng), state, inplace=inplace)
    assert sorted(state) == ["m", "t", "v"]
    assert state.t == 3
    arrays = leaves(state["m"]) + leaves(state["v"])
    assert len(arrays) == 2 * len(params)
    assert all(type(a) is np.ndarray for a in arrays)
    for slot in ("m", "v"):
        assert list(state[slot]) == list(params)
        for name, w in params.items():
            assert state[slot][name].shape == w.shape and state[slot][name].dtype == w.dtype, (slot, name)
    # two arrays of their own: no slot is a view of another array of the state or of the parameters
    owned = arrays + list(params.values())
    for i, a in enumerate(owned):
        for b in owned[i + 1:]:
            assert not np.shares_memory(a, b)


# -- what a step allocates -----------------------------------------------------------------------------------

def peak_during_step(opt, w, g, state, inplace):
    """The largest memory (bytes) traced during one step above what was traced before it.

    numpy reports the data of every array it allocates to tracemalloc, so the peak counts the
    temporaries of the rule as well as the arrays a step returns.
    """
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = opt.step(w, g, state, inplace=inplace)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak - before


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_inplace_step_allocates_nothing_as_large_as_the_parameters(dtype):
    # The step holds the temporaries of one block at a time: about ten arrays of 64 KiB, however
    # large the parameters (4 MB of float32 here, 8 MB of float64).
    n = 10**6
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    opt = ae.Adam()
    state = opt.init(w)
    opt.step(w, g, state, inplace=True)  # the first step: anything allocated once happens here
    peak = peak_during_step(opt, w, g, state, inplace=True)
    assert peak < w.nbytes / 4, f"the in-place step allocated {peak} bytes at its peak; the parameters take {w.nbytes}"


def test_pure_step_allocates_new_arrays_so_the_measurement_can_fail():
    n = 10**6
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    opt = ae.Adam()
    state = opt.init(w)
    peak = peak_during_step(opt, w, g, state, inplace=False)
    assert peak >= 3 * w.nbytes  # at least the new w, m and v it returns


# -- the in-place step computes what the pure step computes ---------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_inplace_step_is_bit_identical_to_the_pure_step(cls, dtype):
    opt = cls()
    pure = make_params(dtype)
    fast = snapshot(pure)
    pure_state, fast_state = opt.init(pure), opt.init(fast)
    rng = np.random.default_rng(2)
    for step in range(1, 6):
        grads = gradients(pure, rng)
        pure, pure_state = opt.step(pure, grads, pure_state)
        fast, fast_state = opt.step(fast, snapshot(grads), fast_state, inplace=True)
        assert_same_bits(fast, pure, f"{cls.__name__} step {step}: params")
        assert list(fast_state) == list(pure_state)
        for key in pure_state:
            assert_same_bits(fast_state[key], pure_state[key], f"{cls.__name__} step {step}: state.{key}")


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_inplace_step_returns_and_fills_the_arrays_it_was_given(cls):
    opt = cls()
    params = make_params(np.float64)
    state = opt.init(params)
    arrays = {name: params[name] for name in params}
    slots = {s: dict(state[s]) for s in STATE_KEYS[cls][1:] if isinstance(state[s], dict)}
    before = snapshot(params)
    new_params, new_state = opt.step(params, gradients(params, np.random.default_rng(3)), state, inplace=True)
    assert new_params is params and new_state is state
    for name, w in arrays.items():
        assert new_params[name] is w, name
        assert not np.array_equal(w, before[name]), f"{name} was not written"
    for s, arrays_of_slot in slots.items():
        for name, x in arrays_of_slot.items():
            assert new_state[s][name] is x, (s, name)
    assert new_state.t == 1


def test_an_overflow_in_a_late_block_is_named_by_its_index_in_the_array():
    # 2 rows of a length that puts the last element in the 6th block
    cols = 5 * block(np.float64) // 2 + 3
    opt = ae.GradientDescent(lr=1e300)
    messages = []
    for inplace in (False, True):
        params = {"w": np.ones((2, cols))}
        grads = {"w": np.zeros((2, cols))}
        grads["w"][1, -1] = -1e300  # 1 + 1e300 · 1e300 overflows
        with pytest.raises(ae.NonFiniteError) as info:
            opt.step(params, grads, opt.init(params), inplace=inplace)
        messages.append(str(info.value))
        assert params["w"][1, -1] == 1.0  # not written
    assert messages[0] == ("GradientDescent step 1 would overflow: params['w'] holds inf at index "
                           f"(1, {cols - 1}) (1 non-finite value(s)); parameters must be finite")
    assert messages[1] == messages[0]


# -- what the in-place step refuses ----------------------------------------------------------------------------

def strided(dtype):
    return np.arange(20, dtype=dtype)[::2]  # a view with a step: not C-contiguous


def read_only(x):
    x = x.copy()
    x.flags.writeable = False
    return x


@pytest.mark.parametrize("where", ["params", "state"])
@pytest.mark.parametrize("spoil", [strided, read_only], ids=["non-contiguous", "read-only"])
def test_inplace_step_refuses_arrays_it_cannot_write_and_writes_nothing(spoil, where):
    opt = ae.Adam()
    params = {"first": np.ones(5), "b": np.ones(10)}
    state = opt.init(params)
    bad = spoil(np.float64) if spoil is strided else read_only(np.ones(10))
    if where == "params":
        params["b"] = bad
    else:
        state["v"]["b"] = bad
    params_before, state_before = snapshot(params), snapshot(state)
    grads = {"first": np.full(5, 0.5), "b": np.full(10, 0.5)}
    with pytest.raises(ValueError) as info:
        opt.step(params, grads, state, inplace=True)
    message = str(info.value)
    assert "params['b']" in message and "writeable, C-contiguous numpy arrays" in message, message
    assert "inplace=False" in message, message  # it says what to do instead
    # "first" comes before the bad array and is fine: it must not have been written either
    for name in params:
        np.testing.assert_array_equal(params[name], params_before[name])
    for s in ("m", "v"):
        for name in params:
            np.testing.assert_array_equal(state[s][name], state_before[s][name])
    assert state.t == 0


def test_inplace_step_refuses_leaves_that_are_not_arrays():
    # A list of two Python numbers is a structure of two leaves; the step turns each into a new array,
    # so writing into those would leave w as it was while state.t counts a step.
    opt = ae.GradientDescent()
    w = [1.0, 2.0]
    state = opt.init(w)
    with pytest.raises(ValueError, match="writeable, C-contiguous numpy arrays"):
        opt.step(w, [0.1, 0.1], state, inplace=True)
    assert w == [1.0, 2.0] and state.t == 0


def test_the_pure_step_takes_what_the_inplace_step_refuses():
    opt = ae.Adam()
    w = read_only(np.ones(10))
    new_w, state = opt.step(w, np.full(10, 0.5), opt.init(w))
    assert state.t == 1 and not np.array_equal(new_w, w)
    np.testing.assert_array_equal(w, np.ones(10))

