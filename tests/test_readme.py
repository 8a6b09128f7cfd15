"""The README's Python code, run as written (its PyTorch loop is run by tests/test_torch_bridge.py)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def blocks(heading):
    """The ```python blocks of the README's section `## heading`, in order."""
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def run(code, namespace=None):
    namespace = {} if namespace is None else namespace
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_use_the_package(capsys):
    import adamedu as ae

    first, schedules = blocks("Three ways to use it")
    done = run(first)
    assert capsys.readouterr().out == "1 [0.1 0.1]\n"
    assert done["params"]["b"] == pytest.approx([-1e-3, -1e-3])
    done = run(schedules, done)
    assert isinstance(done["opt"], ae.AdamW) and isinstance(done["sf"], ae.ScheduleFreeAdamW)
    assert done["sched"](100) == pytest.approx(1e-3, rel=0.02) and done["sched"](1000) < 1e-6


def test_compiled_block_uses_the_first_blocks_values():
    pytest.importorskip("numba")
    import adamedu as ae

    done = run(blocks("Three ways to use it")[0])
    adam = ae.Adam(lr=1e-3)  # the block's rule, from a fresh state, on the params the first block left
    expected, _ = adam.step(done["params"], done["grads"], adam.init(done["params"]))
    (fast,) = blocks("Faster: the same rule, compiled")
    done = run(fast, done)
    assert done["state"].t == 1
    assert all(np.array_equal(done["params"][k], expected[k]) for k in expected)


def test_keras_block_trains():
    pytest.importorskip("keras")
    from adamedu.keras import KerasOptimizer

    (code,) = blocks("Use it in Keras")
    done = run(code)
    assert isinstance(done["opt"], KerasOptimizer)
    assert done["model"].evaluate(done["x"], done["y"], verbose=0) < 0.05  # the noise floor is 0.01
