"""`model-studio`: the project's one command line (also `python -m model_studio`).

Each sub-command is a small function `cmd_<name>(args) -> exit status`, registered in `build_parser`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import NoReturn

from model_studio.contracts import ValidationResult
from model_studio.validation import validate_design


DATA_DIR = Path(".data")
PROGRESS_BAR_WIDTH = 20  # characters
PROGRESS_POLL_S = 0.2  # how often `train` wakes to notice Ctrl-C


class Parser(argparse.ArgumentParser):
    """argparse with bad arguments reported in one line (and exit status 2), no usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"ports run from 0 to 65535, not {value}")
    return value


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
    parts = result.memoryBreakdown
    lines.append(
        f"  estimated training memory: {result.estimatedMemory} MiB (weights and optimizer {parts.weightsAndOptimizer}, "
        f"activations {parts.activations}, each rounded up), plus about {parts.runtimeBaseline} MiB for the training process itself"
    )
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


def _log_config() -> dict:
    """uvicorn's logging, with our access log (it carries request ids) in place of uvicorn's."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["model_studio"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def settle_heap() -> None:
    """Take what the imports made out of the cyclic collector's reach. The server imports torch
    (for compiling), about 180,000 objects that live as long as the process, and a full collection
    walks them all: under load one ran every few seconds and stalled every request for 120-280 ms
    (bench-server's p99). Frozen, they are never walked again; the heap the server makes
    afterwards is collected as before."""
    import gc

    gc.collect()  # what is garbage already goes now, not into the frozen generation
    gc.freeze()


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    from model_studio.app import PWA_DIST, create_app
    from model_studio.pairing import pairing_banner, pairing_urls, resolve_token
    from model_studio.services import ServerSettings

    if (args.cert is None) != (args.key is None):
        print("model-studio serve: --cert and --key go together", file=sys.stderr)
        return 2
    for path in (args.cert, args.key):
        if path is not None and not path.is_file():
            print(f"model-studio serve: no such file: {path}", file=sys.stderr)
            return 2
    try:
        token = resolve_token(args.data_dir, args.token, os.environ)
    except (ValueError, OSError) as exc:
        print(f"model-studio serve: {exc}", file=sys.stderr)
        return 2
    static_dir = args.static_dir or PWA_DIST
    settings = ServerSettings(data_dir=args.data_dir, token=token, static_dir=static_dir, allowed_hosts=tuple(args.allowed_host))
    urls = pairing_urls("https" if args.cert else "http", args.host, args.port, token)
    print(pairing_banner(urls, urls[0]), flush=True)
    app = create_app(settings)
    settle_heap()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ssl_certfile=args.cert,
        ssl_keyfile=args.key,
        log_config=_log_config(),
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    return 0


def cmd_cert(args: argparse.Namespace) -> int:
    from model_studio.certs import default_hosts, describe, make_certificates

    try:
        paths = make_certificates(args.data_dir, args.host or default_hosts())
    except (ValueError, OSError) as exc:
        print(f"model-studio cert: {exc}", file=sys.stderr)
        return 2
    print(describe(paths))
    return 0


def cmd_dump_designs(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from model_studio.services import STORE_FILE
    from model_studio.store import Store, StoreError

    store_path = args.data_dir / STORE_FILE
    if not store_path.is_file():
        print(f"model-studio dump-designs: no store at {store_path}", file=sys.stderr)
        return 2

    async def dump() -> int:
        async with await Store.open(store_path) as store:
            rows = await store.all_designs()
        args.out.mkdir(parents=True, exist_ok=True)
        for row in rows:  # ids are validated and unique ignoring case: safe, distinct file names
            (args.out / f"{row.id}.json").write_text(json.dumps(json.loads(row.body), indent=2) + "\n", encoding="utf-8")
        return len(rows)

    try:
        count = asyncio.run(dump())
    except (StoreError, OSError) as exc:
        print(f"model-studio dump-designs: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {count} design(s) to {args.out}")
    return 0


def _design_or_report(path: str) -> bytes | None:
    """The design file's bytes, or None after saying why it cannot be read."""
    try:
        return _read(path)
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return None


def _report_invalid(path: str, verb: str, document: bytes) -> int:
    print(f"{path}: not {verb}, the design is invalid", file=sys.stderr)
    print(format_report(path, validate_design(document)), file=sys.stderr)
    return 1


def cmd_compile(args: argparse.Namespace) -> int:
    from model_studio.codegen import InvalidDesignError, compile_design

    document = _design_or_report(args.design)
    if document is None:
        return 2
    try:
        result = compile_design(document, args.data_dir)
    except InvalidDesignError:
        return _report_invalid(args.design, "compiled", document)
    except OSError as exc:
        print(f"cannot write to {args.data_dir}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"wrote {result.import_path}")
    print(f"  parameters: {result.paramCountExact:,} ({result.paramCount:.3f} M)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from model_studio.codegen import InvalidDesignError
    from model_studio.export import ExportError, export_design

    if args.fmt == "py" and args.checkpoint:
        print("model-studio export: a .py export holds no weights; use --fmt pt (or onnx) for the checkpoint's", file=sys.stderr)
        return 2
    document = _design_or_report(args.design)
    if document is None:
        return 2
    try:
        path = export_design(document, args.fmt, args.out, checkpoint=args.checkpoint, seed=args.seed)
    except InvalidDesignError:
        return _report_invalid(args.design, "exported", document)
    except ExportError as exc:
        print(f"{args.design}: not exported: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    weights = f"weights from {args.checkpoint}" if args.checkpoint else f"fresh weights, seed {args.seed}"
    print(f"wrote {path} ({args.fmt}, {weights})")
    return 0


def _progress_line(event, schedule) -> str:
    """One line for the live progress bar: a bar when there is a budget, the latest games' mean
    score, env-steps/s and the time left. `schedule`: the run's `training.budget.Schedule` (for a
    resumed run, what is left of the checkpoint's or the extended budget)."""
    progress = schedule.progress(event.env_steps, event.elapsed_s)
    bar = ""
    if progress is not None:
        filled = round(PROGRESS_BAR_WIDTH * progress)
        bar = f"[{'#' * filled}{'.' * (PROGRESS_BAR_WIDTH - filled)}] {progress:4.0%} "
    score = "-" if event.episodes.mean_score is None else f"{event.episodes.mean_score:,.0f}"
    eta = ""
    if progress:
        left = (event.elapsed_s - schedule.start_elapsed_s) * (1 - progress) / progress
        eta = f" | ETA {int(left // 60)}:{int(left % 60):02d}"
    return f"{bar}update {event.update} | {event.env_steps:,} steps | {event.env_steps_per_s:,.0f} steps/s | score {score}{eta}"


def cmd_train(args: argparse.Namespace) -> int:
    import threading

    from model_studio.codegen import InvalidDesignError
    from model_studio.contracts import TrainingDone
    from model_studio.training import Budget, CheckpointError, PPOConfig, TrainingManager, format_summary
    from model_studio.training.budget import BudgetSpentError, Schedule, read_resume_schedule

    document = _design_or_report(args.design)
    if document is None:
        return 2
    budget = Budget(max_env_steps=args.steps, max_minutes=args.minutes)
    try:
        schedule = read_resume_schedule(args.resume, budget) if args.resume else Schedule(budget)
    except (CheckpointError, BudgetSpentError) as exc:
        print(f"cannot resume: {exc}", file=sys.stderr)
        return 2
    finished, result = threading.Event(), []

    def on_event(event) -> None:  # on the manager's reader thread; print and Event are thread-safe
        if isinstance(event, TrainingDone):
            result.append(event)
            finished.set()
        else:
            print(f"\r{_progress_line(event, schedule)}\x1b[K", end="", file=sys.stderr, flush=True)

    manager = TrainingManager(args.out, on_event)
    try:
        run_id = manager.start(document, config=PPOConfig(seed=args.seed, torch_compile=args.torch_compile), budget=budget, resume_from=args.resume)
    except InvalidDesignError:
        return _report_invalid(args.design, "trained", document)
    except (CheckpointError, BudgetSpentError) as exc:
        print(f"cannot resume: {exc}", file=sys.stderr)
        return 2
    print(f"run {run_id}: training {args.design}; Ctrl-C stops it and keeps a checkpoint", file=sys.stderr)
    try:
        while not finished.wait(PROGRESS_POLL_S):
            pass
    except KeyboardInterrupt:
        print("\nstopping: saving a checkpoint...", file=sys.stderr)
        manager.stop(run_id)
        finished.wait()
    done = result[0]
    print(file=sys.stderr)
    print(f"run {run_id}: {done.status}" + (f" ({done.message})" if done.message else ""))
    print(f"  {done.updates:,} updates, {done.env_steps:,} env steps in {done.elapsed_s:,.0f} s; the last {done.summary.games:,} games:")
    print(format_summary(done.summary, done.checkpoint))
    return 1 if done.status == "failed" else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from model_studio.training import CheckpointError, format_summary, load_checkpoint, model_from_checkpoint, play_games
    from model_studio.training.threads import set_torch_threads

    try:
        checkpoint = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        print(exc, file=sys.stderr)
        return 2
    from model_studio.codegen import InvalidDesignError

    try:
        model = model_from_checkpoint(checkpoint)
    except InvalidDesignError:
        print(f"{args.checkpoint}: its design no longer validates, so it cannot be played", file=sys.stderr)
        return 2
    except RuntimeError:
        print(f"{args.checkpoint}: its weights do not fit its design's model", file=sys.stderr)
        return 2
    set_torch_threads(0)
    summary = play_games(model, args.games, greedy=args.greedy, seed=args.seed)
    policy = "greedy" if args.greedy else "stochastic"
    print(f"{args.checkpoint}: update {checkpoint['update']:,}, {checkpoint['env_steps']:,} env steps; {args.games:,} games, {policy} policy")
    print(format_summary(summary, args.checkpoint))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="model-studio", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="validate design files and print a report")
    validate.add_argument("files", nargs="+", metavar="FILE", help="design JSON files ('-' reads stdin)")
    validate.set_defaults(handler=cmd_validate)

    lint = commands.add_parser("schema-lint", help="check schema/: generated schemas, templates and conformance cases")
    lint.add_argument("--write", action="store_true", help="regenerate schema/*.schema.json and schema/openapi.json from the msgspec types first")
    lint.set_defaults(handler=cmd_schema_lint)

    serve = commands.add_parser("serve", help="serve the API and the built PWA; prints a pairing URL and QR code")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 for the LAN)")
    serve.add_argument("--port", type=port_number, default=8000)
    serve.add_argument("--data-dir", type=Path, default=DATA_DIR, metavar="DIR", help=f"the store, generated code, runs and exports (default: {DATA_DIR})")
    serve.add_argument("--token", help="the pairing token (default: $MODEL_STUDIO_TOKEN, else one kept in DIR/token)")
    serve.add_argument("--cert", type=Path, metavar="FILE", help="serve HTTPS with this certificate chain (PEM); see `model-studio cert`")
    serve.add_argument("--key", type=Path, metavar="FILE", help="the certificate's private key (PEM)")
    serve.add_argument("--allowed-host", action="append", default=[], metavar="NAME", help="a host name to answer to, beyond IPs and localhost (repeatable)")
    serve.add_argument("--static-dir", type=Path, metavar="DIR", help="the built PWA to serve at / (default: pwa/dist)")
    serve.set_defaults(handler=cmd_serve)

    cert = commands.add_parser("cert", help="make a local CA and an HTTPS certificate for this machine's LAN addresses")
    cert.add_argument("--data-dir", type=Path, default=DATA_DIR, metavar="DIR", help=f"they go in DIR/tls (default: {DATA_DIR})")
    cert.add_argument("--host", action="append", metavar="NAME", help="an address or name to cover (repeatable; default: LAN addresses and host names)")
    cert.set_defaults(handler=cmd_cert)

    dump = commands.add_parser("dump-designs", help="write every stored design as DIR/<id>.json")
    dump.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write them")
    dump.add_argument("--data-dir", type=Path, default=DATA_DIR, metavar="DIR", help=f"the server's data directory (default: {DATA_DIR})")
    dump.set_defaults(handler=cmd_dump_designs)

    compile_ = commands.add_parser("compile", help="compile a design to <data-dir>/generated/<id>.py")
    compile_.add_argument("design", metavar="FILE", help="design JSON file ('-' reads stdin)")
    compile_.add_argument("--data-dir", default=".data", metavar="DIR", help="data directory (default: .data)")
    compile_.set_defaults(handler=cmd_compile)

    export = commands.add_parser("export", help="export a design's model as .onnx, .pt or .py")
    export.add_argument("design", metavar="FILE", help="design JSON file ('-' reads stdin)")
    export.add_argument("--fmt", choices=["onnx", "pt", "py"], required=True, help="file format")
    export.add_argument("--out", required=True, metavar="FILE", help="where to write the export")
    export.add_argument("--checkpoint", metavar="CKPT", help="training checkpoint whose weights to export (default: fresh weights)")
    export.add_argument("--seed", type=int, default=0, help="seed for fresh weights (default: 0)")
    export.set_defaults(handler=cmd_export)

    train = commands.add_parser("train", help="train a design with PPO; a live progress line, then a summary")
    train.add_argument("design", metavar="FILE", help="design JSON file ('-' reads stdin)")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=positive_int, metavar="N", help="stop after N env steps (board moves); with --resume, N more")
    budget.add_argument(
        "--minutes", type=positive_float, metavar="M", help="stop after M minutes (default: run until Ctrl-C); with --resume, M more"
    )
    train.add_argument("--out", default=".data", metavar="DIR", help="data directory: generated/ and runs/<id>/checkpoint.pt (default: .data)")
    train.add_argument("--seed", type=int, default=0, help="seed of the weights, games and sampling (default: 0)")
    train.add_argument(
        "--torch-compile",
        action="store_true",
        help="run the model through torch.compile: faster updates for attention designs after a compile of tens of seconds",
    )
    train.add_argument(
        "--resume",
        metavar="CKPT",
        help="continue from this checkpoint (same design only): without --steps/--minutes, for what is left of its budget",
    )
    train.set_defaults(handler=cmd_train)

    eval_ = commands.add_parser("eval", help="play games with a checkpoint's policy and print the scores")
    eval_.add_argument("checkpoint", metavar="CKPT", help="training checkpoint (.pt)")
    eval_.add_argument("--games", type=positive_int, default=200, metavar="N", help="games to play (default: 200)")
    eval_.add_argument("--greedy", action="store_true", help="always play the most likely move (default: sample)")
    eval_.add_argument("--seed", type=int, default=0, help="seed of the games and sampling (default: 0)")
    eval_.set_defaults(handler=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
