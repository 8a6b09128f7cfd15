"""Chapter 10's graded exercise, cosine_with_warmup(t, warmup_steps, decay_steps, peak, final)."""

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from adamedu.course.grading import cases, expected  # noqa: E402
from adamedu.grading import check  # noqa: E402


def cosine_ok(t, warmup_steps, decay_steps, peak, final):
    if t <= warmup_steps:
        return peak * (t - 1) / warmup_steps
    progress = min(t - 1 - warmup_steps, decay_steps) / decay_steps
    return final + (peak - final) * (1 + math.cos(math.pi * progress)) / 2


def cosine_numpy(t, warmup_steps, decay_steps, peak, final):
    k = np.float64(t - 1)
    warm = peak * k / warmup_steps
    p = np.clip((k - warmup_steps) / decay_steps, 0, 1)
    return float(np.where(k < warmup_steps, warm, final + 0.5 * (peak - final) * (1 + np.cos(np.pi * p))))


def off_by_one(t, **kw):
    return cosine_ok(t + 1, **kw)


def no_clamp(t, warmup_steps, decay_steps, peak, final):
    if t <= warmup_steps:
        return peak * (t - 1) / warmup_steps
    return final + (peak - final) * (1 + math.cos(math.pi * (t - 1 - warmup_steps) / decay_steps)) / 2


def no_final(t, warmup_steps, decay_steps, peak, final):
    return cosine_ok(t, warmup_steps, decay_steps, peak, 0.0)


def quarter(t, warmup_steps, decay_steps, peak, final):
    if t <= warmup_steps:
        return peak * (t - 1) / warmup_steps
    p = min(t - 1 - warmup_steps, decay_steps) / decay_steps
    return final + (peak - final) * math.cos(math.pi * p / 2)


@pytest.mark.parametrize("fn", [cosine_ok, cosine_numpy])
def test_correct_answers_pass(fn, capsys):
    assert check("cosine_with_warmup", fn).passed
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize(("fn", "words"), [(off_by_one, "off by one"), (no_clamp, "rises again"),
                                          (no_final, "final is missing"), (quarter, "a quarter period")])
def test_each_classic_mistake_is_named(fn, words):
    with pytest.raises(AssertionError) as err:
        check("cosine_with_warmup", fn)
    assert words in str(err.value)


def test_reference_equals_keras_cosine_decay_at_t_minus_1():
    from adamedu.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras

    for case in cases("cosine_with_warmup")[:12]:
        k = keras.optimizers.schedules.CosineDecay(0.0, case["decay_steps"], alpha=case["final"] / case["peak"],
                                                   warmup_target=case["peak"], warmup_steps=case["warmup_steps"])
        (lr,) = expected("cosine_with_warmup", case)
        assert lr == pytest.approx(float(k(case["t"] - 1)), rel=2e-6, abs=1e-10), case


def test_cases_cover_every_phase():
    phases = set()
    for c in cases("cosine_with_warmup"):
        w, d, t = c["warmup_steps"], c["decay_steps"], c["t"]
        phases.add("warm" if t <= w else "decay" if t <= w + d else "end" if t == w + d + 1 else "after")
    assert phases == {"warm", "decay", "end", "after"}
