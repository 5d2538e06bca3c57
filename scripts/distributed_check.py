"""Two-process data-parallel training on localhost: do the replicas agree?

Starts two copies of itself (jax.distributed over 127.0.0.1, one CPU device
each, gloo collectives), trains configs/smoke.py for a few steps on
in-memory clips with one shared workdir (so orbax's multi-process save and
grain's per-process iterator files are exercised too), and checks that both
processes end with bitwise-equal parameters; a rerun with more steps then
resumes both processes from the shared checkpoint.

  python scripts/distributed_check.py [--steps=6]
"""

import argparse
import hashlib
import importlib.util
import os
import pathlib
import socket
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _fake_clips(n: int):
  """Clips with a learnable target (the target's CFP row lights up)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  clips = []
  for i in range(n):
    rng = np.random.default_rng(i)
    frames = 60 + 10 * i
    target = np.where(rng.random(frames) < 0.3, 0,
                      40 + np.arange(frames) // 8 % 60).astype(np.int32)
    cfp = rng.random((3, 256, frames), dtype=np.float32) * 0.1
    cfp[:, np.maximum(target - 1, 0), np.arange(frames)] += target > 0
    clips.append({'cfp': cfp, 'target': target})
  return clips


def worker(process_id: int, port: int, workdir: str, steps: int) -> None:
  """One process of the job: train, then print a digest of its params."""
  import jax  # pylint: disable=g-import-not-at-top
  jax.distributed.initialize(f'127.0.0.1:{port}', num_processes=2,
                             process_id=process_id)
  sys.path.insert(0, str(ROOT))
  # pylint: disable=g-import-not-at-top
  from absl import logging
  from jaxmelody.data import input_pipeline
  from jaxmelody.training import train
  # pylint: enable=g-import-not-at-top
  logging.set_verbosity(logging.INFO)  # shows 'resuming from ...'
  spec = importlib.util.spec_from_file_location('smoke',
                                                ROOT / 'configs' / 'smoke.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  config.train.num_steps = steps
  config.train.checkpoint_every_steps = 3
  config.eval.every_steps = 0
  clips = _fake_clips(8)
  input_pipeline.train_and_validation = lambda data_config: (clips, None)
  state = train.train_and_evaluate(config, workdir)
  variables = train.host_variables(state)
  digest = hashlib.sha256()
  for leaf in jax.tree.leaves(variables):
    digest.update(leaf.tobytes())
  print(f'process {jax.process_index()}/{jax.process_count()}: devices '
        f'{jax.device_count()} (local {jax.local_device_count()}), step '
        f'{int(state.step)}, params sha256 {digest.hexdigest()[:16]}',
        flush=True)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _run_job(workdir: str, steps: int) -> list[str]:
  port = _free_port()
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  env.pop('XLA_FLAGS', None)  # one device per process
  procs = [subprocess.Popen(
      [sys.executable, __file__, f'--worker={i}', f'--port={port}',
       f'--workdir={workdir}', f'--steps={steps}'],
      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for i in range(2)]
  lines = []
  for i, proc in enumerate(procs):
    out, err = proc.communicate(timeout=900)
    if proc.returncode:
      sys.exit(f'process {i} failed (exit {proc.returncode}):\n{err[-4000:]}')
    resumed = [l for l in err.splitlines() if 'resuming from' in l]
    lines.append(out.strip().splitlines()[-1] + (
        f' (resumed from {resumed[0].split("resuming from ")[1]})'
        if resumed else ''))
  return lines


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--worker', type=int, default=None)
  parser.add_argument('--port', type=int, default=0)
  parser.add_argument('--workdir', default='')
  parser.add_argument('--steps', type=int, default=6)
  args = parser.parse_args()
  if args.worker is not None:
    worker(args.worker, args.port, args.workdir, args.steps)
    return
  with tempfile.TemporaryDirectory() as workdir:
    ok = True
    for steps in (args.steps, args.steps + 3):  # second job resumes
      lines = _run_job(workdir, steps)
      print('\n'.join(lines))
      same = len({line.split('sha256 ')[1][:16] for line in lines}) == 1
      print(f'{steps} steps: params equal on both processes: {same}')
      ok &= same
    print('checkpoints:', sorted(os.listdir(os.path.join(workdir,
                                                          'checkpoints'))))
  sys.exit(0 if ok else 1)


if __name__ == '__main__':
  main()
