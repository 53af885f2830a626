"""A real 2-process DDP run on CPU (gloo, strategy="ddp") reaches the single-process parameters.

Both runs use the same seed and the same global batch (2 x 4 examples per process vs 8 on one
process; 4 streams split 2 + 2 for the streaming LM with truncated BPTT), float64, so they must
agree to rounding. The DDP run re-launches ddp_worker.py for rank 1, as on a real cluster.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import torch

WORKER = Path(__file__).with_name("ddp_worker.py")


def _load_worker():
    spec = importlib.util.spec_from_file_location("rnnkit_tests_ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_process_ddp_equals_single_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("LOCAL_RANK", None)
    ddp = subprocess.run([sys.executable, str(WORKER), str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]

    worker = _load_worker()
    single = worker.train_both(devices=1)
    for name in ("regression", "stream"):
        distributed = torch.load(tmp_path / f"{name}.pt", weights_only=True)["state_dict"]
        assert distributed.keys() == single[name]["state_dict"].keys()
        for key, value in single[name]["state_dict"].items():
            torch.testing.assert_close(distributed[key], value, rtol=1e-9, atol=1e-11, msg=f"{name}.{key}")
    # Each DDP process ran its own 2 of the 4 streams; the single process ran all 4.
    assert torch.load(tmp_path / "stream.pt", weights_only=True)["rows_seen"] == [2]
    assert single["stream"]["rows_seen"] == [4]
    # Training moved the parameters (the comparison is not between two untouched models).
    torch.manual_seed(0)
    untrained = worker.Regressor().state_dict()
    trained = single["regression"]["state_dict"]
    assert max((trained[k] - untrained[k].double()).abs().max().item() for k in untrained) > 1e-3
