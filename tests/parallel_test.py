"""Data parallelism on 4 CPU devices (``--xla_force_host_platform_device_count``), in subprocesses so
that the other tests keep one device: a 4-device search step equals the 1-device step (BatchNorm over
the global batch), and checkpoints move between device counts."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_python(code: str, devices: int, *args: str) -> dict:
  """Runs ``code`` with ``devices`` CPU devices; it prints one JSON line last, returned parsed."""
  env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
         "PYTHONPATH": str(ROOT)}
  out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900, check=False)
  assert out.returncode == 0, out.stderr[-4000:]
  return json.loads(out.stdout.strip().splitlines()[-1])


# Three of NAS-Bench-201's ops (a conv with BatchNorm, a pool, the identity): the programs compile in
# a third of the time of all five, and sharding, BatchNorm over the global batch and checkpoints are
# what these tests are about.
OPS_LINE = "OPS = ('nor_conv_1x1', 'avg_pool_3x3', 'skip_connect')\n"

STEPS = OPS_LINE + """
import json
import jax, numpy as np
from jax.sharding import Mesh
from darts_jax import compiling, data, optim, parallel, search
from experiments.configs import nb201_digits

assert jax.device_count() == 4
dataset = data.load("digits", seed=0)
results, fed = {}, []
augment = data.Augment(crop_padding=2, cutout=4)  # per-image keys: the same images on any mesh
for architect in ("first_order", "second_order", "second_order_fd"):
  config = nb201_digits.get_config("quick")
  config.architect, config.ops = architect, OPS
  schedule = optim.epoch_cosine(0.025, 0.001, 1, 10)
  batches = data.Batches(dataset.train, 32, seed=0, keys=True)
  train, val = next(batches), next(batches)
  outputs = []
  for devices in (jax.devices()[:1], jax.devices()):
    mesh = Mesh(np.asarray(devices), (parallel.AXIS,))
    feed = data.Feed(dataset.train.normalization, augment,
                     place=lambda batch: parallel.shard_batch(batch, mesh))
    graphdef, _, state = search.init_state(config, dataset, schedule, mesh)
    step = compiling.jit(search.make_search_step(graphdef, config, schedule))
    batch = feed(train)
    assert len(batch["image"].sharding.device_set) == len(devices)
    fed.append(np.asarray(batch["image"]))
    state, metrics = step(state, batch, feed(val))
    assert len(jax.tree.leaves(state.weights)[0].sharding.device_set) == len(devices)
    outputs.append(jax.tree.map(np.asarray, (state.arch, state.weights, state.stats, metrics)))
  error = max(float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))
              for a, b in zip(jax.tree.leaves(outputs[1]), jax.tree.leaves(outputs[0])))
  results[architect] = error
results["feed"] = max(float(np.max(np.abs(a - fed[0]))) for a in fed)
print(json.dumps(results))
"""


def test_a_four_device_search_step_equals_the_one_device_step():
  errors = run_python(STEPS, devices=4)
  assert errors.pop("feed") == 0  # the augmented batch, sharded or not, is the same batch
  assert set(errors) == {"first_order", "second_order", "second_order_fd"}
  for architect, error in errors.items():
    assert error < 1e-5, (architect, error)


RUN = OPS_LINE + """
import json, sys
import numpy as np
from darts_jax import search
from experiments.configs import nb201_digits

class Stop(Exception):
  pass

def stop_after_epoch_1(line):
  if line.startswith("epoch 1/"):
    raise Stop

results = {}
for workdir, (action, epochs) in json.loads(sys.argv[1]).items():
  config = nb201_digits.get_config("quick")
  config.epochs, config.tensorboard, config.ops = epochs, False, OPS
  config.diagnostics.hessian_iterations = 0
  if action == "interrupt":
    try:
      search.run(config, workdir, report=stop_after_epoch_1)
    except Stop:
      continue
  lines = []
  result = search.run(config, workdir, report=lines.append)
  results[workdir] = {"alphas": {k: np.asarray(v).tolist() for k, v in result.alphas.items()},
                      "resumed": any(line.startswith("resumed from") for line in lines),
                      "finished_before": any("already finished" in line for line in lines),
                      "epochs": [r["epoch"] for r in result.history]}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """Searches on 4 devices, then on 1, then on 4 again, each continuing the other's workdirs."""
  folder = tmp_path_factory.mktemp("parallel")
  w = lambda name: str(folder / name)
  on_four = run_python(RUN, 4, json.dumps({w("f4"): ("run", 1), w("i4"): ("interrupt", 2)}))
  on_one = run_python(RUN, 1, json.dumps({w("f4"): ("run", 1), w("i4"): ("run", 2),
                                          w("f1"): ("run", 1), w("i1"): ("interrupt", 2)}))
  again = run_python(RUN, 4, json.dumps({w("f1"): ("run", 1), w("i1"): ("run", 2)}))
  return w, on_four, on_one, again


def test_checkpoints_resume_across_device_counts(runs):
  w, on_four, on_one, again = runs
  # A checkpoint written on 4 devices restores on 1 bit for bit, and the other way round.
  assert on_one[w("f4")]["finished_before"] and again[w("f1")]["finished_before"]
  assert on_one[w("f4")]["alphas"] == on_four[w("f4")]["alphas"]
  assert again[w("f1")]["alphas"] == on_one[w("f1")]["alphas"]
  # An interrupted run continues on the other device count to its last epoch.
  for resumed in (on_one[w("i4")], again[w("i1")]):
    assert resumed["resumed"] and resumed["epochs"] == [0, 1]
    assert all(np.isfinite(np.asarray(a)).all() for a in resumed["alphas"].values())
