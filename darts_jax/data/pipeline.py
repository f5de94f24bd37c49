"""The persistent batch iterator: seeded order, per-image augmentation keys, prefetching."""

from __future__ import annotations

import collections
from concurrent import futures
import numpy as np

from darts_jax.data.dataset import Split


class Batches:
  """A persistent, seeded iterator over one split: a fresh permutation each pass, drop-remainder.

  A batch is ``{"image": pixels as the split keeps them, "label"}``; with ``keys`` also ``"key"``,
  one threefry key (uint32[2]) per image for the augmentation the device applies
  (``data.Feed``), drawn from ``(seed, pass, index)``. ``position`` (pass, index) is plain data so
  that checkpoints can restore the exact stream, keys included. ``prefetch`` > 0 gathers that many
  batches ahead on a background thread.
  """

  def __init__(self, split: Split, batch_size: int, seed: int, *, keys: bool = False,
               prefetch: int = 0):
    if batch_size > len(split):
      raise ValueError(f"batch size {batch_size} exceeds the split's {len(split)} examples")
    self.split, self.batch_size, self.seed = split, batch_size, seed
    self.keys, self.prefetch = keys, prefetch
    self._orders = {}
    self._pending = collections.deque()  # (position, future) of batches being prepared
    self._worker = futures.ThreadPoolExecutor(1) if prefetch else None
    self.position = (0, 0)

  @property
  def batches_per_pass(self) -> int:
    return len(self.split) // self.batch_size

  def restore(self, position) -> None:
    self.position = tuple(int(p) for p in position)
    self._drop_pending()

  def __iter__(self):
    return self

  def close(self) -> None:
    """Drops the batches being prepared ahead (a later ``next`` prepares them again)."""
    self._drop_pending()

  def __next__(self) -> dict[str, np.ndarray]:
    position = self._next_position(self.position)
    if self._worker is None:
      batch = self._batch_at(*position)
    else:
      self._fill(position)
      batch = self._pending.popleft()[1].result()
    self.position = (position[0], position[1] + 1)
    return batch

  def _next_position(self, position) -> tuple[int, int]:
    epoch, index = position
    return (epoch + 1, 0) if index >= self.batches_per_pass else (epoch, index)

  def _fill(self, position) -> None:
    """Queues batches from ``position`` on, ``prefetch`` + 1 in all."""
    if self._pending and self._pending[0][0] != position:
      self._drop_pending()
    if not self._pending:
      self._pending.append((position, self._worker.submit(self._batch_at, *position)))
    while len(self._pending) <= self.prefetch:
      last = self._pending[-1][0]
      following = self._next_position((last[0], last[1] + 1))
      self._pending.append((following, self._worker.submit(self._batch_at, *following)))

  def _drop_pending(self) -> None:
    for _, future in self._pending:
      future.cancel()
    self._pending.clear()

  def _order(self, epoch: int) -> np.ndarray:
    if epoch not in self._orders:
      self._orders = {e: o for e, o in self._orders.items() if e >= epoch - 1}
      self._orders[epoch] = np.random.default_rng([self.seed, epoch]).permutation(len(self.split))
    return self._orders[epoch]

  def _batch_at(self, epoch: int, index: int) -> dict[str, np.ndarray]:
    chosen = self._order(epoch)[index * self.batch_size:(index + 1) * self.batch_size]
    batch = {"image": self.split.images[chosen], "label": self.split.labels[chosen]}
    if self.keys:
      batch["key"] = np.random.default_rng([self.seed, epoch, index]).integers(
          0, 2**32, (self.batch_size, 2), dtype=np.uint32)
    return batch
