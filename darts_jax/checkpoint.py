"""Orbax checkpoints of the complete search state (weights, alphas, BN statistics, both optimizer
states, step, PRNG key) plus JSON metadata (epoch, data-iterator positions)."""

from __future__ import annotations

import os

import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
  """A checkpoint that cannot be read or does not fit the current configuration."""


def manager(workdir: str | os.PathLike, *, max_to_keep: int = 2) -> ocp.CheckpointManager:
  directory = os.path.join(os.path.abspath(workdir), "checkpoints")
  return ocp.CheckpointManager(directory, options=ocp.CheckpointManagerOptions(
      max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False))


def save(mngr: ocp.CheckpointManager, step: int, state, metadata: dict) -> None:
  mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                          metadata=ocp.args.JsonSave(metadata)))
  mngr.wait_until_finished()


def restore_latest(mngr: ocp.CheckpointManager, template):
  """``(state, metadata)`` of the latest checkpoint, or ``None`` when there is none.

  ``template`` is a freshly initialized state: the checkpoint must match its structure and shapes.
  """
  step = mngr.latest_step()
  if step is None:
    return None
  path = os.path.join(str(mngr.directory), str(step))
  try:
    restored = mngr.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(template), metadata=ocp.args.JsonRestore()))
  except Exception as e:  # orbax raises many types for unreadable or mismatched trees
    raise CheckpointError(
        f"cannot restore checkpoint {path}: {type(e).__name__}: {str(e)[:500]}\n"
        "It is corrupt or was written by a different configuration (search space, network size, "
        "architect). Resume with the configuration that wrote it, or use a fresh --workdir.") from e
  return restored["state"], restored["metadata"]


class EpochCheckpoints:
  """A run's checkpoint after every epoch: its state plus the positions of its data iterators
  (named objects with ``position`` and ``restore``), so a resumed run sees the same batches."""

  def __init__(self, workdir: str | os.PathLike, iterators: dict):
    self.mngr = manager(workdir)
    self.iterators = iterators

  @property
  def directory(self) -> str:
    return str(self.mngr.directory)

  def resume(self, state, *, report=print):
    """``(state, first epoch to run)``: the latest checkpoint's, or ``(state, 0)`` when none."""
    restored = restore_latest(self.mngr, state)
    if restored is None:
      return state, 0
    state, meta = restored
    for name, iterator in self.iterators.items():
      iterator.restore(meta[f"{name}_position"])
    report(f"resumed from {self.directory} after epoch {meta['epoch']}")
    return state, meta["epoch"] + 1

  def save(self, epoch: int, state) -> None:
    save(self.mngr, epoch, state, {"epoch": epoch, **{
        f"{name}_position": iterator.position for name, iterator in self.iterators.items()}})
