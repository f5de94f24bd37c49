"""The input's last mile: host batches of pixels onto the devices, normalized and augmented there.

The host keeps uint8 pixels (a quarter of float32's bytes to move); a ``Feed`` places a batch
(rows split over the mesh's devices, or any ``place``) and runs one jitted program that
normalizes it and, during training, augments each image with its own key (``Batches`` with
``keys=True`` draws them from the seed and the batch's position, so the augmentation is
reproducible, restored with the stream, and the same whatever the device count).

The training loops call a feed right after their step, so the transfer and the augmentation of
the next batch are queued while the step runs (JAX dispatches asynchronously).
"""

from __future__ import annotations

from typing import Callable

import jax

from darts_jax.data.augment import Augment
from darts_jax.data.dataset import Normalization


class Feed:
  """``feed(host_batch) -> device_batch``: ``{"image": float32 network inputs, "label", ...}``
  without the keys."""

  def __init__(self, normalization: Normalization, augment: Augment | None = None, *,
               place: Callable | None = None):
    self.normalization, self.augment = normalization, augment
    self.place = place or jax.device_put

  def __call__(self, batch: dict) -> dict:
    if self.augment is not None and "key" not in batch:
      raise ValueError("an augmenting feed needs batches with per-image keys (Batches(keys=True))")
    return _prepare(self.place(batch), normalization=self.normalization, augment=self.augment)


def prepare(batch: dict, *, normalization: Normalization, augment: Augment | None) -> dict:
  """Normalizes (and with ``augment`` augments) ``batch["image"]`` of any leading batch shape
  (``[B, H, W, C]``, or ``[S, B, H, W, C]`` for several seeds); drops ``batch["key"]``."""
  batch = dict(batch)
  images, keys = batch.pop("image"), batch.pop("key", None)
  if augment is None:
    batch["image"] = normalization(images)
    return batch
  lead, shape = images.shape[:-3], images.shape[-3:]
  keys = jax.random.wrap_key_data(keys.reshape(-1, 2), impl="threefry2x32")
  out = jax.vmap(lambda image, key: augment(image, key, normalization))(
      images.reshape((-1,) + shape), keys)
  batch["image"] = out.reshape(lead + shape)
  return batch


# One compiled program per (normalization, augmentation, batch shape), shared by every feed.
_prepare = jax.jit(prepare, static_argnames=("normalization", "augment"))
