"""Datasets too large for host memory (ImageNet), read from disk one example at a time with grain.

A ``StreamedSplit`` is an index: which example of which native split (``train``, ``val``) each of
its examples is, plus how to turn a stored record into uint8 pixels (normalized on the device by its
``normalization``). Nothing is decoded until
a batch needs it. ``StreamedBatches`` has the interface of the in-memory ``Batches`` (``__next__``,
``batches_per_pass``, ``position``, ``restore``), so the training loops and their checkpoints treat
both alike; ``in_order`` and ``join`` work on both kinds of split.
"""

from __future__ import annotations

import dataclasses
import gc
from typing import Iterator, Protocol

import numpy as np

from darts_jax.data.dataset import Normalization, Split


class Prepare(Protocol):
  """Turns a stored record into ``{"image": HWC pixels, "label": int32}``."""

  def train(self, record: dict, rng: np.random.Generator) -> dict: ...

  def eval(self, record: dict) -> dict: ...


@dataclasses.dataclass(frozen=True)
class Reading:
  """How a streamed split is read: ``threads`` decoding in each process, ``workers`` extra processes
  (0: none; grain needs absl flags parsed to start them, as under ``absl.app``), ``prefetch``
  batches read ahead (in each process)."""

  threads: int = 8
  workers: int = 0
  prefetch: int = 2


@dataclasses.dataclass(frozen=True, eq=False)
class StreamedSplit:
  """Example ``i`` is record ``index[i]`` of native split ``natives[which[i]]``, read from
  ``sources`` (random-access: ``len`` and ``[j]``) and turned into an image by ``prepare``."""

  sources: dict  # native split name -> random-access source of records
  natives: tuple[str, ...]  # the native split names ``which`` refers to
  which: np.ndarray  # [N] uint8
  index: np.ndarray  # [N] int64
  prepare: Prepare
  image_shape: tuple[int, int, int]
  reading: Reading = Reading()
  normalization: Normalization = Normalization()  # applied on the device to what ``prepare`` gives

  def __len__(self) -> int:
    return len(self.index)

  def __getitem__(self, i: int) -> dict:
    return self.sources[self.natives[self.which[i]]][int(self.index[i])]

  @property
  def labels(self) -> np.ndarray | None:
    """The labels in order, when every source lists them without reading images; else None."""
    native_labels = [getattr(self.sources[n], "labels", None) for n in self.natives]
    if len(self) and any(native_labels[w] is None for w in np.unique(self.which)):
      return None
    out = np.zeros(len(self), np.int32)
    for w, labels in enumerate(native_labels):
      chosen = self.which == w
      if chosen.any():
        out[chosen] = labels[self.index[chosen]]
    return out

  def take(self, positions: np.ndarray) -> StreamedSplit:
    """The examples at ``positions`` (in that order)."""
    return dataclasses.replace(self, which=self.which[positions], index=self.index[positions])


def from_parts(sources: dict, parts: list[tuple[str, np.ndarray]], prepare: Prepare,
               image_shape, reading: Reading = Reading(),
               normalization: Normalization = Normalization()) -> StreamedSplit:
  """The split made of ``parts`` (``[(native split, record indices), ...]``, as
  ``splits.indices`` returns them), in order."""
  natives = tuple(sources)
  which = np.concatenate([np.full(len(i), natives.index(n), np.uint8) for n, i in parts] or
                         [np.zeros(0, np.uint8)])
  index = np.concatenate([np.asarray(i, np.int64) for _, i in parts] or [np.zeros(0, np.int64)])
  return StreamedSplit(sources, natives, which, index, prepare, tuple(image_shape), reading,
                       normalization)


@dataclasses.dataclass(frozen=True)
class StreamedDataset:
  """The streamed counterpart of ``Dataset``: same fields, splits are ``StreamedSplit``s."""

  name: str
  train: StreamedSplit
  val: StreamedSplit
  test: StreamedSplit
  num_classes: int
  source: str
  settings: dict = dataclasses.field(default_factory=dict)

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return self.train.image_shape


def epoch_seed(seed: int, epoch: int) -> int:
  """The shuffle seed of one pass: a hash of (seed, epoch)."""
  return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


@dataclasses.dataclass(frozen=True)
class _Augmented:
  """Training preparation of the example at shuffled position ``i`` of pass ``epoch``, seeded by
  (seed, epoch, i): the same example at the same place of the same pass is augmented alike."""

  prepare: Prepare
  seed: int
  epoch: int

  def __call__(self, i: int, record: dict) -> dict:
    return self.prepare.train(record, np.random.default_rng([self.seed, self.epoch, i]))


@dataclasses.dataclass(frozen=True)
class _Evaluated:
  prepare: Prepare

  def __call__(self, record: dict) -> dict:
    return self.prepare.eval(record)


def _iterate(dataset, reading: Reading) -> Iterator[dict]:
  import grain  # imported lazily: only streamed datasets need it

  if reading.workers:
    from absl import flags
    if not flags.FLAGS.is_parsed():
      raise ValueError("grain's worker processes read absl flags, which are not parsed here; run "
                       "under absl.app (as experiments/*.py do) or set --config.data.workers=0")
  stream = dataset.to_iter_dataset(grain.ReadOptions(num_threads=reading.threads,
                                                     prefetch_buffer_size=reading.prefetch))
  if reading.workers:
    stream = stream.mp_prefetch(grain.MultiprocessingOptions(num_workers=reading.workers))
  return iter(stream)


def _close(iterator, reading: Reading) -> None:
  """Stops an iterator's threads and processes. With worker processes, a garbage collection then
  frees the shared-memory batches its buffers held, which reference cycles would otherwise keep
  (measured: up to 6 pipelines' worth accumulated in /dev/shm between collections)."""
  iterator.close()
  if reading.workers:
    gc.collect()


class StreamedBatches:
  """A persistent, seeded iterator over a ``StreamedSplit``: each pass a fresh shuffle (seeded by
  (seed, pass)), augmented batches, the last partial batch dropped.

  ``position`` (pass, batch index) is plain data; a batch's content depends only on the seed and
  its position (never on threads, workers or where the stream was restored), so a restored stream
  is the same stream. The order is grain's seeded index shuffle: the same for the same grain
  version.
  """

  def __init__(self, split: StreamedSplit, batch_size: int, seed: int):
    if batch_size > len(split):
      raise ValueError(f"batch size {batch_size} exceeds the split's {len(split)} examples")
    self.split, self.batch_size, self.seed = split, batch_size, seed
    self.position = (0, 0)
    self._iterator, self._at = None, None

  @property
  def batches_per_pass(self) -> int:
    return len(self.split) // self.batch_size

  def restore(self, position) -> None:
    self.position = tuple(int(p) for p in position)

  def __iter__(self):
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    epoch, index = self.position
    if index >= self.batches_per_pass:
      epoch, index = epoch + 1, 0
    if self._iterator is None or self._at != (epoch, index):
      self.close()
      self._iterator = self._open(epoch, index)
    batch = next(self._iterator)
    self.position = self._at = (epoch, index + 1)
    return batch

  def close(self) -> None:
    """Stops the reading threads and processes (a later ``next`` starts them again)."""
    if self._iterator is not None:
      _close(self._iterator, self.split.reading)
      self._iterator = None

  def _open(self, epoch: int, index: int) -> Iterator[dict]:
    """The stream of pass ``epoch`` from batch ``index`` on."""
    import grain

    batches = (grain.MapDataset.source(self.split)
               .shuffle(seed=epoch_seed(self.seed, epoch))
               .map_with_index(_Augmented(self.split.prepare, self.seed, epoch))
               .batch(self.batch_size, drop_remainder=True))
    return _iterate(batches[index:], self.split.reading)


def in_order(split: Split | StreamedSplit, batch_size: int) -> Iterator[tuple[np.ndarray,
                                                                               np.ndarray]]:
  """``(images, labels)`` batches of every example once, in order; the last may be short."""
  if isinstance(split, Split):
    for start in range(0, len(split), batch_size):
      yield split.images[start:start + batch_size], split.labels[start:start + batch_size]
    return
  import grain

  batches = grain.MapDataset.source(split).map(_Evaluated(split.prepare)).batch(batch_size)
  iterator = _iterate(batches, split.reading)
  try:
    for batch in iterator:
      yield batch["image"], batch["label"]
  finally:
    _close(iterator, split.reading)


def join(first: Split | StreamedSplit, second: Split | StreamedSplit) -> Split | StreamedSplit:
  """The examples of ``first`` then those of ``second``."""
  if isinstance(first, Split):
    if first.normalization != second.normalization:
      raise ValueError("only splits of one normalization can be joined")
    return Split(np.concatenate([first.images, second.images]),
                 np.concatenate([first.labels, second.labels]), first.normalization)
  if first.sources is not second.sources or first.prepare != second.prepare:
    raise ValueError("only splits of the same streamed dataset can be joined")
  return dataclasses.replace(first, which=np.concatenate([first.which, second.which]),
                             index=np.concatenate([first.index, second.index]))


def describe(dataset: StreamedDataset) -> dict:
  """Per split: size, image shape, label histogram where labels are known without reading images
  (never pixel statistics: that would read the images); and the source."""
  def split(s: StreamedSplit) -> dict:
    labels = s.labels
    return {"examples": len(s), "image_shape": list(s.image_shape), "dtype": "uint8",
            "streamed": True,
            "label_histogram": None if labels is None else
            np.bincount(labels, minlength=dataset.num_classes).tolist()}
  return {"name": dataset.name, "source": dataset.source, "num_classes": dataset.num_classes,
          "splits": {k: split(getattr(dataset, k)) for k in ("train", "val", "test")},
          "settings": dataset.settings}

