"""Retraining on the embedded digits: the reference recipe's shape at a laptop's size.

The paper recipes derive from this one: ``retrain_cifar10.py``, ``retrain_imagenet.py``.
"""

import ml_collections

from experiments.configs import default


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' for a smoke-test-sized run."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.tensorboard = True  # also write metrics.jsonl's records as TensorBoard events in <workdir>/tb
  c.distributed = False  # True: one process per host, jax.distributed.initialize() (README)
  # Activations in bfloat16 or float32; weights, optimizer states, BatchNorm statistics, the loss and
  # the gradients stay float32. Float32 matmuls at "highest" precision (no TF32 on GPUs) unless set.
  c.compute_dtype = "float32"
  c.matmul_precision = "highest"
  # Convolutions: auto is the CPU kernels on CPU and lax.conv_general_dilated (cuDNN, TPU) elsewhere;
  # cpu or lax forces one form on every backend (darts_jax/ops/kernels).
  c.conv_implementation = "auto"
  c.genotype = "DARTS_V2"  # a published name, a genotype.json path, or a genotype literal
  c.ops = ()  # empty: the space's standard op set plus the genotype's own ops
  c.ops_module = ""  # modules (comma-separated) that register custom ops, imported first
  c.network = ml_collections.ConfigDict({"setting": "cifar", "channels": 8, "layers": 5})
  c.data = default.dataset("digits")
  c.select_on_val = False  # True: train on the train split only and select an epoch on val
  c.batch_size = 64
  c.eval_batch_size = 256
  c.epochs = 8
  c.schedule = "cosine"
  c.lr, c.min_lr, c.lr_gamma = 0.025, 0.0, 0.97
  c.momentum, c.weight_decay, c.clip_norm = 0.9, 3e-4, 5.0
  c.label_smoothing = 0.0
  c.auxiliary_weight = 0.0  # digits' 8x8 images are too small for the auxiliary head
  c.drop_path = 0.2
  if arg == "quick":
    c.network.channels, c.network.layers, c.epochs, c.batch_size = 4, 3, 2, 32
  return c
