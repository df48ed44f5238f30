"""One process of a several-process run of train.py on this machine (tests/test_multihost.py).

  XLA_FLAGS=--xla_force_host_platform_device_count=2 python tests/multihost_worker.py \
      --coordinator=localhost:PORT --num_processes=2 --process_id=P \
      --config=configs/gan.py --workdir=... [--config.num_steps=...]

`train.py --distributed` leaves the coordinator's address and the process's
index to the cluster (a TPU pod slice, SLURM, Open MPI); on one machine each
process is told them. XLA:CPU runs collectives across processes through gloo.
Everything after `jax.distributed.initialize` is train.py's own `main`.
"""

import os
import sys

from absl import app
from absl import flags
import jax

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train  # Defines --config and --workdir.

_COORDINATOR = flags.DEFINE_string('coordinator', None, 'host:port of the coordinator.')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None, 'Processes in the run.')
_PROCESS_ID = flags.DEFINE_integer('process_id', None, "This process's index.")
flags.mark_flags_as_required(['coordinator', 'num_processes', 'process_id'])


def main(argv):
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  jax.distributed.initialize(
    _COORDINATOR.value, num_processes=_NUM_PROCESSES.value, process_id=_PROCESS_ID.value
  )
  train.main(argv)


if __name__ == '__main__':
  app.run(main)
