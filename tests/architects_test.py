"""Hypergradients: exact second order vs finite differences, xi = 0 vs first order (float64)."""

import chex
import jax
import jax.numpy as jnp
import optax
import pytest
from flax import nnx

from darts_jax import architects, optim, spaces, supernet, variables


@pytest.fixture(scope="module")
def problem():
  """A tiny NB201 supernet in float64 with one train and one val batch."""
  jax.config.update("jax_enable_x64", True)
  space = spaces.get("nb201", op_names=("skip_connect", "nor_conv_1x1", "avg_pool_3x3"))
  net = supernet.build(space, rngs=nnx.Rngs(0), channels=3, cells_per_stage=1, num_classes=3)
  graphdef, arch, weights, stats = variables.split(net)
  to64 = lambda tree: jax.tree.map(lambda x: x.astype(jnp.float64), tree)
  arch, weights, stats = to64(arch), to64(weights), to64(stats)
  # Alphas away from uniform so that the second-order term is not negligible.
  arch = jax.tree.map(lambda a: jax.random.normal(jax.random.key(3), a.shape, jnp.float64), arch)
  keys = jax.random.split(jax.random.key(1), 4)
  batch = lambda k1, k2: {"image": jax.random.normal(k1, (6, 8, 8, 3), jnp.float64),
                          "label": jax.random.randint(k2, (6,), 0, 3)}

  def loss_fn(a, w, b):
    model = nnx.merge(graphdef, a, w, stats, copy=True)
    logits = model(b["image"])
    return optax.softmax_cross_entropy_with_integer_labels(logits, b["label"]).mean(), logits

  yield loss_fn, arch, weights, batch(*keys[:2]), batch(*keys[2:])
  jax.config.update("jax_enable_x64", False)


def _virtual_step(weights, lr, momentum=0.9, weight_decay=3e-4):
  schedule = lambda count: lr
  tx = optim.weight_optimizer(schedule, momentum=momentum, weight_decay=weight_decay)
  opt_state = tx.init(weights)
  # A non-zero momentum buffer, as after some training.
  opt_state = opt_state[:2] + (optax.TraceState(jax.tree.map(lambda w: 0.1 * w, weights)),) + \
      opt_state[3:]
  return optim.virtual_step(schedule, opt_state, momentum=momentum, weight_decay=weight_decay)


@pytest.fixture(scope="module")
def hypergradients(problem):
  """Jitted (exact, finite-difference, first-order) hypergradients as functions of the step size."""
  loss_fn, arch, weights, train, val = problem

  def make(name, **kwargs):
    @jax.jit
    def hypergradient(a, w, lr):
      return architects.get(name)(loss_fn, a, w, train, val, virtual_step=_virtual_step(w, lr),
                                  **kwargs)
    return lambda lr: hypergradient(arch, weights, jnp.asarray(lr, jnp.float64))

  return make("second_order"), make("second_order_fd", epsilon=1e-4), make("first_order")


def test_exact_second_order_agrees_with_finite_differences(hypergradients):
  exact, approx, first = (h(0.5)[0] for h in hypergradients)
  chex.assert_trees_all_close(exact, approx, rtol=1e-5, atol=1e-8)
  # ... and the second-order term is really there (the comparison is not trivially first order).
  difference = jax.tree.map(lambda e, f: jnp.abs(e - f).max(), exact, first)
  assert max(jax.tree.leaves(difference)) > 1e-4


def test_second_order_with_zero_step_equals_first_order(hypergradients):
  (exact, (loss, _)), _, (first, (first_loss, _)) = (h(0.0) for h in hypergradients)
  chex.assert_trees_all_close(exact, first, rtol=1e-10, atol=1e-12)
  assert float(loss) == pytest.approx(float(first_loss))


def test_exact_second_order_is_the_gradient_of_the_unrolled_objective(problem, hypergradients):
  """Closed form: d/dalpha L_val(w - lr (mu m + dL_train/dw + wd w), alpha), written out directly
  (m = 0.1 w is the momentum buffer that ``_virtual_step`` installs)."""
  loss_fn, arch, weights, train, val = problem
  lr, mu, wd = 0.3, 0.9, 3e-4

  def unrolled_objective(a):
    g = jax.grad(lambda w: loss_fn(a, w, train)[0])(weights)
    w2 = jax.tree.map(lambda w, gi: w - lr * (mu * 0.1 * w + gi + wd * w), weights, g)
    return loss_fn(a, w2, val)[0]

  exact, _ = hypergradients[0](lr)
  chex.assert_trees_all_close(exact, jax.jit(jax.grad(unrolled_objective))(arch), rtol=1e-9,
                              atol=1e-12)


def test_unknown_architect_is_a_clear_error():
  with pytest.raises(ValueError, match="first_order"):
    architects.get("third_order")
