"""Two processes train as one: 2 processes x 2 CPU devices against 1 process x 4.

Each process of a two-process run is tests/multihost_worker.py (train.py after
`jax.distributed.initialize`, collectives through gloo), on localhost, with a
shared workdir; the reference is train.py itself in one process with four
CPU devices. Both train configs/gan.py, shrunk, on the bundled MNIST.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
from PIL import Image

from jaxgan.train import saved_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, 'tests', 'multihost_worker.py')
# Seconds one run may take; each takes 20 to 40 s on 2 idle cores, mostly
# compiling.
TIMEOUT = 300
# Steps of the runs compared.
NUM_STEPS = 6
# Steps of the run that a signal stops, long before it would end.
STOPPED_RUN_STEPS = 1000
# The two runs sum gradients in other orders (gloo across processes, XLA
# within one), so they agree up to rounding, which Adam magnifies: it divides
# each gradient entry by that entry's running RMS, so an entry whose gradient
# is near zero steps by up to the learning rate (2e-4) in a direction set by
# rounding. Entries of other arrays stay within a tenth of that over a few
# steps (below 1e-5 at step 6, as between one device and four in one
# process), while a run that read other data differs by about the learning
# rate itself.
TOLERANCE = 2e-5
# The biases of the generator's dense layers 1-3 feed BatchNorm, which
# subtracts them again: their gradient is zero but for rounding, so Adam
# moves them (and the running means that follow them) by rounding alone, by
# up to ~1e-4 in a few steps, between one device and four as well.
ROUNDING_DRIVEN_TOLERANCE = 1e-3
ROUNDING_DRIVEN = (
  "generator_params['dense_1']['bias']",
  "generator_params['dense_2']['bias']",
  "generator_params['dense_3']['bias']",
  "generator_batch_stats['batch_norm_1']['mean']",
  "generator_batch_stats['batch_norm_2']['mean']",
  "generator_batch_stats['batch_norm_3']['mean']",
)


def train_flags(workdir, data_dir, num_steps):
  return [
    '--config=configs/gan.py',
    f'--workdir={workdir}',
    f'--config.data.data_dir={data_dir}',
    f'--config.num_steps={num_steps}',
    '--config.batch_size=16',
    '--config.steps_per_call=1',
    '--config.log_every=2',
    '--config.sample_every=2',
    # Only at the end, or on a stop: the stopped run's one checkpoint is the
    # one that its stop saved.
    '--config.checkpoint_every=1000',
    '--config.num_samples=4',
    '--config.eval_every=0',
  ]


def free_port():
  with socket.socket() as probe:
    probe.bind(('localhost', 0))
    return probe.getsockname()[1]


def environment(device_count):
  # Compiling is most of these short runs' time: the workers keep the
  # suite's faster compiling settings (tests/conftest.py).
  return dict(
    os.environ,
    JAX_PLATFORMS='cpu',
    XLA_FLAGS=f'{os.environ.get("XLA_FLAGS", "")} '
    f'--xla_force_host_platform_device_count={device_count}',
  )


def worker_commands(workdir, data_dir, num_steps):
  """The commands of the two processes of a run, with a coordinator of their own."""
  coordinator = f'localhost:{free_port()}'
  return [
    [
      sys.executable,
      WORKER,
      f'--coordinator={coordinator}',
      '--num_processes=2',
      f'--process_id={process_id}',
      *train_flags(workdir, data_dir, num_steps),
    ]
    for process_id in range(2)
  ]


@contextlib.contextmanager
def running(log_dir, commands, device_count):
  """Starts the commands, output to log_dir/<i>.log; kills any still running at the end."""
  log_dir.mkdir()
  started = []
  try:
    for i, command in enumerate(commands):
      with open(log_dir / f'{i}.log', 'w') as log:
        started.append(
          subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment(device_count),
            stdout=log,
            stderr=subprocess.STDOUT,
          )
        )
    yield started
  finally:
    for process in started:
      if process.poll() is None:
        process.kill()
        process.wait()


def logs(log_dir):
  return [(log_dir / f'{i}.log').read_text() for i in range(len(os.listdir(log_dir)))]


def wait_for(processes, log_dir, until=lambda: False):
  """Waits until every process has exited, or `until()`; fails as soon as one fails.

  A process that fails leaves the other waiting in a collective (until JAX's
  heartbeat timeout), so there is no point in waiting for it.
  """
  deadline = time.monotonic() + TIMEOUT
  while not until():
    codes = [process.poll() for process in processes]
    if any(code not in (None, 0) for code in codes):
      raise AssertionError(f'A process failed ({codes}):\n' + '\n'.join(logs(log_dir)))
    if all(code == 0 for code in codes):
      return
    if time.monotonic() > deadline:
      raise AssertionError(f'No end within {TIMEOUT} s:\n' + '\n'.join(logs(log_dir)))
    time.sleep(0.05)


def checkpoint_steps(workdir):
  return sorted(int(name) for name in os.listdir(workdir / 'checkpoints') if name.isdigit())


def host_state(workdir):
  """The latest checkpoint's state, restored onto one device, as named numpy arrays."""
  run = saved_runs.load_run(str(workdir))
  state = jax.tree.map(
    lambda x: jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x,
    run.state,
  )
  leaves = jax.tree_util.tree_flatten_with_path(jax.device_get(state))[0]
  return run.step, {jax.tree_util.keystr(path)[1:]: np.asarray(x) for path, x in leaves}


@pytest.mark.slow
def test_two_processes_stop_together_resume_and_match_one_process(tmp_path, data_dir):
  two = tmp_path / 'two_processes'
  one = tmp_path / 'one_process'
  # The reference, beside the rest: one process with four devices, straight
  # to NUM_STEPS.
  reference_logs = tmp_path / 'reference_logs'
  with running(
    reference_logs, [[sys.executable, 'train.py', *train_flags(one, data_dir, NUM_STEPS)]], 4
  ) as reference:
    # 1. Two processes on a long run, stopped by SIGTERM to process 1 alone
    # once step 2 is logged.
    stop_logs = tmp_path / 'stop_logs'
    commands = worker_commands(two, data_dir, STOPPED_RUN_STEPS)
    with running(stop_logs, commands, 2) as processes:
      logged = f'step 2/{STOPPED_RUN_STEPS}'
      wait_for(processes, stop_logs, until=lambda: logged in logs(stop_logs)[0])
      processes[1].send_signal(signal.SIGTERM)
      wait_for(processes, stop_logs)
    # Both saved the step they agreed on, and process 0, which got no
    # signal, says why it stopped.
    [stopped_at] = checkpoint_steps(two)
    assert 2 <= stopped_at < NUM_STEPS, 'the stop came too late to test a resume'
    assert f'Stopped by SIGTERM at step {stopped_at}' in logs(stop_logs)[0], logs(stop_logs)[0]

    # 2. Both processes again, to NUM_STEPS.
    resume_logs = tmp_path / 'resume_logs'
    with running(resume_logs, worker_commands(two, data_dir, NUM_STEPS), 2) as processes:
      wait_for(processes, resume_logs)
    for log in logs(resume_logs):
      assert f'Resuming from the checkpoint at step {stopped_at}' in log, log
    assert checkpoint_steps(two) == [stopped_at, NUM_STEPS]
    # Each process wrote its own part of the arrays (orbax's OCDBT layout).
    saved = two / 'checkpoints' / str(NUM_STEPS) / 'state'
    assert (saved / 'ocdbt.process_0').is_dir() and (saved / 'ocdbt.process_1').is_dir()

    wait_for(reference, reference_logs)

  two_step, two_state = host_state(two)
  one_step, one_state = host_state(one)
  assert two_step == one_step == NUM_STEPS
  assert two_state.keys() == one_state.keys()
  for name, one_value in one_state.items():
    difference = np.max(np.abs(two_state[name].astype(np.float64) - one_value), initial=0)
    bound = ROUNDING_DRIVEN_TOLERANCE if name in ROUNDING_DRIVEN else TOLERANCE
    assert difference < bound, (name, difference, bound)

  # The data streams stand at the same global batch.
  positions = [
    json.loads((run / 'checkpoints' / str(NUM_STEPS) / 'data' / 'metadata').read_text())
    for run in (two, one)
  ]
  assert positions[0] == positions[1] and positions[0]['real']['next_batch'] == NUM_STEPS

  # The last sample grids, drawn on both processes, show the same digits.
  grids = [
    np.asarray(Image.open(run / 'samples' / f'step_{NUM_STEPS:07d}.png'), np.int32)
    for run in (two, one)
  ]
  assert np.max(np.abs(grids[0] - grids[1])) <= 1
