"""Import TensorFlow/Keras without their start-up log lines landing in a notebook's output.

TensorFlow's C++ core writes lines such as "WARNING: All log messages before absl::InitializeLog() ...",
"oneDNN custom operations are on ..." and "Could not find cuda drivers ..." straight to file descriptor 2
while it loads, before any of its settings (``TF_CPP_MIN_LOG_LEVEL`` included) is read; Jupyter's kernel
forwards that descriptor to the cell's output. So::

    from adamedu.quiet import quiet_tensorflow

    with quiet_tensorflow():
        import keras

points descriptor 2 at the null device for the duration of the import only (a real error still raises,
with its Python traceback), then leaves TensorFlow's Python and absl loggers at ERROR level.
"""

import contextlib
import logging
import os
import sys

__all__ = ["quiet_tensorflow"]


@contextlib.contextmanager
def quiet_tensorflow():
    """Silence TensorFlow's and absl's start-up log while the body (an ``import keras``) runs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the later C++ info and warning lines
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
