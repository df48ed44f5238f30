"""Tests of what the command-line scripts share: a mistake is one line."""

import os
import subprocess
import sys

import pytest

from configs import gan as gan_config
from jaxgan.train import commands

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_field_the_config_lacks_is_found_and_the_nearest_named():
  config = gan_config.get_config()
  assert commands.unknown_field(config, ['num_steps', 'generator_optimizer.b1']) is None
  assert commands.unknown_field(config, ['num_steps', 'num_step']) == 'num_step'
  assert commands.unknown_field(config, ['data.sauce']) == 'data.sauce'
  assert commands.unknown_field(config, ['seed.x']) == 'seed.x'  # seed has no fields.
  message = commands.unknown_field_message(config, 'configs/gan.py', 'generator_optimizer.lerning_rate')
  assert message.startswith('--config.generator_optimizer.lerning_rate: configs/gan.py has no')
  assert 'Did you mean --config.generator_optimizer.learning_rate' in message
  assert 'Did you' not in commands.unknown_field_message(config, 'configs/gan.py', 'zzzzzz')


def test_a_user_error_is_one_line_and_exit_status_1(capsys):
  with pytest.raises(SystemExit) as exit_:
    with commands.one_line_errors():
      raise ValueError('config.seed = -1 must be 0 or more.')
  assert exit_.value.code == 1
  assert capsys.readouterr().err == 'ValueError: config.seed = -1 must be 0 or more.\n'
  with pytest.raises(KeyError):  # A bug keeps its traceback.
    with commands.one_line_errors():
      raise KeyError('a bug')


def test_train_py_answers_a_mistyped_field_with_one_line(tmp_path):
  completed = subprocess.run(
    [
      sys.executable,
      'train.py',
      '--config=configs/gan.py',
      f'--workdir={tmp_path / "run"}',
      '--config.num_step=5',
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert completed.returncode == 1
  assert completed.stderr.strip().splitlines() == [
    '--config.num_step: configs/gan.py has no such field. Did you mean --config.num_steps or '
    '--config.num_samples?'
  ]
  assert not os.path.exists(tmp_path / 'run')
