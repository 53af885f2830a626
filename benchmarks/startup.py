"""Start-up time of ``rnnkit --help`` as a ratio to ``python -c "import torch"``, measured in one run.

    python benchmarks/startup.py --repeats 7

Each command runs ``--repeats`` times, alternating, in fresh processes; the medians are compared.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "python -c 'import rnnkit'": [sys.executable, "-c", "import rnnkit"],
    "rnnkit --help": [sys.executable, "-m", "rnnkit", "--help"],
    "rnnkit forecast --help": [sys.executable, "-m", "rnnkit", "forecast", "--help"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    reference = statistics.median(times["python -c 'import torch'"])
    print("| command | median s | ratio to import torch |\n|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| `{name}` | {median:.2f} | {median / reference:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
