"""The MNIST classifier whose features and probabilities the GAN metrics use.

FID, KID and precision/recall on MNIST need a feature space in which digits
are compared; Inception Score and mode counting need class probabilities.
InceptionV3 is neither offline nor meaningful on 28x28 grey digits, so jaxgan
uses the classic Keras `mnist_cnn` network, trained once by
`python train_classifier.py` and committed as `data/mnist_classifier/
weights.msgpack`. Nothing here trains at run time: `load_classifier` reads the
committed file, and `mnist_reference_statistics` computes the real test set's
feature statistics once per weights file and caches them.

Weights are stored in float16 (the 9216 x 128 dense layer makes the float32
file 4.8 MB); computation is float32: `load_classifier` returns float32
parameters, and the committed file's accuracy is measured after that
rounding.
"""

import functools
import hashlib
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any

from flax import core as flax_core
from flax import serialization
from flax import struct
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan.data import bundled_mnist
from jaxgan import data
from jaxgan.nn import convolutions
from jaxgan.eval import metrics
from jaxgan.train import compilation

Array = jax.Array
Params = Any

# The committed weights, found relative to the package (as the bundled MNIST
# files are), so that they work from any working directory.
WEIGHTS_DIR = pathlib.Path(__file__).resolve().parents[2] / 'data' / 'mnist_classifier'
WEIGHTS_PATH = WEIGHTS_DIR / 'weights.msgpack'
TRAIN_COMMAND = 'python train_classifier.py'
# Stored in float16: half the file size, and measured to cost no accuracy.
STORAGE_DTYPE = np.float16
NUM_FEATURES = 128
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)


class MNISTClassifier(nn.Module):
  """The Keras `mnist_cnn` network, on images in [-1, 1].

  3x3 conv 32 ReLU, 3x3 conv 64 ReLU (both unpadded), 2x2 max-pool, dropout,
  flatten, dense 128 ReLU (the features), dropout, dense 10 (the logits).
  1,199,882 parameters with the default fields.

  Attributes:
    conv_features: output channels of the two convolutions.
    dense_features: width of the penultimate layer, i.e. the feature size.
    num_classes: number of logits.
    conv_dropout: dropout rate after the max-pool.
    dense_dropout: dropout rate after the penultimate layer.
    dtype: computation dtype; None infers it from inputs and params.
    param_dtype: dtype of the parameters.
    implementation: passed to `convolutions.Conv` ('auto' is fast on XLA:CPU).
  """

  conv_features: tuple[int, int] = (32, 64)
  dense_features: int = NUM_FEATURES
  num_classes: int = NUM_CLASSES
  conv_dropout: float = 0.25
  dense_dropout: float = 0.5
  dtype: Any = None
  param_dtype: Any = jnp.float32
  implementation: str = 'auto'

  @nn.compact
  def __call__(
    self, images: Array, *, train: bool, return_features: bool = False
  ) -> Array | tuple[Array, Array]:
    """Classifies digits.

    Args:
      images: (N, 28, 28, 1) in [-1, 1].
      train: whether dropout is active (needs a 'dropout' rng).
      return_features: also return the penultimate activations.

    Returns:
      Logits (N, num_classes); with `return_features`, the tuple
      `(logits, features)`, features (N, dense_features) after the ReLU.
    """
    conv = functools.partial(
      convolutions.Conv,
      kernel_size=3,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      implementation=self.implementation,
    )
    dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=self.param_dtype)
    x = nn.relu(conv(self.conv_features[0], name='conv1')(images))
    x = nn.relu(conv(self.conv_features[1], name='conv2')(x))
    x = _max_pool_2x2(x)
    x = nn.Dropout(self.conv_dropout, deterministic=not train)(x)
    x = x.reshape(x.shape[0], -1)
    features = nn.relu(dense(self.dense_features, name='dense1')(x))
    x = nn.Dropout(self.dense_dropout, deterministic=not train)(features)
    logits = dense(self.num_classes, name='logits')(x)
    return (logits, features) if return_features else logits

  def features(self, images: Array) -> Array:
    """The penultimate 128-d features, in inference mode (no dropout)."""
    return self(images, train=False, return_features=True)[1]


def _max_pool_2x2(x: Array) -> Array:
  """2x2 max-pool, stride 2, dropping an odd last row/column (Keras 'valid').

  Written as a reshape and a max rather than `nn.max_pool`: its gradient is
  then a plain elementwise select instead of XLA's select-and-scatter.
  """
  n, h, w, c = x.shape
  x = x[:, : h // 2 * 2, : w // 2 * 2]
  return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


# ---------------------------------------------------------------------------
# Training.


@struct.dataclass
class _TrainState:
  step: Array
  params: Params
  opt_state: optax.OptState


def train_classifier(
  *,
  data_dir: str | None,
  num_epochs: int,
  batch_size: int,
  learning_rate: float,
  seed: int,
  split: str = 'train',
  log: Callable[[str], None] | None = None,
) -> Params:
  """Trains `MNISTClassifier` with Adam on real MNIST (`bundled_mnist`).

  The learning rate decays from `learning_rate` to zero over the run
  (cosine), so `num_epochs` is part of the schedule, not only a stopping
  point.

  Args:
    data_dir: the TFDS data directory; None for TFDS's default.
    num_epochs: passes over `split` (the last partial batch of each is dropped).
    batch_size: examples per step.
    learning_rate: Adam's initial (peak) learning rate.
    seed: seeds the initialisation, the dropout masks and the batch order.
    split: the training split, e.g. `train[:2000]` for a quick check.
    log: called with a progress line after each epoch; None for silence.

  Returns:
    The float32 parameters.
  """
  batches = data.BatchIterator(
    data.DataSpec(data.BUNDLED_MNIST, data_dir=data_dir, split=split),
    global_batch_size=batch_size,
    seed=seed,
    with_labels=True,
  )
  model = MNISTClassifier()
  # Cosine decay to zero, so that a short run ends at a small step size
  # rather than in the noise of a constant one.
  schedule = optax.cosine_decay_schedule(
    learning_rate, decay_steps=max(num_epochs * batches.steps_per_epoch, 1)
  )
  optimizer = optax.adam(schedule)
  key = jax.random.key(seed)
  init_key, dropout_key = jax.random.split(key)
  params = model.init(init_key, jnp.zeros((1, *IMAGE_SHAPE)), train=False)['params']
  state = _TrainState(
    step=jnp.zeros((), jnp.int32), params=params, opt_state=optimizer.init(params)
  )

  def loss_fn(params, images, labels, step):
    # Folded inside the step: one device-side key per step, no host splitting.
    rngs = {'dropout': jax.random.fold_in(dropout_key, step)}
    logits = model.apply({'params': params}, images, train=True, rngs=rngs)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

  def train_step(state, images, labels):
    loss, grads = jax.value_and_grad(loss_fn)(state.params, images, labels, state.step)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    return _TrainState(
      step=state.step + 1, params=optax.apply_updates(state.params, updates), opt_state=opt_state
    ), loss

  train_step = compilation.jit(train_step, donate_argnums=compilation.donate_argnums(0))

  try:
    for epoch in range(num_epochs):
      start = time.perf_counter()
      losses = []
      for _ in range(batches.steps_per_epoch):
        batch = next(batches)
        state, loss = train_step(state, data.to_float(batch[data.IMAGE_KEY]), batch[data.LABEL_KEY])
        losses.append(loss)
      mean_loss = float(jnp.mean(jnp.stack(losses)))
      if not np.isfinite(mean_loss):
        raise FloatingPointError(f'Classifier loss became {mean_loss} in epoch {epoch + 1}.')
      if log is not None:
        log(
          f'epoch {epoch + 1}/{num_epochs}: loss {mean_loss:.4f}, '
          f'{time.perf_counter() - start:.1f} s'
        )
  finally:
    batches.close()
  return state.params


def _logits(params: Params, images: Array) -> Array:
  return MNISTClassifier().apply({'params': params}, images, train=False)


def _features_and_probabilities(params: Params, images: Array) -> tuple[Array, Array]:
  logits, features = MNISTClassifier().apply(
    {'params': params}, images, train=False, return_features=True
  )
  return features, jax.nn.softmax(logits)


@functools.cache
def _compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
  """`fn` jitted as jaxgan's train and sampling calls are (`compilation.jit`).

  So the metrics' features are computed without XLA:CPU's XNNPACK on jax
  0.7.2, which computes wrong values now and then with it. Made on first
  use, not at import: the options are read from the started backend.
  """
  return compilation.jit(fn)


def _batched(
  fn: Callable[..., Any], params: Params, images: np.ndarray, batch_size: int
) -> list[Any]:
  """Applies jitted `fn` in batches of exactly `batch_size`, returning host outputs.

  The last batch is zero-padded to full size so that one compilation serves
  every call with that batch size; the padding rows are cut off again.
  """
  if batch_size < 1:
    raise ValueError(f'batch_size must be positive, got {batch_size}.')
  images = np.asarray(images, dtype=np.float32)
  if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
    raise ValueError(f'images must have shape (N, 28, 28, 1), got {images.shape}.')
  batch_size = min(batch_size, max(len(images), 1))
  outputs = []
  for start in range(0, len(images), batch_size):
    chunk = images[start : start + batch_size]
    valid = len(chunk)
    if valid < batch_size:
      chunk = np.concatenate([chunk, np.zeros((batch_size - valid, *IMAGE_SHAPE), np.float32)])
    result = jax.device_get(fn(params, chunk))
    outputs.append(jax.tree.map(lambda x, valid=valid: x[:valid], result))
  return outputs


def evaluate_accuracy(
  params: Params, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000
) -> float:
  """Fraction of `images` whose arg-max logit is the label.

  Args:
    params: classifier parameters.
    images: (N, 28, 28, 1) in [-1, 1].
    labels: (N,) integer labels.
    batch_size: images per jitted call.

  Returns:
    The accuracy in [0, 1].
  """
  logits = _batched(_compiled(_logits), params, images, batch_size)
  predictions = np.concatenate(logits).argmax(axis=-1)
  return float(np.mean(predictions == np.asarray(labels)))


def classifier_outputs(
  params: Params, images: np.ndarray, *, batch_size: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
  """Features and class probabilities of images, for the metrics.

  FID, KID and precision/recall use the features; Inception Score and mode
  counting use the probabilities.

  Args:
    params: classifier parameters, e.g. from `load_classifier()`.
    images: (N, 28, 28, 1) in [-1, 1].
    batch_size: images per jitted call.

  Returns:
    `(features, probabilities)`: float32 NumPy arrays (N, 128) and (N, 10),
    each row of probabilities summing to 1.
  """
  outputs = _batched(_compiled(_features_and_probabilities), params, images, batch_size)
  if not outputs:
    return (np.zeros((0, NUM_FEATURES), np.float32), np.zeros((0, NUM_CLASSES), np.float32))
  features, probabilities = zip(*outputs)
  return np.concatenate(features), np.concatenate(probabilities)


# ---------------------------------------------------------------------------
# Committed weights.


def save_classifier(params: Params, path: str | os.PathLike = WEIGHTS_PATH) -> None:
  """Writes params as msgpack (`flax.serialization`), in `STORAGE_DTYPE`."""
  stored = jax.tree.map(lambda x: np.asarray(x, dtype=STORAGE_DTYPE), params)
  payload = serialization.msgpack_serialize(serialization.to_state_dict(stored))
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  temporary = path.with_name(path.name + f'.tmp-{os.getpid()}')
  temporary.write_bytes(payload)
  os.replace(temporary, path)  # Readers never see a half-written file.


def _missing_weights_error(path: pathlib.Path) -> FileNotFoundError:
  return FileNotFoundError(
    f'No MNIST classifier weights at {path}. They are committed with jaxgan; '
    f'recreate them with `{TRAIN_COMMAND}` from the repository root '
    '(11 to 17 minutes on 2 CPU cores).'
  )


def load_classifier(path: str | os.PathLike = WEIGHTS_PATH) -> Params:
  """Loads the committed classifier weights; never trains.

  Args:
    path: the msgpack file; the committed one by default.

  Returns:
    float32 parameters for `MNISTClassifier`.

  Raises:
    FileNotFoundError: if the file is missing, naming the command that
      creates it.
    ValueError: if the file does not hold this architecture's parameters.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise _missing_weights_error(path)
  return _load_cached(str(path.resolve()), file_sha256(path))


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, weights_hash: str) -> Params:
  del weights_hash  # Part of the cache key only: a rewritten file is read again.
  restored = serialization.msgpack_restore(pathlib.Path(path).read_bytes())
  template = jax.eval_shape(
    lambda: MNISTClassifier().init(jax.random.key(0), jnp.zeros((1, *IMAGE_SHAPE)), train=False)[
      'params'
    ]
  )
  restored_shapes = jax.tree.map(np.shape, restored)
  expected_shapes = jax.tree.map(lambda x: x.shape, flax_core.unfreeze(template))
  if restored_shapes != expected_shapes:
    raise ValueError(
      f'{path} does not hold MNISTClassifier parameters: '
      f'shapes {restored_shapes}, expected {expected_shapes}.'
    )
  return jax.tree.map(lambda x: jnp.asarray(x, dtype=jnp.float32), restored)


def file_sha256(path: str | os.PathLike) -> str:
  """Hex SHA-256 of a file: the identity of a weights file in caches and READMEs."""
  return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------------------
# Reference statistics of the real test set.


def mnist_reference_statistics(
  data_dir: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
  """Mean and covariance of the classifier features of the 10,000 MNIST test digits.

  The reference side of FID on MNIST. Computed once per weights file: cached
  in memory and on disk in the prepared `bundled_mnist` folder of `data_dir`,
  keyed on the weights file's SHA-256, so that new weights are never compared
  against stale statistics.

  Args:
    data_dir: the TFDS data directory; None for TFDS's default.

  Returns:
    `(mean, cov)`: float64 (128,) and (128, 128), read-only.

  Raises:
    FileNotFoundError: if the committed weights are missing.
  """
  if not WEIGHTS_PATH.is_file():
    raise _missing_weights_error(WEIGHTS_PATH)
  return _reference_statistics(file_sha256(WEIGHTS_PATH), data_dir)


@functools.lru_cache(maxsize=4)
def _reference_statistics(weights_hash: str, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
  # The builder's folder is known before it is prepared; a miss prepares it.
  folder = bundled_mnist.BundledMnist(data_dir=data_dir, file_format='array_record').data_dir
  cache_path = os.path.join(
    os.fspath(folder), f'jaxgan-classifier-statistics-{weights_hash[:16]}.npz'
  )
  mean = cov = None
  try:
    with np.load(cache_path) as cached:
      mean, cov = cached['mean'], cached['cov']
  except (OSError, ValueError, KeyError):
    pass
  if mean is None or mean.shape != (NUM_FEATURES,) or cov.shape != (NUM_FEATURES,) * 2:
    images, _ = data.load_split(data.BUNDLED_MNIST, split='test', data_dir=data_dir)
    features, _ = classifier_outputs(load_classifier(), images)
    mean, cov = metrics.gaussian_statistics(features)
    try:
      temporary = f'{cache_path}.tmp-{os.getpid()}.npz'
      np.savez(temporary, mean=mean, cov=cov)
      os.replace(temporary, cache_path)
    except OSError:
      pass  # A read-only data_dir: the in-memory cache still holds them.
  # Shared between callers through the cache: make accidental writes fail.
  mean.flags.writeable = False
  cov.flags.writeable = False
  return mean, cov
