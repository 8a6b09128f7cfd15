"""Shared fixtures: the reference frameworks, switched to float64 for one test and restored after."""

import os

import pytest

# TensorFlow reads this when it is first imported: keep its C++ start-up chatter out of test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture
def keras_float64():
    """The ``keras`` module with floatx set to float64.

    Keras keeps the learning rate (and any variable made without a dtype) in floatx, float32 by
    default; at float32 a reference run could not agree with ours to more than ~7 digits.
    """
    import keras  # a test dependency: its absence should fail the reference tests, not skip them

    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        yield keras
    finally:
        keras.config.set_floatx(previous)


@pytest.fixture
def torch_float64():
    """The ``torch`` module (the test is skipped without it) with float64 as its default dtype.

    PyTorch keeps scalar optimizer state (``step``, NAdam's ``mu_product``) in the default dtype.
    """
    torch = pytest.importorskip("torch")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield torch
    finally:
        torch.set_default_dtype(previous)
