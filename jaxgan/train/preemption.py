"""Stopping on a signal, agreed by every host.

Ctrl-C or SIGTERM (what a preempted VM or a cluster scheduler sends) sets a
flag; the loop asks `StopRequest.agreed()` between train calls. On one host
that is the flag itself. On several hosts the signal may reach only some
of them, or reach them at different steps, yet every host must save the
same step (orbax's save is collective) and then exit: so all hosts gather
their flags at the same point of every call and stop together if any is
set. A second Ctrl-C stops at once.
"""

import contextlib
import signal
import threading
from typing import Iterator

import jax
from jax.experimental import multihost_utils
import numpy as np

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
  """Turns SIGINT/SIGTERM into a flag that the loop checks between calls.

  Attributes:
    signal_name: the name of the signal that asked to stop (on any host,
      once `agreed` has said so), or None.
  """

  def __init__(self):
    self.signal_name: str | None = None

  @contextlib.contextmanager
  def installed(self) -> Iterator['StopRequest']:
    """Installs the handlers for the duration of the block."""
    # Signal handlers can only be set from the main thread; elsewhere (a
    # notebook worker thread) the defaults stay.
    if threading.current_thread() is not threading.main_thread():
      yield self
      return

    def handle(signum, frame):
      del frame
      if self.signal_name is not None and signum == signal.SIGINT:
        raise KeyboardInterrupt  # A second Ctrl-C stops at once.
      self.signal_name = signal.Signals(signum).name

    previous = {s: signal.signal(s, handle) for s in _SIGNALS}
    try:
      yield self
    finally:
      for s, handler in previous.items():
        signal.signal(s, handler)

  def requested_here(self) -> bool:
    """Whether this process received a signal (no agreement: for a single host)."""
    return self.signal_name is not None

  def agreed(self) -> bool:
    """Whether any host asked to stop. Every host must call this at the same points."""
    if jax.process_count() == 1:
      return self.signal_name is not None
    code = 0 if self.signal_name is None else int(signal.Signals[self.signal_name])
    codes = np.asarray(multihost_utils.process_allgather(np.int32(code)))
    if self.signal_name is None and codes.any():
      self.signal_name = signal.Signals(int(codes.max())).name
    return bool(codes.any())
