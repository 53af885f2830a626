"""Shared test settings: deterministic seeds, one intra-op thread per test process."""

import random

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture
def kill_once_written():
    """``kill(argv, path)``: start ``argv`` (one intra-op thread) and SIGKILL it as soon as ``path``
    exists (a checkpoint), as a crash or ``kill -9`` would; fails if it ends or stalls first."""
    import os
    import signal
    import subprocess
    import time

    def kill(argv, path, timeout=240.0):
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + timeout
            while not path.exists():
                assert process.poll() is None, process.stderr.read().decode()[-3000:]
                assert time.monotonic() < deadline, f"{path} was never written"
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
            process.stderr.close()
        assert process.returncode == -signal.SIGKILL

    return kill
