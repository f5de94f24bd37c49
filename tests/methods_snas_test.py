"""SNAS (darts_jax/methods/snas.py): the concrete relaxation against numpy, the authors' temperature
schedule replayed, the joint step against one hand-made gradient of the training loss (cost term
included) applied by hand-written first optimizer steps, and a tiny search end to end."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from darts_jax import compiling, data, methods, ops, optim, search, supernet, variables
from darts_jax.cost import objective
from experiments.configs.methods import snas as snas_config

OPS = ("none", "skip_connect", "nor_conv_1x1", "avg_pool_3x3")


def _softmax(z):
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def test_concrete_sample_is_softmax_of_alphas_plus_gumbel_noise_over_tau():
  """Each label's noise from its own key (``relaxations.apply``: the key split per sorted label)."""
  rng = np.random.default_rng(0)
  alphas = {"normal": rng.normal(size=(14, 8)), "reduce": rng.normal(size=(14, 8))}
  key, tau = jax.random.key(4), 0.3
  mixing = methods.get("snas").relax({k: jnp.asarray(v, jnp.float32) for k, v in alphas.items()},
                                     key, {"tau": np.float32(tau)})
  for k, label in zip(jax.random.split(key, 2), sorted(alphas)):
    noise = np.asarray(jax.random.gumbel(k, (14, 8)), np.float64)
    np.testing.assert_allclose(mixing[label], _softmax((alphas[label] + noise) / tau), rtol=1e-4,
                               atol=1e-6)
  assert not np.allclose(mixing["normal"], _softmax(alphas["normal"] / tau), atol=1e-2)
  with pytest.raises(ValueError, match="PRNG key"):
    methods.get("snas").relax(alphas, None, {"tau": 1.0})


def test_temperature_replays_the_authors_scheduler():
  """SNAS ``utils.Temp_Scheduler(150, temp, base_temp=1, temp_min=0.03)``: stepped once when built
  and once before each epoch's training, ``(1 - last_epoch / 150) * (1 - 0.03) + 0.03``."""
  epochs, last_epoch, theirs = 150, -1, []
  last_epoch += 1  # the constructor's step
  for _ in range(epochs):
    last_epoch += 1  # train_search.py: temp_scheduler.step() before the epoch trains
    theirs.append((1 - last_epoch / epochs) * (1.0 - 0.03) + 0.03)
  method = methods.get("snas")
  ours = [float(method.hyper(e, epochs)["tau"]) for e in range(epochs)]
  np.testing.assert_allclose(ours, theirs, rtol=1e-6)
  assert ours[-1] == pytest.approx(0.03) and ours[0] == pytest.approx(1 - 0.97 / 150)
  assert method.joint
  assert float(methods.get("snas", {"temp_min": 0.5}).hyper(9, 10)["tau"]) == 0.5


def tiny_config(epochs=1, ops=OPS):
  """The SNAS config's NAS-Bench-201 smoke size on digits, with a few ops and 32 + 32 images (one
  step per epoch), no Hessian diagnostics."""
  c = snas_config.get_config("nb201,quick")
  c.ops, c.epochs, c.tensorboard = ops, epochs, False
  c.data.subset_size = 32
  c.diagnostics.hessian_iterations = 0
  c.cost.image_size = 8  # digits
  return c


class _SixEdgeNet(nnx.Module):
  """One mixed op over NAS-Bench-201's 6 edges, each on the image, and a linear classifier: its
  alphas are shaped as the space's (so the config's cost term applies to them), and its steps
  compile in seconds."""

  def __init__(self, *, rngs: nnx.Rngs):
    self.edges = supernet.MixedOp(OPS, 1, 1, 6, batchnorm_after=("avg_pool_3x3",), rngs=rngs)
    self.classifier = ops.linear(64, 10, rngs=rngs)
    self.alphas = nnx.Dict({"cell": variables.ArchParam(
        1e-3 * jax.random.normal(rngs.params(), (6, len(OPS))))})

  def __call__(self, x, mixing):
    y = self.edges(jnp.broadcast_to(x, (6, *x.shape)), mixing["cell"]).sum(axis=0)
    return self.classifier(y.reshape(x.shape[0], -1))


def test_joint_step_is_one_gradient_of_the_train_loss_plus_cost_applied_by_both_optimizers():
  """One ``value_and_grad`` of cross entropy at a concrete sample plus the linear MACs cost, in the
  alphas and the weights together on the training batch; then the first steps of both optimizers,
  written out: SGD (clip 5, coupled decay, Nesterov momentum from an empty buffer) and Adam
  (coupled decay; its first step is ``lr * g / (|g| + eps)``)."""
  config = tiny_config()
  config.cost.weight = 10.0  # large enough to change the alphas' step (checked below)
  method = search.method_of(config)
  dataset = data.load_from_config(config.data, seed=config.seed)
  schedule = optim.epoch_cosine(config.weights.lr, config.weights.min_lr, config.epochs, 1)
  graphdef, arch, weights, stats = variables.split(_SixEdgeNet(rngs=nnx.Rngs(0)))
  alpha_tx, weight_tx = search.optimizers(config, schedule)
  state = search.SearchState(jnp.zeros((), jnp.int32), arch, weights, stats, alpha_tx.init(arch),
                             weight_tx.init(weights), jax.random.PRNGKey(0))
  feed = data.Feed(dataset.train.normalization)
  train = feed(next(data.Batches(dataset.train, 32, seed=0)))
  val = feed(next(data.Batches(dataset.val, 32, seed=1)))
  hyper = method.hyper(0, config.epochs)
  quick = dict(compiler_options=compiling.QUICK_COMPILE)
  new, metrics = jax.jit(search.make_search_step(graphdef, config, schedule), **quick)(
      state, train, val, hyper)

  _, _, key = jax.random.split(state.key, 3)  # make_search_step: (state key, alpha, weight/joint)
  [label_key] = jax.random.split(key, 1)  # one key per label
  costs = objective.search_costs(config)["cell"]
  assert costs.shape == (6, len(OPS)) and costs.max() > 0

  def cost(arch):
    return config.cost.weight * jnp.sum(jax.nn.softmax(arch["alphas"]["cell"][...], -1) * costs)

  def loss(arch, weights):
    a = arch["alphas"]["cell"][...]
    noise = jax.random.gumbel(label_key, a.shape)
    mixing = {"cell": jax.nn.softmax((a + noise) / hyper["tau"], axis=-1)}
    model = nnx.merge(graphdef, arch, weights, state.stats, copy=True)
    logits = model(train["image"], mixing)
    value = optax.softmax_cross_entropy_with_integer_labels(logits, train["label"]).mean()
    return value + cost(arch), nnx.state(model, nnx.BatchStat)

  (value, stats), (g_arch, g_weights) = jax.jit(
      jax.value_and_grad(loss, argnums=(0, 1), has_aux=True), **quick)(state.arch, state.weights)
  assert float(metrics["train_loss"]) == pytest.approx(float(value), rel=1e-5)
  chex.assert_trees_all_close(new.stats, stats, rtol=1e-5, atol=1e-6)

  w, g = jax.tree.leaves(state.weights), jax.tree.leaves(g_weights)
  norm = np.sqrt(sum(np.sum(np.square(np.asarray(x, np.float64))) for x in g))
  clip = min(1.0, config.weights.clip_norm / (norm + 1e-6))
  lr, momentum = float(schedule(0)), config.weights.momentum
  for before, grad, after in zip(w, g, jax.tree.leaves(new.weights)):
    d = clip * np.asarray(grad) + config.weights.weight_decay * np.asarray(before)
    update = d + momentum * d if config.weights.nesterov else d  # buffer = d after one step
    np.testing.assert_allclose(after, np.asarray(before) - lr * update, rtol=1e-4, atol=1e-6)

  a = np.asarray(state.arch["alphas"]["cell"][...])
  d = np.asarray(g_arch["alphas"]["cell"][...]) + config.alphas.weight_decay * a
  expected = a - config.alphas.lr * d / (np.abs(d) + 1e-8)
  np.testing.assert_allclose(new.arch["alphas"]["cell"][...], expected, rtol=1e-5, atol=1e-7)
  without_cost = d - np.asarray(jax.grad(cost)(state.arch)["alphas"]["cell"][...])
  assert np.any(np.sign(without_cost) != np.sign(d))  # the cost term moved the alphas' step


def test_tiny_snas_search_runs_end_to_end(tmp_path):
  config = tiny_config(epochs=2, ops=("none", "skip_connect", "nor_conv_1x1"))
  dataset = data.load_from_config(config.data, seed=config.seed)
  _, space, state = search.init_state(config, dataset, optim.epoch_cosine(0.1, 0.0, 1, 1))
  result = search.run(config, str(tmp_path), report=lambda _: None)
  space.validate(result.genotype)
  assert [r["tau"] for r in result.history] == pytest.approx([1 - 0.97 / 2, 0.03])
  assert all(np.isfinite(r["train_loss"]) and np.isfinite(r["val_loss"]) for r in result.history)
  assert not np.allclose(result.alphas["cell"], search.alphas_of(state)["cell"])
  mixing = np.asarray(result.history[-1]["alphas"]["cell"])
  np.testing.assert_allclose(mixing, _softmax(result.alphas["cell"]), atol=1e-4)
