"""``daily-gateway``: run the gateway. Every setting is a flag and a GATEWAY_* variable."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import sys

from .config import ENV_PREFIX, Config, field_docs
from .server import Gateway

log = logging.getLogger("gateway")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daily-gateway",
        description="Join Daily or local rooms server side and relay them over the daily-gateway.v1 WebSocket protocol.",
        epilog=f"Each option can also be set with an environment variable {ENV_PREFIX}<NAME> (e.g. {ENV_PREFIX}PORT).",
    )
    for name, default, doc in field_docs():
        flag = "--" + name.replace("_", "-")
        help_text = f"{doc} (default: {default!r})"
        if isinstance(default, bool):
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif isinstance(default, tuple):
            parser.add_argument(flag, dest=name, default=None, help=help_text + "; comma-separated",
                                type=lambda s: tuple(p.strip() for p in s.split(",") if p.strip()))
        else:
            kind = type(default) if default is not None else str
            parser.add_argument(flag, dest=name, type=kind, default=None, help=help_text)
    parser.add_argument("--backend", dest="backends", type=lambda s: tuple(p for p in s.split(",") if p),
                        help="alias of --backends")
    return parser


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)


async def run(config: Config) -> int:
    gateway = Gateway(config)
    await gateway.start()
    loop = asyncio.get_running_loop()
    stops = 0

    def on_signal() -> None:
        nonlocal stops
        stops += 1
        if stops > 1:
            log.warning("second signal: exiting now")
            os._exit(1)
        gateway.request_stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    # A machine-readable line for scripts and tests that start the gateway on port 0.
    print(f"daily-gateway listening on ws://{config.host}:{gateway.port}/v1", flush=True)
    print(f"dashboard: open {gateway.dashboard_url} in a browser", flush=True)
    await gateway.serve_forever()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Config)}
    try:
        config = Config.from_env(**overrides)
    except (TypeError, ValueError) as exc:
        print(f"daily-gateway: bad configuration: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log_level)
    try:
        import uvloop

        return uvloop.run(run(config))
    except ImportError:
        return asyncio.run(run(config))


if __name__ == "__main__":
    sys.exit(main())
