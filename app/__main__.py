"""Command line: ``python -m app [serve|check-config|analyze]``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys

from aiohttp import web

from app.analysis.redact import redact
from app.cli import analyze, check_config, load_inputs, run_worker
from app.clusters import load_clusters
from app.errors import ConfigError
from app.logs import configure_logging
from app.server import create_app
from app.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Fixloop: failed canary -> fix")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the GitHub App server (default)")
    sub.add_parser("worker", help="run only the job workers (beside `serve` with FIXLOOP_RUN_WORKERS=false)")
    sub.add_parser("check-config", help="validate the environment and reach the store")
    analyze = sub.add_parser("analyze", help="analyse a notification offline; print the issue it would file")
    analyze.add_argument("--notification", help="notification JSON file (default: the bundled demo)")
    analyze.add_argument("--kubeconfig", help="read evidence from this cluster instead of the bundled demo")
    analyze.add_argument("--config", help="a .github/fixloop.yml to apply (extra_prompt, ...)")
    analyze.add_argument("--json", action="store_true", help="print the verdict and evidence as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        load_clusters(settings)  # a broken cluster registry stops the start with one line, too
    except ConfigError as exc:
        print(f"fixloop: configuration error: {exc}", file=sys.stderr)
        return 2
    command = args.command or "serve"
    if command == "check-config":
        return asyncio.run(check_config(settings))
    if command == "worker":
        configure_logging(settings.log_format, settings.log_level, scrub=redact)
        asyncio.run(run_worker(dataclasses.replace(settings, run_workers=True)))
        return 0
    if command == "analyze":
        inputs = load_inputs(args.notification, args.config)
        if isinstance(inputs, str):
            print(inputs, file=sys.stderr)
            return 2
        return asyncio.run(analyze(settings, inputs, args.kubeconfig, as_json=args.json))
    return serve(settings)


def serve(settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level, scrub=redact)
    web.run_app(create_app(settings), port=settings.port, access_log=None, shutdown_timeout=25, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
