"""The bridge to Keras (public name); the engine lives in :mod:`adamedu.engines.keras`."""

from .engines.keras import KERAS_KEYWORDS, KerasOptimizer, keras_ops, to_keras

__all__ = ["to_keras", "KerasOptimizer", "keras_ops", "KERAS_KEYWORDS"]
