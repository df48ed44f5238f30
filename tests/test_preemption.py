"""Tests of stopping on a signal."""

import os
import signal

import pytest

from jaxgan.train import preemption


def test_a_signal_sets_the_flag_and_one_host_agrees_with_itself():
  stop = preemption.StopRequest()
  with stop.installed():
    assert not stop.agreed() and not stop.requested_here()
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.requested_here() and stop.agreed()
    assert stop.signal_name == 'SIGTERM'
  # The previous handlers are back.
  assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_second_ctrl_c_stops_at_once():
  stop = preemption.StopRequest()
  with stop.installed():
    os.kill(os.getpid(), signal.SIGINT)
    assert stop.signal_name == 'SIGINT'
    with pytest.raises(KeyboardInterrupt):
      os.kill(os.getpid(), signal.SIGINT)
