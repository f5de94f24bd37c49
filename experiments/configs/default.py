"""The default search: first-order DARTS on the embedded digits dataset, a few minutes on 2 CPU cores."""

import ml_collections


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  """``arg`` may be 'quick' for a smoke-test-sized run."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.num_seeds = 1  # S > 1: seeds seed..seed+S-1 searched at once in one compiled program
  c.tensorboard = True  # also write metrics.jsonl's records as TensorBoard events in <workdir>/tb
  c.distributed = False  # True: one process per host, jax.distributed.initialize() (README)
  # Activations in bfloat16 or float32; weights, optimizer states, BatchNorm statistics, the loss and
  # the gradients stay float32. Float32 matmuls at "highest" precision (no TF32 on GPUs) unless set.
  c.compute_dtype = "float32"
  c.matmul_precision = "highest"
  # Convolutions: auto is the CPU kernels on CPU and lax.conv_general_dilated (cuDNN, TPU) elsewhere;
  # cpu or lax forces one form on every backend (darts_jax/ops/kernels).
  c.conv_implementation = "auto"
  c.space = "darts_cnn"
  c.ops = ()  # empty: the space's standard op set
  c.ops_module = ""  # modules (comma-separated) that register custom ops, imported first
  # pool_batchnorm: a non-affine BN after each pool candidate, as quark0/darts model_search.py.
  # recompute: what the backward pass recomputes, none | ops | cell; auto is ops on CPU (RAM bounds
  # the batch), none on accelerators.
  c.network = ml_collections.ConfigDict({"channels": 8, "layers": 3, "pool_batchnorm": True,
                                         "recompute": "auto"})
  c.data = dataset("digits")
  c.batch_size = 64
  c.epochs = 10
  c.architect = "first_order"
  # The DARTS-family method (darts_jax/methods) and its options over the method's defaults; the
  # genotype is parsed from the method's mixing weights (DARTS: softmax(alphas)).
  c.method = "darts"
  c.method_options = ml_collections.ConfigDict()
  # Collapse diagnostics per epoch: the validation loss's dominant Hessian eigenvalue in the alphas
  # (power iterations; 0 turns it off), skip connections, mixing entropy. DARTS-ES (Zela et al.,
  # 2020) stops when the mean eigenvalue of the last `window` epochs exceeds `ratio` times the mean
  # of the window before (their window 5, ratio 1/0.75); ratio 0 turns it off.
  c.diagnostics = ml_collections.ConfigDict({"hessian_iterations": 10})
  c.early_stop = ml_collections.ConfigDict({"ratio": 0.0, "window": 5})
  # alphas_first: quark0/darts train_search.py; weights_first: NAS-Bench-201's DARTS runs (xautodl).
  c.step_order = "alphas_first"
  # Weight SGD and alpha Adam: quark0/darts train_search.py defaults (lr 0.025 cosine to 0.001,
  # momentum 0.9, weight decay 3e-4, grad clip 5; Adam 3e-4, betas (0.5, 0.999), decay 1e-3).
  c.weights = ml_collections.ConfigDict(
      {"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "nesterov": False, "weight_decay": 3e-4,
       "clip_norm": 5.0})
  # alphas.clip_norm: the alpha gradients' global-norm clip; 0, none, as quark0/darts' architect.
  c.alphas = ml_collections.ConfigDict(
      {"lr": 3e-4, "b1": 0.5, "b2": 0.999, "weight_decay": 1e-3, "clip_norm": 0.0})
  # Differentiable cost term in the alpha loss (darts_jax.cost.objective); weight 0 adds nothing.
  # source: macs | params | latency_lut (file `lut`) | nb201_latency (table column `device`);
  # form: linear | absolute | hinge (the last two relative to `target`, in the source's units).
  c.cost = ml_collections.ConfigDict(
      {"weight": 0.0, "source": "macs", "form": "linear", "target": 0.0, "image_size": 32,
       "lut": "", "device": "", "tables_dir": ""})
  if arg == "quick":
    c.network.channels, c.network.layers, c.epochs, c.batch_size = 4, 3, 2, 32
  return c


def dataset(name: str, *, crop_padding: int = 0, flip: bool = False, cutout: int = 0,
            **overrides) -> ml_collections.ConfigDict:
  """The data section for a dataset read from TFDS or local files (``--config.data.data_dir``):
  DARTS' halved training split for search, no proxy knobs unless ``overrides`` set them. The
  embedded ``digits`` have one native split instead: a seeded ``test_fraction`` is held out and
  the rest halved."""
  digits = name == "digits"
  d = ml_collections.ConfigDict({
      "name": name, "data_dir": "", "download": False,
      "splits": {} if digits else {"train": "train[:50%]", "val": "train[50%:]", "test": "test"},
      "subset_fraction": 1.0, "subset_size": 0, "resolution": 0,
      "augment": {"crop_padding": crop_padding, "flip": flip, "cutout": cutout},
      "prefetch": 0 if digits else 2})
  if digits:
    d.test_fraction = 0.2
  d.update(overrides)
  return d
