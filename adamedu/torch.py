"""The bridge to PyTorch (public name); the engine lives in :mod:`adamedu.engines.torch`."""

from .engines.torch import TORCH_OPTIONS, TorchOptimizer, to_torch, torch_ops

__all__ = ["to_torch", "TorchOptimizer", "torch_ops", "TORCH_OPTIONS"]
