"""Bad input raises at once, with a message that names the culprit, its value and what is allowed.

Two tables: hyperparameters (refused when the optimizer is made) and steps (refused before anything
changes: the params, grads and state passed in are compared with copies afterwards).
The ranges below are written out from DESIGN.md, not read from the package.
"""

import dataclasses
import warnings

import numpy as np
import pytest
from optimizer_support import ALL_OPTIMIZERS, assert_identical, optimizer_id, snapshot

import adamedu as ae

NAN, INF = float("nan"), float("inf")


def check_message(excinfo, words):
    message = str(excinfo.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"the message {message!r} lacks {missing}"


# -- hyperparameters -------------------------------------------------------------------------------

# kind of every hyperparameter of every class: "lr" (number >= 0 or schedule), "beta" ([0, 1)),
# "nonneg" (number >= 0), "bool"
DECAY = {"weight_decay": "nonneg", "decoupled_weight_decay": "bool", "exclude_from_weight_decay": "patterns",
         "maximize": "bool"}
DECOUPLED = {"weight_decay": "nonneg", "exclude_from_weight_decay": "patterns", "maximize": "bool"}  # AdamW, Lion
KINDS = {
    ae.GradientDescent: {"lr": "lr", **DECAY},
    ae.Momentum: {"lr": "lr", "beta": "beta", "nesterov": "bool", **DECAY},
    ae.AdaGrad: {"lr": "lr", "eps": "nonneg", "initial_accumulator": "nonneg", "eps_in_sqrt": "bool",
                 "lr_decay": "nonneg", **DECAY},
    ae.RMSprop: {"lr": "lr", "beta": "beta", "eps": "nonneg", "eps_in_sqrt": "bool", "centered": "bool",
                 "momentum": "beta", **DECAY},
    ae.Adam: {"lr": "lr", "beta1": "beta", "beta2": "beta", "eps": "nonneg", "bias_correction": "bool",
              "eps_hat": "bool", **DECAY},
    ae.AdamW: {"lr": "lr", "beta1": "beta", "beta2": "beta", "eps": "nonneg", "weight_decay": "nonneg",
               "eps_hat": "bool", "exclude_from_weight_decay": "patterns", "maximize": "bool"},
    ae.AMSGrad: {"lr": "lr", "beta1": "beta", "beta2": "beta", "eps": "nonneg", "eps_hat": "bool", **DECAY},
    ae.AdaMax: {"lr": "lr", "beta1": "beta", "beta2": "beta", "eps": "nonneg", "eps_in_max": "bool", **DECAY},
    ae.Nadam: {"lr": "lr", "beta1": "beta", "beta2": "beta", "eps": "nonneg", "momentum_decay": "nonneg", **DECAY},
    ae.RAdam: {"lr": "lr", "beta1": "beta", "beta2": "beta", "eps": "nonneg", **DECAY},
    ae.Lion: {"lr": "lr", "beta1": "beta", "beta2": "beta", **DECOUPLED},
    ae.Rprop: {"lr": "lr", "eta_minus": "beta", "eta_plus": "ge1", "step_min": "nonneg", "step_max": "nonneg",
               **DECAY},
    ae.Adadelta: {"lr": "lr", "rho": "beta", "eps": "nonneg", **DECAY},
    ae.Yogi: {"lr": "lr", "beta1": "beta", "beta2": "beta", "eps": "nonneg", "initial_accumulator": "nonneg",
              "bias_correction": "bool", **DECAY},
    ae.AdaBelief: {"lr": "lr", "beta1": "beta", "beta2": "beta", "eps": "nonneg", **DECAY},
    ae.Lamb: {"lr": "lr", "beta1": "beta", "beta2": "beta", "eps": "nonneg", **DECOUPLED},  # LAMB's own λ
    ae.ScheduleFreeAdamW: {"lr": "lr", "beta1": "beta_open", "beta2": "beta", "eps": "nonneg",
                           "warmup_steps": "nonneg", **DECOUPLED},
    ae.Adafactor: {"lr": "lr", "beta2_decay": "nonpos", "eps1": "nonneg", "eps2": "nonneg", "clip_threshold": "ge1",
                   "relative_step": "bool", "eps1_clamp": "bool", **DECAY},
}

# (bad value, exception, words of "what is allowed") by kind; the message must also hold the name and repr(value)
BAD_VALUES = {
    "lr": [(-0.1, ValueError, ">= 0"), (NAN, ValueError, "finite"), (INF, ValueError, "finite"),
           (-INF, ValueError, "finite"), ("0.1", TypeError, "number"), (None, TypeError, "number"),
           (True, TypeError, "number")],
    "beta": [(-0.1, ValueError, "[0, 1)"), (1.0, ValueError, "[0, 1)"), (1.5, ValueError, "[0, 1)"),
             (NAN, ValueError, "[0, 1)"), (INF, ValueError, "[0, 1)"), ("0.9", TypeError, "[0, 1)")],
    "beta_open": [(0.0, ValueError, "(0, 1)"), (-0.1, ValueError, "(0, 1)"), (1.0, ValueError, "(0, 1)"),
                  (NAN, ValueError, "(0, 1)"), ("0.9", TypeError, "(0, 1)")],
    "nonneg": [(-1e-8, ValueError, ">= 0"), (NAN, ValueError, "finite"), (INF, ValueError, "finite"),
               ("1e-8", TypeError, "number"), ([0.1], TypeError, "number")],
    "patterns": [("bias", TypeError, "tuple of parameter names"), (["b", 3], TypeError, "tuple of parameter names"),
                 (("",), TypeError, "tuple of parameter names"), (("(",), ValueError, "regular expression"),
                 (None, TypeError, "tuple of parameter names")],
    "nonpos": [(0.1, ValueError, "<= 0"), (NAN, ValueError, "finite"), (INF, ValueError, "finite"),
               ("-0.8", TypeError, "number")],
    "ge1": [(0.9, ValueError, ">= 1"), (NAN, ValueError, "finite"), (INF, ValueError, "finite"),
            ("1.2", TypeError, "number")],
    "bool": [(1, TypeError, "True or False"), (0.0, TypeError, "True or False"), ("yes", TypeError, "True or False"),
             (None, TypeError, "True or False")],
}


def test_the_kinds_table_covers_every_hyperparameter():
    assert set(KINDS) == set(ALL_OPTIMIZERS)
    for cls, kinds in KINDS.items():
        assert [f.name for f in dataclasses.fields(cls)] == list(kinds), cls.__name__


# The hand-picked table: readable ids, one row per idea.
HYPER_TABLE = [
    ("GradientDescent lr<0", ae.GradientDescent, {"lr": -0.1}, ValueError, ["lr", "-0.1", ">= 0"]),
    ("GradientDescent lr=nan", ae.GradientDescent, {"lr": NAN}, ValueError, ["lr", "nan", "finite"]),
    ("Adam lr=inf", ae.Adam, {"lr": INF}, ValueError, ["lr", "inf", "finite"]),
    ("Adam lr=str", ae.Adam, {"lr": "1e-3"}, TypeError, ["lr", "'1e-3'", "str", "number"]),
    ("Adam lr=None", ae.Adam, {"lr": None}, TypeError, ["lr", "None", "number"]),
    ("Adam lr=list", ae.Adam, {"lr": [0.1]}, TypeError, ["lr", "[0.1]", "number"]),
    ("Momentum beta=1", ae.Momentum, {"beta": 1.0}, ValueError, ["Momentum", "beta", "1.0", "[0, 1)"]),
    ("Momentum beta<0", ae.Momentum, {"beta": -0.5}, ValueError, ["beta", "-0.5", "[0, 1)"]),
    ("Momentum nesterov=1", ae.Momentum, {"nesterov": 1}, TypeError, ["nesterov", "1", "True or False"]),
    ("Momentum nesterov='True'", ae.Momentum, {"nesterov": "True"}, TypeError, ["nesterov", "'True'", "True or False"]),
    ("AdaGrad eps<0", ae.AdaGrad, {"eps": -1e-10}, ValueError, ["AdaGrad", "eps", "-1e-10", ">= 0"]),
    ("AdaGrad initial_accumulator<0", ae.AdaGrad, {"initial_accumulator": -0.1}, ValueError,
     ["initial_accumulator", "-0.1", ">= 0"]),
    ("AdaGrad eps_in_sqrt=None", ae.AdaGrad, {"eps_in_sqrt": None}, TypeError,
     ["eps_in_sqrt", "None", "True or False"]),
    ("RMSprop beta=1.5", ae.RMSprop, {"beta": 1.5}, ValueError, ["RMSprop", "beta", "1.5", "[0, 1)"]),
    ("RMSprop eps_in_sqrt='no'", ae.RMSprop, {"eps_in_sqrt": "no"}, TypeError,
     ["eps_in_sqrt", "'no'", "True or False"]),
    ("Adam beta1=1", ae.Adam, {"beta1": 1.0}, ValueError, ["Adam", "beta1", "1.0", "[0, 1)"]),
    ("Adam beta2<0", ae.Adam, {"beta2": -0.999}, ValueError, ["beta2", "-0.999", "[0, 1)"]),
    ("Adam beta2=nan", ae.Adam, {"beta2": NAN}, ValueError, ["beta2", "nan", "[0, 1)"]),
    ("Adam beta1=str", ae.Adam, {"beta1": "0.9"}, TypeError, ["beta1", "'0.9'", "[0, 1)"]),
    ("Adam eps<0", ae.Adam, {"eps": -1e-8}, ValueError, ["eps", "-1e-08", ">= 0"]),
    ("Adam eps=inf", ae.Adam, {"eps": INF}, ValueError, ["eps", "inf", "finite"]),
    ("Adam bias_correction=0", ae.Adam, {"bias_correction": 0}, TypeError, ["bias_correction", "0", "True or False"]),
    ("Adam eps_hat='yes'", ae.Adam, {"eps_hat": "yes"}, TypeError, ["eps_hat", "'yes'", "True or False"]),
    ("AdamW weight_decay<0", ae.AdamW, {"weight_decay": -0.01}, ValueError, ["AdamW", "weight_decay", "-0.01", ">= 0"]),
    ("AdamW beta1=1.01", ae.AdamW, {"beta1": 1.01}, ValueError, ["beta1", "1.01", "[0, 1)"]),
    ("AMSGrad beta2=1", ae.AMSGrad, {"beta2": 1.0}, ValueError, ["AMSGrad", "beta2", "1.0", "[0, 1)"]),
    ("AMSGrad eps_hat=1.0", ae.AMSGrad, {"eps_hat": 1.0}, TypeError, ["eps_hat", "1.0", "True or False"]),
    ("AdaMax beta2=1", ae.AdaMax, {"beta2": 1.0}, ValueError, ["AdaMax", "beta2", "[0, 1)"]),
    ("Nadam momentum_decay<0", ae.Nadam, {"momentum_decay": -0.004}, ValueError,
     ["Nadam", "momentum_decay", "-0.004", ">= 0"]),
    ("Nadam momentum_decay=nan", ae.Nadam, {"momentum_decay": NAN}, ValueError, ["momentum_decay", "nan"]),
    ("RAdam beta1<0", ae.RAdam, {"beta1": -0.1}, ValueError, ["RAdam", "beta1", "-0.1", "[0, 1)"]),
    ("Lion weight_decay<0", ae.Lion, {"weight_decay": -1.0}, ValueError, ["Lion", "weight_decay", "-1.0", ">= 0"]),
    ("Lion beta2=1", ae.Lion, {"beta2": 1.0}, ValueError, ["Lion", "beta2", "1.0", "[0, 1)"]),
    # unknown keywords, among them the names other libraries use
    ("Adam learning_rate=", ae.Adam, {"learning_rate": 0.1}, TypeError,
     ["Adam", "unknown keyword", "'learning_rate'", "lr", "beta1", "beta2", "eps"]),
    ("Adam beta_1=", ae.Adam, {"beta_1": 0.9}, TypeError, ["'beta_1'", "beta1"]),
    ("Momentum momentum=", ae.Momentum, {"momentum": 0.9}, TypeError, ["Momentum", "'momentum'", "beta", "nesterov"]),
    ("AdamW bias_correction=", ae.AdamW, {"bias_correction": False}, TypeError,
     ["AdamW", "'bias_correction'", "weight_decay"]),
    ("Lion eps=", ae.Lion, {"eps": 1e-8}, TypeError, ["Lion", "'eps'", "weight_decay"]),
    ("RMSprop rho=", ae.RMSprop, {"rho": 0.9}, TypeError, ["RMSprop", "'rho'", "beta"]),
    # the options at parity with torch.optim and keras.optimizers
    ("RMSprop momentum=1", ae.RMSprop, {"momentum": 1.0}, ValueError, ["RMSprop", "momentum", "1.0", "[0, 1)"]),
    ("RMSprop momentum=str", ae.RMSprop, {"momentum": "0.9"}, TypeError, ["momentum", "'0.9'", "[0, 1)"]),
    ("RMSprop centered=1", ae.RMSprop, {"centered": 1}, TypeError, ["RMSprop", "centered", "True or False"]),
    ("Adam centered=True", ae.Adam, {"centered": True}, TypeError, ["Adam", "'centered'", "ae.RMSprop(centered=True)"]),
    ("AdaMax centered=True", ae.AdaMax, {"centered": True}, TypeError, ["AdaMax", "'centered'", "ae.RMSprop"]),
    ("Momentum centered=True", ae.Momentum, {"centered": True}, TypeError, ["Momentum", "'centered'", "ae.RMSprop"]),
    ("Adam weight_decay<0", ae.Adam, {"weight_decay": -0.1}, ValueError, ["Adam", "weight_decay", "-0.1", ">= 0"]),
    ("SGD weight_decay=inf", ae.GradientDescent, {"weight_decay": INF}, ValueError, ["weight_decay", "inf", "finite"]),
    ("Nadam decoupled_weight_decay='yes'", ae.Nadam, {"decoupled_weight_decay": "yes"}, TypeError,
     ["Nadam", "decoupled_weight_decay", "'yes'", "True or False"]),
    ("AdaGrad lr_decay<0", ae.AdaGrad, {"lr_decay": -0.01}, ValueError, ["AdaGrad", "lr_decay", "-0.01", ">= 0"]),
    ("AdaMax eps_in_max=None", ae.AdaMax, {"eps_in_max": None}, TypeError, ["eps_in_max", "None", "True or False"]),
    ("RAdam maximize=1", ae.RAdam, {"maximize": 1}, TypeError, ["RAdam", "maximize", "True or False"]),
    ("Adam amsgrad=True", ae.Adam, {"amsgrad": True}, TypeError, ["Adam", "'amsgrad'", "ae.AMSGrad"]),
    ("AdamW amsgrad=True", ae.AdamW, {"amsgrad": True}, TypeError,
     ["AdamW", "'amsgrad'", "ae.AMSGrad(weight_decay=λ, decoupled_weight_decay=True)"]),
    ("AdamW decoupled_weight_decay=False", ae.AdamW, {"decoupled_weight_decay": False}, TypeError,
     ["AdamW", "always decoupled", "ae.Adam(weight_decay=λ)"]),
    ("Lion decoupled_weight_decay=False", ae.Lion, {"decoupled_weight_decay": False}, TypeError,
     ["Lion", "always decoupled"]),
    ("Momentum dampening=", ae.Momentum, {"dampening": 0.9}, TypeError,
     ["Momentum", "'dampening'", "Momentum(lr/(1−β)"]),
    ("GradientDescent momentum=", ae.GradientDescent, {"momentum": 0.9}, TypeError,
     ["GradientDescent", "'momentum'", "ae.Momentum"]),
    ("Adam betas=", ae.Adam, {"betas": (0.9, 0.999)}, TypeError, ["Adam", "'betas'", "beta1 and beta2"]),
    ("Adam foreach=", ae.Adam, {"foreach": True}, TypeError, ["Adam", "'foreach'", "PyTorch implementation choice"]),
    ("Adam clipnorm=", ae.Adam, {"clipnorm": 1.0}, TypeError, ["Adam", "'clipnorm'", "clip_by_norm", "to_keras"]),
    ("Adam use_ema=", ae.Adam, {"use_ema": True}, TypeError, ["Adam", "'use_ema'", "to_keras"]),
    ("Adam exclude_from_weight_decay='bias'", ae.Adam, {"exclude_from_weight_decay": "bias"}, TypeError,
     ["Adam", "exclude_from_weight_decay", "'bias'", "('bias',)"]),
    ("Adam exclude_from_weight_decay bad regex", ae.Adam, {"exclude_from_weight_decay": ("[",)}, ValueError,
     ["exclude_from_weight_decay", "'['", "regular expression"]),
    ("AdamW exclude_from_weight_decay=[1]", ae.AdamW, {"exclude_from_weight_decay": [1]}, TypeError,
     ["AdamW", "exclude_from_weight_decay", "1", "tuple of parameter names"]),
    ("Rprop step_min>step_max", ae.Rprop, {"step_min": 1.0, "step_max": 0.5}, ValueError,
     ["Rprop", "step_min", "step_max", "1.0", "0.5"]),
    ("Rprop etas=", ae.Rprop, {"etas": (0.5, 1.2)}, TypeError, ["Rprop", "'etas'", "eta_minus", "eta_plus"]),
    ("Lamb decoupled_weight_decay=True", ae.Lamb, {"decoupled_weight_decay": True}, TypeError,
     ["Lamb", "trust ratio"]),
]


@pytest.mark.parametrize("cls, kwargs, exc, words", [row[1:] for row in HYPER_TABLE],
                         ids=[row[0] for row in HYPER_TABLE])
def test_bad_hyperparameter_table(cls, kwargs, exc, words):
    with pytest.raises(exc) as excinfo:
        cls(**kwargs)
    check_message(excinfo, words)


SWEEP = [(cls, name, value, exc, allowed)
         for cls, kinds in KINDS.items() for name, kind in kinds.items()
         for value, exc, allowed in BAD_VALUES[kind]]


@pytest.mark.parametrize("cls, name, value, exc, allowed", SWEEP,
                         ids=[f"{c.__name__}-{n}={v!r}" for c, n, v, _, _ in SWEEP])
def test_every_hyperparameter_refuses_every_bad_value(cls, name, value, exc, allowed):
    with pytest.raises(exc) as excinfo:
        cls(**{name: value})
    check_message(excinfo, [cls.__name__, name, repr(value), allowed])


def test_more_positional_arguments_than_lr_are_refused():
    with pytest.raises(TypeError, match="positional"):
        ae.Adam(0.1, 0.9)  # beta1 must be named: Adam(0.1, beta1=0.9)


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_edge_values_that_are_allowed(cls):
    kinds = KINDS[cls]
    edges = {"lr": 0.0, "beta": 0.0, "beta_open": 1e-12, "nonneg": 0.0, "ge1": 1.0, "bool": True, "patterns": (),
             "nonpos": 0.0}
    opt = cls(**{name: edges[kind] for name, kind in kinds.items()})
    assert all(getattr(opt, name) == edges[kind] for name, kind in kinds.items())
    # numpy numbers and ints are numbers too; np.bool_ is a bool
    numpyish = {"lr": np.float32(0.5), "beta": np.float64(0.5), "beta_open": np.float64(0.5),
                "nonneg": 1, "ge1": 2, "bool": np.bool_(False),
                "patterns": ["b"], "nonpos": np.float64(-0.5)}
    opt = cls(**{name: numpyish[kind] for name, kind in kinds.items()})
    for name, kind in kinds.items():
        if kind == "patterns":  # a list is stored as a tuple (the optimizer is frozen and hashable)
            assert getattr(opt, name) == ("b",)
            continue
        assert getattr(opt, name) == numpyish[kind]
        assert type(getattr(opt, name)) in (float, bool)  # stored as Python numbers (float32 stays float32)


# -- steps -------------------------------------------------------------------------------------------

def dict_params():
    return {"a": np.array([1.0, 2.0]), "b": np.array([0.5, -0.5, 1.5])}


def dict_grads(**replace):
    grads = {"a": np.array([0.1, -0.2]), "b": np.array([0.3, 0.0, -0.1])}
    grads.update(replace)
    return grads


def stepped(opt, params, grads=None):
    """A state one step in (so its slots are not zero)."""
    _, state = opt.step(params, dict_grads() if grads is None else grads, opt.init(params))
    return state


def case_dict_vs_list():
    opt = ae.Adam()
    return opt, dict_params(), [np.ones(2), np.ones(3)], stepped(opt, dict_params())


def case_list_vs_dict():
    opt = ae.Adam()
    params = [np.ones(2), np.ones(3)]
    return opt, params, {"a": np.ones(2), "b": np.ones(3)}, opt.init(params)


def case_list_vs_tuple():
    opt = ae.Momentum()
    params = [np.ones(2), np.ones(3)]
    return opt, params, (np.ones(2), np.ones(3)), opt.init(params)


def case_array_vs_list():
    opt = ae.Adam()
    return opt, np.ones(2), [0.1, 0.2], opt.init(np.ones(2))


def case_missing_key():
    opt = ae.Adam()
    return opt, dict_params(), {"a": np.ones(2)}, stepped(opt, dict_params())


def case_unexpected_key():
    opt = ae.RMSprop()
    grads = dict_grads(c=np.ones(1))
    return opt, dict_params(), grads, stepped(opt, dict_params())


def case_list_length():
    opt = ae.AdaGrad()
    params = [np.ones(2), np.ones(3)]
    return opt, params, [np.ones(2), np.ones(3), np.ones(1)], opt.init(params)


def case_shape_in_dict():
    opt = ae.Adam()
    return opt, dict_params(), dict_grads(b=np.ones(2)), stepped(opt, dict_params())


def case_shape_single_array():
    opt = ae.GradientDescent()
    return opt, np.ones((2, 3)), np.ones((3, 2)), opt.init(np.ones((2, 3)))


def case_shape_nested():
    opt = ae.Lion()
    params = {"layer1": {"w": np.ones((2, 2)), "b": np.zeros(2)}}
    grads = {"layer1": {"w": np.ones((2, 3)), "b": np.zeros(2)}}
    return opt, params, grads, opt.init(params)


def case_integer_params():
    opt = ae.Adam()
    params = {"a": np.array([1, 2]), "b": np.array([0.5, -0.5, 1.5])}
    return opt, params, dict_grads(), stepped(opt, dict_params())


def case_nan_in_grads_b():
    opt = ae.Adam()
    return opt, dict_params(), dict_grads(b=np.array([0.3, NAN, -0.1])), stepped(opt, dict_params())


def case_inf_in_grads_list():
    opt = ae.AMSGrad()
    params = [np.ones(2), np.ones(3)]
    return opt, params, [np.ones(2), np.array([1.0, 2.0, INF])], opt.init(params)


def case_minus_inf_in_single_array():
    opt = ae.Nadam()
    return opt, np.ones(3), np.array([-INF, 0.0, 1.0]), opt.init(np.ones(3))


def case_nan_in_nested_grads():
    opt = ae.RAdam()
    params = {"layer1": {"w": np.ones((2, 2))}, "layer2": {"w": np.ones((2, 2))}}
    grads = {"layer1": {"w": np.ones((2, 2))}, "layer2": {"w": np.array([[1.0, 1.0], [NAN, 1.0]])}}
    return opt, params, grads, opt.init(params)


def case_nan_in_params():
    opt = ae.AdaMax()
    state = stepped(opt, dict_params())
    return opt, {"a": np.array([1.0, NAN]), "b": np.ones(3)}, dict_grads(), state


def case_string_grads():
    opt = ae.Momentum()
    return opt, dict_params(), dict_grads(a=np.array(["0.1", "0.2"])), stepped(opt, dict_params())


def case_state_of_gradient_descent_to_adam():
    return ae.Adam(), dict_params(), dict_grads(), ae.GradientDescent().init(dict_params())


def case_state_of_adam_to_amsgrad():
    return ae.AMSGrad(), dict_params(), dict_grads(), stepped(ae.Adam(), dict_params())


def case_state_of_adam_to_nadam():
    return ae.Nadam(), dict_params(), dict_grads(), stepped(ae.Adam(), dict_params())


def case_state_of_rmsprop_to_momentum():
    return ae.Momentum(), dict_params(), dict_grads(), stepped(ae.RMSprop(), dict_params())


def case_state_is_none():
    return ae.Adam(), dict_params(), dict_grads(), None


def case_state_t_negative():
    state = stepped(ae.Adam(), dict_params())
    state["t"] = -1
    return ae.Adam(), dict_params(), dict_grads(), state


def case_state_for_other_params():
    return ae.Adam(), dict_params(), dict_grads(), stepped(ae.Adam(), {"a": np.ones(2)}, {"a": np.ones(2)})


def case_state_slot_shape():
    params = {"a": np.ones(2), "b": np.ones(4)}
    return ae.Adam(), dict_params(), dict_grads(), stepped(ae.Adam(), params, {"a": np.ones(2), "b": np.ones(4)})


def case_schedule_negative():
    opt = ae.Adam(lr=lambda t: 0.01 - 0.02 * t)
    return opt, dict_params(), dict_grads(), opt.init(dict_params())


def case_schedule_nan():
    opt = ae.GradientDescent(lr=lambda t: NAN)
    return opt, dict_params(), dict_grads(), opt.init(dict_params())


def case_schedule_string():
    opt = ae.Momentum(lr=lambda t: "0.1")
    return opt, dict_params(), dict_grads(), opt.init(dict_params())


def case_schedule_at_step_3():
    # the schedule fails only at t = 3: the state says t = 2
    opt = ae.RMSprop(lr=lambda t: 0.1 if t < 3 else -1.0)
    state = stepped(opt, dict_params())
    state = opt.step(dict_params(), dict_grads(), state)[1]
    return opt, dict_params(), dict_grads(), state


def case_overflow():
    opt = ae.GradientDescent(lr=1e300)
    return opt, np.array([1.0, 2.0]), np.array([0.0, -1e300]), opt.init(np.ones(2))


def case_state_overflow():
    """A finite gradient whose square overflows: v would be infinite (and w would never move again)."""
    opt = ae.Adam()
    return opt, dict_params(), dict_grads(b=np.array([0.0, 1e308, 0.0])), opt.init(dict_params())


def case_state_overflow_float32():
    opt = ae.RMSprop(centered=True, momentum=0.5)
    params = {"w": np.ones(3, np.float32)}
    return opt, params, {"w": np.array([1.0, 1.0, 1e30], np.float32)}, opt.init(params)


def case_accumulator_overflow():
    opt = ae.AdaGrad(initial_accumulator=1.7e308)
    return opt, np.ones(2), np.array([1e154, 1.0]), opt.init(np.ones(2))


def case_exclusion_matches_nothing():
    opt = ae.AdamW(exclude_from_weight_decay=("bias", "bais"))
    params = {"dense/bias": np.ones(2), "dense/kernel": np.ones(2)}
    return opt, params, {k: np.ones(2) for k in params}, ae.AdamW().init(params)


def case_exclusion_on_a_single_array():
    opt = ae.Adam(weight_decay=0.1, exclude_from_weight_decay=("b",))
    return opt, np.ones(2), np.ones(2), ae.Adam().init(np.ones(2))


STEP_TABLE = [
    ("dict params, list grads", case_dict_vs_list, ValueError, ["grads", "dict", "list"]),
    ("list params, dict grads", case_list_vs_dict, ValueError, ["grads", "list", "dict"]),
    ("list params, tuple grads", case_list_vs_tuple, ValueError, ["grads", "list", "tuple"]),
    ("array params, list grads", case_array_vs_list, ValueError, ["grads", "array", "list"]),
    ("missing key", case_missing_key, ValueError, ["grads", "missing", "'b'"]),
    ("unexpected key", case_unexpected_key, ValueError, ["grads", "unexpected", "'c'"]),
    ("list length", case_list_length, ValueError, ["grads", "2 entries", "3"]),
    ("shape in dict", case_shape_in_dict, ValueError, ["grads['b']", "(2,)", "(3,)", "params['b']", "shape"]),
    ("shape of one array", case_shape_single_array, ValueError, ["grads", "(3, 2)", "(2, 3)"]),
    ("shape nested", case_shape_nested, ValueError, ["grads['layer1']['w']", "(2, 3)", "(2, 2)"]),
    ("integer params", case_integer_params, TypeError, ["params['a']", "int64", "floating-point"]),
    ("nan in grads['b']", case_nan_in_grads_b, ae.NonFiniteError, ["grads['b']", "nan", "(1,)", "finite"]),
    ("inf in grads[1]", case_inf_in_grads_list, ae.NonFiniteError, ["grads[1]", "inf", "(2,)", "finite"]),
    ("-inf in grads", case_minus_inf_in_single_array, ae.NonFiniteError, ["grads", "-inf", "(0,)", "finite"]),
    ("nan nested", case_nan_in_nested_grads, ae.NonFiniteError, ["grads['layer2']['w']", "nan", "(1, 0)"]),
    ("nan in params['a']", case_nan_in_params, ae.NonFiniteError, ["params['a']", "nan", "finite"]),
    ("string grads", case_string_grads, TypeError, ["grads['a']", "dtype", "real numbers"]),
    ("GradientDescent state to Adam", case_state_of_gradient_descent_to_adam, ValueError,
     ["Adam", "state", "'m'", "'v'", "another optimizer"]),
    ("Adam state to AMSGrad", case_state_of_adam_to_amsgrad, ValueError, ["AMSGrad", "'v_max'"]),
    ("Adam state to Nadam", case_state_of_adam_to_nadam, ValueError, ["Nadam", "'mu_product'"]),
    ("RMSprop state to Momentum", case_state_of_rmsprop_to_momentum, ValueError, ["Momentum", "'m'"]),
    ("state None", case_state_is_none, TypeError, ["state", "Adam.init", "NoneType"]),
    ("state t<0", case_state_t_negative, ValueError, ["state.t", "-1", ">= 0"]),
    ("state for other params", case_state_for_other_params, ValueError, ["state.m", "missing", "'b'"]),
    ("state slot shape", case_state_slot_shape, ValueError, ["state.m['b']", "(4,)", "(3,)"]),
    ("schedule < 0", case_schedule_negative, ValueError, ["lr(1)", "-0.01", ">= 0"]),
    ("schedule nan", case_schedule_nan, ValueError, ["lr(1)", "nan", "finite"]),
    ("schedule str", case_schedule_string, TypeError, ["lr(1)", "'0.1'", "number"]),
    ("schedule < 0 at t=3", case_schedule_at_step_3, ValueError, ["lr(3)", "-1.0"]),
    ("overflowing step", case_overflow, ae.NonFiniteError, ["step 1", "overflow", "params", "inf", "(1,)"]),
    ("overflowing state", case_state_overflow, ae.NonFiniteError,
     ["Adam step 1 would overflow", "state.v['b']", "inf", "(1,)", "the state must be finite"]),
    ("overflowing state, float32", case_state_overflow_float32, ae.NonFiniteError,
     ["RMSprop step 1 would overflow", "state.v['w']", "(2,)"]),
    ("overflowing accumulator", case_accumulator_overflow, ae.NonFiniteError,
     ["AdaGrad step 1 would overflow", "state.G", "(0,)"]),
    ("exclusion matches nothing", case_exclusion_matches_nothing, ValueError,
     ["AdamW", "exclude_from_weight_decay", "'bais'", "match no parameter", "'dense/bias'", "'dense/kernel'"]),
    ("exclusion on one array", case_exclusion_on_a_single_array, ValueError,
     ["Adam", "'b'", "match no parameter", "single array has no name"]),
]


@pytest.mark.parametrize("make, exc, words", [row[1:] for row in STEP_TABLE], ids=[row[0] for row in STEP_TABLE])
def test_bad_step_table_changes_nothing(make, exc, words):
    opt, params, grads, state = make()
    saved = snapshot((params, grads, state))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # see test_overflow_gives_no_numpy_warning
        with pytest.raises(exc) as excinfo:
            opt.step(params, grads, state)
    check_message(excinfo, words)
    assert_identical((params, grads, state), saved, "(params, grads, state)")


def test_at_least_30_bad_inputs():
    assert len(HYPER_TABLE) >= 30 and len(STEP_TABLE) >= 30


@pytest.mark.parametrize("params, words", [
    ({"w": np.array([1, 2, 3])}, ["params['w']", "int64", "floating-point"]),
    ([np.ones(2), np.array([True, False])], ["params[1]", "bool", "floating-point"]),
    (np.array(["a", "b"]), ["params", "<U1", "floating-point"]),
], ids=["int", "bool", "str"])
def test_init_refuses_non_float_params(params, words):
    saved = snapshot(params)
    with pytest.raises(TypeError) as excinfo:
        ae.Adam().init(params)
    check_message(excinfo, words)
    assert_identical(params, saved)


def test_init_refuses_nan_params():
    with pytest.raises(ae.NonFiniteError) as excinfo:
        ae.Adam().init({"w": np.array([[1.0, 2.0], [INF, 0.0]])})
    check_message(excinfo, ["params['w']", "inf", "(1, 0)", "finite"])


def test_nonfinite_error_is_a_value_error_and_a_floating_point_error():
    # so that `except ValueError` and `except FloatingPointError` both catch it
    assert issubclass(ae.NonFiniteError, ValueError)
    assert issubclass(ae.NonFiniteError, FloatingPointError)


def test_nan_at_a_later_step_changes_nothing():
    opt = ae.Adam(lr=0.1)
    params = dict_params()
    state = opt.init(params)
    for _ in range(3):
        params, state = opt.step(params, dict_grads(), state)
    grads = dict_grads(a=np.array([NAN, 0.0]))
    saved = snapshot((params, grads, state))
    with pytest.raises(ae.NonFiniteError, match=r"grads\['a'\]"):
        opt.step(params, grads, state)
    assert_identical((params, grads, state), saved)
    assert state.t == 3


# -- gaps found while writing these tests (reported to the lead) -------------------------------------

def test_a_state_with_another_optimizers_slots_is_refused():
    # Adam's state holds t, m, v; Momentum keeps t, m. Taking it would silently drop v.
    params = dict_params()
    state = stepped(ae.Adam(), params)
    with pytest.raises(ValueError) as excinfo:
        ae.Momentum().step(params, dict_grads(), state)
    check_message(excinfo, ["Momentum", "'v'", "another optimizer"])


def test_overflow_gives_no_numpy_warning():
    # A refused step should be one clear NonFiniteError, not a numpy RuntimeWarning followed by it
    # (the loops that catch the error would otherwise print a wall of warnings).
    opt, params, grads, state = case_overflow()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ae.NonFiniteError):
            opt.step(params, grads, state)
    assert [str(w.message) for w in caught] == []


def test_a_gradient_too_big_for_float32_is_named_as_such():
    # 1e39 is finite; it becomes inf only when cast to the float32 of the parameters. The message
    # should say so instead of claiming that the gradient holds inf.
    opt = ae.Adam()
    params = {"w": np.ones(2, dtype=np.float32)}
    grads = {"w": np.array([1e39, 1.0])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError) as excinfo:
            opt.step(params, grads, opt.init(params))
    check_message(excinfo, ["grads['w']", "1e+39", "float32"])


def test_a_schedule_with_the_wrong_signature_is_named():
    # lr must be a function of the step t; a function of nothing fails with Python's bare
    # "<lambda>() takes 0 positional arguments but 1 was given", which does not say it is lr.
    opt = ae.Adam(lr=lambda: 0.1)
    params = dict_params()
    with pytest.raises(TypeError) as excinfo:
        opt.step(params, dict_grads(), opt.init(params))
    check_message(excinfo, ["Adam", "lr", "schedule"])


def test_inplace_step_refuses_a_state_overflow_too():
    """The in-place step names the slot as the pure one does; the block that overflowed is not written."""
    opt = ae.Adam()
    params, state = {"w": np.ones(3)}, opt.init({"w": np.ones(3)})
    saved = snapshot((params, state))
    with pytest.raises(ae.NonFiniteError, match=r"state\.v\['w'\] holds inf at index \(1,\)"):
        opt.step(params, {"w": np.array([0.0, 1e308, 0.0])}, state, inplace=True)
    assert_identical((params, state), saved)  # one block only: nothing was written
