"""The ``rnnkit`` command line: one sub-command per application.

The CLI owns the terminal: it parses arguments, builds configuration dataclasses, calls
``rnnkit.tasks`` and prints or plots what they return. A user mistake becomes one line on
stderr and exit code 2, never a traceback (set ``RNNKIT_DEBUG=1`` to see one anyway).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from rnnkit import __version__
from rnnkit.errors import RnnkitError

# Each name is a module ``rnnkit.cli.<name>`` exposing ``register(subparsers)``.
COMMANDS: tuple[str, ...] = ("gradients", "embed", "longrange", "lm", "forecast", "translate", "caption", "classify")

# Exceptions that mean "the user asked for something that cannot be done as given".
USER_ERRORS: tuple[type[BaseException], ...] = (
    RnnkitError,
    ValueError,
    TypeError,
    FileNotFoundError,
    IsADirectoryError,
    FileExistsError,
    NotADirectoryError,
    PermissionError,
    UnicodeDecodeError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit",
        description="Recurrent neural networks from the equations up: RNN, LSTM, GRU, sLSTM, mLSTM.",
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"rnnkit.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as err:
        if os.environ.get("RNNKIT_DEBUG"):
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"rnnkit {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
