"""adamedu.quiet.quiet_tensorflow: TensorFlow's start-up lines do not reach the error stream (a notebook's output)."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("keras")

NOISE = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers")


def run(code):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)


def test_the_import_is_silent_and_keras_works_afterwards():
    result = run("from adamedu.quiet import quiet_tensorflow\n"
                 "with quiet_tensorflow():\n    import keras\n"
                 "v = keras.Variable([1.0]); keras.optimizers.Adam(0.5).apply_gradients([(keras.ops.ones(1), v)])\n"
                 "print(float(v.numpy()[0]))")
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(0.5, rel=1e-4)  # one Adam step of length lr, in float32
    assert not [n for n in NOISE if n in result.stderr], result.stderr


def test_an_error_inside_still_raises_and_the_stream_comes_back():
    result = run("import sys\nfrom adamedu.quiet import quiet_tensorflow\n"
                 "try:\n    with quiet_tensorflow():\n        import no_such_module_here\n"
                 "except ImportError as err:\n    print('raised', err.name, file=sys.stderr)")
    assert "raised no_such_module_here" in result.stderr


def test_negative_control_the_environment_variable_alone_lets_the_lines_through():
    result = run("import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport keras")
    if not any(n in result.stderr for n in NOISE):
        pytest.skip("this TensorFlow prints no start-up lines here; nothing to silence")
