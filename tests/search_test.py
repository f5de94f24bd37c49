"""The search step and loop: variable separation, no retracing, learning, determinism, resume, errors."""

import functools
import json
import os
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import Interrupted, interrupt_after_first_epoch
from flax import nnx

from darts_jax import compiling, data, genotypes, ops, optim, search, supernet, variables
from experiments.configs import nb201_digits


def tiny_config(**overrides):
  """NB201 supernet of one cell per stage on digits: compiles in seconds."""
  c = nb201_digits.get_config("quick")
  c.epochs = 3
  # The collapse diagnostics' Hessian costs a compile of its own; methods_sdarts_test's search
  # runs it, these test the loop around it.
  c.diagnostics.hessian_iterations = 0
  c.update_from_flattened_dict(overrides)
  return c


@pytest.fixture(scope="module")
def tiny():
  config = tiny_config()
  dataset = data.load("digits", seed=0)
  schedule = optim.epoch_cosine(0.025, 0.001, config.epochs, 10)
  graphdef, _, state = search.init_state(config, dataset, schedule)
  batches, feed = data.Batches(dataset.train, 32, seed=0), data.Feed(dataset.train.normalization)
  return config, graphdef, schedule, state, feed(next(batches)), feed(next(batches))


def _changed(a, b):
  return any(bool(jnp.any(x != y)) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_alpha_step_changes_only_alphas_and_weight_step_only_weights(tiny):
  config, graphdef, schedule, state, train, val = tiny
  alpha_step, weight_step = search.make_steps(graphdef, config, schedule)
  quick = dict(compiler_options=compiling.QUICK_COMPILE)  # tiny inputs: compile time dominates
  after_alpha, _ = jax.jit(alpha_step, **quick)(state, train, val)
  assert _changed(state.arch, after_alpha.arch)
  assert not _changed(state.weights, after_alpha.weights)
  assert not _changed(state.stats, after_alpha.stats)
  after_weights, _ = jax.jit(weight_step, **quick)(state, train)
  assert not _changed(state.arch, after_weights.arch)
  assert _changed(state.weights, after_weights.weights)
  assert _changed(state.stats, after_weights.stats)


def test_search_step_compiles_once(tiny):
  config, graphdef, schedule, state, train, val = tiny
  step = jax.jit(chex.assert_max_traces(search.make_search_step(graphdef, config, schedule), n=1),
                 compiler_options=compiling.QUICK_COMPILE)
  for _ in range(3):
    state, metrics = step(state, train, val)
  chex.assert_tree_all_finite(metrics)
  assert int(state.step) == 3


class _OneEdgeNet(nnx.Module):
  """One mixed edge (a conv with BatchNorm, a pool) and a linear classifier: a network the search
  steps run on that compiles in a second."""

  def __init__(self, image_shape, *, rngs: nnx.Rngs):
    self.edge = supernet.MixedOp(("nor_conv_1x1", "avg_pool_3x3"), image_shape[-1], 1, 1,
                                 rngs=rngs)
    self.classifier = ops.linear(int(np.prod(image_shape)), 10, rngs=rngs)
    self.alphas = nnx.Dict({"cell": variables.ArchParam(
        1e-3 * jax.random.normal(rngs.params(), (1, 2)))})

  def __call__(self, x, mixing):
    return self.classifier(self.edge(x[None], mixing["cell"])[0].reshape(x.shape[0], -1))


def test_search_step_composes_the_alpha_and_weight_steps_in_the_configured_order(tiny):
  """``alphas_first`` (quark0/darts): the alpha step, then the weight step at the new alphas;
  ``weights_first`` (NAS-Bench-201): the weight step, then the alpha step at the new weights. Each
  order equals that composition of ``make_steps``' two steps, and not the other one (large learning
  rates make the orders far apart)."""
  *_, train, val = tiny
  config = lambda order: tiny_config(step_order=order, **{"alphas.lr": 0.3})
  schedule = optim.epoch_cosine(1.0, 0.001, 3, 10)
  graphdef, arch, weights, stats = variables.split(
      _OneEdgeNet(train["image"].shape[1:], rngs=nnx.Rngs(0)))
  alpha_tx, weight_tx = search.optimizers(config(None), schedule)
  state = search.SearchState(jnp.zeros((), jnp.int32), arch, weights, stats, alpha_tx.init(arch),
                             weight_tx.init(weights), jax.random.PRNGKey(0))
  jit = functools.partial(jax.jit, compiler_options=compiling.QUICK_COMPILE)
  alpha_step, weight_step = (jit(f) for f in search.make_steps(graphdef, config(None), schedule))

  def alphas_first(state):
    state, val_metrics = alpha_step(state, train, val)
    state, train_metrics = weight_step(state, train)
    return state, {**train_metrics, **val_metrics}

  def weights_first(state):
    state, train_metrics = weight_step(state, train)
    state, val_metrics = alpha_step(state, train, val)
    return state, {**train_metrics, **val_metrics}

  state, _ = alphas_first(state)  # Adam's first step is about lr * sign(gradient) in either order
  composed = {"alphas_first": alphas_first(state), "weights_first": weights_first(state)}
  for order, other in zip(search.STEP_ORDERS, search.STEP_ORDERS[::-1]):
    step = jit(search.make_search_step(graphdef, config(order), schedule))
    result = step(state, train, val)
    without_key = lambda r: (r[0]._replace(key=None), r[1])  # the step draws a fresh key
    chex.assert_trees_all_close(without_key(result), without_key(composed[order]), rtol=1e-5,
                                atol=1e-6)
    assert not np.array_equal(result[0].key, state.key)
    for part in ("arch", "weights"):
      difference = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()),
                                getattr(result[0], part), getattr(composed[other][0], part))
      assert max(jax.tree.leaves(difference)) > 1e-4, (order, part)  # 10x the tolerance above
    for metric in ("train_loss", "val_loss"):
      assert result[1][metric] != pytest.approx(float(composed[other][1][metric]), rel=1e-4)
  with pytest.raises(ValueError, match="step_order"):
    search.make_search_step(graphdef, config("both_at_once"), schedule)


def test_alpha_descent_finds_the_op_that_produced_the_target():
  """One mixed edge over parameter-free ops; the target is avg_pool_3x3(x): its alpha must win."""
  from flax import nnx
  from darts_jax import architects, supernet

  names = ("skip_connect", "max_pool_3x3", "avg_pool_3x3", "none")
  edge = supernet.MixedOp(names, 3, 1, 1, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(0), (1, 4, 6, 6, 3))
  batch = {"x": x, "y": edge.ops[2](x[0])[None]}
  graphdef, state = nnx.split(edge)

  def loss(alphas, weights, b):
    out = nnx.merge(graphdef, state, copy=True)(b["x"], jax.nn.softmax(alphas, axis=-1))
    return jnp.mean((out - b["y"]) ** 2), out

  tx = optim.alpha_optimizer(0.05)
  alphas = 1e-3 * jax.random.normal(jax.random.key(1), (1, len(names)))
  opt_state = tx.init(alphas)
  for _ in range(100):
    grads, _ = architects.first_order(loss, alphas, None, batch, batch)
    updates, opt_state = tx.update(grads, opt_state, alphas)
    alphas = alphas + updates
  assert int(jnp.argmax(alphas)) == names.index("avg_pool_3x3"), alphas


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  """One uninterrupted tiny search and its workdir, shared by the tests that compare against it."""
  workdir = tmp_path_factory.mktemp("uninterrupted")
  return search.run(tiny_config(), str(workdir), report=lambda _: None), workdir


def test_search_learns_digits_and_is_deterministic(uninterrupted, tmp_path):
  first, first_dir = uninterrupted
  assert first.history[-1]["val_acc"] > 0.5  # chance is 0.1
  again = search.run(tiny_config(), str(tmp_path / "b"), report=lambda _: None)
  other = search.run(tiny_config(seed=1), str(tmp_path / "c"), report=lambda _: None)
  assert again.genotype == first.genotype
  for label in first.alphas:
    np.testing.assert_array_equal(again.alphas[label], first.alphas[label])
    assert not np.array_equal(other.alphas[label], first.alphas[label])
  records = [json.loads(line) for line in open(first_dir / "metrics.jsonl")]
  assert [r["epoch"] for r in records] == [0, 1, 2]
  assert np.allclose(np.sum(records[-1]["alphas"]["cell"], axis=-1), 1.0, atol=1e-3)
  assert genotypes.load(first_dir / "genotype.json") == first.genotype


def test_interrupted_search_resumes_bit_exactly(uninterrupted, tmp_path):
  uninterrupted, _ = uninterrupted
  with pytest.raises(Interrupted):
    search.run(tiny_config(), str(tmp_path / "cut"), report=interrupt_after_first_epoch)
  lines = []
  resumed = search.run(tiny_config(), str(tmp_path / "cut"), report=lines.append)
  assert any(line.startswith("resumed from") for line in lines)
  assert resumed.genotype == uninterrupted.genotype
  for label in resumed.alphas:
    np.testing.assert_array_equal(resumed.alphas[label], uninterrupted.alphas[label])
  assert [r["epoch"] for r in resumed.history] == [0, 1, 2]


def test_a_workdir_of_another_configuration_is_a_clear_error(tmp_path):
  search.run(tiny_config(epochs=1), str(tmp_path), report=lambda _: None)
  with pytest.raises(Exception, match=r"another config(.|\n)*network.channels: 4 -> 8"):
    search.run(tiny_config(epochs=1, network={"channels": 8, "cells_per_stage": 1}),
               str(tmp_path), report=lambda _: None)


def test_checkpoint_of_another_configuration_is_a_clear_error(tmp_path):
  """Without the workdir's config record (a run from before it existed), the restore says so."""
  search.run(tiny_config(epochs=1), str(tmp_path), report=lambda _: None)
  (tmp_path / "config.json").unlink()
  with pytest.raises(Exception, match="different configuration"):
    search.run(tiny_config(epochs=2, network={"channels": 8, "cells_per_stage": 1}),
               str(tmp_path), report=lambda _: None)


def test_corrupt_checkpoint_is_a_clear_error_naming_the_file(tmp_path):
  search.run(tiny_config(epochs=1), str(tmp_path), report=lambda _: None)
  for path in (tmp_path / "checkpoints").rglob("*"):
    if path.is_file() and "state" in str(path):
      path.write_bytes(b"garbage")
  with pytest.raises(Exception, match=r"cannot restore checkpoint .*checkpoints"):
    search.run(tiny_config(epochs=1), str(tmp_path), report=lambda _: None)


def test_diverging_search_stops_with_a_clear_report(tmp_path):
  config = tiny_config(epochs=1)
  config.weights.lr = 1e30
  config.weights.clip_norm = 1e30
  with pytest.raises(FloatingPointError, match="non-finite loss.*no checkpoint was written"):
    search.run(config, str(tmp_path), report=lambda _: None)


def test_unknown_op_in_the_config_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError, match="nor_conv_9x9.*Known ops.*ops_module"):
    search.run(tiny_config(ops=("none", "nor_conv_9x9")), str(tmp_path), report=lambda _: None)


def _run_experiment(*args):
  return subprocess.run([sys.executable, "-m", "experiments.search", *args], capture_output=True,
                        text=True, cwd=os.path.dirname(os.path.dirname(__file__)), timeout=900)


# The search script's successful run from the command line: tests/custom_op_test.py.


def test_missing_config_file_is_a_clear_error(tmp_path):
  out = _run_experiment("--config=experiments/configs/no_such_config.py", f"--workdir={tmp_path}")
  assert out.returncode != 0
  assert "no_such_config.py" in out.stderr
