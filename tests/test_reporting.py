"""Tests of what a run reports: log lines off a terminal, TensorBoard events."""

import glob
import logging
import os
import struct
import subprocess
import sys

import numpy as np
from tensorboardX.proto import event_pb2

from jaxgan.train import reporting


def read_events(path):
  """Events from a TFRecord file: length (8 bytes), its CRC (4), data, CRC (4)."""
  with open(path, 'rb') as f:
    records = f.read()
  position = 0
  while position < len(records):
    (length,) = struct.unpack('<Q', records[position : position + 8])
    position += 12
    yield event_pb2.Event.FromString(records[position : position + length])
    position += length + 4


def read_scalars(workdir):
  (path,) = glob.glob(f'{workdir}/tensorboard/events.out.tfevents.*')
  scalars = {}
  for event in read_events(path):
    for value in event.summary.value:
      if value.HasField('simple_value'):
        scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
  return scalars


def test_scalars_reach_tensorboard_and_the_log(tmp_path, caplog):
  reporter = reporting.Reporter(
    str(tmp_path / 'tensorboard'),
    first_step=0,
    num_steps=20,
    shown=('discriminator_loss', 'generator_loss'),
  )
  with caplog.at_level(logging.INFO):
    reporter.scalars(10, {'generator_loss': 1.5, 'discriminator_loss': 0.5, 'other': 2.0})
    reporter.evaluation(20, {'fid': 12.0})
  reporter.image(20, 'samples', np.zeros((4, 4, 1), np.uint8))
  reporter.close()
  # pytest's stderr is not a terminal: plain lines, no progress bar, with
  # the metrics the family shows (all of them go to TensorBoard).
  assert 'step 10/20: discriminator_loss=0.5, generator_loss=1.5, steps_per_second=' in caplog.text
  assert 'other' not in caplog.text
  assert 'step 20: fid=12' in caplog.text
  scalars = read_scalars(tmp_path)
  assert scalars['generator_loss'] == [(10, 1.5)]
  assert scalars['other'] == [(10, 2.0)]
  assert scalars['eval/fid'] == [(20, 12.0)]
  assert scalars['steps_per_second'][0][1] > 0


def test_a_disabled_reporter_writes_nothing(tmp_path):
  reporter = reporting.Reporter(
    str(tmp_path / 'tensorboard'), first_step=0, num_steps=20, enabled=False
  )
  reporter.scalars(10, {'generator_loss': 1.5})
  reporter.close()
  assert not (tmp_path / 'tensorboard').exists()


def test_tensorboardx_comes_without_torch_and_torch_still_imports_after(tmp_path):
  # A stand-in torch on the path, so that the test needs no real torch and
  # fails whether or not one is installed: unguarded, tensorboardX imports it.
  (tmp_path / 'torch').mkdir()
  (tmp_path / 'torch' / '__init__.py').write_text('Tensor = object\n')
  script = (
    'import sys\n'
    'from jaxgan.train import reporting\n'
    'assert reporting.tensorboardX.SummaryWriter\n'
    "print('torch' in sys.modules)\n"
    'import torch\n'
    'print(torch.__file__)\n'
  )
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), root]))
  completed = subprocess.run(
    [sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=120
  )
  assert completed.returncode == 0, completed.stderr[-2000:]
  imported_with_tensorboardx, torch_file = completed.stdout.split()
  assert imported_with_tensorboardx == 'False'
  assert torch_file == str(tmp_path / 'torch' / '__init__.py')
