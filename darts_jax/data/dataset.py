"""Value types of the data module: raw source arrays, NHWC pixel splits with their normalization,
datasets, errors."""

from __future__ import annotations

import dataclasses

import numpy as np


class DatasetUnavailableError(FileNotFoundError):
  """The requested dataset cannot be found or read locally."""


class CorruptDataError(ValueError):
  """A dataset file exists but is truncated or malformed; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Normalization:
  """Pixels to network inputs: ``(pixels / scale - mean) / std`` per channel, in float32. Works on
  numpy and on JAX arrays (the training loops apply it on the device); the default is the
  identity, for splits whose images are already network inputs."""

  scale: float = 1.0  # the pixel value that maps to 1.0 (255 for 8-bit images)
  mean: tuple[float, ...] = (0.0,)
  std: tuple[float, ...] = (1.0,)

  def __call__(self, pixels):
    if self.is_identity:
      return pixels.astype(np.float32)
    mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
    return (pixels.astype(np.float32) / np.float32(self.scale) - mean) / std

  @property
  def is_identity(self) -> bool:
    return self.scale == 1 and not any(self.mean) and all(s == 1 for s in self.std)


@dataclasses.dataclass(frozen=True)
class Split:
  """Images as the host keeps them (uint8 pixels for every in-memory dataset) and labels; the
  network sees ``normalization(images)``."""

  images: np.ndarray  # [N, H, W, C] pixels
  labels: np.ndarray  # [N] int32
  normalization: Normalization = Normalization()

  def __len__(self) -> int:
    return len(self.labels)

  def normalized(self, rows=slice(None)) -> np.ndarray:
    """Network inputs (float32) of ``images[rows]``, on the host."""
    return self.normalization(self.images[rows])


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
