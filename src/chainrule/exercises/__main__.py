"""``python -m chainrule.exercises list | start NAME [PATH] | check PATH [--name NAME] | hint NAME |
solution NAME``: plain text out; exit status 0 on success (for ``check``: only when the
solution passes), 1 on a failed check or a refused ``start``, 2 on a usage error."""

from __future__ import annotations

import argparse
import os
import sys

from . import check, hint, names, solution, start
from ._exercise import EXERCISES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chainrule.exercises",
                                     description="Write a layer's backward; the library grades it.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the exercises, in course order")
    start_cmd = commands.add_parser("start", help="write an exercise's start file")
    start_cmd.add_argument("name")
    start_cmd.add_argument("path", nargs="?")
    check_cmd = commands.add_parser("check", help="grade a solution file (exit 0 only when it passes)")
    check_cmd.add_argument("path")
    check_cmd.add_argument("--name", help="the exercise (default: the one the file's class names)")
    commands.add_parser("hint", help="a nudge for an exercise").add_argument("name")
    commands.add_parser("solution", help="the library's own backward").add_argument("name")
    return parser


def _say(text: str, end: str = "\n") -> None:
    """Print to stdout; a reader that stopped reading (``| head``) is not an error: the rest is
    dropped and the exit status stays the command's."""
    try:
        print(text, end=end, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush is quiet too


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error
    name = getattr(args, "name", None)
    if name is not None and name not in EXERCISES:
        parser.error(f"no exercise named {name!r}; the catalogue: {', '.join(names())}")
    if args.command == "list":
        _say("\n".join(names()))
        return 0
    if args.command == "start":
        try:
            path = start(args.name, args.path)
        except OSError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        _say(f"wrote {path}\nwrite its backward, then: python -m chainrule.exercises check {path}")
        return 0
    if args.command == "check":
        result = check(args.path, args.name)
        _say(str(result))
        return 0 if result.passed else 1
    _say(hint(args.name) if args.command == "hint" else solution(args.name), end="" if args.command == "solution" else "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
