"""Compute dtype and matmul precision: bfloat16 runs the network's activations in bfloat16 while the
weights, optimizer states, BatchNorm statistics, the loss and the gradients stay float32; the
finite-difference architect's matmuls run at the highest precision whatever the run's default."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from darts_jax import (architects, compiling, data, genotypes, optim, precision, retrain, search,
                       supernet)
from experiments.configs import nb201_digits
from experiments.configs import retrain as retrain_config

OPS = ("nor_conv_1x1", "avg_pool_3x3", "skip_connect")  # a conv with BatchNorm, a pool, identity


def _dtypes(tree) -> set:
  return {str(x.dtype) for x in jax.tree.leaves(tree)}


def _search_step(compute_dtype):
  config = nb201_digits.get_config("quick")
  config.ops, config.compute_dtype = OPS, compute_dtype
  dataset = data.load("digits", seed=0)
  schedule = optim.epoch_cosine(0.025, 0.001, 1, 10)
  graphdef, _, state = search.init_state(config, dataset, schedule)
  batches, feed = data.Batches(dataset.train, 16, seed=0), data.Feed(dataset.train.normalization)
  train, val = feed(next(batches)), feed(next(batches))
  step = jax.jit(search.make_search_step(graphdef, config, schedule),
                 compiler_options=compiling.QUICK_COMPILE)
  hlo = step.lower(state, train, val).as_text()
  new, metrics = step(state, train, val)
  return new, metrics, hlo


def test_a_bfloat16_search_step_keeps_every_state_and_metric_in_float32():
  f32, f32_metrics, f32_hlo = _search_step("float32")
  bf16, bf16_metrics, bf16_hlo = _search_step("bfloat16")
  for field in ("arch", "weights", "stats", "arch_opt", "weight_opt"):
    floats = {d for d in _dtypes(getattr(bf16, field)) if "int" not in d}
    assert floats == {"float32"}, (field, floats)
  assert {str(v.dtype) for v in bf16_metrics.values()} == {"float32"}
  # The activations are bfloat16 in one program and not in the other ...
  assert "bf16" in bf16_hlo and "bf16" not in f32_hlo
  # ... and the results differ by bfloat16's rounding, not more.
  for key in f32_metrics:
    a, b = float(f32_metrics[key]), float(bf16_metrics[key])
    assert abs(a - b) <= 0.05 * max(1.0, abs(a)), (key, a, b)
  assert any(float(f32_metrics[k]) != float(bf16_metrics[k]) for k in f32_metrics)
  for a, b in zip(jax.tree.leaves(f32.arch), jax.tree.leaves(bf16.arch)):
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-3)


def test_a_bfloat16_retraining_step_keeps_weights_statistics_and_optimizer_in_float32():
  config = retrain_config.get_config("quick")
  config.compute_dtype = "bfloat16"
  model = supernet.fixed(genotypes.PUBLISHED["DARTS_V2"], channels=4, layers=3, in_channels=1,
                         rngs=nnx.Rngs(0))
  tx, _ = retrain.optimizer(config, steps_per_epoch=10)
  graphdef, _, state = retrain.initial_state(model, tx, seed=0)
  batch = {"image": jax.random.normal(jax.random.key(0), (4, 8, 8, 1)),
           "label": jnp.arange(4, dtype=jnp.int32)}
  step = jax.jit(retrain.make_train_step(graphdef, config, tx),
                 compiler_options=compiling.QUICK_COMPILE)
  assert "bf16" in step.lower(state, batch, jnp.float32(0.0)).as_text()
  new, metrics = step(state, batch, jnp.float32(0.0))
  for field in ("weights", "stats", "opt"):
    floats = {d for d in _dtypes(getattr(new, field)) if "int" not in d}
    assert floats == {"float32"}, (field, floats)
  assert {str(v.dtype) for v in metrics.values()} == {"float32"}
  assert np.isfinite(float(metrics["train_loss"]))


def test_outputs_widen_bfloat16_and_keep_wider_types():
  assert precision.activations(jnp.ones(2), "bfloat16").dtype == jnp.bfloat16
  assert precision.activations(jnp.ones(2), "float32").dtype == jnp.float32
  assert precision.outputs(jnp.ones(2, jnp.bfloat16)).dtype == jnp.float32
  with jax.enable_x64(True):
    x = jnp.ones(2, jnp.float64)
    assert precision.activations(x, "float32").dtype == jnp.float64
    assert precision.outputs(x).dtype == jnp.float64
  with pytest.raises(ValueError, match="compute_dtype"):
    precision.activations(jnp.ones(2), "float16")


def _dot_precisions(architect) -> set:
  """The precision of every matmul in ``architect``'s program, lowered under a low default."""
  def loss_fn(arch, weights, batch):
    logits = (batch @ weights) @ arch
    return jnp.sum(logits ** 2), logits

  def hypergradient(arch, weights, train, val):
    return architect(loss_fn, arch, weights, train, val,
                     virtual_step=lambda w, g: jax.tree.map(lambda a, b: a - 0.1 * b, w, g))[0]

  ones = jnp.ones((3, 3))
  with jax.default_matmul_precision("bfloat16"):
    text = jax.jit(hypergradient).lower(ones, ones, ones, ones).as_text()
  lines = [line for line in text.splitlines() if "dot_general" in line]
  assert lines
  return {line.split("precision = [")[1].split("]")[0] if "precision = [" in line else "none"
          for line in lines}


def test_the_finite_difference_architect_runs_its_matmuls_at_the_highest_precision():
  assert _dot_precisions(architects.second_order_fd) == {"HIGHEST, HIGHEST"}
  assert "HIGHEST, HIGHEST" not in _dot_precisions(architects.first_order)
