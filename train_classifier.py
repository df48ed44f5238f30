"""Trains the MNIST classifier that jaxgan's MNIST metrics use, and writes its weights.

  python train_classifier.py [--data_dir=~/tensorflow_datasets] [--num_epochs=6]

Takes 11 to 17 minutes on 2 CPU cores with
`XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=-individual_convolution`
(110 to 170 s an epoch, depending on what else the cores run; about 1.5 times
longer without the flag, see shared/notes/xla-cpu-convolutions.md); expect 99.0-99.2%
test accuracy. Writes `data/mnist_classifier/weights.msgpack` (float16 msgpack,
read by `jaxgan.eval.classifier.load_classifier`) and a README.md beside it that
records this run. Reference statistics cached for older weights are keyed on
the weights' hash, so they are recomputed by themselves.
"""

import datetime
import os
import shlex
import sys
import time

from absl import app
from absl import flags
import jax

from jaxgan.eval import classifier
from jaxgan.train import reporting
from jaxgan import data

_DATA_DIR = flags.DEFINE_string(
  'data_dir', None, "TFDS data directory for 'bundled_mnist'; default TFDS's own."
)
_NUM_EPOCHS = flags.DEFINE_integer('num_epochs', 6, 'Passes over the 60,000 training digits.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 128, 'Examples per Adam step.')
_LEARNING_RATE = flags.DEFINE_float(
  'learning_rate', 1e-3, 'Initial Adam learning rate, decayed to 0 (cosine).'
)
_SPLIT = flags.DEFINE_string(
  'split', 'train', "Training split; e.g. 'train[:2000]' for a quick check of this script."
)
_SEED = flags.DEFINE_integer(
  'seed', 1, 'Initialisation, dropout and batch-order seed (1 made the committed weights).'
)

_README = """\
# MNIST classifier weights

`weights.msgpack`: parameters of `jaxgan.eval.classifier.MNISTClassifier` (the
Keras `mnist_cnn` network, {num_params:,} parameters), float16, written with
`flax.serialization.msgpack_serialize`; load with
`jaxgan.eval.classifier.load_classifier()`. Its 128-d penultimate features feed
FID/KID/precision-recall on MNIST, its probabilities Inception Score and mode
counting.

Created by `train_classifier.py`:

| | |
| --- | --- |
| command | `{command}` |
| date | {date} |
| epochs | {epochs} over split `{split}` |
| optimiser | batch {batch_size}, Adam {learning_rate:g} with cosine decay to 0, seed {seed} |
| wall time | {minutes:.1f} min training on {cpus} |
| test accuracy | {accuracy:.2%} on the 10,000 test digits, float16 weights as stored |
| sha256 | `{sha256}` |
"""


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  reporting.quiet_library_logs()
  start = time.perf_counter()
  params = classifier.train_classifier(
    data_dir=_DATA_DIR.value,
    num_epochs=_NUM_EPOCHS.value,
    batch_size=_BATCH_SIZE.value,
    learning_rate=_LEARNING_RATE.value,
    seed=_SEED.value,
    split=_SPLIT.value,
    log=lambda line: print(line, flush=True),
  )
  minutes = (time.perf_counter() - start) / 60
  classifier.save_classifier(params, classifier.WEIGHTS_PATH)
  # Measured on what was stored, i.e. after rounding to float16.
  stored = classifier.load_classifier(classifier.WEIGHTS_PATH)
  images, labels = data.load_split(data.BUNDLED_MNIST, split='test', data_dir=_DATA_DIR.value)
  accuracy = classifier.evaluate_accuracy(stored, images, labels)
  float32_accuracy = classifier.evaluate_accuracy(params, images, labels)
  print(
    f'test accuracy {accuracy:.4f} (float16 weights), {float32_accuracy:.4f} (float32); '
    f'{minutes:.1f} min',
    flush=True,
  )

  xla_flags = os.environ.get('XLA_FLAGS')
  command = ' '.join(shlex.quote(a) for a in ['python', 'train_classifier.py', *sys.argv[1:]])
  if xla_flags:
    command = f'XLA_FLAGS={shlex.quote(xla_flags)} {command}'
  readme = _README.format(
    num_params=sum(x.size for x in jax.tree.leaves(params)),
    command=command,
    date=datetime.date.today().isoformat(),
    epochs=_NUM_EPOCHS.value,
    split=_SPLIT.value,
    batch_size=_BATCH_SIZE.value,
    learning_rate=_LEARNING_RATE.value,
    seed=_SEED.value,
    minutes=minutes,
    cpus=f'{os.cpu_count()} CPU cores',
    accuracy=accuracy,
    sha256=classifier.file_sha256(classifier.WEIGHTS_PATH),
  )
  (classifier.WEIGHTS_DIR / 'README.md').write_text(readme)
  print(f'wrote {classifier.WEIGHTS_PATH} and README.md', flush=True)


if __name__ == '__main__':
  app.run(main)
