"""Host-side, seeded batch augmentation as in DARTS: random crop after zero padding, horizontal
flip, cutout. Applied to normalized images, so padding and cutout fill with the dataset mean (0)."""

from __future__ import annotations

import dataclasses

import numpy as np

NO_FLIP = ("digits", "mnist", "svhn_cropped")  # mirrored digits are different (or no) digits


@dataclasses.dataclass(frozen=True)
class Augment:
  """``crop_padding`` pixels of zero padding before a random crop back to size, a random horizontal
  ``flip``, and a ``cutout`` square of that side (0 turns each off)."""

  crop_padding: int = 0
  flip: bool = False
  cutout: int = 0

  def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if self.crop_padding:
      images = random_crop(images, self.crop_padding, rng)
    if self.flip:
      images = random_flip(images, rng)
    if self.cutout:
      images = cutout(images, self.cutout, rng)
    return images


def random_crop(images: np.ndarray, padding: int, rng: np.random.Generator) -> np.ndarray:
  """Pads H and W by ``padding`` zeros on each side and crops each image back at a random offset."""
  n, h, w, _ = images.shape
  padded = np.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  top, left = rng.integers(0, 2 * padding + 1, (2, n))
  return np.stack([image[t:t + h, l:l + w] for image, t, l in zip(padded, top, left)])


def random_flip(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """Mirrors each image left-right with probability 1/2."""
  flip = rng.random(len(images)) < 0.5
  out = images.copy()
  out[flip] = images[flip, :, ::-1]
  return out


def cutout(images: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
  """Zeroes a ``length``-sided square around a uniformly drawn centre, clipped at the borders
  (DeVries & Taylor, 2017, as DARTS applies it)."""
  n, h, w, _ = images.shape
  cy, cx = rng.integers(0, h, n), rng.integers(0, w, n)
  out = images.copy()
  for image, y, x in zip(out, cy, cx):
    image[max(y - length // 2, 0):y + length // 2, max(x - length // 2, 0):x + length // 2] = 0
  return out


def for_dataset(name: str, *, crop_padding: int = 4, flip: bool | None = None,
                cutout: int = 0) -> Augment:
  """The DARTS recipe for ``name``; flip defaults to off for digit datasets."""
  return Augment(crop_padding, name not in NO_FLIP if flip is None else flip, cutout)
