"""8-bit blockwise states (Dettmers et al. 2022) and the memory arithmetic of chapter 11."""

import numpy as np
import pytest

import adamedu as ae
from adamedu.memory import dynamic_code, linear_code


def test_codes_have_256_values_in_range():
    for signed in (True, False):
        for code in (dynamic_code(signed), linear_code(signed)):
            assert len(code) <= 256 and np.all(np.diff(code) > 0)
            assert code[-1] == 1.0 and (code[0] == -1.0 if signed else code[0] == 0.0)
    assert len(dynamic_code(True)) == 255 and len(dynamic_code(False)) == 256


def test_roundtrip_error_is_bounded_by_half_a_code_step():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000)
    q = ae.quantize_blockwise(x, block=256, code="linear")
    back = ae.dequantize_blockwise(q)
    # linear signed code: 255 values over [-1, 1], spacing 2/254; error <= half of it times the block's absmax
    for lo in range(0, 1000, 256):
        block = slice(lo, lo + 256)
        bound = np.abs(x[block]).max() / 254 * (1 + 1e-9)
        assert np.abs(back[block] - x[block]).max() <= bound
    assert back.shape == x.shape and back.dtype == x.dtype
    assert q.codes.dtype == np.uint8 and q.absmax.size == 4  # ceil(1000 / 256) scales


def test_block_maximum_is_exact_and_zero_stays_zero():
    x = np.array([0.0, 3.0, -1.5, 0.0, 0.125])
    for code in ("linear", "dynamic"):
        back = ae.dequantize_blockwise(ae.quantize_blockwise(x, block=4, code=code))
        assert back[1] == 3.0 and back[0] == 0.0 and back[3] == 0.0
        assert back[4] == 0.125  # alone in its block: its own absmax


def test_dynamic_code_keeps_small_values_that_linear_rounds_to_zero():
    """Adam's v spans orders of magnitude inside a block: the linear code zeros the small ones."""
    v = np.array([1.0, 1e-3, 1e-4, 1e-5])
    lin = ae.dequantize_blockwise(ae.quantize_blockwise(v, block=4, code="linear"))
    dyn = ae.dequantize_blockwise(ae.quantize_blockwise(v, block=4, code="dynamic"))
    assert np.all(lin[2:] == 0)
    np.testing.assert_allclose(dyn, v, rtol=0.25)  # coarse in the smallest decades, but not zero


def test_eight_bit_state_is_smaller_and_tracks_full_precision():
    rng = np.random.default_rng(1)
    w = {"W": rng.standard_normal((64, 32)), "b": np.zeros(32)}
    opt, small = ae.Adam(lr=1e-2), ae.EightBitState(ae.Adam(lr=1e-2))
    s_full, s_8 = opt.init(w), small.init(w)
    w_full, w_8 = w, w
    for _ in range(20):
        g = {"W": rng.standard_normal((64, 32)), "b": rng.standard_normal(32)}
        w_full, s_full = opt.step(w_full, g, s_full)
        w_8, s_8 = small.step(w_8, g, s_8)
    # 1 byte per number + a 4-byte scale per block, instead of 8 (float64)
    n = 64 * 32 + 32
    assert ae.state_nbytes(s_8) == 2 * (n + 4 * (8 + 1))
    assert ae.state_nbytes(s_full) == 2 * 8 * n
    rel = np.abs(w_8["W"] - w_full["W"]).max() / np.abs(w_full["W"] - w["W"]).max()
    assert rel < 0.1  # the parameters moved, and the 8-bit run moved them nearly alike
    assert s_8["t"] == 20


def test_eight_bit_bad_input_named():
    with pytest.raises(ValueError, match="block must be a whole number >= 1, got 0"):
        ae.EightBitState(ae.Adam(), block=0)
    with pytest.raises(ValueError, match="code must be one of.*'log'"):
        ae.EightBitState(ae.Adam(), code="log")
    with pytest.raises(TypeError, match="optimizer must be an adamedu optimizer"):
        ae.EightBitState("adam")
    with pytest.raises(ValueError, match="Nadam keeps shared scalar state"):
        ae.EightBitState(ae.Nadam())
    with pytest.raises(ValueError, match="NaN or infinity"):
        ae.quantize_blockwise(np.array([1.0, np.inf]))
    with pytest.raises(TypeError, match="floating-point.*int64"):
        ae.quantize_blockwise(np.arange(3))


def test_adam_state_bytes_by_hand():
    # fp32 training: w, g, m, v at 4 bytes each
    assert ae.adam_state_bytes(10) == 160
    # mixed precision (Micikevicius et al. 2018; Rajbhandari et al. 2020): fp16 w and g, fp32 master, m, v
    assert ae.adam_state_bytes(7e9, param_bytes=2, master_bytes=4) == 16 * 7 * 10**9
    # SGD without momentum keeps no slot
    assert ae.adam_state_bytes(10, slots=0) == 80
    with pytest.raises(ValueError, match="n_params must be a finite number >= 0, got -1"):
        ae.adam_state_bytes(-1)


def test_state_nbytes_counts_arrays_only():
    opt = ae.Adam()
    state = opt.init({"a": np.zeros(10, dtype=np.float32)})
    assert ae.state_nbytes(state) == 80
