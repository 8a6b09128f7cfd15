"""What runs an update rule. Each engine supplies an ``ops`` namespace and a way to run the rule; none re-types it.

- numpy: ``adamedu.optimizers._base.numpy_ops``, the default of every ``Optimizer.step``;
- Keras: :mod:`adamedu.engines.keras` (public name ``adamedu.keras.to_keras``);
- PyTorch: :mod:`adamedu.engines.torch` (public name ``adamedu.torch.to_torch``);
- compiled: :mod:`adamedu.engines.compiled` (public name ``adamedu.compiled``; needs numba), the rule traced
  into one fused numba loop.
"""
