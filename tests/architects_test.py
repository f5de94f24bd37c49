"""Hypergradients: exact second order vs finite differences, xi = 0 vs first order (float64)."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from darts_jax import architects, compiling, optim, spaces, supernet, variables


@pytest.fixture(scope="module")
def problem():
  """A tiny NB201 supernet in float64 with one train and one val batch (x64 on for the module's
  tests that use it)."""
  with jax.enable_x64(True):
    yield _problem()


def _problem():
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

  return loss_fn, arch, weights, batch(*keys[:2]), batch(*keys[2:])


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
    @functools.partial(jax.jit, compiler_options=compiling.QUICK_COMPILE)
    def hypergradient(a, w, lr):
      return architects.get(name)(loss_fn, a, w, train, val, virtual_step=_virtual_step(w, lr),
                                  **kwargs)
    return lambda lr: hypergradient(arch, weights, jnp.asarray(lr, jnp.float64))

  return make("second_order"), make("second_order_fd", epsilon=1e-4), make("first_order")


@pytest.mark.slow  # tests/golden_test.py checks both against the reference's own values
def test_exact_second_order_agrees_with_finite_differences(hypergradients):
  exact, approx, first = (h(0.5)[0] for h in hypergradients)
  chex.assert_trees_all_close(exact, approx, rtol=1e-5, atol=1e-8)
  # ... and the second-order term is really there (the comparison is not trivially first order).
  difference = jax.tree.map(lambda e, f: jnp.abs(e - f).max(), exact, first)
  assert max(jax.tree.leaves(difference)) > 1e-4


def test_second_order_with_zero_step_equals_first_order(hypergradients):
  exact_at, _, first_at = hypergradients  # (the finite difference divides by zero at xi = 0)
  (exact, (loss, _)), (first, (first_loss, _)) = exact_at(0.0), first_at(0.0)
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
  direct = jax.jit(jax.grad(unrolled_objective), compiler_options=compiling.QUICK_COMPILE)(arch)
  chex.assert_trees_all_close(exact, direct, rtol=1e-9, atol=1e-12)


def _cosine_lr(step, base=0.1, final=0.001, epochs=4):
  """CosineAnnealingLR(T_max=epochs, eta_min=final) stepped every step, written out."""
  return final + (base - final) * 0.5 * (1 + np.cos(np.pi * step / epochs))


def test_virtual_step_reads_the_momentum_buffer_and_learning_rate_of_real_weight_steps():
  """Three real steps of ``optim.weight_optimizer`` (PyTorch SGD: gradients clipped by global norm,
  then d = g + wd * w, buf_1 = d_1, buf_t = mu * buf_(t-1) + d_t, w -= lr_t * buf_t), replayed in
  numpy; then ``virtual_step`` must be the architect's unrolled step
  w - lr * (mu * buf + g + wd * w) with the optimizer's own buffer and the learning rate at its live
  step count, unclipped (quark0/darts ``_compute_unrolled_model``)."""
  mu, wd, clip = 0.9, 3e-4, 1.0
  schedule = optim.epoch_cosine(0.1, 0.001, 4, 1)
  rng = np.random.default_rng(0)
  shapes = {"conv": (3, 3, 2, 4), "bias": (4,)}
  w_np = {k: rng.normal(size=shape) for k, shape in shapes.items()}
  with jax.enable_x64(True):
    tx = optim.weight_optimizer(schedule, momentum=mu, weight_decay=wd, clip_norm=clip)
    weights = jax.tree.map(jnp.asarray, w_np)
    opt_state = tx.init(weights)
    buf, coefs = None, []
    for step, scale in enumerate((0.01, 3.0, 0.02)):  # the second gradient gets clipped
      g = {k: scale * rng.normal(size=shape) for k, shape in shapes.items()}
      updates, opt_state = tx.update(jax.tree.map(jnp.asarray, g), opt_state, weights)
      weights = optax.apply_updates(weights, updates)
      norm = np.sqrt(sum(np.sum(v ** 2) for v in g.values()))
      coefs.append(min(1.0, clip / (norm + 1e-6)))
      d = {k: coefs[-1] * g[k] + wd * w_np[k] for k in shapes}
      buf = d if buf is None else {k: mu * buf[k] + d[k] for k in shapes}
      w_np = {k: w_np[k] - _cosine_lr(step) * buf[k] for k in shapes}
    assert coefs[0] == coefs[2] == 1.0 and coefs[1] < 0.5
    chex.assert_trees_all_close(weights, w_np, rtol=1e-12, atol=1e-14)
    g = {k: 5.0 * rng.normal(size=shape) for k, shape in shapes.items()}  # large: never clipped
    virtual = optim.virtual_step(schedule, opt_state, momentum=mu, weight_decay=wd)(
        weights, jax.tree.map(jnp.asarray, g))
    expected = {k: w_np[k] - _cosine_lr(3) * (mu * buf[k] + g[k] + wd * w_np[k]) for k in shapes}
    chex.assert_trees_all_close(virtual, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("norm", [13.0, 2.0, 1.5])
def test_clip_by_global_norm_scales_by_max_norm_over_norm_plus_1e_minus_6(norm):
  """PyTorch clip_grad_norm_: coef = max_norm / (norm + 1e-6), applied when below 1: at
  norm == max_norm too (a 5e-7 relative shrink that optax's own clip leaves out)."""
  with jax.enable_x64(True):
    g = {"a": np.array([3.0, 4.0]) * norm / 13.0, "b": np.array([[12.0]]) * norm / 13.0}
    clipped, _ = optim.clip_by_global_norm(2.0).update(g, optax.EmptyState())
    coef = min(1.0, 2.0 / (norm + 1e-6))
    chex.assert_trees_all_close(clipped, {k: v * coef for k, v in g.items()}, rtol=1e-15)
    assert (coef < 1.0) == (norm >= 2.0)


def test_unknown_architect_is_a_clear_error():
  with pytest.raises(ValueError, match="first_order"):
    architects.get("third_order")
