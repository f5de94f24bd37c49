"""SDARTS: random smoothing and the PGD attack on the mixing weights, alone (a quadratic loss against a
numpy replay) and inside the search step (weight step perturbed, alpha step untouched), and a tiny
NAS-Bench-201 search end to end for both methods."""

import chex
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from darts_jax import compiling, data, genotypes, methods, optim, search, spaces
from darts_jax.methods import sdarts
from experiments.configs import nb201_digits
from experiments.configs.methods import sdarts_adv, sdarts_rs

EPS = 0.1


def _mixing(key=0, shape=(6, 5)):
  return {"cell": jax.nn.softmax(jax.random.normal(jax.random.key(key), shape))}


def test_uniform_noise_lies_within_epsilon_and_is_centred():
  noise = sdarts.uniform_noise({"a": jnp.zeros((200, 50)), "b": jnp.zeros((100, 50))},
                               jax.random.key(0), EPS)
  values = np.concatenate([np.ravel(n) for n in noise.values()])
  assert np.abs(values).max() <= EPS
  assert np.abs(values).max() > 0.99 * EPS  # fills the interval
  # U[-eps, eps] has standard deviation eps / sqrt(3); the mean of n draws is within 4 sigma.
  assert abs(values.mean()) < 4 * EPS / np.sqrt(3) / np.sqrt(values.size)
  np.testing.assert_allclose(values.std(), EPS / np.sqrt(3), rtol=0.02)
  assert not np.allclose(noise["a"][:100], noise["b"])  # groups draw independent noise


def test_random_smoothing_adds_the_noise_and_clips_back_onto_the_simplex():
  mixing, key = _mixing(), jax.random.key(3)
  raw = sdarts.random_smoothing(mixing, key, EPS, clip=False)
  noise = sdarts.uniform_noise(mixing, key, EPS)
  np.testing.assert_allclose(raw["cell"], mixing["cell"] + noise["cell"], rtol=1e-6)
  clipped = sdarts.random_smoothing(mixing, key, EPS)["cell"]
  assert np.all(clipped >= 0) and np.all(clipped <= 1)
  np.testing.assert_allclose(clipped.sum(-1), 1.0, rtol=1e-6)
  assert not np.allclose(clipped, mixing["cell"])


def test_clip_to_simplex_is_the_references_clip():
  rows = jnp.array([[0.5, -0.2, 0.9], [-0.1, -0.3, -0.05], [1.4, 0.2, 0.2]])
  np.testing.assert_allclose(sdarts.clip_to_simplex(rows),
                             [[0.5 / 1.4, 0, 0.9 / 1.4], [0, 0, 1], [1 / 1.4, 0.2 / 1.4, 0.2 / 1.4]],
                             rtol=1e-6)


def _quadratic(matrix, target):
  def loss(mixing):
    d = mixing["cell"] - target
    return jnp.sum(d * (d @ matrix))
  return loss


def _numpy_pgd(mixing, epsilon, steps, matrix, target, clip):
  """The attack replayed in float64 numpy, with the quadratic's gradient in closed form."""
  def clip_rows(w):
    c = np.clip(w, 0, 1)
    for row, original in zip(c, w):
      if row.sum() == 0:
        row[np.argmax(original)] = 1.0
    return c / c.sum(-1, keepdims=True)
  loss = lambda m: float(np.sum((m - target) * ((m - target) @ matrix)))
  current = mixing.copy()
  for _ in range(steps):
    grad = (current - target) @ (matrix + matrix.T)
    current = current + 2 * epsilon / steps * np.sign(grad)
    current = mixing + np.clip(current - mixing, -epsilon, epsilon)
    current = clip_rows(current) if clip else current
  return current if loss(current) >= loss(mixing) else mixing


@pytest.mark.parametrize("clip", [False, True])
def test_pgd_matches_a_numpy_replay_on_a_quadratic_loss(clip):
  mixing = _mixing(1)
  rng = np.random.default_rng(0)
  factor = rng.normal(size=(5, 5))
  matrix, target = factor @ factor.T + np.eye(5), rng.uniform(0, 0.4, size=(6, 5))
  loss = _quadratic(jnp.asarray(matrix, jnp.float32), jnp.asarray(target, jnp.float32))
  attack = jax.jit(lambda m, k: sdarts.linf_pgd(m, k, EPS, loss, steps=7, random_start=False,
                                                 clip=clip))
  attacked = attack(mixing, jax.random.key(0))
  expected = _numpy_pgd(np.asarray(mixing["cell"], np.float64), EPS, 7, matrix, target, clip)
  np.testing.assert_allclose(attacked["cell"], expected, atol=1e-5)
  assert loss(attacked) > loss(mixing)
  if clip:
    np.testing.assert_allclose(attacked["cell"].sum(-1), 1.0, rtol=1e-6)


def test_pgd_reaches_the_worst_corner_of_the_ball_and_beats_random_smoothing():
  """For ||m - t||^2 with every |m - t| > eps, the loss's maximum over the L-inf ball is the corner
  m + eps sign(m - t); 7 sign steps of 2 eps / 7 from any start in the ball end there."""
  mixing = {"cell": jnp.full((4, 5), 0.5)}
  target = jnp.where(jnp.arange(5) % 2 == 0, 0.0, 1.0)
  loss = lambda m: jnp.sum((m["cell"] - target) ** 2)
  for seed in range(3):
    key = jax.random.key(seed)
    attacked = sdarts.linf_pgd(mixing, key, EPS, loss, clip=False)
    np.testing.assert_allclose(attacked["cell"], mixing["cell"] + EPS * jnp.sign(
        mixing["cell"] - target) * jnp.ones((4, 1)), atol=1e-6)
    assert float(jnp.max(jnp.abs(attacked["cell"] - mixing["cell"]))) <= EPS + 1e-6
    smoothed = sdarts.random_smoothing(mixing, key, EPS, clip=False)
    assert loss(attacked) > loss(smoothed) > loss(mixing) - 1  # and both stay finite


def test_pgd_stays_in_the_ball_and_keeps_the_clean_weights_when_it_cannot_raise_the_loss():
  mixing = _mixing(2)
  uphill = lambda m: jnp.sum(jnp.sin(7 * m["cell"]))
  attacked = sdarts.linf_pgd(mixing, jax.random.key(1), EPS, uphill, clip=False)
  assert float(jnp.max(jnp.abs(attacked["cell"] - mixing["cell"]))) <= EPS + 1e-6
  assert uphill(attacked) >= uphill(mixing)
  # The clean point is this loss's maximum: every attack lowers it, so the clean weights stay.
  peak = lambda m: -jnp.sum((m["cell"] - mixing["cell"]) ** 2)
  kept = sdarts.linf_pgd(mixing, jax.random.key(1), EPS, peak)
  np.testing.assert_array_equal(kept["cell"], mixing["cell"])


def test_epsilon_grows_linearly_as_in_the_reference_and_options_are_checked():
  method = methods.get("sdarts_adv")
  assert method.hyper(0, 10)["epsilon"] == pytest.approx(0.03)
  assert method.hyper(5, 10)["epsilon"] == pytest.approx(0.03 + 0.27 * 0.5)
  assert methods.get("sdarts_rs", {"epsilon_start": 0.05, "epsilon": 0.05}).hyper(7, 10)[
      "epsilon"] == pytest.approx(0.05)
  assert methods.defaults("sdarts_adv")["steps"] == 7
  with pytest.raises(ValueError, match="steps"):
    methods.get("sdarts_rs", {"steps": 3})
  with pytest.raises(ValueError, match="non-negative"):
    methods.get("sdarts_adv", {"epsilon": -0.1})


@pytest.fixture(scope="module")
def tiny():
  config = nb201_digits.get_config("quick")
  dataset = data.load("digits", seed=0)
  schedule = optim.epoch_cosine(0.025, 0.001, 2, 10)
  graphdef, _, state = search.init_state(config, dataset, schedule)
  batches, feed = data.Batches(dataset.train, 32, seed=0), data.Feed(dataset.train.normalization)
  return config, graphdef, schedule, state, feed(next(batches)), feed(next(batches))


@pytest.fixture(scope="module")
def darts_weight_step(tiny):
  """DARTS' weight step from the tiny state (key 7): the clean reference."""
  config, graphdef, schedule, state, train, _ = tiny
  _, weight = search.make_steps(graphdef, config, schedule, methods.get("darts"))
  return compiling.jit(weight)(state, train, jax.random.key(7), {})


def _flat(tree):
  return jax.flatten_util.ravel_pytree(tree)[0]


def test_alpha_step_is_dartss_own(tiny):
  config, graphdef, schedule, state, train, val = tiny
  key, method = jax.random.key(7), methods.get("sdarts_rs")
  ours, _ = compiling.jit(search.make_steps(graphdef, config, schedule, method)[0])(
      state, train, val, key, method.hyper(1, 2))
  plain, _ = compiling.jit(search.make_steps(graphdef, config, schedule, methods.get("darts"))[0])(
      state, train, val, key, {})
  chex.assert_trees_all_close(ours.arch, plain.arch, rtol=1e-6)
  assert not np.allclose(_flat(ours.arch), _flat(state.arch))


@pytest.mark.parametrize("name", ["sdarts_rs", "sdarts_adv"])
def test_weight_step_trains_at_perturbed_mixing_weights(tiny, darts_weight_step, name):
  config, graphdef, schedule, state, train, _ = tiny
  clean, clean_metrics = darts_weight_step
  method = methods.get(name)
  weight = compiling.jit(search.make_steps(graphdef, config, schedule, method)[1])
  perturbed, metrics = weight(state, train, jax.random.key(7), method.hyper(1, 2))
  assert not np.allclose(_flat(perturbed.weights), _flat(clean.weights))
  chex.assert_trees_all_equal(perturbed.arch, state.arch)
  if name == "sdarts_adv":  # the attacked point's loss is at least the clean one's
    assert float(metrics["train_loss"]) >= float(clean_metrics["train_loss"])
  else:  # with eps = 0 the perturbation is the identity: the weight step is DARTS'
    zero = methods.get(name, {"epsilon": 0.0, "epsilon_start": 0.0})
    unperturbed, _ = compiling.jit(search.make_steps(graphdef, config, schedule, zero)[1])(
        state, train, jax.random.key(7), zero.hyper(0, 2))
    chex.assert_trees_all_close(unperturbed.weights, clean.weights, atol=1e-5)


def test_perturbed_mixing_differs_from_the_clean_one_on_the_supernet(tiny):
  _, graphdef, _, state, train, _ = tiny
  loss = search.mixing_loss(graphdef)
  clean = methods.softmax_all(search.alphas_in(state.arch))
  of_mixing = lambda m: loss(m, state.arch, state.weights, state.stats, train)[0]
  for name in ("sdarts_rs", "sdarts_adv"):
    method = methods.get(name)
    moved = compiling.jit(lambda m, k, h, method=method: method.perturb(m, k, h, of_mixing))(
        clean, jax.random.key(0), method.hyper(9, 10))
    assert not np.allclose(moved["cell"], clean["cell"])
    np.testing.assert_allclose(moved["cell"].sum(-1), 1.0, rtol=1e-5)
    if name == "sdarts_adv":
      assert float(of_mixing(moved)) > float(of_mixing(clean))


@pytest.mark.parametrize("module", [sdarts_rs, sdarts_adv])
def test_tiny_nb201_search_end_to_end_gives_a_valid_genotype(module, tmp_path):
  config = module.get_config("nb201,quick")
  config.data = nb201_digits.get_config("quick").data
  # The collapse diagnostics' Hessian is compiled for one of the two (it costs a compile per run).
  config.epochs, config.tensorboard = 2, False
  config.diagnostics.hessian_iterations = 2 if module is sdarts_rs else 0
  result = search.run(config, str(tmp_path), report=lambda _: None)
  assert isinstance(result.genotype, genotypes.NB201Genotype)
  spaces.get("nb201").validate(result.genotype)
  assert [r["epsilon"] for r in result.history] == pytest.approx([0.03, 0.03 + 0.27 / 2])
  for record in result.history:
    assert np.isfinite(record["train_loss"]) and np.isfinite(record["val_loss"])
    if module is sdarts_rs:
      assert np.isfinite(record["hessian_eigenvalue"])
