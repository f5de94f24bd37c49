"""The DARTS CIFAR augmentation, run on the device one image at a time under ``vmap``, with an
explicit key per image: a random crop after zero padding and a random horizontal flip on the
pixels (torchvision's ``RandomCrop(padding=p)`` pads black), then normalization, then cutout on
the normalized image (DARTS applies ``Cutout`` after ``Normalize``, so the square is the mean).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

NO_FLIP = ("digits", "mnist", "svhn_cropped")  # mirrored digits are different (or no) digits


@dataclasses.dataclass(frozen=True)
class Augment:
  """``crop_padding`` pixels of zero padding before a random crop back to size, a random horizontal
  ``flip``, and a ``cutout`` square of that side (0 turns each off)."""

  crop_padding: int = 0
  flip: bool = False
  cutout: int = 0

  def __call__(self, image: jax.Array, key: jax.Array,
               normalize: Callable[[jax.Array], jax.Array]) -> jax.Array:
    """One HWC image (pixels) and its key -> the augmented, ``normalize``d image."""
    crop_key, flip_key, cutout_key = jax.random.split(key, 3)
    if self.crop_padding:
      image = random_crop(image, self.crop_padding, crop_key)
    if self.flip:
      image = random_flip(image, flip_key)
    image = normalize(image)
    if self.cutout:
      image = cutout(image, self.cutout, cutout_key)
    return image


def random_crop(image: jax.Array, padding: int, key: jax.Array) -> jax.Array:
  """Pads H and W by ``padding`` zeros on each side and crops back to size at an offset drawn
  uniformly from the (2 ``padding`` + 1)² possible ones."""
  h, w, c = image.shape
  padded = jnp.pad(image, ((padding, padding), (padding, padding), (0, 0)))
  top, left = jax.random.randint(key, (2,), 0, 2 * padding + 1)
  return lax.dynamic_slice(padded, (top, left, 0), (h, w, c))


def random_flip(image: jax.Array, key: jax.Array) -> jax.Array:
  """The left-right mirror of ``image`` with probability 1/2, else ``image``."""
  return jnp.where(jax.random.bernoulli(key), image[:, ::-1], image)


def cutout(image: jax.Array, length: int, key: jax.Array) -> jax.Array:
  """Zeroes rows and columns [centre - length // 2, centre + length // 2) around a uniformly drawn
  centre pixel, clipped at the borders (DeVries & Taylor, 2017, as DARTS applies it)."""
  h, w, _ = image.shape
  cy, cx = jax.random.randint(key, (2,), 0, jnp.array([h, w]))
  rows, cols = jnp.arange(h)[:, None], jnp.arange(w)[None, :]
  inside = ((rows >= cy - length // 2) & (rows < cy + length // 2) &
            (cols >= cx - length // 2) & (cols < cx + length // 2))
  return jnp.where(inside[..., None], jnp.zeros((), image.dtype), image)


def for_dataset(name: str, *, crop_padding: int = 4, flip: bool | None = None,
                cutout: int = 0) -> Augment:
  """The DARTS recipe for ``name``; flip defaults to off for digit datasets."""
  return Augment(crop_padding, name not in NO_FLIP if flip is None else flip, cutout)
