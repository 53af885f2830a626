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
from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import in_flags
from rnnkit.errors import RnnkitError


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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with ``only`` the full parser of that command and a one-line
    entry for each other (``rnnkit --help`` then imports no command module, so it starts fast)."""
    parser = argparse.ArgumentParser(
        prog="rnnkit",
        description="Recurrent neural networks from the equations up: RNN, LSTM, GRU, sLSTM, mLSTM.",
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_line in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"rnnkit.cli.{name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=help_line)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (its first word that is not an option), if it is one."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command(argv)
    parser = build_parser(only=command) if command else build_parser(only="")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        hint = f"; continue the run with rnnkit {args.command} ... --resume OUT" if hasattr(args, "resume") else ""
        print(f"rnnkit {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except USER_ERRORS as err:
        if os.environ.get("RNNKIT_DEBUG"):
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        message = in_flags(message, getattr(sys.modules.get(f"rnnkit.cli.{args.command}"), "PARAMETER_FLAGS", {}))
        print(f"rnnkit {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
