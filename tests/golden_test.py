"""darts_jax against the original DARTS code's own numbers (quark0/darts, float64).

The golden set (``tests/golden``, or the folder named by ``DARTS_JAX_GOLDEN``; its README says how it
was made) holds the reference's state dicts, batches and outputs. Each test loads the reference's
weights with ``pytorch_weights`` and compares our outputs in float64 at a relative tolerance of
1e-10. Every size, seed and hyperparameter comes from the set's ``config/*`` entries, so another
golden set of the same structure runs unchanged.
"""

import functools
import json
import os
import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from flax import nnx

from darts_jax import (architects, compiling, genotypes, methods, optim, pytorch_weights, search,
                       spaces, supernet, variables)

GOLDEN = pathlib.Path(os.environ.get("DARTS_JAX_GOLDEN")
                      or pathlib.Path(__file__).resolve().parent / "golden")
RTOL = 1e-10
# Each program here runs once on a tiny batch: on CPU, compile without LLVM optimization (2-3x
# faster). The suite (benchmarks/suite.py) runs these tests on accelerators too.
jit = functools.partial(jax.jit, compiler_options=compiling.QUICK_COMPILE) if (
    jax.default_backend() == "cpu") else jax.jit


@pytest.fixture(scope="module", autouse=True)
def float64():
  """Every test here runs in float64, as the reference did; other modules keep float32."""
  with jax.enable_x64(True):
    yield


@pytest.fixture(scope="module")
def ref():
  path = GOLDEN / "darts_reference.npz"
  if not path.is_file():
    pytest.skip(f"golden data {path} not found; set DARTS_JAX_GOLDEN to the folder holding it")
  with np.load(path) as archive:
    return {k: archive[k] for k in archive.files}


def group(ref, prefix):
  """The entries under ``prefix``, keyed by the rest of their name (a PyTorch name)."""
  return {k[len(prefix):]: v for k, v in ref.items() if k.startswith(prefix)}


def cfg(ref, name):
  value = ref[f"config/{name}"]
  return int(value) if value.dtype.kind == "i" else float(value)


def assert_close(actual, expected, what, rtol=RTOL):
  """``max|actual - expected| <= rtol * max|expected|`` (the golden README's criterion)."""
  actual, expected = np.asarray(actual), np.asarray(expected)
  assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
  scale = np.abs(expected).max()
  error = np.abs(actual - expected).max()
  assert error <= rtol * scale, f"{what}: max error {error:.3g} > {rtol:g} x {scale:.3g}"


def nhwc(images):
  return jnp.asarray(images.transpose(0, 2, 3, 1))


# ----------------------------------------------------------------------------------------------
# The search network (model_search.Network) and its architect.


@pytest.fixture(scope="module")
def search_net(ref):
  """``(graphdef, arch, weights, stats, batches)``: the reference's search network at its initial
  state (buffers at PyTorch's defaults, as the README says) and alphas."""
  params = group(ref, "search_net/state/")
  buffers = {k: np.zeros_like(v) if k.endswith("running_mean") else np.ones_like(v)
             for k, v in group(ref, "second_order_fd/state_after_step/").items()
             if k.endswith(("running_mean", "running_var"))}
  images = ref["search_net/train_images"]
  model = supernet.build(spaces.get("darts_cnn"), rngs=nnx.Rngs(cfg(ref, "seed")),
                         channels=cfg(ref, "search_C"), layers=cfg(ref, "search_layers"),
                         num_classes=cfg(ref, "num_classes"), in_channels=images.shape[1])
  pytorch_weights.load_state_dict(model, {
      **params, **buffers, "alphas_normal": ref["search_net/alphas_normal"],
      "alphas_reduce": ref["search_net/alphas_reduce"]}, dtype=np.float64)
  batch = lambda split: {"image": nhwc(ref[f"search_net/{split}_images"]),
                         "label": jnp.asarray(ref[f"search_net/{split}_labels"])}
  return (*variables.split(model), {"train": batch("train"), "val": batch("val")})


def search_config(ref) -> ml_collections.ConfigDict:
  """The reference's train_search.py settings, as the golden set records them."""
  return ml_collections.ConfigDict({
      "architect": "second_order_fd", "method": "darts", "step_order": "weights_first",
      "weights": {"lr": cfg(ref, "sgd_lr"), "min_lr": cfg(ref, "sgd_lr"),
                  "momentum": cfg(ref, "sgd_momentum"), "nesterov": False,
                  "weight_decay": cfg(ref, "sgd_weight_decay"), "clip_norm": cfg(ref, "grad_clip")},
      "alphas": {"lr": cfg(ref, "arch_lr"), "b1": cfg(ref, "arch_beta1"),
                 "b2": cfg(ref, "arch_beta2"), "weight_decay": cfg(ref, "arch_weight_decay")},
      "cost": {"weight": 0.0}})


@pytest.fixture(scope="module")
def compiled(search_net):
  """Jitted pieces shared by the tests: the train loss with its weight gradient, the first-order
  alpha gradient, and the BatchNorm-frozen loss the architects differentiate."""
  graphdef, _, _, stats, _ = search_net
  loss = search.cross_entropy_loss(graphdef)
  train_grad = jit(jax.value_and_grad(loss, argnums=1, has_aux=True))
  frozen = lambda a, w, b: loss(a, w, stats, b)
  alpha_grad = jit(lambda a, w, b: architects.first_order(frozen, a, w, None, b))
  return loss, frozen, train_grad, alpha_grad


def as_reference(graphdef, arch, weights, stats):
  """A state under the reference's names (weights, alphas and BatchNorm buffers)."""
  return pytorch_weights.state_dict(nnx.merge(graphdef, arch, weights, stats))


def test_search_net_logits_loss_weight_gradients_and_first_order_alpha_gradients(
    ref, search_net, compiled):
  graphdef, arch, weights, stats, batches = search_net
  loss, _, train_grad, alpha_grad = compiled
  (train_loss, (_, logits)), grads = train_grad(arch, weights, stats, batches["train"])
  assert_close(logits, ref["search_net/train_logits"], "train logits")
  assert_close(train_loss, ref["search_net/train_loss"], "train loss")
  ours = as_reference(graphdef, arch, grads, stats)
  expected = group(ref, "search_net/grad_weights_train_loss/")
  assert set(expected) == {k for k in ours if not k.endswith(("running_mean", "running_var"))
                           and not k.startswith("alphas_")}
  for name, value in expected.items():
    assert_close(ours[name], value, f"d train_loss / d {name}")

  grads, (val_loss, (_, val_logits)) = alpha_grad(arch, weights, batches["val"])
  assert_close(val_logits, ref["search_net/val_logits"], "val logits")
  assert_close(val_loss, ref["search_net/val_loss"], "val loss")
  for label in ("normal", "reduce"):
    assert_close(grads["alphas"][label],
                 ref[f"search_net/grad_alphas_{label}_first_order"], f"first-order {label}")


@pytest.fixture(scope="module")
def after_weight_step(ref, search_net, compiled):
  """One real weight step with our optimizer, from the reference's initial state:
  ``(weights, stats, weight optimizer state, schedule)``."""
  _, arch, weights, stats, batches = search_net
  _, _, train_grad, _ = compiled
  config = search_config(ref)
  schedule = lambda step: config.weights.lr
  _, weight_tx = search.optimizers(config, schedule)
  (_, (new_stats, _)), grads = train_grad(arch, weights, stats, batches["train"])
  updates, opt_state = weight_tx.update(grads, weight_tx.init(weights), weights)
  return optax.apply_updates(weights, updates), new_stats, opt_state, schedule


def test_weight_step_matches_the_reference_sgd_step_and_batchnorm_buffers(
    ref, search_net, after_weight_step):
  """Clipping (PyTorch's ``max_norm / (norm + 1e-6)``), coupled weight decay and momentum give
  the reference's w1; the train forward's running statistics are its buffers."""
  graphdef, arch, _, _, _ = search_net
  weights, stats, _, _ = after_weight_step
  ours = as_reference(graphdef, arch, weights, stats)
  expected = group(ref, "second_order_fd/state_after_step/")
  compared = 0
  for name, value in expected.items():
    if name.endswith("num_batches_tracked"):
      continue
    assert_close(ours[name], value, f"after the weight step: {name}")
    compared += 1
  assert compared == sum(not k.startswith("alphas_") for k in ours)


def architect_inputs(ref, search_net, after_weight_step):
  graphdef, arch, _, _, batches = search_net
  weights, _, opt_state, schedule = after_weight_step
  config = search_config(ref)
  virtual = optim.virtual_step(schedule, opt_state, momentum=config.weights.momentum,
                               weight_decay=config.weights.weight_decay)
  return config, arch, weights, batches, virtual


def test_finite_difference_hypergradient_and_adam_step_match_the_reference_architect(
    ref, search_net, compiled, after_weight_step):
  """``Architect.step(unrolled=True)`` after a real weight step: the unrolled step uses the live
  momentum buffer; the mixed term is the central difference at R = r / ||v||."""
  config, arch, weights, batches, virtual = architect_inputs(ref, search_net, after_weight_step)
  _, frozen, _, alpha_grad = compiled

  first, (val_loss, _) = alpha_grad(arch, weights, batches["val"])
  assert_close(val_loss, ref["second_order_fd/val_loss"], "val loss at w1")
  for label in ("normal", "reduce"):
    assert_close(first["alphas"][label],
                 ref[f"second_order_fd/grad_alphas_{label}_first_order"], f"first order at w1")

  @jit
  def hypergradient(a, w):
    return architects.second_order_fd(frozen, a, w, batches["train"], batches["val"],
                                      virtual_step=virtual, epsilon=cfg(ref, "fd_r"))

  grads, (unrolled_loss, _) = hypergradient(arch, weights)
  assert_close(unrolled_loss, ref["second_order_fd/unrolled_val_loss"], "L_val(w')")
  for label in ("normal", "reduce"):
    assert_close(grads["alphas"][label], ref[f"second_order_fd/grad_alphas_{label}"],
                 f"finite-difference hypergradient ({label})")

  alpha_tx, _ = search.optimizers(config, lambda step: config.weights.lr)
  updates, _ = alpha_tx.update(grads, alpha_tx.init(arch), arch)
  stepped = optax.apply_updates(arch, updates)
  for label in ("normal", "reduce"):
    assert_close(stepped["alphas"][label], ref[f"second_order_fd/alphas_{label}_after_adam"],
                 f"alphas after Adam ({label})")


def test_exact_hypergradient_matches_double_backprop_through_the_unrolled_step(
    ref, search_net, compiled, after_weight_step):
  _, arch, weights, batches, virtual = architect_inputs(ref, search_net, after_weight_step)
  _, frozen, _, _ = compiled
  hypergradient = jit(lambda a, w: architects.second_order(
      frozen, a, w, batches["train"], batches["val"], virtual_step=virtual))
  grads, _ = hypergradient(arch, weights)
  for label in ("normal", "reduce"):
    assert_close(grads["alphas"][label], ref[f"second_order_fd/grad_alphas_{label}_exact_hvp"],
                 f"exact hypergradient ({label})")


# ----------------------------------------------------------------------------------------------
# Discretization (Network.genotype()).


def test_genotype_rule_on_every_reference_case(ref):
  """The reference parses softmax(alphas); so do we, through the search loop's discretize."""
  with open(GOLDEN / "genotypes_reference.json") as f:
    cases = json.load(f)
  space = spaces.get("darts_cnn", op_names=tuple(cases["primitives"]), steps=cases["steps"],
                     multiplier=cases["multiplier"])
  assert len(cases["cases"]) == len(ref["genotype/none_offset"])
  for case in cases["cases"]:
    alphas = {label: np.asarray(case[f"alphas_{label}"]) for label in ("normal", "reduce")}
    genotype, _ = search.discretize(space, alphas, methods.get("darts"))
    expected = genotypes.from_json({"space": "darts_cnn", **case["genotype"]})
    assert genotype == expected, f"case {case['index']}"
  # The npz holds the same cases as indices.
  names = np.asarray(cases["primitives"])
  for i, case in enumerate(cases["cases"]):
    for label in ("normal", "reduce"):
      ops_, inputs = zip(*case["genotype"][label])
      np.testing.assert_array_equal(names[ref[f"genotype/{label}_op_index"][i]], ops_)
      np.testing.assert_array_equal(ref[f"genotype/{label}_input_index"][i], inputs)


# ----------------------------------------------------------------------------------------------
# Evaluation networks (model.NetworkCIFAR, model.NetworkImageNet) with DARTS_V2.


def evaluation_network(ref, prefix, setting, auxiliary):
  images = ref[f"{prefix}/images"]
  model = supernet.fixed(genotypes.PUBLISHED["DARTS_V2"], setting=setting,
                         channels=cfg(ref, "eval_C" if setting == "cifar" else "imagenet_C"),
                         layers=cfg(ref, "eval_layers" if setting == "cifar" else
                                    "imagenet_layers"),
                         num_classes=cfg(ref, "num_classes"), in_channels=images.shape[1],
                         auxiliary=auxiliary, rngs=nnx.Rngs(cfg(ref, "seed")))
  pytorch_weights.load_state_dict(model, group(ref, f"{prefix}/state/"), dtype=np.float64)
  return model, nhwc(images)


def forward(model, images, **kwargs):
  """A jitted forward; updates the model's BatchNorm statistics as an eager call would."""
  graphdef, state = nnx.split(model)

  @jit
  def run(state, images):
    m = nnx.merge(graphdef, state, copy=True)
    return m(images, **kwargs), nnx.state(m)

  outputs, state = run(state, images)
  nnx.update(model, state)
  return outputs


def test_network_cifar_train_mode_auxiliary_and_eval_mode_logits(ref):
  model, images = evaluation_network(ref, "eval_net", "cifar", auxiliary=True)
  logits, auxiliary = forward(model, images, with_auxiliary=True)
  assert_close(logits, ref["eval_net/logits_train_mode"], "train-mode logits")
  assert_close(auxiliary, ref["eval_net/logits_aux_train_mode"], "auxiliary logits")
  ours = pytorch_weights.state_dict(model)
  for name, value in group(ref, "eval_net/buffers_after_train_forward/").items():
    if not name.endswith("num_batches_tracked"):
      assert_close(ours[name], value, f"running statistics {name}")
  logits = forward(nnx.view(model, use_running_average=True), images)
  assert_close(logits, ref["eval_net/logits_eval_mode"], "eval-mode logits")


def test_network_imagenet_train_mode_logits(ref):
  model, images = evaluation_network(ref, "eval_net_imagenet", "imagenet", auxiliary=False)
  assert_close(forward(model, images), ref["eval_net_imagenet/logits_train_mode"],
               "ImageNet logits")
