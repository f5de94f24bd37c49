"""GDAS (darts_jax/methods/gdas.py): the straight-through Gumbel-softmax against numpy, the Gumbel-max
sample's distribution, the temperature schedule, the sampled mixed op (only the sampled op runs)
against the all-ops mixed op and the authors' gradient, and a tiny search end to end."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from darts_jax import compiling, data, methods, optim, search, spaces
from darts_jax.methods import gdas
from darts_jax.supernet import nb201_network
from darts_jax.supernet.mixed import MixedOp, Sampled
from experiments.configs.methods import gdas as gdas_config

OPS = ("none", "skip_connect", "nor_conv_1x1", "avg_pool_3x3")  # zero, identity, conv+BN, pool+BN


def _softmax(z):
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def test_gumbel_softmax_with_fixed_noise_is_softmax_of_noisy_alphas_over_tau():
  alphas = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
  key, tau = jax.random.key(3), 0.7
  noise = np.asarray(jax.random.gumbel(key, alphas.shape), np.float64)
  soft = gdas.gumbel_softmax(jnp.asarray(alphas), key, tau)
  np.testing.assert_allclose(soft, _softmax((alphas + noise) / tau), rtol=1e-5, atol=1e-7)
  hard = gdas.hard_gumbel_softmax(jnp.asarray(alphas), key, tau)
  np.testing.assert_array_equal(np.argmax(hard, -1), np.argmax(alphas + noise, -1))


def test_straight_through_value_is_one_hot_and_gradient_is_the_soft_samples():
  """Forward: exactly one-hot (zeros exact, the one to rounding); backward: the gradient of
  ``sum(c * w)`` in alpha is the concrete sample's, ``p_j (c_j - sum_k c_k p_k) / tau``."""
  rng = np.random.default_rng(1)
  alphas, c = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
  key, tau = jax.random.key(7), 2.5
  w = gdas.hard_gumbel_softmax(jnp.asarray(alphas, jnp.float32), key, tau)
  p = _softmax((alphas + np.asarray(jax.random.gumbel(key, alphas.shape), np.float64)) / tau)
  one_hot = np.eye(5)[p.argmax(-1)]
  assert np.all(np.asarray(w)[one_hot == 0] == 0.0)
  np.testing.assert_allclose(w, one_hot, atol=1e-6)
  grad = jax.grad(lambda a: jnp.sum(jnp.asarray(c, jnp.float32) *
                                    gdas.hard_gumbel_softmax(a, key, tau)))(
                                        jnp.asarray(alphas, jnp.float32))
  expected = p * (c - np.sum(c * p, -1, keepdims=True)) / tau
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
  assert np.abs(expected).max() > 1e-2  # not a vacuous comparison


def test_hard_samples_follow_softmax_of_the_alphas():
  """The Gumbel-max trick: the one-hot sample picks op k with probability softmax(alpha)_k, at any
  temperature."""
  alphas = jnp.array([[1.0, 0.0, -1.0, 0.5]])
  counts = np.zeros(4)
  for tau in (0.1, 10.0):
    keys = jax.random.split(jax.random.key(0), 20000)
    samples = jax.vmap(lambda k: gdas.hard_gumbel_softmax(alphas, k, tau))(keys)
    frequency = np.asarray(samples).mean(axis=0)[0]
    np.testing.assert_allclose(frequency, _softmax(np.asarray(alphas))[0], atol=0.015)
    counts += frequency
  assert counts.sum() == pytest.approx(2.0)


def test_relaxation_samples_each_label_with_its_own_key_and_wraps_sampled_weights():
  method = methods.get("gdas")
  alphas = {"normal": jnp.zeros((3, 4)), "reduce": jnp.ones((5, 4))}
  key, hyper = jax.random.key(5), {"tau": np.float32(1.5)}
  mixing = method.relax(alphas, key, hyper)
  keys = jax.random.split(key, 2)  # relaxations.apply: one key per label, labels sorted
  for k, label in zip(keys, sorted(alphas)):
    assert isinstance(mixing[label], Sampled)
    np.testing.assert_array_equal(mixing[label].weights,
                                  gdas.hard_gumbel_softmax(alphas[label], k, 1.5))
  plain = methods.get("gdas", {"sampled": False}).relax(alphas, key, hyper)
  chex.assert_trees_all_equal(plain, {k: v.weights for k, v in mixing.items()})
  expected = method.expected({"normal": jnp.array([[0.0, 1.0]])}, hyper)["normal"]
  np.testing.assert_allclose(expected, _softmax(np.array([[0.0, 1.0]])), rtol=1e-6)
  with pytest.raises(ValueError, match="PRNG key"):
    method.relax(alphas, None, hyper)


def test_temperature_is_linear_from_10_to_0_1_over_the_epochs():
  """xautodl GDAS.py: ``tau_max - (tau_max - tau_min) * epoch / (epochs - 1)``."""
  method, epochs = methods.get("gdas"), 240
  taus = [float(method.hyper(e, epochs)["tau"]) for e in range(epochs)]
  assert taus[0] == 10.0 and taus[-1] == pytest.approx(0.1, abs=1e-6)
  np.testing.assert_allclose(taus, [10 - 9.9 * e / 239 for e in range(epochs)], rtol=1e-6)
  assert float(methods.get("gdas", {"tau_max": 5.0}).hyper(0, 3)["tau"]) == 5.0


def _mixed_op_and_inputs():
  mixed = MixedOp(OPS, 4, 1, 3, batchnorm_after=("avg_pool_3x3",), rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(1), (3, 2, 6, 6, 4))
  index = np.array([2, 3, 1])  # conv, pool, identity
  alphas = jnp.asarray(np.eye(4)[index] * 30.0, jnp.float32)  # Gumbel noise cannot flip it
  return mixed, x, index, alphas


def test_sampled_mixed_op_runs_only_the_sampled_op_with_the_authors_gradient():
  """Value: the all-ops mixed op's at the same one-hot weights. BatchNorm statistics: only the
  sampled op's change. Gradient in the weights: ``<c, op_k*(x)>`` for the sampled op, ``sum(c)``
  for the others (xautodl ``forward_gdas``); in the op weights, the all-ops mixed op's."""
  mixed, x, index, alphas = _mixed_op_and_inputs()
  w = gdas.hard_gumbel_softmax(alphas, jax.random.key(0), 0.1)
  assert np.array_equal(np.argmax(w, -1), index)
  c = jax.random.normal(jax.random.key(2), (3, 2, 6, 6, 4))
  graphdef, params, stats = nnx.split(mixed, nnx.Param, nnx.BatchStat)

  def loss(params, w, sampled):
    model = nnx.merge(graphdef, params, stats, copy=True)
    y = model(x, Sampled(w) if sampled else w)
    return jnp.sum(c * y), (y, nnx.state(model, nnx.BatchStat))

  grad = jax.grad(loss, argnums=(0, 1), has_aux=True)
  (g_params, g_w), (y, new_stats) = jax.jit(grad, static_argnums=2)(params, w, True)
  (g_params_all, _), (y_all, new_stats_all) = jax.jit(grad, static_argnums=2)(params, w, False)
  np.testing.assert_allclose(y, y_all, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(g_params, g_params_all, rtol=1e-5, atol=1e-6)
  expected = np.tile(np.asarray(c).sum(axis=(1, 2, 3, 4))[:, None], (1, 4))
  expected[np.arange(3), index] = np.sum(np.asarray(c) * np.asarray(y_all), axis=(1, 2, 3, 4))
  np.testing.assert_allclose(g_w, expected, rtol=1e-4, atol=1e-4)

  old = nnx.to_pure_dict(stats)["ops"]
  new, new_all = (nnx.to_pure_dict(s)["ops"] for s in (new_stats, new_stats_all))
  for k in (2, 3):  # the ops with BatchNorm
    for leaf_path, leaf in jax.tree_util.tree_leaves_with_path(new[k]):
      before = _at(old[k], leaf_path)
      for e in range(3):
        target = _at(new_all[k], leaf_path)[e] if index[e] == k else before[e]
        np.testing.assert_allclose(leaf[e], target, rtol=1e-6, atol=1e-7,
                                   err_msg=f"op {OPS[k]} edge {e} {leaf_path}")
      assert not np.allclose(_at(new_all[k], leaf_path), before)  # all-ops updates every edge


def _at(tree, path):
  for entry in path:
    tree = tree[entry.key]
  return tree


def test_sampled_search_cell_equals_the_all_ops_cell_at_the_same_one_hot_weights():
  """A NAS-Bench-201 search cell passes ``Sampled`` weights through its stages' rows
  (``staging.StagedEdges``) to each group: the same output as every op at the same weights."""
  space = spaces.get("nb201", op_names=OPS)
  graphdef, state = nnx.split(nb201_network.SearchCell(space, 4, rngs=nnx.Rngs(0)))
  x = jax.random.normal(jax.random.key(0), (2, 6, 6, 4))
  mixing = gdas.sample({"cell": jax.random.normal(jax.random.key(1), (6, len(OPS)))},
                       jax.random.key(2), {"tau": 1.0})["cell"]
  assert len(set(np.argmax(mixing.weights, -1).tolist())) > 1  # edges sample different ops
  forward = jax.jit(lambda state, w: nnx.merge(graphdef, state, copy=True)(x, w),
                    compiler_options=compiling.QUICK_COMPILE)
  np.testing.assert_allclose(forward(state, mixing), forward(state, mixing.weights), rtol=1e-5,
                             atol=1e-5)


def tiny_config(epochs=2):
  """The GDAS config's NAS-Bench-201 smoke size on digits, with 3 ops and 32 + 32 images (one step
  per epoch), no Hessian diagnostics: a search that compiles in seconds."""
  c = gdas_config.get_config("nb201,quick")
  c.ops, c.epochs, c.tensorboard = ("none", "skip_connect", "nor_conv_1x1"), epochs, False
  c.data.subset_size = 32
  c.diagnostics.hessian_iterations = 0
  return c


def test_tiny_gdas_search_runs_end_to_end(tmp_path):
  config = tiny_config()
  dataset = data.load_from_config(config.data, seed=config.seed)
  _, space, state = search.init_state(config, dataset, optim.epoch_cosine(0.1, 0.0, 1, 1))
  result = search.run(config, str(tmp_path), report=lambda _: None)
  space.validate(result.genotype)
  assert [r["tau"] for r in result.history] == pytest.approx([10.0, 0.1])
  assert all(np.isfinite(r["train_loss"]) and np.isfinite(r["val_loss"]) for r in result.history)
  initial = search.alphas_of(state)
  assert not np.allclose(result.alphas["cell"], initial["cell"])  # the alphas learned
  mixing = np.asarray(result.history[-1]["alphas"]["cell"])
  np.testing.assert_allclose(mixing, _softmax(result.alphas["cell"]), atol=1e-4)
