"""Tests for benchmarks/mode_collapse_2d.py's --steps."""

import pytest

from benchmarks import mode_collapse_2d
from benchmarks.configs import gan_2d
from jaxgan.train import experiment


def test_steps_move_the_end_events_and_keep_checkpoints_along_a_long_run():
  config = gan_2d.get_config()
  assert config.eval_every == config.sample_every == config.num_steps == 2_000
  mode_collapse_2d.set_num_steps(config, 400_000)
  assert config.num_steps == config.eval_every == config.sample_every == 400_000
  # Before, --steps put the only checkpoint at the end: a stopped
  # 400,000-step run started over.
  assert config.checkpoint_every == 10_000
  assert config.steps_per_call == 500
  experiment.check_loop_config(config, device_count=1, process_count=1)


def test_steps_keep_an_evaluation_interval_set_on_the_command_line():
  config = gan_2d.get_config()
  config.eval_every = config.sample_every = 20_000
  mode_collapse_2d.set_num_steps(config, 400_000)
  assert config.eval_every == config.sample_every == 20_000


@pytest.mark.parametrize('num_steps', [300, 1_250, 2_000])
def test_steps_that_calls_do_not_divide_shrink_the_calls(num_steps):
  config = gan_2d.get_config()
  mode_collapse_2d.set_num_steps(config, num_steps)
  assert num_steps % config.steps_per_call == 0
  experiment.check_loop_config(config, device_count=1, process_count=1)
