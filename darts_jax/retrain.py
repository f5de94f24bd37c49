"""Retraining a genotype from scratch with the reference recipe, and honest evaluation.

``train_and_evaluate(config, workdir)`` reports the final epoch's test accuracy. When the config holds
out a validation slice (``select_on_val``), it also names the epoch that slice prefers and the test
accuracy there; the test split is never used to choose anything. Datasets are held in memory, or
streamed from disk (ImageNet, ``data.open_from_config``); both are trained and evaluated alike.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx

from darts_jax import (checkpoint, compiling, data, genotypes, ops, optim, parallel, precision,
                       runlog, spaces, supernet, variables)
from darts_jax import config_schema as cs
from darts_jax import progress as progress_lib
from darts_jax import workdir as workdir_lib
from darts_jax.cost import params as cost_params
from darts_jax.supernet import darts_network
from darts_jax.supernet.darts_network import DropPath


class TrainState(NamedTuple):
  """Everything retraining needs to continue bit-exactly."""

  step: jax.Array
  weights: Any
  stats: Any
  opt: Any
  key: jax.Array


@dataclasses.dataclass
class RetrainResult:
  genotype: genotypes.Genotype
  params: int  # weights of the evaluation network, auxiliary head excluded
  final_test_acc: float
  selected: dict | None  # {epoch, val_acc, test_acc} chosen on the held-out slice, when there is one
  history: list[dict]


def space_of(config: ml_collections.ConfigDict, genotype: genotypes.Genotype) -> spaces.SearchSpace:
  """The genotype's space with ``config.ops`` as its op set, or (when empty) the space's standard
  ops plus the genotype's own: a cell found with a custom op retrains without naming the op set."""
  if config.ops:
    return spaces.get(genotype.space_name, op_names=tuple(config.ops))
  standard = spaces.get(genotype.space_name).op_names
  used = genotype.ops() if callable(genotype.ops) else set(genotype.ops)  # NB101 cells: a field
  extra = tuple(sorted(set(used) - set(standard)))
  return spaces.get(genotype.space_name, **({"op_names": standard + extra} if extra else {}))


def config_schema(space_name: str) -> dict:
  """The fields of a retraining config for a genotype of ``space_name`` (``config_schema.check``)."""
  network = cs.keyword_arguments(supernet.FIXED[space_name], exclude=(
      "genotype", "cell", "space", "rngs", "num_classes", "in_channels", "auxiliary")) if (
          space_name in supernet.FIXED) else None
  if network and "setting" in network:
    network["setting"] = cs.one_of(tuple(darts_network.SETTINGS), "network setting")
  return {
      "seed": cs.integer(0), "tensorboard": cs.boolean, "distributed": cs.boolean,
      "compute_dtype": cs.one_of(precision.DTYPES, "compute dtype"),
      "matmul_precision": cs.one_of(("default", "high", "highest"), "matmul precision"),
      "conv_implementation": cs.one_of(ops.CONV_IMPLEMENTATIONS, "conv implementation"),
      "genotype": cs.text, "ops": cs.sequence_of(cs.registered_op),
      "ops_module": cs.text, "network": network, "data": data.config_schema(),
      "select_on_val": cs.boolean, "batch_size": cs.integer(1), "eval_batch_size": cs.integer(1),
      "epochs": cs.integer(1), "schedule": cs.one_of(("cosine", "exponential"), "schedule"),
      "lr": cs.POSITIVE, "min_lr": cs.NON_NEGATIVE, "lr_gamma": cs.FRACTION,
      "momentum": cs.PROBABILITY, "weight_decay": cs.NON_NEGATIVE, "clip_norm": cs.POSITIVE,
      "label_smoothing": cs.PROBABILITY, "auxiliary_weight": cs.NON_NEGATIVE,
      "drop_path": cs.PROBABILITY}


# Where a config's network section fits each space's evaluation network.
NETWORK_CONFIGS = {
    "darts_cnn": "experiments/configs/retrain.py (the default) and retrain_cifar10.py are written "
                 "for DARTS-space cells",
    "nb201": "--config=experiments/configs/proxy_nb201.py retrains NAS-Bench-201 cells",
}


def check_config(config: ml_collections.ConfigDict, space_name: str | None = None) -> None:
  """Imports ``config.ops_module``, resolves the genotype (unless ``space_name`` says which space
  it will be of) and checks the whole config; raises ``ConfigError`` or ``GenotypeError``."""
  cs.import_ops_modules(config)
  if space_name is None:
    genotype = genotypes.resolve(config.genotype)
    space_of(config, genotype).validate(genotype)  # unknown ops, ops outside the space
    space_name = genotype.space_name
  try:
    cs.check(config, config_schema(space_name), what="retraining config")
  except cs.ConfigError as e:
    if "network." not in str(e):
      raise
    fits = NETWORK_CONFIGS.get(space_name, "set them with --config.network.<field>")
    raise cs.ConfigError(f"{e}\nThe genotype is a {space_name} cell, and the network fields are "
                         f"its network's; {fits}.") from None


def build_network(config: ml_collections.ConfigDict, genotype: genotypes.Genotype,
                  dataset: data.Dataset | data.StreamedDataset) -> nnx.Module:
  """The evaluation network of ``genotype``: ``config.network`` sizes it; an auxiliary head is
  added when ``config.auxiliary_weight`` > 0 (DARTS space only, as drop-path)."""
  space = space_of(config, genotype)
  space.validate(genotype)
  regularized = config.auxiliary_weight > 0 or config.drop_path > 0
  if regularized and not isinstance(space, spaces.DartsCNN):
    raise ValueError(f"auxiliary head and drop-path are defined for DARTS networks only; set "
                     f"--config.auxiliary_weight=0 --config.drop_path=0 for a {space.name} genotype")
  kwargs = dict(config.network.to_dict(), num_classes=dataset.num_classes,
                in_channels=dataset.image_shape[-1])
  if isinstance(space, spaces.DartsCNN):
    kwargs["auxiliary"] = config.auxiliary_weight > 0
  return supernet.fixed(genotype, space, rngs=nnx.Rngs(config.seed), **kwargs)


def make_train_step(graphdef, config: ml_collections.ConfigDict, tx: optax.GradientTransformation):
  """``step(state, batch, drop_rate) -> (state, metrics)``: smoothed cross entropy, plus the
  auxiliary head's loss times its weight, with drop-path at the given (traced) rate."""
  with_auxiliary = config.auxiliary_weight > 0
  dtype = config.get("compute_dtype", "float32")

  def loss(weights, stats, batch, key, drop_rate):
    model = nnx.merge(graphdef, weights, stats, copy=True)
    kwargs = {"drop_path": DropPath(key, drop_rate)} if config.drop_path > 0 else {}
    images = precision.activations(batch["image"], dtype)
    outputs = model(images, with_auxiliary=True, **kwargs) if with_auxiliary else (
        model(images, **kwargs), None)
    # Activations in ``compute_dtype``; the loss, weights and their gradients in float32.
    logits, auxiliary_logits = precision.outputs(outputs)
    labels = optax.smooth_labels(jax.nn.one_hot(batch["label"], logits.shape[-1]),
                                 config.label_smoothing)
    value = optax.softmax_cross_entropy(logits, labels).mean()
    total = value
    if with_auxiliary:
      total = value + config.auxiliary_weight * optax.softmax_cross_entropy(
          auxiliary_logits, labels).mean()
    return total, (nnx.state(model, nnx.BatchStat), logits, value)

  def step(state: TrainState, batch, drop_rate):
    key, step_key = jax.random.split(state.key)
    (_, (stats, logits, value)), grads = jax.value_and_grad(loss, has_aux=True)(
        state.weights, state.stats, batch, step_key, drop_rate)
    updates, opt = tx.update(grads, state.opt, state.weights)
    state = TrainState(state.step + 1, optax.apply_updates(state.weights, updates), stats, opt, key)
    return state, {"train_loss": value,
                   "train_acc": jnp.mean(jnp.argmax(logits, -1) == batch["label"])}

  return step


def make_eval_step(eval_graphdef):
  """``step(weights, stats, images, labels, mask) -> (correct, loss_sum)`` over the masked rows."""
  def step(weights, stats, images, labels, mask):
    logits = nnx.merge(eval_graphdef, weights, stats, copy=True)(images)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    return jnp.sum((jnp.argmax(logits, -1) == labels) * mask), jnp.sum(losses * mask)
  return step


def evaluate(eval_step, state: TrainState, split, batch_size: int, mesh=None) -> dict:
  """Accuracy and loss on every example of ``split`` (in memory or streamed; the last batch is
  padded, never dropped), batches split over ``mesh`` (default: every device)."""
  mesh = mesh or parallel.mesh()
  feed = data.Feed(split.normalization, place=lambda batch: parallel.shard_batch(batch, mesh))
  correct = loss = 0.0
  for images, labels in data.in_order(split, batch_size):
    valid = len(labels)
    pad = batch_size - valid
    batch = feed({"image": np.pad(images, ((0, pad),) + ((0, 0),) * (images.ndim - 1)),
                  "label": np.pad(labels, (0, pad)),
                  "mask": (np.arange(batch_size) < valid).astype(np.float32)})
    c, l = eval_step(state.weights, state.stats, batch["image"], batch["label"], batch["mask"])
    correct, loss = correct + float(c), loss + float(l)
  return {"acc": correct / len(split), "loss": loss / len(split)}


def training_splits(config, dataset):
  """``(train, held_out)``: with ``select_on_val`` the val split is held out for model selection;
  otherwise the network trains on train and val together (all the search data)."""
  if config.select_on_val:
    if not len(dataset.val):
      raise ValueError("select_on_val needs a non-empty val split; set --config.data.splits.val")
    return dataset.train, dataset.val
  return data.join(dataset.train, dataset.val), None


def optimizer(config, steps_per_epoch: int):
  """``(tx, schedule)``: the recipe's SGD and its learning rate per step, cosine to ``min_lr``
  (CIFAR) or ×``lr_gamma`` per epoch (ImageNet)."""
  if config.schedule == "cosine":
    schedule = optim.epoch_cosine(config.lr, config.min_lr, config.epochs, steps_per_epoch)
  elif config.schedule == "exponential":
    schedule = optim.epoch_exponential(config.lr, config.lr_gamma, steps_per_epoch)
  else:
    raise ValueError(f"unknown schedule {config.schedule!r}; expected 'cosine' or 'exponential'")
  tx = optim.weight_optimizer(schedule, momentum=config.momentum,
                              weight_decay=config.weight_decay, clip_norm=config.clip_norm)
  return tx, schedule


def initial_state(model: nnx.Module, tx: optax.GradientTransformation, seed: int, mesh=None):
  """``(graphdef, eval_graphdef, state)`` of a freshly built network: the training and the
  evaluation (running BatchNorm statistics) structure, and the step-0 state replicated over
  ``mesh`` (default: every device)."""
  graphdef, _, weights, stats = variables.split(model)
  eval_graphdef = nnx.graphdef(nnx.view(model, use_running_average=True))
  state = TrainState(jnp.zeros((), jnp.int32), weights, stats, tx.init(weights),
                     jax.random.PRNGKey(seed))
  # Committed to the devices as a restored checkpoint is, so both lower to the same program.
  return graphdef, eval_graphdef, parallel.replicate(state, mesh or parallel.mesh())


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, *,
                       report=print) -> RetrainResult:
  """Trains ``config.genotype`` (a published name, a ``genotype.json`` path or a literal) from
  scratch, checkpointing every epoch into ``workdir`` and resuming from it; writes ``metrics.jsonl``."""
  check_config(config)
  with ops.conv_implementation(config.get("conv_implementation", "auto")):
    return _train_and_evaluate(config, workdir, report)


def _train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, report) -> RetrainResult:
  workdir_lib.check(workdir, config, what="retraining run")
  parallel.initialize(config.get("distributed", False))
  mesh = parallel.mesh()
  parallel.check_batch_size(config.batch_size, mesh)
  parallel.check_batch_size(config.eval_batch_size, mesh)
  genotype = genotypes.resolve(config.genotype)
  dataset = data.open_from_config(config.data, seed=config.seed)
  workdir_lib.record(workdir, config)
  data.record(dataset, workdir)
  train_split, held_out = training_splits(config, dataset)
  train = data.batches_from_config(train_split, config.data, config.batch_size, seed=config.seed)
  feed = data.feed_from_config(train_split, config.data,
                               place=lambda batch: parallel.shard_batch(batch, mesh))
  steps_per_epoch = train.batches_per_pass
  tx, schedule = optimizer(config, steps_per_epoch)

  model = build_network(config, genotype, dataset)
  params = cost_params.count(model)
  graphdef, eval_graphdef, state = initial_state(model, tx, config.seed, mesh)
  checkpoints = checkpoint.EpochCheckpoints(workdir, {"train": train})
  state, start_epoch = checkpoints.resume(state, report=report)
  log = runlog.MetricsLog(workdir, start_epoch, tensorboard=config.get("tensorboard", True))
  if start_epoch >= config.epochs:
    train.close()
    result = _result(genotype, params, log.history, held_out is not None)
    report(f"retraining in {workdir} already finished ({config.epochs} epochs): final test "
           f"accuracy {result.final_test_acc:.4f}")
    return result
  report(f"retrain: {genotype} ({params:,} weights) on {dataset.name} from {dataset.source}; "
         f"{len(train_split)} training images of {dataset.image_shape}"
         f"{f', {len(held_out)} held out' if held_out is not None else ''}, "
         f"{steps_per_epoch} steps per epoch, {config.epochs} epochs")

  train_step = compiling.jit(make_train_step(graphdef, config, tx), donate_argnums=0)
  eval_step = jax.jit(make_eval_step(eval_graphdef))
  progress = progress_lib.Progress(config.epochs * steps_per_epoch, start_epoch * steps_per_epoch,
                                   report=report)
  compiled = None
  for epoch in range(start_epoch, config.epochs):
    epoch_start = time.time()
    drop_rate = np.float32(config.drop_path * epoch / config.epochs)  # the reference's linear ramp
    totals = None
    batch = feed(next(train))
    for index in range(steps_per_epoch):
      if compiled is None:
        started = time.time()
        with jax.default_matmul_precision(config.get("matmul_precision", "highest")):
          compiled = train_step.lower(state, batch, drop_rate).compile()
        progress.compiled(time.time() - started)
        report(f"compiled the training step in {progress.compile_seconds:.1f}s (not counted in "
               "ETAs)")
        epoch_start = time.time()
      state, metrics = compiled(state, batch, drop_rate)
      if index + 1 < steps_per_epoch:  # the next batch travels while this step runs
        batch = feed(next(train))
      totals = metrics if totals is None else jax.tree.map(jnp.add, totals, metrics)
      if progress.done == start_epoch * steps_per_epoch:
        jax.block_until_ready(totals)
      progress.step(f"epoch {epoch + 1}/{config.epochs}  ")
    record = {k: float(v) / steps_per_epoch for k, v in totals.items()}
    runlog.check_finite(record, epoch, checkpoints.directory, what="retraining",
                        fix="Lower --config.lr")
    between_epochs = time.time()
    test = evaluate(eval_step, state, dataset.test, config.eval_batch_size, mesh)
    record.update(test_acc=test["acc"], test_loss=test["loss"])
    if held_out is not None:
      val = evaluate(eval_step, state, held_out, config.eval_batch_size, mesh)
      record.update(val_acc=val["acc"], val_loss=val["loss"])
    record.update(epoch=epoch, seconds=round(time.time() - epoch_start, 3),
                  lr=float(optim.current_lr(schedule, state.opt)))
    if epoch == start_epoch:
      record["compile_seconds"] = round(progress.compile_seconds, 3)
    log.append(record)
    checkpoints.save(epoch, state)
    progress.exclude(time.time() - between_epochs)
    held = f"  val acc {record['val_acc']:.3f}" if held_out is not None else ""
    report(f"epoch {epoch + 1}/{config.epochs}  train loss {record['train_loss']:.4f} "
           f"acc {record['train_acc']:.3f}{held}  test acc {record['test_acc']:.3f}  "
           f"{record['seconds']:.1f}s  {progress.eta_text()}")

  train.close()  # stops the reading threads and processes of a streamed dataset
  return _result(genotype, params, log.history, held_out is not None)


def _result(genotype, params: int, history: list[dict], selects: bool) -> RetrainResult:
  selected = None
  if selects:
    best = max(history, key=lambda r: r["val_acc"])
    selected = {"epoch": best["epoch"], "val_acc": best["val_acc"], "test_acc": best["test_acc"]}
  return RetrainResult(genotype, params, history[-1]["test_acc"], selected, history)
