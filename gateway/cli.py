"""``daily-gateway``: run the gateway. Every setting is a flag and a GATEWAY_* variable."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import faulthandler
import logging
import os
import signal
import ssl
import sys

from . import build_info, compiled, logs
from .auth import ROLES, Authenticator, ConfigError
from .config import ENV_PREFIX, Config, field_docs
from .server import Gateway

log = logging.getLogger("gateway")

SHUTDOWN_BACKSTOP_S = 10.0
"""After a stop signal the process exits within ``shutdown_timeout`` + this, even if a shutdown step hangs."""

REPEAT_SIGNAL_WINDOW_S = 1.0
"""A second stop signal this soon after the first is the same stop delivered twice, not an impatient user:
``make serve`` forwards a SIGTERM to its child that the child's process group already received."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daily-gateway",
        description="Join Daily or local rooms server side and relay them over the daily-gateway.v1 WebSocket protocol.",
        epilog=f"Each option can also be set with an environment variable {ENV_PREFIX}<NAME> (e.g. {ENV_PREFIX}PORT). "
        "To sign an access token: daily-gateway mint-token --help.",
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
    parser.add_argument("--version", action="version", version=f"daily-gateway {build_info.version()}",
                        help="print the version (package version + git commit where known) and exit")
    parser.add_argument("--backend", dest="backends", type=lambda s: tuple(p for p in s.split(",") if p),
                        help="alias of --backends")
    return parser


def setup_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr at ``level``, as text or one JSON object per line (``gateway.logs``)."""
    logs.configure(level, log_format)


async def run(config: Config) -> int:
    try:
        gateway = Gateway(config)
    except ConfigError as exc:
        print(f"daily-gateway: {exc}", file=sys.stderr)
        return 2
    except ssl.SSLError as exc:  # before OSError: it is one
        print(f"daily-gateway: cannot use tls_cert / tls_key: {exc.reason or exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"daily-gateway: cannot read tls_cert / tls_key: {exc}", file=sys.stderr)
        return 2
    await gateway.start()
    loop = asyncio.get_running_loop()
    first_stop: float | None = None

    def on_signal() -> None:
        nonlocal first_stop
        now = loop.time()
        if first_stop is not None:
            if now - first_stop < REPEAT_SIGNAL_WINDOW_S:
                return
            log.warning("second signal: exiting now")
            os._exit(1)
        first_stop = now
        gateway.request_stop()
        # Every shutdown step is bounded; this is the backstop if one is not (a stuck backend).
        drain = config.drain_timeout if config.redis_url else 0.0  # a cluster node drains first (docs/CLUSTER.md)
        loop.call_later(drain + config.shutdown_timeout + SHUTDOWN_BACKSTOP_S, force_exit)

    def force_exit() -> None:
        log.error("shutdown took over shutdown_timeout + %g s: exiting now (every thread's stack follows)",
                  SHUTDOWN_BACKSTOP_S)
        faulthandler.dump_traceback(all_threads=True)  # what held the exit up, for the bug report
        os._exit(1)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    print(f"daily-gateway {build_info.version()}, hot path: {hot_path_words()}", flush=True)
    # A machine-readable line for scripts and tests that start the gateway on port 0; a worker of --workers
    # leaves it to its supervisor, which says it once every worker is ready.
    serving = "worker serving" if gateway.supervisor_link is not None else "listening on"
    print(f"daily-gateway {serving} {gateway.scheme}://{config.host}:{gateway.port}/v1", flush=True)
    print(f"dashboard: open {gateway.dashboard_url} in a browser", flush=True)
    await gateway.serve_forever()
    return 0


def run_workers(config: Config, argv: list[str]) -> int:
    """``--workers N``: N gateway processes sharing the port, each a cluster node, under a supervisor
    (gateway/cluster/supervisor.py; docs/CLUSTER.md, "Workers"). Returns when they all stopped."""
    import secrets

    from .cluster.redis_server import RedisServerError
    from .cluster.supervisor import Supervisor, reserve_port, supervise

    try:
        reserved = reserve_port(config.host, config.port)
    except OSError as exc:
        print(f"daily-gateway: cannot bind {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 2
    port = reserved.getsockname()[1]
    worker_args = [*without_option(argv, "--workers"), "--workers", "1", "--port", str(port)]
    env = dict(os.environ)
    if not config.cluster_secret:  # the workers of one supervisor share a secret made for them
        env[ENV_PREFIX + "CLUSTER_SECRET"] = secrets.token_urlsafe(32)
    supervisor = Supervisor(
        lambda index: [sys.executable, "-m", "gateway", *worker_args], config.workers, redis_url=config.redis_url,
        stop_timeout=config.drain_timeout + config.shutdown_timeout + SHUTDOWN_BACKSTOP_S, env=env,
    )
    scheme = "wss" if config.tls_cert else "ws"

    def announce() -> None:
        print(f"daily-gateway {build_info.version()}: {config.workers} workers (Redis {supervisor.redis_url})", flush=True)
        print(f"daily-gateway listening on {scheme}://{config.host}:{port}/v1", flush=True)

    try:
        return asyncio.run(supervise(supervisor, on_ready=announce))
    except RedisServerError as exc:
        print(f"daily-gateway: {exc}", file=sys.stderr)
        return 2
    finally:
        reserved.close()


def without_option(argv: list[str], flag: str) -> list[str]:
    """``argv`` without ``flag VALUE`` and ``flag=VALUE``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == flag:
            skip = True
        elif not arg.startswith(flag + "="):
            out.append(arg)
    return out


def mint_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daily-gateway mint-token",
        description="Print a signed access token (PROTOCOL.md, \"Authentication\"). The keys or token secret "
        f"come from the same settings as the gateway's: {ENV_PREFIX}API_KEYS, {ENV_PREFIX}API_KEYS_FILE, "
        f"{ENV_PREFIX}TOKEN_SECRET or the flags below.",
    )
    parser.add_argument("--room", required=True, help='room URL, a prefix ending in * (local://team-*), or * for any')
    parser.add_argument("--role", choices=ROLES, default="bot", help="observer, bot or admin (default: bot)")
    parser.add_argument("--sub", default=None, help="who the token is for, shown in logs (default: unique, minted-<jti>)")
    parser.add_argument("--commands", type=lambda s: [p.strip() for p in s.split(",") if p.strip()],
                        help="comma-separated request types, narrowing the role's (default: the role's)")
    parser.add_argument("--ttl", type=float, default=300, help="lifetime in seconds (default: 300)")
    parser.add_argument("--key-id", help="API key signing the token (default: the token secret, else the first key)")
    parser.add_argument("--api-keys-file", dest="api_keys_file", default=None)
    parser.add_argument("--token-secret", dest="token_secret", default=None)
    parser.add_argument("--json", action="store_true", help="print the token and its claims as JSON")
    return parser


def mint_token(argv: list[str]) -> int:
    """``daily-gateway mint-token``: sign a token with the configured keys, print it."""
    import json

    args = mint_parser().parse_args(argv)
    try:
        config = Config.from_env(api_keys_file=args.api_keys_file, token_secret=args.token_secret)
        auth = Authenticator.from_config(config.api_keys, config.api_keys_file, config.token_secret)
        token, claims = auth.mint(sub=args.sub, room=args.room, role=args.role, commands=args.commands,
                                  ttl_s=args.ttl, key_id=args.key_id)
    except (ValueError, TypeError) as exc:  # ConfigError is a ValueError
        print(f"daily-gateway mint-token: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"token": token, "claims": claims}) if args.json else token, flush=True)
    return 0


def hot_path_words() -> str:
    """What the per-frame path runs as, for the start-up line."""
    if compiled.STALE_AT_START:
        return "plain Python (the compiled build does not match its source; `make setup` rebuilds it)"
    return compiled.summary()


def report_hot_path() -> None:
    """Warn about compiled builds that do not match their source (the hot path then runs as plain Python)."""
    if compiled.STALE_AT_START:
        log.warning(
            "compiled modules that do not match their source: %s; running the hot path as plain Python "
            "(`make setup` rebuilds it)", ", ".join(compiled.STALE_AT_START),
        )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["mint-token"]:
        return mint_token(argv[1:])
    args = build_parser().parse_args(argv)
    overrides = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Config)}
    try:
        config = Config.from_env(**overrides)
        setup_logging(config.log_level, config.log_format)
    except (TypeError, ValueError) as exc:
        print(f"daily-gateway: bad configuration: {exc}", file=sys.stderr)
        return 2
    report_hot_path()
    if config.workers > 1:
        return run_workers(config, argv)
    try:
        import uvloop

        return uvloop.run(run(config))
    except ImportError:
        return asyncio.run(run(config))


if __name__ == "__main__":
    sys.exit(main())
