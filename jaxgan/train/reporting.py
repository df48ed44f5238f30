"""What a user sees while a run trains: a progress bar or log lines, and TensorBoard."""

import logging
import sys
import time

import numpy as np
import tqdm
import tqdm.auto


def _import_tensorboardx():
  """tensorboardX, imported without torch unless the program has loaded torch already.

  tensorboardX imports torch whenever it is installed (as on Colab), only to
  accept torch tensors, which jaxgan never passes; with torch installed that
  import cost every run 2.7 s and 180 MB here. A `None` in `sys.modules`
  makes `import torch` fail inside tensorboardX only: it is removed at once,
  so the program may still import torch afterwards.
  """
  block_torch = 'torch' not in sys.modules
  if block_torch:
    sys.modules['torch'] = None
  try:
    import tensorboardX  # pylint: disable=g-import-not-at-top
  finally:
    if block_torch:
      del sys.modules['torch']
  return tensorboardX


tensorboardX = _import_tensorboardx()


def in_notebook() -> bool:
  """True inside a Jupyter kernel (Colab's included), whose stderr is no terminal."""
  ipython = sys.modules.get('IPython')
  shell = ipython.get_ipython() if ipython is not None else None
  return shell is not None and hasattr(shell, 'kernel')


def quiet_library_logs() -> None:
  """Keeps the terminal for jaxgan's own lines.

  Orbax and TFDS log every file they touch at INFO through absl's logger, and
  JAX logs at INFO each backend it did not find (a CPU machine has no TPU).
  """
  logging.getLogger('absl').setLevel(logging.WARNING)
  logging.getLogger('jax._src.xla_bridge').setLevel(logging.WARNING)


class Reporter:
  """Progress on the terminal (or periodic log lines) and TensorBoard events.

  Only one process of a multi-host run should report: the others make a
  Reporter with `enabled=False`, which does nothing.
  """

  def __init__(
    self,
    logdir: str,
    *,
    first_step: int,
    num_steps: int,
    shown: tuple[str, ...] = (),
    enabled: bool = True,
  ):
    """Starts reporting.

    Args:
      logdir: where TensorBoard's event files go (local or e.g. gs://).
      first_step: the step the run starts or resumes at.
      num_steps: the step it runs to.
      shown: the metrics shown on the bar and in log lines (all go to
        TensorBoard), besides steps/s.
      enabled: False on every process but the first of a multi-host run.
    """
    self._enabled = enabled
    self._shown = tuple(shown) + ('steps_per_second',)
    self._num_steps = num_steps
    self._last_time = time.monotonic()
    self._last_step = first_step
    self._writer = None
    self._bar = None
    if not enabled:
      return
    self._writer = tensorboardX.SummaryWriter(str(logdir))
    # A bar redrawn in place is for a person at a terminal or in a notebook
    # (where tqdm.auto draws a widget when ipywidgets is there, as on Colab);
    # in a log file (CI, a cluster job) it is noise, so plain log lines are
    # written instead.
    if sys.stderr.isatty():
      self._bar = tqdm.tqdm(
        total=num_steps, initial=first_step, unit='step', dynamic_ncols=True, file=sys.stderr
      )
    elif in_notebook():
      self._bar = tqdm.auto.tqdm(total=num_steps, initial=first_step, unit='step')

  def advance(self, step: int) -> None:
    """Marks that the run has reached `step`."""
    if self._bar is not None:
      self._bar.update(step - self._bar.n)

  def scalars(self, step: int, metrics: dict[str, float]) -> None:
    """Logs metrics at `step`, adding the steps per second since last time."""
    if not self._enabled:
      return
    now = time.monotonic()
    if step > self._last_step:
      metrics = dict(
        metrics, steps_per_second=(step - self._last_step) / max(now - self._last_time, 1e-9)
      )
    self._last_time, self._last_step = now, step
    for name, value in metrics.items():
      self._writer.add_scalar(name, value, step)
    self._writer.flush()
    shown = {name: metrics[name] for name in self._shown if name in metrics}
    if self._bar is not None:
      # The bar shows steps/s and the time left itself.
      self._bar.set_postfix(
        {
          name.replace('discriminator', 'D').replace('generator', 'G'): f'{value:.3g}'
          for name, value in shown.items()
          if name != 'steps_per_second'
        },
        refresh=False,
      )
    else:
      logging.info(
        'step %d/%d: %s',
        step,
        self._num_steps,
        ', '.join(f'{name}={value:.4g}' for name, value in shown.items()),
      )

  def evaluation(self, step: int, results: dict[str, float]) -> None:
    """Logs sample-quality figures under eval/ and says them once."""
    if not self._enabled:
      return
    for name, value in results.items():
      self._writer.add_scalar(f'eval/{name}', value, step)
    self._writer.flush()
    self.message(
      f'step {step}: ' + ', '.join(f'{name}={value:.4g}' for name, value in results.items())
    )

  def image(self, step: int, tag: str, grid: np.ndarray) -> None:
    """Logs a uint8 (H, W, C) image."""
    if self._enabled:
      self._writer.add_image(tag, grid, step, dataformats='HWC')
      self._writer.flush()

  def message(self, text: str) -> None:
    """A line for the user that does not break the progress bar."""
    if not self._enabled:
      return
    if self._bar is not None:
      self._bar.write(text, file=sys.stderr)
    else:
      logging.info(text)

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
    if self._writer is not None:
      self._writer.close()
