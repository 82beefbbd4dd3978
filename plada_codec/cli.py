"""Command line: ``python -m plada_codec COMMAND ...``.

Core commands (inspect, verify, encode, decode) live here; the torch plugins add theirs
(teacher, score, merge, select, train, data, demo) through modules listed in ``COMMAND_MODULES``: each exports
``register(subparsers)`` and must not import torch at module import time.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

from .errors import DecodeError, EncodeError, InputError, PladaError, PoolError, PoolMismatch, UsageError

EXIT_OK = 0
EXIT_FAILURE = 1     # a command ran and reports failure (e.g. a check that did not pass)
EXIT_USAGE = 2       # bad command line (argparse uses 2 as well)
EXIT_FORMAT = 3      # payload is truncated, corrupt, unsupported or over a limit
EXIT_POOL = 4        # payload built for another pool, or a pool is unreadable
EXIT_INPUT = 5       # input data cannot be encoded / input file unreadable
EXIT_INTERRUPTED = 130

COMMAND_MODULES = [
    "plada_codec.core_commands",
    "plada_codec.server.commands",
    "plada_codec.client.commands",
    "plada_codec.data.commands",
]


#: commands of the core module; running one of them skips importing the plugins (start-up time matters for
#: a cold `decode`)
CORE_COMMANDS = ("inspect", "verify", "encode", "decode")


#: what each plugin module needs beyond the core (for the message when it is missing)
PLUGIN_EXTRA = "pip install 'plada_codec[torch]'"


def build_parser(modules: Optional[List[str]] = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m plada_codec",
        description=(
            "plada_codec: ship a classification task as (pool index, label) pairs. "
            "Core commands (inspect, verify, encode, decode) work with numpy alone; "
            "teacher/score/merge/select/train/data/demo come with the torch extra."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    missing = []
    for name in modules or COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] == __package__:
                raise  # a module of this package itself is missing: a broken installation, not an option
            # an optional dependency of that plugin (torch, torchvision, pillow, tqdm) is not installed
            missing.append(f"  {name.rsplit('.', 2)[-2]} commands: need {exc.name} ({PLUGIN_EXTRA})")
            continue
        module.register(sub)
    parser.epilog = "\n".join(
        ["exit codes: 0 ok, 1 check failed, 2 usage, 3 payload truncated/corrupt/unsupported/over a limit,",
         "4 pool mismatch, 5 bad input data or file, 130 interrupted"]
        + (["", "not available in this installation:"] + missing if missing else []))
    return parser


def _int_at_least(lowest: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"{value} is below {lowest}")
        return value

    parse.__name__ = f"int >= {lowest}"
    return parse


#: argparse ``type=`` for counts: ``positive_int`` (>= 1), ``non_negative_int`` (>= 0); a bad value is a
#: usage error (exit 2) naming the option, before any work
positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)


def json_object_option(text: Optional[str], option: str = "--meta") -> Optional[dict]:
    """The value of a JSON-object option (``--meta``) as a dict; not JSON or not an object: a usage error."""
    import json

    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object ({{...}}), got {type(value).__name__}")
    return value


#: how an error ends the program, first match wins: (class, message prefix, exit code); a prefix of None
#: names the error class (TruncatedPayload, CorruptPayload, ...)
_ERROR_EXITS = [
    (PoolMismatch, "pool mismatch: ", EXIT_POOL),
    (PoolError, "pool: ", EXIT_POOL),
    (DecodeError, None, EXIT_FORMAT),
    (EncodeError, "cannot encode: ", EXIT_INPUT),
    (UsageError, "", EXIT_USAGE),
    (InputError, "", EXIT_INPUT),
    (PladaError, "", EXIT_FAILURE),
    (OSError, "", EXIT_INPUT),
]


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    core_only = bool(argv) and argv[0] in CORE_COMMANDS
    parser = build_parser(COMMAND_MODULES[:1] if core_only else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help exits 0, usage errors exit 2
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except (PladaError, OSError) as exc:
        for cls, prefix, code in _ERROR_EXITS:
            if isinstance(exc, cls):
                print(f"error: {f'{type(exc).__name__}: ' if prefix is None else prefix}{exc}", file=sys.stderr)
                return code
        raise  # pragma: no cover - _ERROR_EXITS ends with the base classes
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def entry() -> None:
    sys.exit(main())
