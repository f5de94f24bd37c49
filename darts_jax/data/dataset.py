"""Value types of the data module: raw source arrays, normalized NHWC splits, datasets, errors."""

from __future__ import annotations

import dataclasses

import numpy as np


class DatasetUnavailableError(FileNotFoundError):
  """The requested dataset cannot be found or read locally."""


class CorruptDataError(ValueError):
  """A dataset file exists but is truncated or malformed; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Split:
  images: np.ndarray  # [N, H, W, C] float32, normalized
  labels: np.ndarray  # [N] int32

  def __len__(self) -> int:
    return len(self.labels)


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Search uses ``train`` for weights and ``val`` for alphas; ``test`` is never used for selection.

  ``settings`` records how the splits were made (split strings, proxy knobs, normalization).
  """

  name: str
  train: Split
  val: Split
  test: Split
  num_classes: int
  source: str
  settings: dict = dataclasses.field(default_factory=dict)

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return tuple(self.train.images.shape[1:])


@dataclasses.dataclass(frozen=True)
class RawDataset:
  """What a source reads: its native splits as ``(uint8-valued images [N, H, W, C], labels)``."""

  splits: dict
  num_classes: int
  source: str
  max_value: float = 255.0  # pixel value that maps to 1.0
