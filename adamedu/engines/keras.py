"""The bridge to Keras: train a Keras model with any adamedu optimizer.

::

    import adamedu as ae
    from adamedu.keras import to_keras

    model.compile(optimizer=to_keras(ae.Adam(lr=1e-3)), loss="mse")
    model.fit(x, y)

``to_keras`` returns a ``keras.optimizers.Optimizer`` whose ``update_step`` calls the adamedu
optimizer's own ``update``, the lines the numpy ``step`` runs, with Keras tensors for ``w``,
``g`` and the slots and with ``ops`` bound to :mod:`keras.ops`. The rule is written once and runs
in two engines; in Keras it runs inside the compiled graph of ``model.fit`` (tested with the
TensorFlow backend, with and without XLA; the code uses only ``keras.ops``).

What differs from the numpy ``step``:

- Arithmetic is in the variables' dtype (float32 for most models), the step count ``t`` too.
  Terms such as ``1 - beta2**t`` lose digits in float32 as they do in Keras's own Adam; RAdam's
  ρₜ (a difference of two numbers near 2/(1 − β2)) keeps only ~3, so its early steps differ from
  the numpy step by up to ~1%.
- The learning rate is Keras's: ``opt.lr`` when it is a number, or the ``learning_rate`` passed to
  ``to_keras`` (a number or a ``keras.optimizers.schedules.LearningRateSchedule``), which
  replaces ``opt.lr``. An adamedu schedule (a Python function of ``t``) is refused: Keras runs the
  rate inside its graph, where such a function generally cannot run. Note that a Keras schedule
  is called with the number of steps taken (from 0) where adamedu's ``lr(t)`` gets ``t`` (from 1).
- adamedu's checks (NaN gradients, overflow) are not made: a graph cannot raise mid-step.
- A sparse gradient (``tf.IndexedSlices``, from an ``Embedding``) is made dense first.
- Weight decay is the adamedu optimizer's (``weight_decay``, ``decoupled_weight_decay``), inside its
  rule; Keras's ``weight_decay`` keyword is refused. Exclusion works both ways, through the rule's
  ``for_param(variable.path)``: ``ae.AdamW(exclude_from_weight_decay=("bias",))``, or Keras's
  ``optimizer.exclude_from_weight_decay(var_list=..., var_names=...)`` (before the optimizer is
  built), whose names join the rule's patterns. Patterns are searched in the variable's path
  (``"dense/bias"``), which contains Keras's variable name; one that matches no variable is an error.
- Keras's own options (clipnorm, clipvalue, global_clipnorm, use_ema, gradient_accumulation_steps,
  loss_scale_factor) are Keras's: they act around the rule, as for Keras's optimizers.
"""

import dataclasses
import re

import numpy as np

from .. import optimizers as _optimizers
from .._checks import check_hyperparameter
from .rules import check_rule

try:
    import keras
except ImportError as err:
    raise ImportError("adamedu.keras needs Keras 3 and TensorFlow, which are not installed: "
                      "pip install keras tensorflow (or pip install -e \".[keras]\" in adamedu's folder)") from err
if not hasattr(keras, "ops"):  # Keras 2 (tf.keras) has no backend-neutral ops
    raise ImportError(f"adamedu.keras needs Keras 3, found Keras {getattr(keras, '__version__', '?')}: "
                      "pip install \"keras>=3\"")

__all__ = ["to_keras", "KerasOptimizer", "keras_ops"]

# Keras's own optimizer keywords that pass through unchanged (clipping, EMA, loss scaling, ...).
KERAS_KEYWORDS = ("name", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
                  "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps")


class keras_ops:  # noqa: N801 - used like a module, as numpy_ops is
    """The array functions of an update rule (see ``adamedu.optimizers._base.numpy_ops``), from keras.ops."""

    sqrt = staticmethod(keras.ops.sqrt)
    maximum = staticmethod(keras.ops.maximum)
    abs = staticmethod(keras.ops.abs)
    sign = staticmethod(keras.ops.sign)
    sum = staticmethod(keras.ops.sum)  # whole-array reductions of non-elementwise rules (LAMB's norms)
    cond = staticmethod(keras.ops.cond)  # a branch inside the graph; only the branch taken runs
    matmul = staticmethod(keras.ops.matmul)  # matrix rules (Muon's Newton–Schulz)
    transpose = staticmethod(keras.ops.transpose)
    minimum = staticmethod(keras.ops.minimum)
    mean = staticmethod(keras.ops.mean)  # over an axis: Adafactor's row and column means
    expand_dims = staticmethod(keras.ops.expand_dims)


def to_keras(optimizer, *, learning_rate=None, **keras_kwargs):
    """A ``keras.optimizers.Optimizer`` that runs ``optimizer``'s update rule.

    ``optimizer`` is an adamedu optimizer instance, e.g. ``ae.Adam(lr=1e-3)``. ``learning_rate``
    (a number >= 0 or a ``keras.optimizers.schedules.LearningRateSchedule``) replaces
    ``optimizer.lr``; it is needed when ``optimizer.lr`` is a function of t. Other keywords are
    Keras's own (``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``use_ema``, ...).
    """
    return KerasOptimizer(optimizer, learning_rate=learning_rate, **keras_kwargs)


@keras.saving.register_keras_serializable(package="adamedu")
class KerasOptimizer(keras.optimizers.Optimizer):
    """A Keras optimizer running an adamedu update rule; make one with :func:`to_keras`.

    ``rule`` is the adamedu optimizer. ``slot_variables[name][i]`` holds slot ``name`` (``m``,
    ``v``, ...) of the i-th trainable variable; ``scalar_variables`` the shared scalar state.
    """

    def __init__(self, optimizer, learning_rate=None, weight_decay=None, **kwargs):
        check_rule(optimizer, "to_keras", "to_keras(ae.Adam())", _keras_hint)
        unknown = sorted(set(kwargs) - set(KERAS_KEYWORDS))
        if unknown:
            raise TypeError(f"to_keras got unknown keyword(s) {', '.join(map(repr, unknown))}; it takes "
                            f"learning_rate and Keras's optimizer keywords {', '.join(KERAS_KEYWORDS)}")
        if weight_decay is not None:  # Keras would decay once more, outside the rule
            raise ValueError(f"to_keras: weight_decay={weight_decay!r} is not taken; decay belongs to the "
                             "adamedu optimizer, e.g. to_keras(ae.AdamW(weight_decay=...))")
        kwargs.setdefault("name", f"adamedu_{type(optimizer).__name__.lower()}")
        super().__init__(learning_rate=keras_learning_rate(optimizer, learning_rate), **kwargs)
        self.rule = optimizer

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Keras's method, honoured: the variables (by path) and names join the rule's exclude_from_weight_decay."""
        if self.built:
            raise ValueError("exclude_from_weight_decay() can only be called before the optimizer is built")
        patterns = [f"^{re.escape(v.path)}$" for v in var_list or ()]
        patterns += list(var_names or ())
        excluded = self.rule.exclude_from_weight_decay + tuple(patterns)
        self.rule = dataclasses.replace(self.rule, exclude_from_weight_decay=excluded)

    def build(self, var_list):
        if self.built:
            return
        names = [v.path for v in var_list]
        self.rule.check_exclusions(names)
        super().build(var_list)
        rule = self.rule
        # the rule of each variable (without decay if it is excluded), found once: update_step is
        # given the backend's variable, which may not know its Keras path
        self.param_rules = [rule.for_param(name) for name in names]
        self.slot_variables = {name: [self._slot_variable(w, name) for w in var_list] for name in rule.slots}
        dtype = var_list[0].dtype if var_list else keras.backend.floatx()
        self.scalar_variables = {
            name: self.add_variable((), initializer=keras.initializers.Constant(value), dtype=dtype,
                                    aggregation="only_first_replica", name=name)
            for name, value in rule.scalars.items()
        }

    def _slot_variable(self, w, name):
        """Slot ``name`` of variable ``w``: shaped like ``w``, or as the rule says (Adafactor's factors)."""
        shape = self.rule.slot_shape(name, tuple(w.shape))
        if shape == tuple(w.shape):
            return self.add_variable_from_reference(w, name=name, initializer=self._slot_initializer(name))
        return self.add_variable(shape, initializer=self._slot_initializer(name, tuple(w.shape)), dtype=w.dtype,
                                 name=f"{w.name}_{name}")

    def _slot_initializer(self, name, param_shape=None):
        """Keras initializer of slot ``name``: the rule's ``init_slot`` (zeros, or AdaGrad's constant)."""

        def initializer(shape, dtype=None):
            shape = shape if param_shape is None else param_shape  # init_slot is given the parameter's shape
            try:
                like = np.zeros(shape, dtype=keras.backend.standardize_dtype(dtype))
            except TypeError:  # a dtype numpy lacks (bfloat16): make it in float32, Keras casts
                like = np.zeros(shape, dtype=np.float32)
            return keras.ops.cast(np.asarray(self.rule.init_slot(name, like)), dtype)

        return initializer

    def step_count(self, dtype):
        """adamedu's ``t`` of the step being taken (Keras counts ``iterations`` from 0)."""
        return keras.ops.cast(self.iterations + 1, dtype)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # Shared scalars (Nadam's product of momentum coefficients) change once per step. Keras
        # calls update_step once per variable, so they are advanced here, before it does (as
        # keras.optimizers.Nadam does), and update_step only reads them.
        if self.scalar_variables:
            current = {name: keras.ops.convert_to_tensor(var) for name, var in self.scalar_variables.items()}
            t = self.step_count(next(iter(current.values())).dtype)
            for name, value in self.rule.next_scalars(t, **current).items():
                self.assign(self.scalar_variables[name], value)
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        i = self._get_variable_index(variable)
        slots = [self.slot_variables[name][i] for name in self.rule.slots]
        scalars = {name: keras.ops.cast(var, dtype) for name, var in self.scalar_variables.items()}
        out = self.param_rules[i].update(
            keras.ops.convert_to_tensor(variable),
            keras.ops.cast(dense(gradient), dtype),
            *(keras.ops.convert_to_tensor(s) for s in slots),
            t=self.step_count(dtype), lr=keras.ops.cast(learning_rate, dtype), ops=keras_ops, **scalars,
        )
        out = out if slots else (out,)
        self.assign(variable, out[0])
        for slot, value in zip(slots, out[1:], strict=True):
            self.assign(slot, value)

    def get_config(self):
        config = super().get_config()
        rule = self.rule
        hyper = {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule)}
        if callable(hyper.get("lr")):  # a Python function; Keras's learning_rate above replaced it
            del hyper["lr"]
        config["optimizer"] = {"class_name": type(rule).__name__, "config": hyper}
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        spec = config.pop("optimizer")
        rule_cls = getattr(_optimizers, spec["class_name"], None)
        if not (isinstance(rule_cls, type) and issubclass(rule_cls, _optimizers.Optimizer)):
            raise ValueError(f"KerasOptimizer.from_config: {spec['class_name']!r} is not an adamedu optimizer")
        rule = rule_cls(**spec["config"])
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = keras.optimizers.schedules.deserialize(config["learning_rate"],
                                                                              custom_objects=custom_objects)
        return cls(rule, **config)


def dense(gradient):
    """``gradient`` as a dense tensor. An ``Embedding`` gives TensorFlow's sparse ``IndexedSlices`` (the
    rows looked up); the rule is written for whole arrays, and a row not looked up has gradient 0."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(gradient, tf.IndexedSlices):
            return tf.convert_to_tensor(gradient)
    return keras.ops.convert_to_tensor(gradient)


def _keras_hint(optimizer):
    return " (it is already a Keras optimizer)" if isinstance(optimizer, keras.optimizers.Optimizer) else ""


def keras_learning_rate(optimizer, learning_rate):
    """What Keras gets as its learning_rate: ``learning_rate`` if given, else ``optimizer.lr``."""
    name = type(optimizer).__name__
    if learning_rate is None:
        if callable(optimizer.lr):
            raise ValueError(f"to_keras: {name}(lr={optimizer.lr!r}) is a Python function of t, which Keras "
                             "cannot run inside its compiled graph; pass a Keras schedule instead, "
                             "to_keras(opt, learning_rate=keras.optimizers.schedules.ExponentialDecay(...)) "
                             "(Keras calls it with the steps taken, from 0; adamedu's t counts from 1)")
        return optimizer.lr
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return learning_rate
    allowed = "a finite number >= 0 or a keras.optimizers.schedules.LearningRateSchedule"
    if callable(learning_rate):
        raise TypeError(f"to_keras: learning_rate must be {allowed}, got the function {learning_rate!r}")
    try:
        return check_hyperparameter("to_keras", "learning_rate", learning_rate, ">= 0")
    except (TypeError, ValueError) as err:
        raise type(err)(f"to_keras: learning_rate must be {allowed}, got {learning_rate!r}") from None
