"""Bilevel architecture search: the jitted search step and the search loop ``run(config, workdir)``."""

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

from darts_jax import (architects, checkpoint, compiling, data, genotypes, optim, relaxations,
                       runlog, spaces, supernet, variables)
from darts_jax import config_schema as cs
from darts_jax import progress as progress_lib
from darts_jax import workdir as workdir_lib
from darts_jax.cost import objective


class SearchState(NamedTuple):
  """Everything a search needs to continue bit-exactly."""

  step: jax.Array
  arch: Any
  weights: Any
  stats: Any
  arch_opt: Any
  weight_opt: Any
  key: jax.Array


@dataclasses.dataclass
class SearchResult:
  genotype: genotypes.Genotype
  alphas: dict[str, np.ndarray]
  history: list[dict]


# The order of the two updates in one search iteration.
STEP_ORDERS = ("alphas_first", "weights_first")


def cross_entropy_loss(graphdef, relaxation: relaxations.Relaxation = relaxations.softmax):
  """``loss(arch, weights, stats, batch) -> (loss, (new_stats, logits))`` for a split supernet whose
  cells mix by ``relaxation`` of its alphas."""
  def loss(arch, weights, stats, batch):
    model = nnx.merge(graphdef, arch, weights, stats, copy=True)
    logits = model(batch["image"], mixing_weights(model.alphas, relaxation))
    value = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
    return value, (nnx.state(model, nnx.BatchStat), logits)
  return loss


def mixing_weights(alphas, relaxation: relaxations.Relaxation) -> dict[str, jax.Array]:
  """``{label: mixing weights}`` of a supernet's alphas (an ``nnx.Dict`` of ArchParams or a dict of
  arrays) under a deterministic relaxation: what the cells mix by, and what discretization reads."""
  return relaxations.apply(relaxation, {label: jnp.asarray(a[...]) for label, a in alphas.items()})


def _accuracy(logits, labels):
  return jnp.mean(jnp.argmax(logits, -1) == labels)


def make_steps(graphdef, config: ml_collections.ConfigDict, schedule):
  """The pure ``(alpha_step, weight_step)`` pair. An alpha step leaves weights and BatchNorm
  statistics untouched; a weight step leaves alphas untouched."""
  loss = cross_entropy_loss(graphdef, relaxations.get(config.relaxation))
  hypergradient = architects.get(config.architect)
  alpha_tx, weight_tx = optimizers(config, schedule)
  cost_penalty = objective.search_penalty(config)  # None unless config.cost.weight is set

  def alpha_step(state: SearchState, train_batch, val_batch):
    frozen_stats = lambda a, w, b: loss(a, w, state.stats, b)
    if cost_penalty is not None:
      frozen_stats = objective.with_penalty(frozen_stats, cost_penalty)
    virtual = optim.virtual_step(schedule, state.weight_opt, momentum=config.weights.momentum,
                                 weight_decay=config.weights.weight_decay)
    grads, (val_loss, (_, logits)) = hypergradient(
        frozen_stats, state.arch, state.weights, train_batch, val_batch, virtual_step=virtual)
    updates, arch_opt = alpha_tx.update(grads, state.arch_opt, state.arch)
    state = state._replace(arch=optax.apply_updates(state.arch, updates), arch_opt=arch_opt)
    return state, {"val_loss": val_loss, "val_acc": _accuracy(logits, val_batch["label"])}

  def weight_step(state: SearchState, train_batch):
    (train_loss, (stats, logits)), grads = jax.value_and_grad(loss, argnums=1, has_aux=True)(
        state.arch, state.weights, state.stats, train_batch)
    updates, weight_opt = weight_tx.update(grads, state.weight_opt, state.weights)
    state = state._replace(step=state.step + 1, weights=optax.apply_updates(state.weights, updates),
                           stats=stats, weight_opt=weight_opt)
    return state, {"train_loss": train_loss, "train_acc": _accuracy(logits, train_batch["label"])}

  return alpha_step, weight_step


def make_search_step(graphdef, config: ml_collections.ConfigDict, schedule):
  """One search iteration as one pure function to jit: by ``config.step_order``, an alpha step on
  a validation batch then a weight step on a training batch (``alphas_first``, quark0/darts
  ``train_search.py``), or the weight step first (``weights_first``, NAS-Bench-201's DARTS runs)."""
  if config.step_order not in STEP_ORDERS:
    raise ValueError(f"unknown step_order {config.step_order!r}; choose one of {STEP_ORDERS}")
  alpha_step, weight_step = make_steps(graphdef, config, schedule)

  def step(state: SearchState, train_batch, val_batch):
    if config.step_order == "alphas_first":
      state, val_metrics = alpha_step(state, train_batch, val_batch)
      state, train_metrics = weight_step(state, train_batch)
    else:
      state, train_metrics = weight_step(state, train_batch)
      state, val_metrics = alpha_step(state, train_batch, val_batch)
    return state, {**train_metrics, **val_metrics}

  return step


def optimizers(config, schedule):
  alpha_tx = optim.alpha_optimizer(config.alphas.lr, b1=config.alphas.b1, b2=config.alphas.b2,
                                   weight_decay=config.alphas.weight_decay)
  weight_tx = optim.weight_optimizer(schedule, momentum=config.weights.momentum,
                                     weight_decay=config.weights.weight_decay,
                                     clip_norm=config.weights.clip_norm,
                                     nesterov=config.weights.get("nesterov", False))
  return alpha_tx, weight_tx


def build_space(config) -> spaces.SearchSpace:
  kwargs = {"op_names": tuple(config.ops)} if config.get("ops") else {}
  return spaces.get(config.space, **kwargs)


def init_state(config, dataset: data.Dataset, schedule):
  """Builds the supernet; returns ``(graphdef, space, state)``."""
  space = build_space(config)
  model = supernet.build(space, rngs=nnx.Rngs(config.seed), num_classes=dataset.num_classes,
                         in_channels=dataset.image_shape[-1], **config.network.to_dict())
  graphdef, arch, weights, stats = variables.split(model)
  alpha_tx, weight_tx = optimizers(config, schedule)
  state = SearchState(jnp.zeros((), jnp.int32), arch, weights, stats, alpha_tx.init(arch),
                      weight_tx.init(weights), jax.random.PRNGKey(config.seed))
  # Committed to the device as a restored checkpoint is: a fresh and a resumed run then lower to
  # the same program and share the compilation cache (a resumed tiny search: 13 -> 4 s).
  return graphdef, space, jax.device_put(state, jax.devices()[0])


def alphas_of(state: SearchState) -> dict[str, np.ndarray]:
  return {label: np.asarray(a) for label, a in nnx.to_pure_dict(state.arch)["alphas"].items()}


def discretize(space, alphas: dict[str, np.ndarray], relaxation: relaxations.Relaxation):
  """``(genotype, mixing weights)``: the space's rule applied to the mixing weights, never to raw
  alphas (the reference parses ``softmax(alphas)``; its rule compares edges by their weights)."""
  weights = {k: np.asarray(v) for k, v in mixing_weights(alphas, relaxation).items()}
  return space.discretize(weights), weights


def config_schema() -> dict:
  """The fields of a search config (``config_schema.check``)."""
  return {
      "seed": cs.integer(0), "tensorboard": cs.boolean,
      "space": cs.one_of(spaces.names, "search space"),
      "ops": cs.sequence_of(cs.registered_op), "ops_module": cs.text,
      "network": cs.section(lambda c: cs.keyword_arguments(
          supernet.SUPERNETS[c.space], exclude=("self", "space", "rngs", "num_classes",
                                                "in_channels")) if c.space in supernet.SUPERNETS
          else None),
      "data": data.config_schema(), "batch_size": cs.integer(1), "epochs": cs.integer(1),
      "architect": cs.one_of(architects.names, "architect"),
      "relaxation": cs.one_of(relaxations.names, "relaxation"),
      "step_order": cs.one_of(STEP_ORDERS, "step order"),
      "weights": {"lr": cs.POSITIVE, "min_lr": cs.NON_NEGATIVE, "momentum": cs.PROBABILITY,
                  "nesterov": cs.boolean, "weight_decay": cs.NON_NEGATIVE,
                  "clip_norm": cs.POSITIVE},
      "alphas": {"lr": cs.POSITIVE, "b1": cs.PROBABILITY, "b2": cs.PROBABILITY,
                 "weight_decay": cs.NON_NEGATIVE},
      "cost": objective.config_schema()}


def check_config(config: ml_collections.ConfigDict) -> None:
  """Imports ``config.ops_module`` and checks the whole config; raises ``ConfigError``."""
  cs.import_ops_modules(config)
  cs.check(config, config_schema(), what="search config")


def _compile(step, state, train_batch, val_batch, progress: progress_lib.Progress, report):
  """The step compiled ahead of its first call, its compile time reported on its own."""
  started = time.time()
  compiled = step.lower(state, train_batch, val_batch).compile()
  progress.compiled(time.time() - started)
  report(f"compiled the search step in {progress.compile_seconds:.1f}s (not counted in ETAs)")
  return compiled


def run(config: ml_collections.ConfigDict, workdir: str, *, report=print) -> SearchResult:
  """Searches, checkpointing every epoch into ``workdir`` (resuming from it when a checkpoint exists),
  and writes ``data.json``, ``metrics.jsonl`` and ``genotype.json``. The config is checked and the
  workdir checked (``workdir.check``) before anything is read or written."""
  check_config(config)
  workdir_lib.check(workdir, config, what="search")
  dataset = data.load_from_config(config.data, seed=config.seed)
  workdir_lib.record(workdir, config)
  data.record(dataset, workdir)
  augment, prefetch = data.augmentation(config.data), config.data.get("prefetch", 0)
  train = data.Batches(dataset.train, config.batch_size, seed=config.seed, augment=augment,
                       prefetch=prefetch)
  val = data.Batches(dataset.val, config.batch_size, seed=config.seed + 1, augment=augment,
                     prefetch=prefetch)
  steps_per_epoch = train.batches_per_pass
  schedule = optim.epoch_cosine(config.weights.lr, config.weights.min_lr, config.epochs,
                                steps_per_epoch)
  graphdef, space, state = init_state(config, dataset, schedule)
  checkpoints = checkpoint.EpochCheckpoints(workdir, {"train": train, "val": val})
  state, start_epoch = checkpoints.resume(state, report=report)
  log = runlog.MetricsLog(workdir, start_epoch, tensorboard=config.get("tensorboard", True))
  relaxation = relaxations.get(config.relaxation)
  genotype_path = os.path.join(workdir, "genotype.json")
  if start_epoch >= config.epochs and os.path.exists(genotype_path):
    genotype = genotypes.load(genotype_path)
    report(f"search in {workdir} already finished ({config.epochs} epochs): {genotype}")
    return SearchResult(genotype, alphas_of(state), log.history)
  report(f"search: {config.architect} on {space.name}, data {dataset.name} from {dataset.source}; "
         f"{len(dataset.train)}/{len(dataset.val)} train/val images of {dataset.image_shape}, "
         f"{steps_per_epoch} steps per epoch, {config.epochs} epochs")

  progress = progress_lib.Progress(config.epochs * steps_per_epoch, start_epoch * steps_per_epoch,
                                   report=report)
  step = None
  for epoch in range(start_epoch, config.epochs):
    epoch_start = time.time()
    totals = None
    for _ in range(steps_per_epoch):
      train_batch, val_batch = next(train), next(val)
      if step is None:
        step = _compile(compiling.jit(make_search_step(graphdef, config, schedule),
                                      donate_argnums=0), state, train_batch, val_batch, progress,
                        report)
        epoch_start = time.time()
      state, metrics = step(state, train_batch, val_batch)
      totals = metrics if totals is None else jax.tree.map(jnp.add, totals, metrics)
      if progress.done == start_epoch * steps_per_epoch:
        jax.block_until_ready(totals)  # the first step's time is not a steady step's
      progress.step(f"epoch {epoch + 1}/{config.epochs}  ")
    record = {k: float(v) / steps_per_epoch for k, v in totals.items()}
    runlog.check_finite(record, epoch, checkpoints.directory, what="search",
                        fix="Lower --config.weights.lr or --config.alphas.lr")
    genotype, weights = discretize(space, alphas_of(state), relaxation)
    seconds = time.time() - epoch_start
    record.update(epoch=epoch, seconds=round(seconds, 3), genotype=str(genotype),
                  lr=float(optim.current_lr(schedule, state.weight_opt)),
                  alphas={k: np.round(w, 4).tolist() for k, w in weights.items()},
                  op_names=list(space.op_names))
    if epoch == start_epoch:
      record["compile_seconds"] = round(progress.compile_seconds, 3)
    log.append(record)
    checkpoints.save(epoch, state)
    report(f"epoch {epoch + 1}/{config.epochs}  train loss {record['train_loss']:.4f} "
           f"acc {record['train_acc']:.3f}  val loss {record['val_loss']:.4f} "
           f"acc {record['val_acc']:.3f}  {seconds:.1f}s  {progress.eta_text()}  {genotype}")

  alphas = alphas_of(state)
  genotype, _ = discretize(space, alphas, relaxation)
  genotypes.save(genotype, genotype_path, ops_modules=cs.import_ops_modules(config))
  return SearchResult(genotype, alphas, log.history)
