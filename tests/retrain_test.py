"""Evaluation networks and retraining: published parameter counts, drop-path, the auxiliary head,
learning and bit-exact resumption on the embedded digits, and clear errors for bad genotypes."""

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from conftest import Interrupted, interrupt_after_first_epoch
from flax import nnx

from darts_jax import compiling, genotypes, ops, optim, retrain, supernet
from darts_jax.cost import params as cost_params
from darts_jax.supernet.darts_network import DropPath
from experiments.configs import retrain as retrain_config


def tiny_config(**overrides):
  c = retrain_config.get_config("quick")
  c.update_from_flattened_dict(overrides)
  return c


# Weights of the reference implementation's evaluation networks (quark0/darts ``model.py``; the
# auxiliary head excluded, as its ``count_parameters_in_MB`` does). The papers round them to
# DARTS 3.3M, PC-DARTS 3.6M, P-DARTS 3.4M, and DARTS ImageNet 4.7M.
@pytest.mark.parametrize("name,setting,num_classes,expected", [
    ("DARTS_V2", "cifar", 10, 3_349_342),
    ("PC_DARTS_cifar", "cifar", 10, 3_634_678),
    ("PDARTS", "cifar", 10, 3_433_798),
    ("DARTS_V2", "imagenet", 1000, 4_718_752),
])
def test_published_cells_have_the_reference_parameter_counts(name, setting, num_classes, expected):
  model = supernet.fixed(genotypes.PUBLISHED[name], setting=setting, num_classes=num_classes,
                         auxiliary=True, rngs=nnx.Rngs(0))
  assert cost_params.count(model) == expected
  assert round(expected / 1e6, 1) == {"DARTS_V2": 3.3, "PC_DARTS_cifar": 3.6, "PDARTS": 3.4}.get(
      name if setting == "cifar" else "", 4.7)


def test_drop_path_at_zero_is_the_identity_and_scales_kept_paths():
  x = jax.random.normal(jax.random.PRNGKey(0), (4000, 2, 2, 3))
  np.testing.assert_array_equal(ops.drop_path(x, jax.random.PRNGKey(1), jnp.float32(0.0)), x)
  dropped = ops.drop_path(x, jax.random.PRNGKey(1), jnp.float32(0.25))
  kept = np.asarray(jnp.all(dropped != 0, axis=(1, 2, 3)))
  np.testing.assert_allclose(dropped[kept], x[kept] / 0.75, rtol=1e-6)
  np.testing.assert_array_equal(dropped[~kept], 0.0)
  assert abs(kept.mean() - 0.75) < 0.03  # examples are dropped with probability 0.25


@pytest.fixture(scope="module")
def small_network():
  """A 3-cell DARTS_V2 network on 32x32 images: large enough for the auxiliary head."""
  model = supernet.fixed(genotypes.PUBLISHED["DARTS_V2"], channels=4, layers=3, auxiliary=True,
                         rngs=nnx.Rngs(0))
  images = jax.random.normal(jax.random.PRNGKey(2), (2, 32, 32, 3))
  return model, images


def test_drop_path_in_the_network_is_off_at_rate_zero_and_without_a_key(small_network):
  model, images = small_network
  reference = model(images)
  at_zero = model(images, drop_path=DropPath(jax.random.PRNGKey(3), jnp.float32(0.0)))
  np.testing.assert_allclose(at_zero, reference, rtol=1e-6, atol=1e-6)
  dropped = model(images, drop_path=DropPath(jax.random.PRNGKey(3), jnp.float32(0.5)))
  assert not np.allclose(dropped, reference)


def test_evaluation_normalizes_by_the_running_statistics(small_network, monkeypatch):
  """Retraining's evaluation graph: every BatchNorm uses its running statistics. Set to one batch's
  own statistics (mean, biased variance, computed here in numpy from each BatchNorm's recorded
  input), they reproduce that batch's train-mode logits; and an example's logits do not depend on
  the other examples of its batch, as they do in train mode."""
  model, images = small_network
  model = nnx.clone(model)
  inputs, call = {}, ops.BatchNorm.__call__

  def recording(bn, x):
    assert id(bn) not in inputs  # each BatchNorm runs once per forward
    inputs[id(bn)] = bn, np.asarray(x, np.float64)
    return call(bn, x)

  monkeypatch.setattr(ops.BatchNorm, "__call__", recording)
  train_logits = model(images)
  monkeypatch.undo()
  assert set(inputs) == {id(m) for path, m in nnx.iter_modules(model)
                         if isinstance(m, ops.BatchNorm) and "auxiliary_head" not in path}
  for bn, x in inputs.values():
    bn.mean.set_value(jnp.asarray(x.mean(axis=(0, 1, 2)), jnp.float32))
    bn.var.set_value(jnp.asarray(x.var(axis=(0, 1, 2)), jnp.float32))
  _, eval_graphdef, state = retrain.initial_state(model, optax.sgd(0.1), seed=0)
  evaluate = lambda x: nnx.merge(eval_graphdef, state.weights, state.stats, copy=True)(x)
  eval_logits = evaluate(images)
  np.testing.assert_allclose(eval_logits, train_logits, rtol=1e-4, atol=1e-4)
  other = images.at[1].set(2.0 * jax.random.normal(jax.random.PRNGKey(5), images.shape[1:]))
  np.testing.assert_allclose(evaluate(other)[0], eval_logits[0], rtol=1e-4, atol=1e-4)
  assert not np.allclose(model(other)[0], train_logits[0], rtol=1e-2, atol=1e-2)


def test_auxiliary_head_feeds_the_training_loss_only_and_the_step_never_retraces(small_network):
  model, images = small_network
  logits, auxiliary = model(images, with_auxiliary=True)  # (updates BatchNorm statistics)
  assert logits.shape == auxiliary.shape == (2, 10)
  evaluation = nnx.view(model, use_running_average=True)
  before = evaluation(images)
  model.auxiliary_head.classifier.kernel[...] += 1.0
  np.testing.assert_array_equal(evaluation(images), before)  # evaluation never reads the head

  config = tiny_config(auxiliary_weight=0.4, drop_path=0.2)
  tx = optim.weight_optimizer(lambda _: 0.1, weight_decay=0.0)
  graphdef, _, state = retrain.initial_state(model, tx, seed=0)
  step = jax.jit(chex.assert_max_traces(retrain.make_train_step(graphdef, config, tx), n=1),
                 compiler_options=compiling.QUICK_COMPILE)
  batch = {"image": images, "label": jnp.array([1, 2])}
  new_state, _ = step(state, batch, jnp.float32(0.0))
  step(new_state, batch, jnp.float32(0.1))  # a new drop-path rate does not retrace
  head_before = nnx.to_pure_dict(state.weights)["auxiliary_head"]
  head_after = nnx.to_pure_dict(new_state.weights)["auxiliary_head"]
  assert any(np.any(a != b) for a, b in zip(jax.tree.leaves(head_before),
                                            jax.tree.leaves(head_after)))


def test_auxiliary_head_on_too_small_maps_is_a_clear_error():
  model = supernet.fixed(genotypes.PUBLISHED["DARTS_V2"], channels=4, layers=3, auxiliary=True,
                         in_channels=1, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="auxiliary_weight=0"):
    model(jnp.zeros((1, 8, 8, 1)), with_auxiliary=True)


def test_short_retrain_learns_and_resumes_bit_exactly(tmp_path):
  full = retrain.train_and_evaluate(tiny_config(), str(tmp_path / "full"), report=lambda _: None)
  assert full.final_test_acc > 0.5  # ten classes: chance is 0.1
  assert full.selected is None and full.params == cost_params.count(
      retrain.build_network(tiny_config(), full.genotype, _digits()))
  with pytest.raises(Interrupted):
    retrain.train_and_evaluate(tiny_config(), str(tmp_path / "cut"),
                               report=interrupt_after_first_epoch)
  lines = []
  resumed = retrain.train_and_evaluate(tiny_config(), str(tmp_path / "cut"), report=lines.append)
  assert any(line.startswith("resumed from") for line in lines)
  assert [r["epoch"] for r in resumed.history] == [0, 1]
  for a, b in zip(full.history, resumed.history):
    assert {k: v for k, v in a.items() if not k.endswith("seconds")} == {
        k: v for k, v in b.items() if not k.endswith("seconds")}


def test_selection_uses_the_held_out_slice_and_labels_both_numbers(tmp_path):
  result = retrain.train_and_evaluate(tiny_config(select_on_val=True, epochs=1),
                                      str(tmp_path), report=lambda _: None)
  assert set(result.selected) == {"epoch", "val_acc", "test_acc"}
  assert result.selected["test_acc"] == result.history[result.selected["epoch"]]["test_acc"]


def _digits():
  from darts_jax import data
  return data.load("digits", seed=0)


@pytest.mark.parametrize("genotype,error,match", [
    ("Genotype(normal=[('sep_conv_3x3', 0)", genotypes.GenotypeError, "never closed"),
    (str(genotypes.PUBLISHED["DARTS_V2"]).replace("dil_conv_3x3", "sep_conv_9x9"), Exception,
     "sep_conv_9x9"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|"
     "skip_connect~2|", ValueError, "unknown field network.layers(.|\n)*cells_per_stage"),
])
def test_bad_genotypes_are_clear_errors(tmp_path, genotype, error, match):
  with pytest.raises(error, match=match):
    retrain.train_and_evaluate(tiny_config(genotype=genotype), str(tmp_path), report=lambda _: None)
  assert not any(tmp_path.iterdir()), "nothing is written before the config is checked"


def test_regularizers_of_darts_networks_are_refused_for_other_spaces(tmp_path):
  config = tiny_config(genotype="|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                                "skip_connect~1|skip_connect~2|")
  config.network = ml_collections.ConfigDict({"channels": 4, "cells_per_stage": 1})
  with pytest.raises(ValueError, match="DARTS networks only"):
    retrain.train_and_evaluate(config, str(tmp_path), report=lambda _: None)



def test_a_nb201_genotype_in_a_darts_retraining_config_names_the_config_that_fits():
  from darts_jax import config_schema
  config = retrain_config.get_config()
  config.genotype = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+"
                     "|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
  with pytest.raises(config_schema.ConfigError,
                     match=r"(?s)network\.setting.*nb201 cell.*proxy_nb201\.py"):
    retrain.check_config(config)
