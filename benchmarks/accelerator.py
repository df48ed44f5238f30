"""What issues 11 and 14 measure on a GPU or TPU, in one prepared run.

  python benchmarks/accelerator.py --out=$OUT           # on a lent GPU or TPU
  python benchmarks/accelerator.py --quick --out=/tmp/acc   # its smoke run on a CPU

Five parts, each written to `<out>/accelerator.md` as soon as it is done
(a run cut short keeps what it measured), and printed:

1. Speed: every row (a config as speed.py takes it, `name[:recipe][:field=value...]`)
   in float32 and in bfloat16, built and compiled as train.py builds it
   (`speed.Timed`, in a process of its own), timed in interleaved rounds
   (A B C A B C, so drift hits all alike): compile seconds, median step,
   steps/s, images/s; the step's FLOPs by XLA's cost analysis of one step,
   the FLOP/s that makes, and its fraction of the chip's peak
   (`PEAK_FLOPS`: bfloat16 rows against the bf16 peak, float32 rows against
   the TF32 peak, which XLA's default precision uses for float32 matrix
   products on these GPUs); the process's peak device memory. Where torch
   imports, the classic rows also get PyTorch eager and `torch.compile`
   rows (speed.py's reference, on the GPU when CUDA is there).
2. StyleGAN2 at 64 and 128 px with NVlabs' network sizes, as seconds per
   thousand images beside NVlabs' published 6.79 s/kimg at 128x128 on one
   A100 (stylegan3's docs/configs.md).
3. The largest batch that fits, per config: the batch doubled from the
   config's until the device runs out of memory, each try in a process of
   its own (an allocator that ran out is not reused).
4. PacGAN's 2-D GAN step (benchmarks/mode_collapse_2d.py) as one run
   and as 10, 20 and 40 runs `vmap`ped into one program (`--together`),
   in run-steps per second, and what PacGAN's length would take at that rate.
5. The loop on the device: a short `train.py` run of the default DCGAN
   (samples, checkpoints and evaluation on) under `jax.profiler`, and the
   fraction of the traced span during which the device ran kernels, with
   its longest gaps: whether the host keeps the device fed.

On a lent machine (15 minutes of device time, at most 10 per command),
in two commands:

  python benchmarks/accelerator.py --out=$OUT --parts=speed,toy2d,trace
  python benchmarks/accelerator.py --out=$OUT --parts=stylegan,batch

`--quick` shrinks every part to a smoke run (small networks, few steps) to
check on a CPU that the script works end to end; its figures mean nothing.
"""

import argparse
import collections
import datetime
import importlib.util
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

import jax  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import speed  # noqa: E402
from jaxgan.train import steps  # noqa: E402

# Dense peak FLOP/s by device kind (a substring of `device.device_kind`),
# from the vendors' data sheets (no sparsity): (bfloat16, float32 matrix
# products as XLA runs them by default: TF32 on NVIDIA since Ampere).
PEAK_FLOPS = {
  'H200': (989e12, 494e12),
  'H100': (989e12, 494e12),
  'A100': (312e12, 156e12),
  'L4': (121e12, 60e12),
  'TPU v5 lite': (197e12, 197e12),
  'TPU v5e': (197e12, 197e12),
  'TPU v4': (275e12, 275e12),
}
# NVlabs' StyleGAN2 at 128x128 on one A100: seconds per 1,000 images
# (stylegan3 repository, docs/configs.md).
NVLABS_STYLEGAN2_128_SECONDS_PER_KIMG = 6.79

# The speed rows: the issues' sizes. The DCGAN's goal is 3x PyTorch eager
# and 1.5x torch.compile at 64x64, batch 128; StyleGAN at NVlabs' sizes.
DCGAN_64 = 'dcgan:paper:resolution=64:data.resize=64:data.channels=3:batch_size=128'
NVLABS_SIZES = 'fmap_base=16384:fmap_max=512:z_dim=512:w_dim=512:batch_size=32'
BOTH_DTYPES = ('float32', 'bfloat16')


def in_both_dtypes(*specs: str) -> tuple[str, ...]:
  return tuple(f'{spec}:dtype={dtype}' for spec in specs for dtype in BOTH_DTYPES)


# CycleGAN has no bfloat16 option: float32 only.
SPEED_ROWS = in_both_dtypes('dcgan', DCGAN_64, 'stylegan2') + ('cyclegan_mnist',)
STYLEGAN_ROWS = in_both_dtypes(
  *(f'stylegan2:resolution={r}:data.resize={r}:data.channels=3:{NVLABS_SIZES}' for r in (64, 128))
)
BATCH_SEARCH_ROWS = (f'{DCGAN_64}:dtype=bfloat16', STYLEGAN_ROWS[1])
# --quick: the same parts at sizes a CPU runs in seconds.
QUICK_SPEED_ROWS = in_both_dtypes('gan', 'dcgan')
QUICK_STYLEGAN_ROWS = in_both_dtypes('stylegan2:resolution=64:data.resize=64:data.channels=3')
QUICK_BATCH_SEARCH_ROWS = ('gan:dtype=bfloat16',)


def peak_flops(dtype: str) -> float | None:
  kind = jax.devices()[0].device_kind
  for name, (bf16, f32) in PEAK_FLOPS.items():
    if name in kind:
      return bf16 if dtype == 'bfloat16' else f32
  return None


def _peak_memory() -> int | None:
  stats = jax.local_devices()[0].memory_stats()
  return None if not stats else stats.get('peak_bytes_in_use')


class _Measured(speed.Timed):
  """speed.Timed, plus the FLOPs of one step and the process's peak memory."""

  def __init__(self, spec: str, data_dir: str | None):
    super().__init__(spec, data_dir)
    one_step = steps.global_batches(
      self.mesh,
      speed.random_batch(self.experiment, np.random.default_rng(0), 1),
      jax.process_count(),
    )
    cost = self.call.lower(self.state, one_step).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    self.flops = float(cost.get('flops', 0.0)) if cost else 0.0


def _serve(spec: str, data_dir: str | None, connection) -> None:
  """A row's process: builds and compiles its step, then times blocks when asked."""
  try:
    entry = _Measured(spec, data_dir)
  except Exception:  # pylint: disable=broad-except
    connection.send(('error', traceback.format_exc(limit=3)))
    return
  connection.send((entry.label, entry.config.batch_size, entry.compile_seconds, entry.flops))
  failed = None
  while (count := connection.recv()) is not None:
    if failed is None:
      try:
        entry.run(count)
      except Exception as error:  # pylint: disable=broad-except
        # E.g. out of memory at run time: the other rows go on.
        failed = str(error).splitlines()[0][:300]
    connection.send(failed or entry.step_seconds[-1])
  connection.send(_peak_memory())


class _Row(speed.Row):
  """speed.Row whose process also reports FLOPs per step and peak memory."""

  def __init__(self, spec: str, data_dir: str | None):  # pylint: disable=super-init-not-called
    self.kind, self.spec = 'jax', spec
    context = multiprocessing.get_context('spawn')
    self._connection, child = context.Pipe()
    self._process = context.Process(target=_serve, args=(spec, data_dir, child), daemon=True)
    self._process.start()
    first = self._connection.recv()
    if first[0] == 'error':
      self._process.join()
      raise RuntimeError(f'{spec}: {first[1]}')
    self.label, self.batch_size, self.compile_seconds, self.flops = first
    self.step_seconds = []
    self.peak_memory = None
    self.failed = None

  def run(self, count: int) -> None:
    self._connection.send(count)
    answer = self._connection.recv()
    if isinstance(answer, str):
      self.failed = answer
    else:
      self.step_seconds.append(answer)

  def close(self) -> None:
    self._connection.send(None)
    self.peak_memory = self._connection.recv()
    self._process.join()


def _gib(count: int | None) -> str:
  return '—' if count is None else f'{count / 2**30:.2f}'


def time_rows(specs, *, rounds: int, steps_per_round: int, data_dir, torch_modes=()):
  """Interleaved rounds of every spec (and its PyTorch rows); a Markdown table."""
  rows, failed = [], []
  for spec in specs:
    try:
      rows.append(_Row(spec, data_dir))
    except RuntimeError as error:
      failed.append(str(error).strip().splitlines()[-1])
      continue
    # The PyTorch reference is of the classic family; compared in float32.
    classic_float32 = spec.startswith(('gan:', 'dcgan:')) and 'dtype=float32' in spec
    for mode in torch_modes if classic_float32 else ():
      try:
        rows.append(speed.Row('torch', spec, data_dir, mode))
      except Exception as error:  # pylint: disable=broad-except
        failed.append(f'{spec} PyTorch {mode}: {error}')
  for _ in range(rounds):
    for row in rows:
      row.run(steps_per_round)
  for row in rows:
    row.close()
  lines = [
    '| row | batch | compile (s) | step (ms, median) | steps/s | images/s | GFLOP per step '
    "| TFLOP/s | of peak | peak memory (GiB) | step time / jaxgan's |",
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for row in rows:
    if getattr(row, 'failed', None) or not row.step_seconds:
      failed.append(f'{row.label}: {getattr(row, "failed", None) or "no step timed"}')
      continue
    step = statistics.median(row.step_seconds)
    own = next(r for r in rows if r.kind == 'jax' and r.spec == row.spec)
    ratio = (
      f'{step / statistics.median(own.step_seconds):.2f}'
      if own.step_seconds and not own.failed
      else '—'
    )
    if row.kind == 'jax':
      flops = row.flops
      dtype = 'bfloat16' if 'dtype=bfloat16' in row.spec else 'float32'
      peak = peak_flops(dtype)
      rate = flops / step
      of_peak = f'{100 * rate / peak:.1f}%' if peak else '—'
      cells = f'{flops / 1e9:.2f} | {rate / 1e12:.3f} | {of_peak} | {_gib(row.peak_memory)}'
    else:
      cells = '— | — | — | —'
    lines.append(
      f'| {row.label} | {row.batch_size} | {row.compile_seconds:.1f} | {1e3 * step:.2f} '
      f'| {1 / step:.2f} | {row.batch_size / step:.0f} | {cells} | {ratio} |'
    )
  lines += [f'- failed: {f}' for f in failed]
  return '\n'.join(lines), rows


def _fits(spec: str, data_dir: str | None, connection) -> None:
  """A batch try's process: builds the step and runs two calls; says whether it fit."""
  try:
    entry = speed.Timed(spec, data_dir)
    entry.run(2 * entry.steps_per_call)
    connection.send(('fits', None))
  except Exception as error:  # pylint: disable=broad-except
    text = str(error)
    out_of_memory = 'RESOURCE_EXHAUSTED' in text or 'out of memory' in text.lower()
    connection.send(('oom' if out_of_memory else 'error', text.splitlines()[0][:300]))


def largest_batch(spec: str, *, data_dir, start: int, limit: int, seconds: float) -> str:
  """The largest power-of-2 multiple of `start` that trains, up to `limit`, in `seconds`."""
  context = multiprocessing.get_context('spawn')
  batch, largest, why = start, None, f'reached the search limit {limit}'
  deadline = time.monotonic() + seconds
  while batch <= limit:
    if time.monotonic() > deadline:
      why = f'out of search time at batch {batch}'
      break
    parent, child = context.Pipe()
    process = context.Process(
      target=_fits, args=(f'{spec}:batch_size={batch}', data_dir, child), daemon=True
    )
    process.start()
    verdict, detail = (
      parent.recv()
      if parent.poll(max(1.0, deadline - time.monotonic()))
      else (
        'timeout',
        None,
      )
    )
    process.kill() if verdict == 'timeout' else process.join()
    if verdict != 'fits':
      why = {'oom': f'batch {batch} ran out of memory', 'timeout': f'batch {batch} timed out'}.get(
        verdict, f'batch {batch} failed: {detail}'
      )
      break
    largest, batch = batch, 2 * batch
  return f'| `{spec}` | {largest or "none"} | {why} |'


def device_busy(trace_dir: str) -> str:
  """The fraction of a trace's span the device ran kernels, and the longest gaps."""
  paths = [
    os.path.join(d, f)
    for d, _, files in os.walk(trace_dir)
    for f in files
    if f.endswith('.xplane.pb')
  ]
  if not paths:
    return 'No trace was written.'
  profile = jax.profiler.ProfileData.from_file(paths[0])
  intervals, seen = [], collections.Counter()
  for plane in profile.planes:
    if not plane.name.startswith('/device:'):
      continue
    for line in plane.lines:
      seen[f'{plane.name} / {line.name}'] += 1
      # GPU kernels lie on their streams' lines; TPU ops on 'XLA Ops'.
      if 'Stream' not in line.name and line.name != 'XLA Ops':
        continue
      for event in line.events:
        intervals.append((event.start_ns, event.start_ns + event.duration_ns))
  if not intervals:
    return 'No kernels in the trace (a CPU has no device plane). Planes and lines seen: ' + (
      ', '.join(seen) or 'none'
    )
  intervals.sort()
  busy, gaps, end = 0.0, [], intervals[0][0]
  for start, stop in intervals:
    if start > end:
      gaps.append((start - end, end))
    if stop > end:
      busy += stop - max(start, end)
      end = stop
  span = end - intervals[0][0]
  longest = sorted(gaps, reverse=True)[:8]
  return (
    f'Device busy {100 * busy / span:.1f}% of the {span / 1e9:.2f} s between its first and '
    f'last kernel ({len(intervals)} kernels); the longest gaps (ms, at s from the first '
    'kernel): '
    + ', '.join(f'{g / 1e6:.2f} at {(at - intervals[0][0]) / 1e9:.2f}' for g, at in longest)
  )


def traced_loop(workdir: str, *, quick: bool) -> str:
  """The default DCGAN run through the loop, traced; the device's busy fraction."""
  from jaxgan.train import loop  # pylint: disable=g-import-not-at-top
  from configs import dcgan  # pylint: disable=g-import-not-at-top

  config = dcgan.get_config()
  config.num_steps = 200 if quick else 2000
  config.log_every = 10 if quick else 100
  config.sample_every = config.checkpoint_every = 100 if quick else 1000
  config.eval_every = 200 if quick else 2000
  config.eval_samples = 1000 if quick else 5000
  trace_dir = os.path.join(workdir, 'trace')
  start = time.monotonic()
  with jax.profiler.trace(trace_dir):
    loop.train_and_evaluate(config, os.path.join(workdir, 'run'))
  seconds = time.monotonic() - start
  return (
    f'`configs/dcgan.py` for {config.num_steps} steps ({config.steps_per_call} per call; log '
    f'every {config.log_every}, samples and checkpoints every {config.sample_every}, one '
    f'evaluation of {config.eval_samples} samples at the end), traced: {seconds:.1f} s in all, '
    f'compilation included. ' + device_busy(trace_dir)
  )


def toy2d_speed(runs_counts: list[int], steps_per_call: int) -> str:
  """PacGAN's 2-D GAN step, one run alone and many runs vmapped as one program."""
  from benchmarks import seeds_together  # pylint: disable=g-import-not-at-top
  from benchmarks.configs import gan_2d  # pylint: disable=g-import-not-at-top
  from jaxgan.train import experiment as experiment_lib  # pylint: disable=g-import-not-at-top

  config = gan_2d.get_config()
  experiment = experiment_lib.prepare(config)
  mesh, per_call = experiment.mesh, steps_per_call
  rng = np.random.default_rng(0)
  lines = ['| runs in the program | steps/s | run-steps/s |', '| ---: | ---: | ---: |']
  best = 0.0
  for runs in runs_counts:
    call = steps.make_train_call(experiment.model, mesh, experiment.state_partition, stacked=True)
    state = seeds_together.stack([experiment.init(seed) for seed in range(runs)])
    points = rng.normal(size=(runs, per_call, 1, config.batch_size, 2)).astype(np.float32)
    batches = steps.global_batches(mesh, {'real': {'point': points}}, 1, stacked=True)
    state, metrics = call(state, batches)
    jax.block_until_ready(metrics)
    times = []
    for _ in range(3):
      start = time.perf_counter()
      state, metrics = call(state, batches)
      jax.block_until_ready(metrics)
      times.append(time.perf_counter() - start)
    rate = per_call / statistics.median(times)
    best = max(best, rate * runs)
    lines.append(f'| {runs} | {rate:.1f} | {rate * runs:.0f} |')
  # PacGAN's Table 1 rows: 10 seeds x 2 datasets x 400,000 steps each, for
  # the GAN and PacGAN2/3/4 (batches of 100, 200, 300 and 400 points).
  run_steps = 20 * 400_000
  return (
    '\n'.join(lines)
    + f"\n\nAt the best rate, the GAN row at PacGAN's length (20 runs of 400,000 steps) "
    f'takes {run_steps / best / 60:.0f} minutes; the PacGAN2/3/4 rows, whose batches are 2 to '
    '4 times larger, at least as long each.'
  )


class Report:
  """The Markdown report, rewritten whole after each part."""

  def __init__(self, path: str, header: list[str]):
    self.path, self.parts = path, ['\n'.join(header)]

  def add(self, title: str, body: str) -> None:
    self.parts.append(f'## {title}\n\n{body}')
    text = '\n\n'.join(self.parts) + '\n'
    with open(self.path, 'w') as f:
      f.write(text)
    print(f'## {title}\n\n{body}\n', flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--out', required=True, help='Folder for accelerator.md and the trace.')
  parser.add_argument('--quick', action='store_true', help='Smoke-run sizes, for a CPU.')
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--steps', type=int, default=200, help='Steps per row per round.')
  parser.add_argument('--data_dir', default=None)
  parser.add_argument(
    '--parts',
    default='speed,stylegan,batch,toy2d,trace',
    help='Which parts, comma-separated.',
  )
  parser.add_argument('--batch_search_seconds', type=float, default=120.0)
  parser.add_argument(
    '--toy2d_runs', default='1,10,20,40', help='Runs per program in the toy2d part.'
  )
  parser.add_argument(
    '--toy2d_steps', type=int, default=500, help='Steps per call in the toy2d part.'
  )
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  parts = set(args.parts.split(','))
  device = jax.devices()[0]
  has_torch = importlib.util.find_spec('torch') is not None
  report = Report(
    os.path.join(args.out, 'accelerator.md'),
    [
      '# jaxgan on an accelerator',
      '',
      f'- Command: `python {" ".join(sys.argv)}`',
      f'- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC',
      f'- Device: {jax.device_count()} x {device.device_kind} ({device.platform}); jax '
      f'{jax.__version__}; PyTorch rows: {"yes" if has_torch else "no (torch not installed)"}',
      f'- Peak FLOP/s used (bf16, f32): {peak_flops("bfloat16")}, {peak_flops("float32")}',
    ],
  )
  rounds, per_round = (2, 4) if args.quick else (args.rounds, args.steps)
  if 'speed' in parts:
    specs = QUICK_SPEED_ROWS if args.quick else SPEED_ROWS
    torch_modes = ('eager', 'compile') if has_torch and not args.quick else ()
    table, _ = time_rows(
      specs,
      rounds=rounds,
      steps_per_round=per_round,
      data_dir=args.data_dir,
      torch_modes=torch_modes,
    )
    report.add('Speed, float32 and bfloat16', table)
  if 'stylegan' in parts:
    specs = QUICK_STYLEGAN_ROWS if args.quick else STYLEGAN_ROWS
    table, rows = time_rows(
      specs, rounds=rounds, steps_per_round=max(1, per_round // 5), data_dir=args.data_dir
    )
    kimg = [
      f'- {row.label}: {1000 * statistics.median(row.step_seconds) / row.batch_size:.2f} s/kimg'
      for row in rows
      if row.step_seconds and not row.failed
    ]
    report.add(
      'StyleGAN2 at 64 and 128 px',
      table
      + '\n\n'
      + '\n'.join(kimg)
      + f'\n- NVlabs, StyleGAN2 at 128x128 on one A100: {NVLABS_STYLEGAN2_128_SECONDS_PER_KIMG} '
      's/kimg',
    )
  if 'batch' in parts:
    specs = QUICK_BATCH_SEARCH_ROWS if args.quick else BATCH_SEARCH_ROWS
    lines = [
      '| row | largest batch that trains | where the search stopped |',
      '| --- | ---: | --- |',
    ]
    for spec in specs:
      start = speed.load_config(spec, args.data_dir).batch_size
      lines.append(
        largest_batch(
          spec,
          data_dir=args.data_dir,
          start=start,
          limit=4 * start if args.quick else 2**16,
          seconds=60 if args.quick else args.batch_search_seconds,
        )
      )
    report.add('Largest batch', '\n'.join(lines))
  if 'toy2d' in parts:
    runs = [1, 10] if args.quick else [int(r) for r in args.toy2d_runs.split(',')]
    report.add(
      "PacGAN's 2-D GAN, runs vmapped together",
      toy2d_speed(runs, 20 if args.quick else args.toy2d_steps),
    )
  if 'trace' in parts:
    # The run and its trace (large) are scratch: the report keeps the figures.
    with tempfile.TemporaryDirectory() as scratch:
      report.add('The loop on the device, traced', traced_loop(scratch, quick=args.quick))


if __name__ == '__main__':
  main()
