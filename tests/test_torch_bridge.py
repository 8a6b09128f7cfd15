"""adamedu.torch: adamedu's update rules as a torch.optim.Optimizer.

Four kinds of evidence:

- Every adamedu optimizer, run through the bridge on float64 tensors, follows the numpy ``step`` on the
  same gradients, step by step for a long random run, parameters and state; and every one that has a
  torch.optim counterpart (DESIGN.md's mappings, the cases of tests/test_reference.py) follows that
  torch optimizer just as closely. Lion has none in torch.optim.
- A small ``torch.nn`` model trained in a real loop (``zero_grad``, ``backward``, ``step``) follows
  ``torch.optim.Adam``'s trajectory, and its loss goes down.
- The torch side: parameter groups, ``add_param_group``, lr schedulers, ``state_dict`` round trips,
  ``step(closure)``, ``maximize``, parameters without gradients, dtypes, names and ``for_param``.
- The documented differences from the numpy step hold, and bad input is refused, changing nothing.
"""

import copy
import dataclasses
import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_reference import TORCH_CASES, assert_same, gradient_sequence, initial_params  # noqa: E402

try:  # the equivalence table's torch rows (options such as weight_decay, maximize, centered), where present
    from test_equivalences import TORCH_ROWS, ours_of, torch_slots
except ImportError:
    TORCH_ROWS = []

import adamedu as ae  # noqa: E402
from adamedu.torch import TorchOptimizer, to_torch  # noqa: E402

STEPS = 200

EVERY = [  # each optimizer once, with hyperparameters off their defaults (so one ignored would show)
    ae.GradientDescent(lr=0.03),
    ae.Momentum(lr=0.02, beta=0.8, nesterov=True),
    ae.AdaGrad(lr=0.05, eps=1e-6, initial_accumulator=0.1, eps_in_sqrt=True),
    ae.RMSprop(lr=0.01, beta=0.95, eps=1e-6),
    ae.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
    ae.AdamW(lr=0.01, beta1=0.85, beta2=0.995, eps=1e-7, weight_decay=0.1, eps_hat=True),
    ae.AMSGrad(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
    ae.AdaMax(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
    ae.Nadam(lr=0.01, beta1=0.85, beta2=0.99, eps=1e-6, momentum_decay=0.01),
    ae.RAdam(lr=0.01, beta1=0.85, beta2=0.99, eps=1e-6),  # rho_t > 5 from t = 6: both branches run
    ae.Lion(lr=0.01, beta1=0.85, beta2=0.95, weight_decay=0.1),
    ae.Rprop(lr=0.05, eta_minus=0.25, eta_plus=1.5),
    ae.Adadelta(lr=0.5, rho=0.8, eps=1e-4),
    ae.Yogi(lr=0.02, beta1=0.8, eps=1e-4),
    ae.AdaBelief(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-10),
    ae.Lamb(lr=0.01, beta1=0.8, weight_decay=0.01),  # not elementwise: norms of the whole tensor
    ae.ScheduleFreeAdamW(lr=0.01, beta1=0.8, warmup_steps=3, weight_decay=0.1),  # z set on step 1 (zeroed slot)
    ae.Adafactor(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),  # factored slots, smaller than p
]
# The matrix rules of chapter 9 take matrices only (Muon, Shampoo's factors) or keep state not shaped like the
# parameter (Shampoo, FullMatrixAdaGrad), which this file's vector parameters and the bridge's slots do not fit:
# Muon through to_torch is tested in test_matrix_optimizers.py; Shampoo and FullMatrixAdaGrad run in numpy only.
MATRIX_RULES = {"Muon", "Shampoo", "FullMatrixAdaGrad"}
EXPORTED = sorted(name for name in ae.__all__ if isinstance(getattr(ae, name), type)
                  and issubclass(getattr(ae, name), ae.Optimizer) and name not in {"Optimizer", *MATRIX_RULES})


def opt_id(opt):
    return type(opt).__name__


def tensors_of(params, dtype=torch.float64):
    return {k: torch.tensor(w, dtype=dtype, requires_grad=True) for k, w in params.items()}


def set_grads(tensors, grads):
    for k, p in tensors.items():
        p.grad = torch.tensor(grads[k], dtype=p.dtype)  # a copy: torch cannot alter an array we still use


def test_every_exported_optimizer_is_covered():
    assert sorted(opt_id(opt) for opt in EVERY) == EXPORTED
    from test_adafactor import torch_cases as adafactor_torch_cases
    from test_family import TORCH_CASES as FAMILY_TORCH_CASES

    with_torch = {opt_id(case.values[0]) for case in TORCH_CASES + FAMILY_TORCH_CASES + adafactor_torch_cases()}
    not_in_torch = {"Lion", "Yogi", "AdaBelief", "Lamb", "ScheduleFreeAdamW"}  # not in torch.optim
    assert with_torch == set(EXPORTED) - not_in_torch


# -- every optimizer: the bridge against the numpy step, and against torch.optim ----------------------

@pytest.mark.parametrize("opt", EVERY, ids=opt_id)
def test_bridge_follows_the_numpy_step(opt):
    """float64, 200 steps of mixed-scale gradients (with exact zeros): parameters, slots, t and scalars."""
    params = initial_params()
    tensors = tensors_of(params)
    bridge = to_torch(opt, tensors.values())
    state = opt.init(params)
    for t, grads in enumerate(gradient_sequence(params, STEPS), start=1):
        params, state = opt.step(params, grads, state)
        set_grads(tensors, grads)
        bridge.step()
        for k, p in tensors.items():
            theirs = bridge.state[p]
            assert theirs["t"] == state.t == t
            assert_same(p.detach().numpy(), params[k], f"{opt_id(opt)} params[{k!r}]", t)
            for name in opt.slots:
                assert theirs[name].dtype == torch.float64
                assert_same(theirs[name].numpy(), state[name][k], f"{opt_id(opt)} state.{name}[{k!r}]", t)
            for name in opt.scalars:
                assert_same(theirs[name], state[name], f"{opt_id(opt)} {name}", t)


def test_bridge_follows_the_numpy_step_to_the_last_bits():
    """The docstring's claim "to the last few bits": 200 Adam steps in float64 agree to 1e-13, not just RTOL."""
    opt = EVERY[4]
    params = initial_params()
    tensors = tensors_of(params)
    bridge = to_torch(opt, tensors.values())
    state = opt.init(params)
    for grads in gradient_sequence(params, STEPS):
        params, state = opt.step(params, grads, state)
        set_grads(tensors, grads)
        bridge.step()
    for k, p in tensors.items():
        np.testing.assert_allclose(p.detach().numpy(), params[k], rtol=1e-13, atol=0)


def run_bridge_and_torch(ours, make_theirs, slots, steps=STEPS):
    """Step to_torch(ours) and the torch optimizer make_theirs(tensors) on the same gradients; compare every step."""
    params = initial_params()
    mine, reference = tensors_of(params), tensors_of(params)
    bridge = to_torch(ours, mine.values())
    theirs = make_theirs(list(reference.values()))
    for t, grads in enumerate(gradient_sequence(params, steps), start=1):
        set_grads(mine, grads)
        set_grads(reference, grads)
        bridge.step()
        theirs.step()
        for k in params:
            p, q = mine[k], reference[k]
            assert_same(p.detach().numpy(), q.detach().numpy(), f"params[{k!r}]", t)
            if "step" in theirs.state[q]:
                assert int(theirs.state[q]["step"]) == bridge.state[p]["t"] == t
            for name, (key, to_ours) in slots.items():
                assert_same(np.asarray(bridge.state[p][name]), to_ours(theirs.state[q][key].numpy()),
                            f"state.{name}[{k!r}] vs torch {key!r}", t)


@pytest.mark.parametrize("ours, make_theirs, slots", TORCH_CASES)
def test_bridge_matches_torch_optim(torch_float64, ours, make_theirs, slots):
    """The bridge and the torch.optim class DESIGN.md pairs it with, on the same tensors' gradients."""
    run_bridge_and_torch(ours, lambda tensors: make_theirs(torch_float64, tensors), slots)


@pytest.mark.parametrize("ours_code, theirs_code", TORCH_ROWS, ids=[row[0] for row in TORCH_ROWS])
def test_bridge_matches_every_torch_row_of_the_equivalence_table(torch_float64, ours_code, theirs_code):
    """Every torch row of book/reference_equivalences.md (tests/test_equivalences.py), through the bridge."""
    ours = ours_of(ours_code)
    run_bridge_and_torch(ours, lambda params: eval(theirs_code, {"torch": torch_float64, "params": params}),  # noqa: S307
                         torch_slots(ours))


def test_comparison_with_torch_optim_can_fail(torch_float64):
    """Negative control: Momentum(lr, beta) is SGD(lr·(1−β), momentum=β); with SGD(lr, momentum=β) it differs."""
    params = initial_params()
    mine, reference = tensors_of(params), tensors_of(params)
    bridge = to_torch(ae.Momentum(lr=0.02, beta=0.8), mine.values())
    theirs = torch.optim.SGD(reference.values(), lr=0.02, momentum=0.8)
    grads = next(gradient_sequence(params, 1))
    set_grads(mine, grads)
    set_grads(reference, grads)
    bridge.step()
    theirs.step()
    with pytest.raises(AssertionError):
        assert_same(mine["W"].detach().numpy(), reference["W"].detach().numpy(), "params['W']", 1)


@pytest.mark.parametrize("opt", [EVERY[8], EVERY[9], EVERY[10]], ids=opt_id)
def test_large_tensors_run_in_blocks_with_the_same_result(torch_float64, opt):
    """A CPU tensor larger than BLOCK_BYTES runs the rule block by block (views of the flattened tensors):
    the same numbers as the numpy step, for a contiguous parameter and a transposed (non-contiguous) one,
    which runs whole."""
    from adamedu.engines.torch import blocks
    from adamedu.optimizers._base import BLOCK_BYTES

    rng = np.random.default_rng(3)
    params = {"big": rng.normal(size=(3, BLOCK_BYTES // 8 + 5)), "wide": rng.normal(size=(40, 300))}
    tensors = {"big": torch.tensor(params["big"], requires_grad=True),
               "wide": torch.tensor(params["wide"].T.copy()).T.detach().requires_grad_()}  # strides of a transpose
    assert tensors["big"].is_contiguous() and not tensors["wide"].is_contiguous()
    assert len(blocks([tensors["big"]] * 3, opt)) == 4 and len(blocks([tensors["wide"]] * 3, opt)) == 1
    bridge = to_torch(opt, tensors.values())
    state = opt.init(params)
    for t in range(1, 8):
        grads = {k: rng.normal(size=w.shape) for k, w in params.items()}
        params, state = opt.step(params, grads, state)
        set_grads(tensors, grads)
        bridge.step()
        for k, p in tensors.items():
            assert_same(p.detach().numpy(), params[k], f"params[{k!r}]", t)
            for name in opt.slots:
                assert_same(bridge.state[p][name].numpy(), state[name][k], f"state.{name}[{k!r}]", t)


# -- dtypes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("opt", [EVERY[4], EVERY[8], EVERY[9]], ids=opt_id)
def test_float32_follows_the_numpy_step_in_float32(opt):
    """float32 tensors: float32 slots and arithmetic, as the numpy step does on float32 arrays."""
    params = {k: w.astype(np.float32) for k, w in initial_params().items()}
    tensors = tensors_of(params, torch.float32)
    bridge = to_torch(opt, tensors.values())
    state = opt.init(params)
    for grads in gradient_sequence(params, 50):
        grads = {k: g.astype(np.float32) for k, g in grads.items()}
        params, state = opt.step(params, grads, state)
        set_grads(tensors, grads)
        bridge.step()
    for k, p in tensors.items():
        assert p.dtype == torch.float32 and params[k].dtype == np.float32
        assert all(bridge.state[p][name].dtype == torch.float32 for name in opt.slots)
        np.testing.assert_allclose(p.detach().numpy(), params[k], rtol=1e-5, atol=1e-6)


def test_each_tensor_keeps_its_dtype():
    """One float32 and one float64 parameter in one optimizer: each keeps its dtype, and so does its state."""
    a = torch.ones(3, dtype=torch.float32, requires_grad=True)
    b = torch.ones(2, dtype=torch.float64, requires_grad=True)
    bridge = to_torch(ae.AdaGrad(initial_accumulator=0.1), [a, b])
    a.grad, b.grad = torch.full((3,), 0.5, dtype=torch.float32), torch.full((2,), 0.5, dtype=torch.float64)
    bridge.step()
    assert (a.dtype, bridge.state[a]["G"].dtype) == (torch.float32, torch.float32)
    assert (b.dtype, bridge.state[b]["G"].dtype) == (torch.float64, torch.float64)
    assert float(bridge.state[b]["G"][0]) == 0.1 + 0.25  # init_slot's constant, then g²
    assert isinstance(bridge.state[a]["t"], int)


def test_half_precision_keeps_its_dtype():
    """bfloat16 (which numpy lacks: init_slot runs in float32, then casts) and float16."""
    params = [torch.ones(3, dtype=dtype, requires_grad=True) for dtype in (torch.bfloat16, torch.float16)]
    bridge = to_torch(ae.AdaGrad(initial_accumulator=0.5), params)
    for p in params:
        p.grad = torch.ones_like(p)
    bridge.step()
    for p in params:
        assert bridge.state[p]["G"].dtype == p.dtype and float(bridge.state[p]["G"][0]) == 1.5
        assert p[0].item() == pytest.approx(1 - 0.01 / 1.5**0.5, rel=1e-2)


def test_torch_ops_agree_with_numpy_ops_on_numbers_and_mixed_operands():
    """Branches no current rule takes (a number where a tensor is expected) still give numpy_ops's values."""
    from adamedu.optimizers._base import numpy_ops
    from adamedu.torch import torch_ops

    for x in (-2.5, 0.0, 3.0):
        assert torch_ops.sign(x) == numpy_ops.sign(x) and torch_ops.abs(x) == numpy_ops.abs(x)
        assert torch_ops.maximum(x, 1.0) == numpy_ops.maximum(x, 1.0)
    assert torch_ops.sqrt(2.0) == numpy_ops.sqrt(2.0) and isinstance(torch_ops.sqrt(2.0), float)
    v = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float32)
    for got, expected in ((torch_ops.maximum(v, 0.25), np.maximum(v.numpy(), np.float32(0.25))),
                          (torch_ops.maximum(0.25, v), np.maximum(np.float32(0.25), v.numpy()))):
        assert got.dtype == torch.float32 and np.array_equal(got.numpy(), expected)
    assert torch_ops.cond(True, lambda: 1, lambda: 1 / 0) == 1  # only the branch taken runs


# -- a real training loop ---------------------------------------------------------------------------------

def regression(seed=0, n=64, d=8):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen)
    y = x @ torch.randn(d, 1, generator=gen) + 0.1 * torch.randn(n, 1, generator=gen)
    return x, y


def mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))


def train(model, opt, steps=100, batch=16):
    """Minibatch training (float32, the default); returns the loss of each step."""
    x, y = regression()
    losses = []
    for step in range(steps):
        i = (step * batch) % len(x)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x[i:i + batch]), y[i:i + batch])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


def test_trains_a_torch_model_like_torch_adam():
    model = mlp()
    reference = copy.deepcopy(model)
    ours = train(model, to_torch(ae.Adam(lr=1e-2), model.parameters()))
    theirs = train(reference, torch.optim.Adam(reference.parameters(), lr=1e-2))
    assert ours[-10:].mean() < 0.2 * ours[:10].mean()  # it learns
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)  # float32: the two engines round differently
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_trajectory_comparison_can_fail():
    """Negative control: Adam with beta2 = 0.99 against torch's 0.999 leaves the tolerance above."""
    model = mlp()
    reference = copy.deepcopy(model)
    ours = train(model, to_torch(ae.Adam(lr=1e-2, beta2=0.99), model.parameters()))
    theirs = train(reference, torch.optim.Adam(reference.parameters(), lr=1e-2))
    assert np.max(np.abs(ours - theirs) / np.abs(theirs)) > 10 * 1e-4


def test_step_with_closure():
    model, (x, y) = mlp(), regression()
    bridge = to_torch(ae.Adam(lr=1e-2), model.parameters())
    calls = []

    def closure():
        calls.append(torch.is_grad_enabled())
        bridge.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    first = bridge.step(closure)
    second = bridge.step(closure)
    assert calls == [True, True]  # the closure runs with gradients on, though step runs under no_grad
    assert second.item() < first.item()


def test_zero_grad_sets_gradients_to_none():
    model, (x, y) = mlp(), regression()
    bridge = to_torch(ae.Adam(), model.parameters())
    torch.nn.functional.mse_loss(model(x), y).backward()
    bridge.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    before = [p.detach().clone() for p in model.parameters()]
    bridge.step()  # nothing to do
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    assert len(bridge.state) == 0


def test_step_hooks_run():
    """torch's step hooks (register_step_pre_hook / post_hook) wrap the bridge's step as any optimizer's."""
    model = mlp()
    bridge = to_torch(ae.Adam(), model.parameters())
    calls = []
    bridge.register_step_pre_hook(lambda opt, args, kwargs: calls.append("pre"))
    bridge.register_step_post_hook(lambda opt, args, kwargs: calls.append("post"))
    train(model, bridge, steps=2)
    assert calls == ["pre", "post", "pre", "post"]


def test_updates_in_place():
    model = mlp()
    storage = [p.data_ptr() for p in model.parameters()]
    bridge = to_torch(ae.Adam(), model.parameters())
    train(model, bridge, steps=2)
    assert [p.data_ptr() for p in model.parameters()] == storage
    slots = [bridge.state[p]["m"].data_ptr() for p in model.parameters()]
    train(model, bridge, steps=1)
    assert [bridge.state[p]["m"].data_ptr() for p in model.parameters()] == slots
    assert all(p.grad_fn is None and p.requires_grad for p in model.parameters())  # no graph through the step


# -- parameter groups, schedulers, maximize, missing gradients --------------------------------------------

def test_param_groups_have_their_own_hyperparameters():
    """Each group runs the rule with its hyperparameters: equal to a numpy optimizer per group."""
    params = initial_params()
    tensors = tensors_of(params)
    bridge = to_torch(ae.Adam(lr=0.01), [{"params": [tensors["W"]], "lr": 0.1},
                                         {"params": [tensors["b"]], "beta1": 0.5, "eps": 1e-3},
                                         {"params": [tensors["gamma"]]}])
    numpy_opts = {"W": ae.Adam(lr=0.1), "b": ae.Adam(lr=0.01, beta1=0.5, eps=1e-3), "gamma": ae.Adam(lr=0.01)}
    states = {k: numpy_opts[k].init(w) for k, w in params.items()}
    for t, grads in enumerate(gradient_sequence(params, 30), start=1):
        set_grads(tensors, grads)
        bridge.step()
        for k in params:
            params[k], states[k] = numpy_opts[k].step(params[k], grads[k], states[k])
            assert_same(tensors[k].detach().numpy(), params[k], f"params[{k!r}]", t)
    assert [g["lr"] for g in bridge.param_groups] == [0.1, 0.01, 0.01]


def test_add_param_group_takes_defaults_and_starts_its_own_t():
    a = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    bridge = to_torch(ae.Adam(lr=0.1), [a])
    for _ in range(3):
        a.grad = torch.ones(3, dtype=torch.float64)
        bridge.step()
    bridge.add_param_group({"params": b, "beta2": 0.9})
    a.grad, b.grad = torch.ones(3, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    bridge.step()
    assert bridge.param_groups[1]["lr"] == 0.1 and bridge.param_groups[1]["beta2"] == 0.9
    assert (bridge.state[a]["t"], bridge.state[b]["t"]) == (4, 1)
    # Adam's first step moves every coordinate by lr (m̂ / √v̂ = g / |g|)
    np.testing.assert_allclose(b.detach().numpy(), -0.1, rtol=1e-6)


@pytest.mark.parametrize("scheduler", [
    lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10),
    lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 / (1 + step)),
], ids=["StepLR", "CosineAnnealingLR", "LambdaLR"])
def test_lr_schedulers_drive_the_rule(torch_float64, scheduler):
    """A torch scheduler changes param_group["lr"]; the bridge follows torch.optim.Adam under the same one."""
    params = initial_params()
    mine, reference = tensors_of(params), tensors_of(params)
    bridge, theirs = to_torch(ae.Adam(lr=0.1), mine.values()), torch.optim.Adam(reference.values(), lr=0.1)
    schedules = scheduler(bridge), scheduler(theirs)
    rates = []
    for t, grads in enumerate(gradient_sequence(params, 20), start=1):
        set_grads(mine, grads)
        set_grads(reference, grads)
        bridge.step()
        theirs.step()
        for s in schedules:
            s.step()
        rates.append(bridge.param_groups[0]["lr"])
        assert rates[-1] == theirs.param_groups[0]["lr"]
        for k in params:
            assert_same(mine[k].detach().numpy(), reference[k].detach().numpy(), f"params[{k!r}]", t)
    assert min(rates) < 0.05  # the schedule did change the rate


def test_step_lr_equals_the_adamedu_schedule():
    """StepLR(step_size=3, gamma=0.5) is adamedu's lr(t) = 0.1·0.5^((t−1)//3): the scheduler counts from 0."""
    params = initial_params()
    tensors = tensors_of(params)
    bridge = to_torch(ae.Adam(lr=0.1), tensors.values())
    scheduler = torch.optim.lr_scheduler.StepLR(bridge, step_size=3, gamma=0.5)
    opt = ae.Adam(lr=lambda t: 0.1 * 0.5 ** ((t - 1) // 3))
    state = opt.init(params)
    for t, grads in enumerate(gradient_sequence(params, 12), start=1):
        params, state = opt.step(params, grads, state)
        set_grads(tensors, grads)
        bridge.step()
        scheduler.step()
        for k, p in tensors.items():
            assert_same(p.detach().numpy(), params[k], f"params[{k!r}]", t)


def test_maximize_matches_torch(torch_float64):
    params = initial_params()
    mine, reference = tensors_of(params), tensors_of(params)
    bridge = to_torch(ae.AMSGrad(lr=0.01), mine.values(), maximize=True)
    theirs = torch.optim.Adam(reference.values(), lr=0.01, amsgrad=True, maximize=True)
    for t, grads in enumerate(gradient_sequence(params, 20), start=1):
        set_grads(mine, grads)
        set_grads(reference, grads)
        bridge.step()
        theirs.step()
        for k in params:
            assert_same(mine[k].detach().numpy(), reference[k].detach().numpy(), f"params[{k!r}]", t)


def test_maximize_per_group_is_the_numpy_step_on_minus_g():
    up = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    down = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    bridge = to_torch(ae.GradientDescent(lr=0.5), [{"params": [up], "maximize": True}, {"params": [down]}])
    up.grad = down.grad = torch.tensor([1.0, -2.0], dtype=torch.float64)
    bridge.step()
    assert up.tolist() == [0.5, -1.0] and down.tolist() == [-0.5, 1.0]


def test_parameters_without_gradients_are_skipped_as_torch_does(torch_float64):
    """A parameter whose grad is None (not used this step) is not stepped: its own t lags, as torch's step does."""
    params = initial_params()
    mine, reference = tensors_of(params), tensors_of(params)
    bridge = to_torch(ae.Nadam(lr=0.01), mine.values())
    theirs = torch.optim.NAdam(reference.values(), lr=0.01)
    frozen = torch.zeros(2, requires_grad=False)
    bridge.add_param_group({"params": [frozen]})  # never gets a gradient
    for t, grads in enumerate(gradient_sequence(params, 20), start=1):
        for tensors in (mine, reference):
            set_grads(tensors, grads)
            if t % 2:
                tensors["b"].grad = None
        bridge.step()
        theirs.step()
        for k in params:
            assert_same(mine[k].detach().numpy(), reference[k].detach().numpy(), f"params[{k!r}]", t)
        if t > 1:  # b's first gradient comes at step 2: no state before
            assert_same(bridge.state[mine["b"]]["mu_product"], float(theirs.state[reference["b"]]["mu_product"]),
                        "mu_product of b", t)
    assert (bridge.state[mine["W"]]["t"], bridge.state[mine["b"]]["t"]) == (20, 10)
    assert frozen not in bridge.state and frozen.tolist() == [0.0, 0.0]


# -- names and for_param ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AdamWNoBiasDecay(ae.AdamW):
    """An AdamW that picks a rule per parameter name, as Optimizer.for_param does (no decay on biases)."""

    def for_param(self, name):
        return dataclasses.replace(self, weight_decay=0.0) if name.endswith("bias") else self


def zero_loss_step(model, bridge):
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    bridge.step()


def test_named_parameters_pick_the_rule_by_name():
    """With zero gradients AdamW only decays: w·(1 − lr·λ). for_param excludes the biases, by name."""
    model = mlp()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    bridge = to_torch(AdamWNoBiasDecay(lr=0.1, weight_decay=0.5), model.named_parameters())
    assert bridge.param_groups[0]["param_names"] == list(before)
    zero_loss_step(model, bridge)
    for name, p in model.named_parameters():
        factor = 1.0 if name.endswith("bias") else 1 - 0.1 * 0.5
        torch.testing.assert_close(p.detach(), before[name] * factor, rtol=1e-6, atol=0)


def test_unnamed_parameters_use_the_group_rule():
    model = mlp()
    before = [p.detach().clone() for p in model.parameters()]
    bridge = to_torch(AdamWNoBiasDecay(lr=0.1, weight_decay=0.5), model.parameters())
    zero_loss_step(model, bridge)
    for p, q in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), q * (1 - 0.1 * 0.5), rtol=1e-6, atol=0)


def needs_option(cls, name):
    if name not in {f.name for f in dataclasses.fields(cls)}:
        pytest.skip(f"{cls.__name__} has no {name} option here")


def test_exclusion_from_weight_decay_by_torch_name():
    """AdamW(exclude_from_weight_decay=...) through the bridge: matched by torch's parameter names, as Keras's
    own AdamW excludes a bias (zero gradient: only the decay moves a weight)."""
    needs_option(ae.AdamW, "exclude_from_weight_decay")
    model = mlp()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    bridge = to_torch(ae.AdamW(lr=0.1, weight_decay=0.5, exclude_from_weight_decay=("bias",)),
                      model.named_parameters())
    zero_loss_step(model, bridge)
    for name, p in model.named_parameters():
        factor = 1.0 if name.endswith("bias") else 1 - 0.1 * 0.5
        torch.testing.assert_close(p.detach(), before[name] * factor, rtol=1e-6, atol=0)


@pytest.mark.parametrize("make_params, match", [
    (lambda model: model.parameters(), r"picks parameters by name, and these have none: pass model\.named_parameters"),
    (lambda model: model.named_parameters(), r"'gamma'.*match no parameter.*'0\.weight'"),
], ids=["unnamed", "no-match"])
def test_exclusion_that_cannot_be_honoured_is_refused(make_params, match):
    needs_option(ae.AdamW, "exclude_from_weight_decay")
    with pytest.raises(ValueError, match=match):
        to_torch(ae.AdamW(exclude_from_weight_decay=("gamma",)), make_params(mlp()))


def test_exclusion_checked_when_a_group_is_added():
    needs_option(ae.AdamW, "exclude_from_weight_decay")
    model = mlp()
    bridge = to_torch(ae.AdamW(), model[0].named_parameters(prefix="0"))
    with pytest.raises(ValueError, match=r"param_groups\[1\]: .*'gamma'.*match no parameter"):
        bridge.add_param_group({"params": model[2].named_parameters(prefix="2"),
                                "exclude_from_weight_decay": ("gamma",)})
    assert len(bridge.param_groups) == 1  # refused: nothing added
    bridge.add_param_group({"params": model[2].named_parameters(prefix="2"), "exclude_from_weight_decay": ("bias",)})
    assert bridge.param_groups[1]["param_names"] == ["2.weight", "2.bias"]


def test_maximize_of_the_optimizer_itself_is_not_applied_twice(torch_float64):
    """An optimizer with its own maximize option negates g in its rule; the bridge then does not negate again."""
    needs_option(ae.Adam, "maximize")
    run_bridge_and_torch(ae.Adam(lr=0.01, maximize=True),
                         lambda ps: torch.optim.Adam(ps, lr=0.01, maximize=True), {}, steps=20)
    bridge = to_torch(ae.Adam(maximize=True), some_params())
    assert bridge.param_groups[0]["maximize"] is True


# -- many processes ---------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*")  # torch.jit, used inside torch.distributed
def test_ddp_and_zero_redundancy_optimizer():
    """DistributedDataParallel with ZeroRedundancyOptimizer(optimizer_class=TorchOptimizer), in one process
    (gloo, world size 1): the same steps as to_torch on the plain model."""
    dist = pytest.importorskip("torch.distributed")
    if not dist.is_available():
        pytest.skip("this PyTorch build has no torch.distributed")
    from torch.distributed.optim import ZeroRedundancyOptimizer

    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        model = mlp()
        reference = copy.deepcopy(model)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        zero = ZeroRedundancyOptimizer(ddp.parameters(), optimizer_class=TorchOptimizer, optimizer=ae.Nadam(lr=1e-2))
        train(ddp, zero, steps=5)
        train(reference, to_torch(ae.Nadam(lr=1e-2), reference.parameters()), steps=5)
        assert all(torch.equal(p, q) for p, q in zip(model.parameters(), reference.parameters(), strict=True))
        zero.consolidate_state_dict()
        assert zero.state_dict()["state"][0]["t"] == 5
    finally:
        dist.destroy_process_group()


# -- state_dict ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("opt", [ae.Nadam(lr=1e-2), ae.AMSGrad(lr=1e-2), ae.AdaGrad(initial_accumulator=0.1)],
                         ids=opt_id)
def test_state_dict_round_trip_resumes_identically(opt):
    """Save after 5 steps (through torch.save), load into a new model and bridge: the next 5 steps are identical."""
    model = mlp()
    bridge = to_torch(opt, [{"params": model[0].parameters(), "lr": 0.05}, {"params": model[2].parameters()}])
    train(model, bridge, steps=5)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": bridge.state_dict()}, buffer)
    saved = bridge.state_dict()
    assert all(s["t"] == 5 for s in saved["state"].values())
    assert all(isinstance(s[name], float) for s in saved["state"].values() for name in opt.scalars)
    train(model, bridge, steps=5)  # uninterrupted

    buffer.seek(0)
    checkpoint = torch.load(buffer)
    resumed = mlp(seed=1)
    resumed.load_state_dict(checkpoint["model"])
    other = to_torch(opt, [{"params": resumed[0].parameters()}, {"params": resumed[2].parameters()}])
    other.load_state_dict(checkpoint["opt"])
    assert other.param_groups[0]["lr"] == 0.05  # the group's hyperparameters come back too
    train(resumed, other, steps=5)
    for p, q in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(p, q)
        assert bridge.state[p]["t"] == other.state[q]["t"] == 10
        for name in (*opt.slots, *opt.scalars):
            a, b = bridge.state[p][name], other.state[q][name]
            assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b


def test_deepcopy_keeps_the_rule():
    model = mlp()
    bridge = to_torch(ae.Nadam(lr=1e-2), model.parameters())
    train(model, bridge, steps=2)
    clone = copy.deepcopy(bridge)
    assert clone.rule == bridge.rule and clone.state_dict()["state"][0]["t"] == 2


def bridge_snapshot(bridge):
    return copy.deepcopy((bridge.state_dict(), [p.detach().clone() for g in bridge.param_groups for p in g["params"]]))


def assert_unchanged(bridge, snapshot, groups=True):
    (state_dict, params) = snapshot
    now_state, now_params = bridge_snapshot(bridge)
    assert all(torch.equal(a, b) for a, b in zip(params, now_params, strict=True))
    assert repr(now_state["state"]) == repr(state_dict["state"])
    if groups:
        assert now_state["param_groups"] == state_dict["param_groups"]


@pytest.mark.parametrize("make_other, match", [
    (lambda ps: torch.optim.Adam(ps), r"holds \['exp_avg', 'exp_avg_sq', 'step'\], but Adam.* keeps \['t', 'm', 'v'\]"),
    (lambda ps: to_torch(ae.AMSGrad(), ps), r"holds \['m', 't', 'v', 'v_max'\], but Adam"),
    (lambda ps: to_torch(ae.RMSprop(), ps), r"holds \['t', 'v'.*\], but Adam"),
    (lambda ps: to_torch(ae.AdamW(), ps), r"param_groups\[0\] lacks \[.*'bias_correction'.*another optimizer"),
], ids=["torch.optim.Adam", "AMSGrad", "RMSprop", "AdamW"])
def test_load_state_dict_of_another_optimizer_is_refused(make_other, match):
    model = mlp()
    bridge = to_torch(ae.Adam(lr=1e-2), model.parameters())
    train(model, bridge, steps=2)
    other_model = mlp()
    other = make_other(other_model.parameters())
    train(other_model, other, steps=2)
    snapshot = bridge_snapshot(bridge)
    with pytest.raises(ValueError, match=match):
        bridge.load_state_dict(other.state_dict())
    assert_unchanged(bridge, snapshot)


# -- what differs from the numpy step -------------------------------------------------------------------------

def test_a_nan_gradient_is_not_refused_inside_the_step():
    """The numpy step refuses it; the bridge, like torch.optim.Adam, makes no check and the NaN spreads."""
    g = np.array([np.nan, 1.0])
    with pytest.raises(ae.NonFiniteError):
        ae.Adam().step(np.zeros(2), g, ae.Adam().init(np.zeros(2)))
    for make in (lambda ps: to_torch(ae.Adam(), ps), lambda ps: torch.optim.Adam(ps)):
        w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        w.grad = torch.tensor(g)
        make([w]).step()
        assert np.isnan(w[0].item()) and w[1].item() == pytest.approx(-1e-3)


def test_an_overflow_is_not_refused_inside_the_step():
    """A finite gradient of 1e200 squares to infinity in v: no error, as in torch.optim.Adam (whose
    exp_avg_sq overflows alike); that coordinate then stops moving (m / √inf = 0)."""
    for make, key in ((lambda ps: to_torch(ae.Adam(), ps), "v"), (lambda ps: torch.optim.Adam(ps), "exp_avg_sq")):
        w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        w.grad = torch.tensor([1e200, 1.0], dtype=torch.float64)
        opt = make([w])
        opt.step()
        assert opt.state[w][key][0].item() == float("inf") and w[0].item() == 0.0


# -- bad input -------------------------------------------------------------------------------------------------

def some_params():
    return [torch.zeros(3, requires_grad=True)]


@pytest.mark.parametrize("args, kwargs, error, match", [
    (("adam", None), {}, TypeError, r"adamedu optimizer such as ae\.Adam\(\), got 'adam' \(str\)"),
    ((None, None), {}, TypeError, r"adamedu optimizer .* got None"),
    ((torch.optim.SGD(some_params(), lr=0.1), None), {}, TypeError, "already a torch optimizer"),
    ((ae.Adam, None), {}, TypeError, r"instance, got the class Adam: write to_torch\(ae\.Adam\(\.\.\.\), model"),
    ((ae.Optimizer(), None), {}, TypeError, "Optimizer has no update rule"),
    ((iter(some_params()), ae.Adam()), {}, TypeError, r"parameters come second"),
    ((ae.Adam(), None), {"betas": (0.9, 0.99)}, TypeError,
     r"unknown keyword 'betas' \(for torch's 'betas' write beta1 and beta2\).*maximize.*Adam\(lr, beta1"),
    ((ae.Adam(), None), {"lr": 0.1}, TypeError,
     r"unknown keyword 'lr'; it takes maximize\. Hyperparameters belong to the adamedu optimizer"),
    ((ae.Adam(), None), {"foreach": True}, ValueError, r"foreach=True is not available: .*one tensor at a time"),
    ((ae.Adam(), None), {"fused": True}, ValueError, r"fused=True is not available"),
    ((ae.Adam(), None), {"capturable": True}, ValueError, r"capturable=True is not available.*CUDA graph"),
    ((ae.Adam(), None), {"differentiable": True}, ValueError, r"differentiable=True is not available"),
    ((ae.Adam(), None), {"maximize": "yes"}, TypeError, r"maximize must be True or False, got 'yes'"),
    ((ae.Adam(lr=lambda t: 0.1), None), {}, ValueError, r"lr=.*function of t.*lr_scheduler"),
    ((ae.Adam(), []), {}, ValueError, "empty parameter list"),
    ((ae.Adam(), [{"params": some_params(), "betas": (0.9, 0.9)}]), {}, TypeError,
     r"param_groups\[0\] has an unknown key 'betas'; for torch's 'betas' write beta1 and beta2"),
    ((ae.Adam(), [{"params": some_params(), "momentum": 0.9}]), {}, TypeError, r"unknown key 'momentum'"),
    ((ae.Adam(), [{"params": some_params(), "lr": -1.0}]), {}, ValueError,
     r"param_groups\[0\]: Adam: lr must be a finite number >= 0.*got -1\.0"),
    ((ae.Adam(), [{"params": some_params(), "beta2": 1.0}]), {}, ValueError,
     r"param_groups\[0\]: Adam: beta2 .*\[0, 1\)"),
    ((ae.Adam(), [{"params": some_params(), "lr": lambda t: 0.1}]), {}, ValueError,
     r"lr must be a number.*lr_scheduler"),
    ((ae.Adam(), [{"params": some_params(), "foreach": True}]), {}, ValueError, r"param_groups\[0\]: foreach=True"),
    ((ae.Adam(), [torch.zeros(3, dtype=torch.complex64, requires_grad=True)]), {}, TypeError,
     r"\['params'\]\[0\] has dtype torch\.complex64.*real floating-point"),
])
def test_bad_input_is_refused(args, kwargs, error, match):
    optimizer, params = args
    with pytest.raises(error, match=match):
        to_torch(optimizer, params if params is not None else some_params(), **kwargs)


@pytest.mark.parametrize("group, error, match", [
    ({"params": [torch.zeros(2, requires_grad=True)], "eps": -1.0}, ValueError, r"param_groups\[1\]: Adam: eps"),
    ({"params": [torch.zeros(2, requires_grad=True)], "alpha": 0.9}, TypeError, r"unknown key 'alpha'.*beta"),
    ({"params": [torch.zeros(2, dtype=torch.int64)]}, TypeError, r"param_groups\[1\]\['params'\]\[0\] has dtype"),
    ({"params": [torch.zeros(2, requires_grad=True)], "optimizer": ae.RMSprop()}, ValueError,
     r"param_groups\[1\]\['optimizer'\] is RMSprop.*not this bridge's Adam"),
])
def test_bad_param_group_is_refused_and_nothing_added(group, error, match):
    bridge = to_torch(ae.Adam(), some_params())
    with pytest.raises(error, match=match):
        bridge.add_param_group(group)
    assert len(bridge.param_groups) == 1


@pytest.mark.parametrize("key, value, error, match", [
    ("lr", float("nan"), ValueError, r"param_groups\[1\]: Adam: lr must be a finite number >= 0.*got nan"),
    ("beta1", 1.5, ValueError, r"param_groups\[1\]: Adam: beta1 must be a number in \[0, 1\), got 1\.5"),
    ("maximize", "yes", TypeError, r"param_groups\[1\]: Adam: maximize must be True or False, got 'yes'"),
])
def test_bad_value_set_on_a_group_is_refused_at_step_and_nothing_changes(key, value, error, match):
    """A bad value written into param_groups after construction: the step refuses it before any parameter moves."""
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    bridge = to_torch(ae.Adam(), [{"params": [a]}, {"params": [b]}])
    a.grad = b.grad = torch.ones(2)
    bridge.step()
    snapshot = bridge_snapshot(bridge)
    bridge.param_groups[1][key] = value
    with pytest.raises(error, match=match):
        bridge.step()
    assert_unchanged(bridge, snapshot, groups=False)  # the test changed one value itself


def test_sparse_gradient_is_refused_and_nothing_changes():
    dense = torch.nn.Linear(2, 1)
    embedding = torch.nn.Embedding(5, 2, sparse=True)
    bridge = to_torch(ae.Adam(), [*dense.named_parameters(prefix="dense"),
                                  *embedding.named_parameters(prefix="embedding")])
    loss = dense(embedding(torch.tensor([1, 3]))).sum()
    loss.backward()
    snapshot = bridge_snapshot(bridge)
    with pytest.raises(RuntimeError, match=r"gradient of 'embedding\.weight' is sparse.*sparse=False"):
        bridge.step()
    assert_unchanged(bridge, snapshot)


# -- life without torch ---------------------------------------------------------------------------------------

def test_adamedu_torch_without_torch_says_how_to_install():
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # makes `import torch` raise ImportError
        import adamedu
        try:
            import adamedu.torch
        except ImportError as err:
            print(err)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "adamedu.torch needs PyTorch" in done.stdout and "pip install torch" in done.stdout


def test_public_names():
    import adamedu.torch

    assert adamedu.torch.to_torch is to_torch and issubclass(TorchOptimizer, torch.optim.Optimizer)


def test_readme_snippet_runs_and_trains():
    """The README's "Use it in PyTorch" loop, run as written: it ends with a low loss."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Use it in PyTorch", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert isinstance(namespace["opt"], TorchOptimizer)
    assert namespace["loss"].item() < 0.05  # the noise floor is 0.01; it starts near 8
