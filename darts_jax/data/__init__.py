"""Datasets for search and retraining: NHWC float images and integer labels as numpy arrays.

The embedded default is scikit-learn's bundled digits (1,797 real 8x8 grey images, no download).
"""

from __future__ import annotations

import dataclasses

import numpy as np


class DatasetUnavailableError(FileNotFoundError):
  """The requested dataset cannot be found or read locally."""


@dataclasses.dataclass(frozen=True)
class Split:
  images: np.ndarray  # [N, H, W, C] float32, normalized
  labels: np.ndarray  # [N] int32

  def __len__(self) -> int:
    return len(self.labels)


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Search uses ``train`` for weights and ``val`` for alphas; ``test`` is never used for selection."""

  name: str
  train: Split
  val: Split
  test: Split
  num_classes: int
  source: str

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return tuple(self.train.images.shape[1:])


def _digits(seed: int, test_fraction: float) -> Dataset:
  from sklearn import datasets as sk_datasets  # imported lazily: only this source needs it

  digits = sk_datasets.load_digits()
  images = (digits.images.astype(np.float32) / 16.0)[..., None]
  labels = digits.target.astype(np.int32)
  order = np.random.default_rng(seed).permutation(len(labels))
  n_test = int(round(test_fraction * len(labels)))
  test, search = order[:n_test], order[n_test:]
  train, val = search[: len(search) // 2], search[len(search) // 2:]
  mean, std = images[search].mean(), images[search].std()  # statistics of the search data only
  split = lambda idx: Split((images[idx] - mean) / std, labels[idx])
  return Dataset("digits", split(train), split(val), split(test), 10,
                 source="scikit-learn bundled digits (embedded)")


def load(name: str = "digits", *, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
  """Loads a dataset by name. Splits are deterministic for a given seed."""
  if name == "digits":
    return _digits(seed, test_fraction)
  raise DatasetUnavailableError(
      f"dataset {name!r} is not available: this version reads only the embedded 'digits' dataset. "
      "Use --config.data.name=digits, or add a local source for it in darts_jax/data.")


class Batches:
  """A persistent, seeded iterator over one split: a fresh permutation each pass, drop-remainder.

  ``position`` (pass, index) is plain data so that checkpoints can restore the exact stream.
  """

  def __init__(self, split: Split, batch_size: int, seed: int):
    if batch_size > len(split):
      raise ValueError(f"batch size {batch_size} exceeds the split's {len(split)} examples")
    self.split, self.batch_size, self.seed = split, batch_size, seed
    self.position = (0, 0)
    self._order = self._permutation(0)

  @property
  def batches_per_pass(self) -> int:
    return len(self.split) // self.batch_size

  def _permutation(self, epoch: int) -> np.ndarray:
    return np.random.default_rng([self.seed, epoch]).permutation(len(self.split))

  def restore(self, position) -> None:
    self.position = tuple(int(p) for p in position)
    self._order = self._permutation(self.position[0])

  def __iter__(self):
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    epoch, index = self.position
    if index >= self.batches_per_pass:
      epoch, index = epoch + 1, 0
      self._order = self._permutation(epoch)
    chosen = self._order[index * self.batch_size:(index + 1) * self.batch_size]
    self.position = (epoch, index + 1)
    return {"image": self.split.images[chosen], "label": self.split.labels[chosen]}
