"""Soak test: a run interrupted at random, again and again, loses nothing.

  python benchmarks/soak.py --interruptions 30 [--seed 0] [--workdir /tmp/jaxgan_soak]

Trains `configs/gan.py` for `--steps` steps once without interruption (the
reference), then again in another workdir, interrupted `--interruptions`
times: each time `train.py` is started (resuming), left to train for a
random time, and sent SIGKILL, SIGTERM or SIGINT at random, as often
during a checkpoint save as the timing allows. After each interruption the
script records what was on disk; at the end of each run it compares the
final state and data positions with the reference's, bit for bit. A run
that reaches its last step before all interruptions are spent starts
again in a fresh workdir, against the same reference.

For each interruption it checks:
- a SIGTERM or SIGINT exits with status 0 and its checkpoint holds the step
  the message names (the stop saved what it said it saved);
- a SIGKILL loses only the steps since the last complete checkpoint, and
  the next start resumes from that checkpoint;
- no checkpoint is ever set aside as damaged (orbax commits a step by
  renaming it into place, so a kill mid-save leaves only a temporary folder).

Prints one line per interruption and a summary; the figures in
benchmarks/results/soak.md come from it.
"""

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import jax
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from jaxgan.train import saved_runs  # pylint: disable=wrong-import-position

_SIGNALS = (
  (signal.SIGKILL, 0.5),
  (signal.SIGTERM, 0.25),
  (signal.SIGINT, 0.25),
)
_STEP_LINE = re.compile(r'step (\d+)/\d+')
_STOPPED = re.compile(r'Stopped by (\w+) at step (\d+); the checkpoint is saved')


def train_command(workdir: str, steps: int) -> list[str]:
  return [
    sys.executable,
    'train.py',
    '--config=configs/gan.py',
    f'--workdir={workdir}',
    f'--config.num_steps={steps}',
    '--config.checkpoint_every=20',
    '--config.log_every=10',
    f'--config.sample_every={steps}',
    '--config.eval_every=0',
  ]


def environment(cache: str) -> dict[str, str]:
  # A shared compilation cache: each start costs seconds, not a recompile.
  return dict(
    os.environ,
    JAX_PLATFORMS='cpu',
    JAX_COMPILATION_CACHE_DIR=cache,
    JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0',
  )


def checkpoint_steps(workdir: str) -> list[int]:
  directory = os.path.join(workdir, 'checkpoints')
  if not os.path.isdir(directory):
    return []
  return sorted(int(name) for name in os.listdir(directory) if name.isdigit())


def saving_now(workdir: str) -> bool:
  """Whether orbax has a checkpoint in flight (its temporary folder exists)."""
  directory = os.path.join(workdir, 'checkpoints')
  return os.path.isdir(directory) and any('tmp' in name for name in os.listdir(directory))


class Output:
  """Reads a process's output on a thread, keeping the last step it logged."""

  def __init__(self, process: subprocess.Popen):
    self.lines: list[str] = []
    self.last_step = None
    self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
    self._thread.start()

  def _read(self, process):
    for line in process.stdout:
      self.lines.append(line)
      found = _STEP_LINE.search(line)
      if found:
        self.last_step = int(found.group(1))

  def text(self) -> str:
    self._thread.join(timeout=60)
    return ''.join(self.lines)


def final_state(workdir: str):
  run = saved_runs.load_run(workdir)
  state = jax.device_get(run.state.replace(key=jax.random.key_data(run.state.key)))
  with open(os.path.join(run.checkpoint, 'data', 'metadata')) as f:
    return state, f.read()


def identical(a, b) -> bool:
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  return len(leaves_a) == len(leaves_b) and all(
    np.array_equal(x, y) for x, y in zip(leaves_a, leaves_b)
  )


def interrupt_once(workdir: str, steps: int, env: dict, rng: random.Random) -> dict:
  """Starts the run, interrupts it at random once it trains, and reports what happened."""
  before = checkpoint_steps(workdir)
  process = subprocess.Popen(
    train_command(workdir, steps),
    cwd=ROOT,
    env=env,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
  )
  output = Output(process)
  while output.last_step is None and process.poll() is None:
    time.sleep(0.02)
  if process.poll() is not None:
    return {'finished': True, 'output': output.text(), 'returncode': process.returncode}
  time.sleep(rng.uniform(0.0, 2.0))
  signum = rng.choices([s for s, _ in _SIGNALS], [w for _, w in _SIGNALS])[0]
  during_save = saving_now(workdir)
  reached = output.last_step
  process.send_signal(signum)
  process.wait(timeout=600)
  text = output.text()
  after = checkpoint_steps(workdir)
  stopped = _STOPPED.search(text)
  return {
    'finished': 'Trained steps' in text and stopped is None,
    'signal': signal.Signals(signum).name,
    'returncode': process.returncode,
    'during_save': during_save,
    'resumed_from': before[-1] if before else 0,
    'resumed_as_said': not before or f'Resuming from the checkpoint at step {before[-1]}' in text,
    'logged_step': reached,
    'latest_checkpoint': after[-1] if after else 0,
    'stopped_at': int(stopped.group(2)) if stopped else None,
    'set_aside': os.path.exists(os.path.join(workdir, 'checkpoints_corrupt')),
    'output': text,
  }


def check(trial: dict) -> list[str]:
  """What went wrong in an interruption, as lines (none when all held)."""
  problems = []
  if not trial['resumed_as_said']:
    problems.append(f'did not resume from step {trial["resumed_from"]}')
  if trial['set_aside']:
    problems.append('a checkpoint was set aside as damaged')
  if trial['signal'] == 'SIGKILL':
    if trial['returncode'] != -signal.SIGKILL:
      problems.append(f'exit status {trial["returncode"]} after SIGKILL')
  elif trial['returncode'] != 0 or trial['stopped_at'] is None:
    problems.append(f'{trial["signal"]}: exit status {trial["returncode"]}, no stop message')
  elif trial['latest_checkpoint'] != trial['stopped_at']:
    problems.append(
      f'said it saved step {trial["stopped_at"]}, latest on disk is {trial["latest_checkpoint"]}'
    )
  return problems


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--interruptions', type=int, default=30)
  parser.add_argument('--steps', type=int, default=2000, help='Steps of each run.')
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--workdir', default='/tmp/jaxgan_soak')
  args = parser.parse_args()
  rng = random.Random(args.seed)
  shutil.rmtree(args.workdir, ignore_errors=True)
  env = environment(os.path.join(args.workdir, 'jax_cache'))

  reference = os.path.join(args.workdir, 'reference')
  started = time.monotonic()
  completed = subprocess.run(
    train_command(reference, args.steps), cwd=ROOT, env=env, capture_output=True, text=True
  )
  if completed.returncode:
    sys.exit(f'The reference run failed:\n{completed.stderr[-3000:]}')
  reference_state, reference_data = final_state(reference)
  print(f'reference: {args.steps} steps in {time.monotonic() - started:.0f} s')

  trials, runs, problems = [], [], []
  run_index = 0
  while len(trials) < args.interruptions:
    workdir = os.path.join(args.workdir, f'interrupted_{run_index}')
    trial = interrupt_once(workdir, args.steps, env, rng)
    if not trial['finished']:
      trials.append(trial)
      trial_problems = check(trial)
      problems += trial_problems
      lost = (trial['logged_step'] or 0) - trial['latest_checkpoint']
      print(
        f'{len(trials):3d} {trial["signal"]:8s} after step {trial["logged_step"]:5d}'
        f'{" (saving)" if trial["during_save"] else "         "} '
        f'latest checkpoint {trial["latest_checkpoint"]:5d} '
        f'steps lost {max(lost, 0):3d}  {"; ".join(trial_problems) or "ok"}',
        flush=True,
      )
    if trial['finished'] or len(trials) == args.interruptions:
      # Finish this run without interruption and compare it with the reference.
      finish = subprocess.run(
        train_command(workdir, args.steps), cwd=ROOT, env=env, capture_output=True, text=True
      )
      if finish.returncode:
        problems.append(f'{workdir}: the last start failed: {finish.stderr[-500:]}')
        break
      state, data_state = final_state(workdir)
      same = identical(state, reference_state) and data_state == reference_data
      runs.append((workdir, same))
      print(f'run {run_index}: final state {"identical to" if same else "DIFFERS from"} the reference')
      if not same:
        problems.append(f'{workdir}: the final state differs from the reference')
      run_index += 1

  by_signal = {}
  for trial in trials:
    by_signal[trial['signal']] = by_signal.get(trial['signal'], 0) + 1
  kills = [t for t in trials if t['signal'] == 'SIGKILL']
  lost = [max((t['logged_step'] or 0) - t['latest_checkpoint'], 0) for t in kills]
  print()
  print(f'interruptions: {len(trials)} ({", ".join(f"{k} {v}" for k, v in sorted(by_signal.items()))})')
  print(f'during a save: {sum(t["during_save"] for t in trials)}')
  print(f'resumed from the latest checkpoint: {sum(t["resumed_as_said"] for t in trials)}')
  print(
    f'stops that said they saved and had: '
    f'{sum(t["stopped_at"] == t["latest_checkpoint"] for t in trials if t["signal"] != "SIGKILL")}'
    f' of {len(trials) - len(kills)}'
  )
  if lost:
    print(f'steps lost to SIGKILL (logged step - latest checkpoint): max {max(lost)}, mean {np.mean(lost):.1f}')
  print(f'runs finished identical to the reference: {sum(same for _, same in runs)} of {len(runs)}')
  print(f'total time: {time.monotonic() - started:.0f} s')
  if problems:
    print('PROBLEMS:\n' + '\n'.join(problems))
    sys.exit(1)


if __name__ == '__main__':
  main()
