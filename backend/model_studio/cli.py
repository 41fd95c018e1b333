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


def cmd_schema_lint(args: argparse.Namespace) -> int:
    from model_studio.schema_files import lint_schema_dir, write_schema_files

    if args.write:
        for path in write_schema_files():
            print("wrote", path)
    problems = lint_schema_dir()
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"schema-lint: {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from model_studio.app import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="model-studio", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="validate design files and print a report")
    validate.add_argument("files", nargs="+", metavar="FILE", help="design JSON files ('-' reads stdin)")
    validate.set_defaults(handler=cmd_validate)

    lint = commands.add_parser("schema-lint", help="check schema/: generated schemas, templates and conformance cases")
    lint.add_argument("--write", action="store_true", help="regenerate schema/*.schema.json from the msgspec types first")
    lint.set_defaults(handler=cmd_schema_lint)

    serve = commands.add_parser("serve", help="serve the API and the built PWA")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 for the LAN)")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
