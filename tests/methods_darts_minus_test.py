"""DARTS- (darts_jax/methods/darts_minus.py and the supernet's auxiliary skip) against independent
numpy computations: the coefficient's linear decay, the auxiliary term on stride-1 edges (the
identity) and strided edges (a non-affine FactorizedReduce written out in numpy), and a tiny
NAS-Bench-201 search end to end."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from darts_jax import methods, search, spaces
from darts_jax.methods import darts_minus
from darts_jax.supernet import mixed
from experiments.configs.methods import darts_minus as darts_minus_config


def test_beta_decays_linearly_from_one_as_their_decay_scheduler():
  """``DecayScheduler(linear)``: ``base * (T_max - epoch) / T_max``."""
  method = methods.get("darts_minus")
  assert [method.hyper(e, 4)["beta"] for e in range(4)] == [1.0, 0.75, 0.5, 0.25]
  betas = [method.hyper(e, 50)["beta"] for e in range(50)]
  np.testing.assert_allclose(betas, [(50 - e) / 50 for e in range(50)], rtol=1e-6)
  assert methods.get("darts_minus", {"beta_start": 0.5}).hyper(1, 2)["beta"] == 0.25
  assert method.network == {"auxiliary_skip": True}
  with pytest.raises(ValueError, match="beta_start"):
    methods.get("darts_minus", {"beta_start": -1.0})


def _factorized_reduce(x, kernel_a, kernel_b):
  """ReLU, two 1x1 stride-2 convs (the second on the input shifted by one pixel), concatenated,
  non-affine BatchNorm on the batch's statistics; one edge, ``[N, H, W, C]``."""
  x = np.maximum(x, 0.0)
  a = x[:, ::2, ::2] @ kernel_a
  b = x[:, 1::2, 1::2] @ kernel_b
  y = np.concatenate([a, b], -1)
  mean, var = y.mean(axis=(0, 1, 2)), y.var(axis=(0, 1, 2))
  return (y - mean) / np.sqrt(var + 1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_the_auxiliary_skip_adds_beta_times_the_identity_or_a_factorized_reduce(stride):
  names = ("none", "max_pool_3x3")
  edges, channels = 2, 4
  rng = np.random.default_rng(stride)
  x = rng.normal(size=(edges, 3, 6, 6, channels)).astype(np.float32)
  w = jnp.asarray(rng.dirichlet(np.ones(2), size=edges), jnp.float32)
  plain = mixed.MixedOp(names, channels, stride, edges, rngs=nnx.Rngs(0))
  op = mixed.MixedOp(names, channels, stride, edges, auxiliary_skip=True, rngs=nnx.Rngs(0))
  mixture = np.asarray(plain(jnp.asarray(x), w))
  out = np.asarray(op(jnp.asarray(x), mixed.EdgeMixing(w, auxiliary=jnp.float32(0.7))))
  if stride == 1:
    skip = x
    assert op.auxiliary is None  # the identity: nothing built
  else:
    kernel_a = np.asarray(op.auxiliary.conv_a.kernel[...])[:, 0, 0]  # [edges, C, C/2]
    kernel_b = np.asarray(op.auxiliary.conv_b.kernel[...])[:, 0, 0]
    skip = np.stack([_factorized_reduce(x[e], kernel_a[e], kernel_b[e]) for e in range(edges)])
  np.testing.assert_allclose(out, mixture + 0.7 * skip, rtol=1e-5, atol=1e-5)
  # Without a coefficient (plain weights, or beta absent), no auxiliary term.
  np.testing.assert_allclose(op(jnp.asarray(x), w), mixture, rtol=1e-6, atol=1e-6)


def test_relax_is_the_softmax_with_the_coefficient_and_the_genotype_is_dartss():
  rng = np.random.default_rng(0)
  alphas = {label: jnp.asarray(rng.normal(size=(14, 8)), jnp.float32)
            for label in ("normal", "reduce")}
  method = methods.get("darts_minus")
  mixing = jax.jit(method.relax)(alphas, None, {"beta": jnp.float32(0.3)})
  for label, a in alphas.items():
    softmax = np.exp(a) / np.exp(a).sum(-1, keepdims=True)
    assert isinstance(mixing[label], mixed.EdgeMixing)
    np.testing.assert_allclose(mixing[label].weights, softmax, rtol=1e-5)
    assert float(mixing[label].auxiliary) == pytest.approx(0.3)
    assert mixing[label].edge_weights is None and mixing[label].dropout_key is None
  space = spaces.get("darts_cnn")
  numpy_alphas = {k: np.asarray(v) for k, v in alphas.items()}
  assert (search.discretize(space, numpy_alphas, method)[0]
          == search.discretize(space, numpy_alphas, methods.get("darts"))[0])
  assert darts_minus.beta_schedule(2.0)(5, 10) == 1.0


def test_config_recipes():
  darts, nb201 = darts_minus_config.get_config(), darts_minus_config.get_config("nb201")
  assert (darts.space, nb201.space) == ("darts_cnn", "nb201")
  assert (darts.method, darts.architect, darts.epochs, darts.batch_size, darts.weights.lr,
          darts.alphas.lr) == ("darts_minus", "first_order", 50, 64, 0.025, 3e-4)
  assert (darts.step_order, nb201.step_order) == ("alphas_first", "weights_first")
  assert nb201.weights.weight_decay == 5e-4 and nb201.weights.nesterov
  for arg in ("", "nb201", "quick", "nb201,quick", "cifar10", "nb201,cifar10,quick"):
    config = darts_minus_config.get_config(arg)
    search.check_config(config)
    methods.get(config.method, config.method_options)
  with pytest.raises(ValueError, match="nb201"):
    darts_minus_config.get_config("nb101")


def test_tiny_nb201_search_records_the_coefficient_and_parses_the_softmax(tmp_path):
  config = darts_minus_config.get_config("nb201,quick")
  config.tensorboard = False  # one epoch (the quick config's)
  config.diagnostics.hessian_iterations = 0
  result = search.run(config, str(tmp_path), report=lambda _: None)
  assert [r["epoch"] for r in result.history] == [0]
  record = result.history[-1]
  assert record["beta"] == 1.0
  numbers = [v for v in record.values() if isinstance(v, (int, float))]
  assert all(math.isfinite(v) for v in numbers), record
  space = spaces.get("nb201")
  space.validate(result.genotype)
  a = result.alphas["cell"]
  softmax = np.exp(a) / np.exp(a).sum(-1, keepdims=True)
  np.testing.assert_allclose(record["alphas"]["cell"], softmax, atol=1e-4)
  assert result.genotype == space.discretize({"cell": softmax})
