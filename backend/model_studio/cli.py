"""`model-studio`: the project's one command line (also `python -m model_studio`).

Each sub-command is a small function `cmd_<name>(args) -> exit status`, registered in `build_parser`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model_studio.contracts import ValidationResult
from model_studio.validation import validate_design


def _read(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def format_report(name: str, result: ValidationResult) -> str:
    lines = [f"{name}: {'valid' if result.valid else 'INVALID'}"]
    for error in result.errors:
        where = f" [{error.component}]" if error.component else ""
        lines.append(f"  error {error.code}{where}: {error.message}")
        if error.hint:
            lines.append(f"    hint: {error.hint}")
    lines.append(f"  parameters: {result.paramCountExact:,} ({result.paramCount:.3f} M)")
    lines.append(f"  estimated training memory: {result.estimatedMemory} MiB")
    return "\n".join(lines)


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            document = _read(path)
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
            status = 2
            continue
        result = validate_design(document)
        print(format_report(path, result))
        if not result.valid:
            status = max(status, 1)
    return status


def cmd_schema(args: argparse.Namespace) -> int:
    from model_studio.schema_files import check_schema_files, write_schema_files

    if args.write:
        for path in write_schema_files():
            print("wrote", path)
        return 0
    stale = check_schema_files()
    for path in stale:
        print(f"{path} is out of date with model_studio.contracts; run `model-studio schema --write`", file=sys.stderr)
    return 1 if stale else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="model-studio", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="validate design files and print a report")
    validate.add_argument("files", nargs="+", metavar="FILE", help="design JSON files ('-' reads stdin)")
    validate.set_defaults(handler=cmd_validate)

    schema = commands.add_parser("schema", help="check (or --write) schema/*.schema.json against the msgspec types")
    schema.add_argument("--write", action="store_true", help="regenerate the files instead of checking them")
    schema.set_defaults(handler=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
