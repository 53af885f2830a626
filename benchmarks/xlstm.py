"""Speed and memory of the xLSTM layers, as ratios measured in the same run.

1. mLSTM memory, the three forms of :mod:`rnnkit.functional.mlstm` (recurrent, parallel,
   chunkwise with chunk 64) at batch 8, 4 heads, head dim 64, T = 256, 1024, 4096 (and 8192 for
   chunkwise): forward time (under ``torch.no_grad``), forward+backward time (of ``h.sum()``,
   gradients for q, k, v and both gates), tokens per second of forward+backward, and memory.
   Memory is the **peak resident-set growth** of a fresh subprocess running one forward+backward
   (the kernel's VmHWM after the pass minus VmRSS before it, inputs already made), and
   the **bytes autograd saved** for backward (sum over distinct storages seen by
   ``torch.autograd.graph.saved_tensors_hooks``). The parallel and recurrent forms at T >= 4096 run
   once (each takes minutes on a small CPU, and the parallel form needs ~10 GB at T = 4096; it is
   skipped when the machine has less memory available).
2. sLSTM against LSTM at equal hidden size (batch 16, 256 steps, input = hidden = 128, 256, 512):
   ``rnnkit.sLSTM`` (fused whole-sequence autograd function, time loops compiled by TorchScript),
   the same function with its time loops run as Python (``scripted=False``), and the reference
   path (the cell in the time loop), as ratios to ``torch.nn.LSTM`` and ``rnnkit.LSTM`` of the
   same size.

Times are CPU seconds of this process (``time.process_time``, one intra-op thread), the minimum
over the repeats with the variants timed round-robin after a warm-up: on a machine shared with
other jobs, wall-clock times mostly measure the other jobs.

Allocator: by default the script raises glibc's mmap threshold to 1 GB (``mallopt``, the same as
running with ``MALLOC_MMAP_THRESHOLD_=1073741824``). Otherwise every tensor over 32 MB is a fresh
``mmap`` on each pass and pays a page fault per 4 KB page, which from T ~ 3000 on (where the
(B, NH, T, d) tensors pass 32 MB) doubles the time per token of every form on the machine this
was written on; ``--default-malloc`` measures with glibc's defaults.

Usage: ``python benchmarks/xlstm.py [--quick] [--repeats N] [--default-malloc]`` (``--quick``:
T = 256 and 1024 for all forms, chunkwise also 4096 and 8192, 1 repeat; sLSTM at hidden 256
only). Prints markdown tables.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import math
import platform
import subprocess
import sys
import time
from collections.abc import Callable

import torch

from rnnkit.functional.mlstm import MLSTM_FORMS, mlstm_sequence

BATCH, HEADS, HEAD_DIM, CHUNK = 8, 4, 64, 64
# (form, T) pairs run only once, and the memory (bytes) the parallel form needs at T (estimate:
# about five float32 (B, NH, T, T) tensors alive at its peak)
SLOW = {("parallel", 4096), ("recurrent", 4096)}


def raise_mmap_threshold() -> bool:
    """glibc: serve allocations up to 1 GB from the heap (reused) instead of fresh mmaps."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_mmap_threshold, m_trim_threshold = -3, -1
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(libc.mallopt(m_trim_threshold, (1 << 31) - 1))


def parallel_bytes(T: int) -> int:
    return 5 * BATCH * HEADS * T * T * 4


def available_bytes() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def mlstm_inputs(T: int, requires_grad: bool) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    shape = (BATCH, HEADS, T, HEAD_DIM)
    q, k, v = (torch.randn(shape, generator=g) for _ in range(3))
    k = k / math.sqrt(HEAD_DIM)
    i_tilde = torch.randn(BATCH, HEADS, T, generator=g)
    log_f = torch.nn.functional.logsigmoid(torch.randn(BATCH, HEADS, T, generator=g) + 4.0)
    inputs = [q, k, v, i_tilde, log_f]
    return [x.requires_grad_(requires_grad) for x in inputs]


def mlstm_pass(form: str, inputs: list[torch.Tensor], backward: bool) -> None:
    if backward:
        h, _ = mlstm_sequence(*inputs, form=form, chunk_size=CHUNK)  # type: ignore[arg-type]
        h.sum().backward()
        for x in inputs:
            x.grad = None
    else:
        with torch.no_grad():
            mlstm_sequence(*inputs, form=form, chunk_size=CHUNK)  # type: ignore[arg-type]


def cpu_time(fn: Callable[[], None]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def min_times(variants: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Warm up every variant, then time them round-robin; the minimum CPU time of each."""
    for fn in variants.values():
        fn()
    best = {name: math.inf for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            best[name] = min(best[name], cpu_time(fn))
    return best


def saved_bytes(form: str, T: int) -> int:
    """Bytes of the distinct storages autograd saves for the backward of one forward pass."""
    inputs = mlstm_inputs(T, True)
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        h, _ = mlstm_sequence(*inputs, form=form, chunk_size=CHUNK)  # type: ignore[arg-type]
    del h
    input_ptrs = {x.untyped_storage().data_ptr() for x in inputs}
    return sum(size for ptr, size in storages.items() if ptr not in input_ptrs)


def peak_rss_growth(form: str, T: int) -> int:
    """Peak resident-set growth (bytes) of one forward+backward, in a fresh subprocess.

    The kernel's peak counter (VmHWM) is reset (``/proc/self/clear_refs``) after the inputs are
    made, so the import's own peak does not hide a smaller pass.
    """
    code = (
        "import sys, torch\n"
        "torch.set_num_threads(1)\n"
        "sys.path.insert(0, %r)\n"
        "import xlstm as b\n"
        "b.raise_mmap_threshold()\n"
        "inputs = b.mlstm_inputs(%d, True)\n"
        "def status(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key):\n"
        "            return int(line.split()[1]) * 1024\n"
        "with open('/proc/self/clear_refs', 'w') as fh:\n"
        "    fh.write('5')\n"
        "before = status('VmRSS:')\n"
        "b.mlstm_pass(%r, inputs, True)\n"
        "print(status('VmHWM:') - before)\n"
    ) % (sys.path[0], T, form)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(result.stdout.strip().splitlines()[-1])


def mlstm_table(
    lengths: list[int], chunk_only: list[int], repeats: int, forms: tuple[str, ...] = MLSTM_FORMS
) -> list[str]:
    rows = [
        "| form | T | forward (s) | fwd+bwd (s) | fwd+bwd tokens/s | peak RSS growth (MB) | autograd-saved (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    results: dict[tuple[str, int], dict[str, float]] = {}
    for T in sorted(set(lengths) | set(chunk_only)):
        for form in [f for f in forms if T in lengths or f == "chunkwise"]:
            if form == "parallel" and parallel_bytes(T) > 0.8 * available_bytes():
                rows.append(f"| {form} | {T} | skipped: needs ~{parallel_bytes(T) / 2**30:.0f} GB | | | | |")
                continue
            runs = 1 if (form, T) in SLOW else repeats
            fwd_inputs, bwd_inputs = mlstm_inputs(T, False), mlstm_inputs(T, True)
            times = min_times(
                {
                    "forward": functools.partial(mlstm_pass, form, fwd_inputs, False),
                    "fwd+bwd": functools.partial(mlstm_pass, form, bwd_inputs, True),
                },
                runs,
            )
            del fwd_inputs, bwd_inputs
            rss = peak_rss_growth(form, T)
            saved = saved_bytes(form, T)
            results[(form, T)] = {**times, "rss": rss, "saved": saved}
            rows.append(
                f"| {form} | {T} | {times['forward']:.3f} | {times['fwd+bwd']:.3f} | "
                f"{BATCH * T / times['fwd+bwd']:,.0f} | {rss / 2**20:.0f} | {saved / 2**20:.0f} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    rows.append("")
    rows.append("Ratios (same run):")
    rows.append("")
    chunk_ts = sorted(T for form, T in results if form == "chunkwise")
    if len(chunk_ts) > 1:
        rates = [BATCH * T / results[("chunkwise", T)]["fwd+bwd"] for T in chunk_ts]
        rows.append(
            f"- chunkwise fwd+bwd tokens/s, highest / lowest over T = {chunk_ts[0]}..{chunk_ts[-1]}: "
            f"{max(rates) / min(rates):.2f}x"
        )
    for T in sorted({T for _, T in results}):
        if ("chunkwise", T) not in results:
            continue
        chunk = results[("chunkwise", T)]
        for other in ("parallel", "recurrent"):
            if (other, T) in results:
                ref = results[(other, T)]
                rows.append(
                    f"- T = {T}: chunkwise fwd+bwd is {ref['fwd+bwd'] / chunk['fwd+bwd']:.1f}x faster than "
                    f"{other}; forward {ref['forward'] / chunk['forward']:.1f}x; peak RSS growth "
                    f"{chunk['rss'] / max(ref['rss'], 1):.3f} of {other}'s, autograd-saved "
                    f"{chunk['saved'] / max(ref['saved'], 1):.3f} of {other}'s"
                )
    return rows


class PythonLoopSLSTM(torch.nn.Module):
    """A one-layer ``rnnkit.sLSTM``'s fused function with its time loops run as Python."""

    def __init__(self, layer: torch.nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        from rnnkit.functional.slstm import slstm_sequence

        layer = self.layer
        zeros = x.new_zeros(x.shape[1], layer.hidden_size)
        state = (zeros, zeros, zeros, torch.full_like(zeros, -math.inf))
        hs = slstm_sequence(
            x, state, layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_l0, layer.num_heads, scripted=False
        )
        return hs[0], None


def slstm_table(sizes: list[int], repeats: int) -> list[str]:
    import rnnkit

    batch, steps = 16, 256
    rows = [
        "| hidden | pass | torch.nn.LSTM (ms) | rnnkit.LSTM / torch | sLSTM fused / torch.nn.LSTM | "
        "sLSTM fused / rnnkit.LSTM | fused, Python loops / torch.nn.LSTM | sLSTM reference / torch.nn.LSTM |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for H in sizes:
        torch.manual_seed(0)
        layers = {
            "torch": torch.nn.LSTM(H, H),
            "rnnkit_lstm": rnnkit.LSTM(H, H),
            "fused": rnnkit.sLSTM(H, H),
            "reference": rnnkit.sLSTM(H, H, backend="reference"),
        }
        layers["python_loops"] = PythonLoopSLSTM(layers["fused"])
        x = torch.randn(steps, batch, H)
        x_grad = x.clone().requires_grad_()

        def forward(layer: torch.nn.Module) -> Callable[[], None]:
            def run() -> None:
                with torch.no_grad():
                    layer(x)

            return run

        def forward_backward(layer: torch.nn.Module) -> Callable[[], None]:
            def run() -> None:
                out, _ = layer(x_grad)
                out.sum().backward()
                x_grad.grad = None
                layer.zero_grad(set_to_none=True)

            return run

        for label, make in (("forward", forward), ("forward+backward", forward_backward)):
            t = min_times({name: make(layer) for name, layer in layers.items()}, repeats)
            rows.append(
                f"| {H} | {label} | {t['torch'] * 1e3:.1f} | {t['rnnkit_lstm'] / t['torch']:.2f} | "
                f"{t['fused'] / t['torch']:.2f} | {t['fused'] / t['rnnkit_lstm']:.2f} | "
                f"{t['python_loops'] / t['torch']:.2f} | {t['reference'] / t['torch']:.2f} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T = 256, 1024; 1 repeat; sLSTM at 256 only")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per variant (min is kept)")
    parser.add_argument("--skip-mlstm", action="store_true", help="only the sLSTM table")
    parser.add_argument("--skip-slstm", action="store_true", help="only the mLSTM table")
    parser.add_argument("--default-malloc", action="store_true", help="keep glibc's default mmap threshold")
    parser.add_argument("--forms", nargs="+", choices=MLSTM_FORMS, default=list(MLSTM_FORMS), help="mLSTM forms to run")
    parser.add_argument("--lengths", nargs="+", type=int, help="sequence lengths for every form (default 256 1024 4096)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    torch.set_num_threads(1)
    tuned = not args.default_malloc and raise_mmap_threshold()
    lengths, chunk_only = ([256, 1024], [4096, 8192]) if args.quick else ([256, 1024, 4096], [8192])
    if args.lengths:
        lengths, chunk_only = args.lengths, []
    repeats = 1 if args.quick else args.repeats
    print(
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, torch {torch.__version__}, 1 thread, "
        f"glibc mmap threshold {'1 GB' if tuned else 'default'}"
    )
    if not args.skip_mlstm:
        print(f"\n### mLSTM forms (batch {BATCH}, {HEADS} heads, head dim {HEAD_DIM}, chunk {CHUNK})\n")
        print("\n".join(mlstm_table(lengths, chunk_only, repeats, tuple(args.forms))))
    if not args.skip_slstm:
        print("\n### sLSTM vs LSTM (batch 16, 256 steps, input = hidden, 4 heads)\n")
        print("\n".join(slstm_table([256] if args.quick else [128, 256, 512], max(repeats, 3))))


if __name__ == "__main__":
    main()
