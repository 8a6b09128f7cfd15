"""The same adamedu optimizer on a real distributed engine equals it on one device (chapter 11).

- Keras: ``adamedu.keras.to_keras(opt)`` trains a model under ``tf.distribute.MirroredStrategy`` on two
  logical CPU devices. TensorFlow splits its one CPU into two only before it initialises its devices, so
  the run is a fresh Python process (``python -c``), which writes its results to a file.
- PyTorch: ``adamedu.torch.to_torch(opt, ...)`` under ``DistributedDataParallel`` with the gloo backend in
  two processes (``torch.multiprocessing``), talking over 127.0.0.1 only (MASTER_ADDR and gloo's socket
  interface are the loopback).

Each replica sees half of the global batch; the engine averages the gradients (all-reduce), and every
replica applies the same optimizer step to the same parameters. So after a few steps the parameters, and
the optimizer state, equal a single-device run on the whole batch, up to the order of float64 sums.
Each run has a deadline, after which its processes are killed and the test fails.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import adamedu as ae

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEADLINE = 240  # seconds for each multi-process run on a loaded 2-core machine (it takes ~10-30 s)
STEPS = 5
GLOBAL_BATCH = 32
RTOL, ATOL = 1e-10, 1e-13  # float64; the replicas' sums run in another order than one device's
# the optimizers: an elementwise rule, and one whose state is smaller than its parameters (Adafactor)
OPTIMIZERS = {"Adam": ae.Adam(lr=0.01), "Adafactor": ae.Adafactor(lr=0.05, weight_decay=0.01,
                                                                   decoupled_weight_decay=True)}


def data(seed=0):
    """A seeded classification problem: STEPS global batches of 8 features, 3 classes."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((STEPS * GLOBAL_BATCH, 8))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64) + (x[:, 3] > 1).astype(np.int64)
    return x, y


def initial_weights(seed=1):
    """The network's starting weights 8 -> 16 (tanh) -> 3, as (kernel of shape (in, out), bias) pairs."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((8, 16)) * 0.5, rng.standard_normal(16) * 0.1,
            rng.standard_normal((16, 3)) * 0.5, rng.standard_normal(3) * 0.1]


def assert_close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def kill_all(processes):
    for p in processes:
        if p.is_alive() if hasattr(p, "is_alive") else p.poll() is None:
            p.kill()


# -- PyTorch: DistributedDataParallel, gloo, two processes ------------------------------------------------

def free_loopback_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torch_model(torch):
    w = initial_weights()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).double()
    with torch.no_grad():
        for layer, (kernel, bias) in zip((model[0], model[2]), (w[0:2], w[2:4]), strict=True):
            layer.weight.copy_(torch.tensor(kernel.T))  # torch keeps (out, in)
            layer.bias.copy_(torch.tensor(bias))
    return model


def torch_train(torch, model, opt, x, y, steps=STEPS):
    """``steps`` steps of cross-entropy on consecutive batches of ``x``, ``y`` (one batch per step)."""
    batch = len(x) // steps
    for k in range(steps):
        opt.zero_grad()
        xb, yb = torch.tensor(x[k * batch:(k + 1) * batch]), torch.tensor(y[k * batch:(k + 1) * batch])
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()


def torch_result(model, opt):
    """The parameters and each parameter's optimizer slots, as numpy arrays."""
    params = [p.detach().numpy().copy() for p in model.parameters()]
    state = [{k: v.numpy().copy() for k, v in opt.state[p].items() if k != "t"} for p in model.parameters()]
    return params, state


def ddp_worker(rank, world_size, port, out_dir):
    """One of the two processes: its half of every global batch, DDP's all-reduce, adamedu's step."""
    import torch
    import torch.distributed as dist

    from adamedu.torch import to_torch

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        x, y = data()
        per_replica = GLOBAL_BATCH // world_size
        # this replica's rows of each global batch: DistributedSampler's split, written out
        mine = np.concatenate([np.arange(k * GLOBAL_BATCH + rank * per_replica,
                                         k * GLOBAL_BATCH + (rank + 1) * per_replica) for k in range(STEPS)])
        for name, rule in OPTIMIZERS.items():
            model = torch.nn.parallel.DistributedDataParallel(torch_model(torch))
            opt = to_torch(rule, model.parameters())
            torch_train(torch, model, opt, x[mine], y[mine])
            params, state = torch_result(model.module, opt)
            np.savez(Path(out_dir) / f"{name}-rank{rank}.npz", *params,
                     **{f"{i}-{k}": v for i, s in enumerate(state) for k, v in s.items()})
    finally:
        dist.destroy_process_group()


def test_ddp_gloo_two_processes_equals_one_device(tmp_path):
    torch = pytest.importorskip("torch")
    import torch.multiprocessing as mp

    from adamedu.torch import to_torch

    os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # gloo's own sockets on the loopback too (inherited by the workers)
    start = time.monotonic()
    context = mp.start_processes(ddp_worker, args=(2, free_loopback_port(), str(tmp_path)), nprocs=2,
                                 join=False, start_method="spawn")
    try:
        while not context.join(timeout=1):
            if time.monotonic() - start > DEADLINE:
                pytest.fail(f"DDP run did not finish within {DEADLINE} s")
    finally:
        kill_all(context.processes)
    print(f"DDP, 2 processes: {time.monotonic() - start:.1f} s")

    x, y = data()
    torch.set_num_threads(1)
    for name, rule in OPTIMIZERS.items():
        model = torch_model(torch)
        opt = to_torch(rule, model.parameters())
        torch_train(torch, model, opt, x, y)
        params, state = torch_result(model, opt)
        for rank in (0, 1):
            saved = np.load(tmp_path / f"{name}-rank{rank}.npz")
            for i, p in enumerate(params):
                assert_close(saved[f"arr_{i}"], p, f"{name}: parameter {i} of rank {rank}")
                for k, v in state[i].items():
                    assert_close(saved[f"{i}-{k}"], v, f"{name}: state {k!r} of parameter {i}, rank {rank}")
        # negative control: one replica's half batch alone is not the global step
        alone = torch_model(torch)
        opt = to_torch(rule, alone.parameters())
        half = np.concatenate([np.arange(k * GLOBAL_BATCH, k * GLOBAL_BATCH + GLOBAL_BATCH // 2) for k in range(STEPS)])
        torch_train(torch, alone, opt, x[half], y[half])
        assert not np.allclose(alone[0].weight.detach().numpy(), params[0], rtol=1e-6, atol=0)


# -- Keras: MirroredStrategy on two logical CPUs, in a fresh process ----------------------------------------

KERAS_SCRIPT = """
import sys
sys.path[:0] = [{root!r}, {here!r}]
from test_distributed import keras_main
keras_main({out!r})
"""


def keras_model(keras):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(3)])
    model.set_weights(initial_weights())
    return model


def keras_main(out):
    """In a fresh process: two logical CPUs, then each optimizer with and without MirroredStrategy."""
    from adamedu.quiet import quiet_tensorflow

    with quiet_tensorflow():
        import keras
        import tensorflow as tf
    from adamedu.keras import to_keras

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    keras.config.set_floatx("float64")
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    x, y = data()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    results = {"devices": devices}
    for name, rule in OPTIMIZERS.items():
        for where in ("mirrored", "single"):
            scope = tf.distribute.MirroredStrategy(devices) if where == "mirrored" else tf.distribute.get_strategy()
            with scope.scope():
                model = keras_model(keras)
                model.compile(optimizer=to_keras(rule), loss=loss)
            model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
            opt = model.optimizer
            results[f"{name}-{where}"] = {
                "replicas": scope.num_replicas_in_sync,
                "params": [w.tolist() for w in model.get_weights()],
                "state": {slot: [np.asarray(v.numpy() if hasattr(v, "numpy") else v).tolist() for v in variables]
                          for slot, variables in opt.slot_variables.items()},
                "iterations": int(opt.iterations.numpy()),
            }
    Path(out).write_text(json.dumps(results))


def test_keras_mirrored_strategy_two_cpus_equals_one_device(tmp_path):
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs Keras and TensorFlow")  # found, not imported: the run is in a fresh process
    out = tmp_path / "keras.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OPENBLAS_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", KERAS_SCRIPT.format(root=str(ROOT), here=str(HERE), out=str(out))],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the MirroredStrategy run did not finish within {DEADLINE} s")
    finally:
        kill_all([proc])
    assert proc.returncode == 0, err[-3000:]
    print(f"MirroredStrategy, 2 logical CPUs: {time.monotonic() - start:.1f} s")
    results = json.loads(out.read_text())
    assert len(results["devices"]) == 2
    for name in OPTIMIZERS:
        mirrored, single = results[f"{name}-mirrored"], results[f"{name}-single"]
        assert mirrored["replicas"] == 2 and single["replicas"] == 1
        assert mirrored["iterations"] == single["iterations"] == STEPS
        for i, (a, b) in enumerate(zip(mirrored["params"], single["params"], strict=True)):
            assert_close(np.array(a), np.array(b), f"{name}: weight {i}")
        for slot in single["state"]:
            for i, (a, b) in enumerate(zip(mirrored["state"][slot], single["state"][slot], strict=True)):
                assert_close(np.array(a), np.array(b), f"{name}: slot {slot!r} of variable {i}")
        # negative control: the weights moved
        assert not np.allclose(np.array(single["params"][0]), initial_weights()[0], rtol=1e-6)
