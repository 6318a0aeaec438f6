"""Gateway configuration: one flat dataclass with documented defaults.

Every field can be set from the command line (``--max-message-bytes``) or the
environment (``GATEWAY_MAX_MESSAGE_BYTES``); the command line wins. The README's
"Configuration" table is generated from :data:`FIELDS_DOC` order and text.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from protocol.constants import DEFAULT_LIMITS, MAX_JSON_DEPTH

ENV_PREFIX = "GATEWAY_"


@dataclass
class Config:
    """Settings of one gateway process."""

    host: str = "127.0.0.1"
    """Address to bind. Loopback by default: anything else exposes rooms to the network."""
    port: int = 8765
    """TCP port for WebSocket and HTTP (``/healthz``)."""
    backends: tuple[str, ...] = ("local", "daily")
    """Room backends clients may join through."""
    demo: bool = False
    """Run the demo talker: a simulated participant speaking in ``demo_room`` in a loop."""
    demo_room: str = "local://demo"
    """Room the demo talker joins."""
    demo_wav: str | None = None
    """WAV the demo talker plays (mono or stereo PCM16); the bundled speech sample by default."""
    log_level: str = "info"
    """debug, info, warning or error."""
    log_format: str = "text"
    """text (one line per record, for people) or json (one object per line: time, level, logger, session_id, room, request_id, event; for log search)."""
    metrics_port: int = 0
    """Also serve GET /metrics (Prometheus) on this port, without a credential, on metrics_host; 0: only on the main port (an admin credential when keys are set)."""
    metrics_host: str = "127.0.0.1"
    """Address of metrics_port. Loopback by default: the metrics there need no credential."""
    max_message_bytes: int = DEFAULT_LIMITS["max_message_bytes"]
    """Largest text frame answered with a typed error rather than read (too_large)."""
    max_frame_bytes: int = DEFAULT_LIMITS["max_frame_bytes"]
    """Largest binary frame (a 1280x720 RGBA or 1920x1080 I420 video frame fits); larger ones are skipped unread (too_large), over 4x this close the connection (1009)."""
    max_receive_buffer_bytes: int = 0
    """Bytes one connection may hold received but not yet handled (a partial frame, a fragmented message); more closes it with 1009. 0: twice the larger of max_frame_bytes and max_message_bytes."""
    max_receive_buffer_bytes_total: int = 128 * 1024 * 1024
    """Bytes all connections together may hold received but not yet handled, beyond 64 KiB each; a connection needing more is closed with 1013. 0: no bound."""
    max_app_message_bytes: int = DEFAULT_LIMITS["max_app_message_bytes"]
    """Largest serialized app message."""
    max_consecutive_errors: int = DEFAULT_LIMITS["max_consecutive_errors"]
    """Protocol errors in a row before the connection is closed with 4002."""
    max_requests_per_second: int = DEFAULT_LIMITS["max_requests_per_second"]
    """Requests per second per session before rate_limited errors."""
    max_playout_buffer_ms: int = DEFAULT_LIMITS["max_playout_buffer_ms"]
    """Most published audio the gateway buffers per session before buffer_full."""
    idle_timeout_ms: int = DEFAULT_LIMITS["idle_timeout_ms"]
    """Close a connection that sent nothing (no message, no pong) for this long with 4009; 0: never."""
    ping_interval_ms: int = DEFAULT_LIMITS["ping_interval_ms"]
    """WebSocket ping period (a client's pongs keep it from idling out); 0: no pings."""
    max_sessions_per_key: int = DEFAULT_LIMITS["max_sessions_per_key"]
    """Open connections per API key (a token counts for the key that signed it); more are closed with 4029. 0: no limit."""
    max_rooms: int = DEFAULT_LIMITS["max_rooms"]
    """Rooms this gateway is in at once; a join or observe that would add one more gets limit_reached. 0: no limit."""
    resume_grace_ms: int = DEFAULT_LIMITS["resume_grace_ms"]
    """How long a session whose connection dropped stays in its room, resumable (PROTOCOL.md "Resume"); 0: no resume."""
    replay_buffer_events: int = DEFAULT_LIMITS["replay_buffer_events"]
    """Text frames each session keeps for a resume (the newest); an older last_seq cannot be resumed."""
    replay_buffer_bytes: int = DEFAULT_LIMITS["replay_buffer_bytes"]
    """Bytes of text frames each session keeps for a resume (with replay_buffer_events, whichever is reached first)."""
    max_pending_events: int = DEFAULT_LIMITS["max_pending_events"]
    """Text frames waiting for a slow client before it is closed with 4010 (resumable); 0: no bound."""
    media_queue_ms: int = 2000
    """Outgoing media held per session for a slow client before the oldest is dropped (counted)."""
    shutdown_timeout: float = 5.0
    """Seconds to wait for sessions to leave their rooms on shutdown before cancelling them."""
    join_timeout: float = 30.0
    """Seconds a backend may take to join a room."""
    data_dir: str = "./data"
    """Directory of the gateway's own files: the history database (history_db)."""
    history_db: str = ""
    """Session history (SQLite, PROTOCOL.md 5.13): a file path, :memory: (kept while the gateway runs) or off; empty: data_dir/history.sqlite3."""
    history_max_sessions: int = 10000
    """Sessions the history keeps; the oldest are deleted first."""
    history_max_events: int = 5000
    """Entries the history keeps per session; later ones are counted (dropped_events), not kept."""
    history_retention_days: float = 7.0
    """Sessions that ended longer ago than this are deleted from the history (at start, then hourly)."""
    history_network_interval_s: float = 15.0
    """How often a local room's network stats are kept in each session's history (Daily sends its own); 0: never."""
    recordings_dir: str = "./recordings"
    """Directory where local-room recordings are written (WAV files, one folder per recording)."""
    transcription_workers: int = 1
    """Processes running local-room speech recognition (started on first use; about 95 MB each)."""
    daily_api_key: str | None = None
    """Daily REST API key (also read from DAILY_API_KEY); never sent to clients or logged."""
    daily_api_url: str = "https://api.daily.co/v1"
    """Daily REST API base URL."""
    daily_sdk: str = "daily"
    """Module providing daily-python (tests name a fake as "module:factory")."""
    api_keys: tuple[str, ...] = ()
    """Gateway API keys as id:secret (secret of 16+ characters; prefer the environment or api_keys_file). None set: open, on loopback only."""
    api_keys_file: str | None = None
    """File of API keys, one id:secret a line (# comments)."""
    token_secret: str | None = None
    """Secret signing access tokens (16+ characters); without it tokens are signed with a key derived from an API key."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins allowed to connect besides the gateway's own (e.g. https://app.example.com); * allows any."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names (the HTTP Host header, port aside) served besides loopback ones; without API keys only loopback names are served (DNS rebinding). * allows any."""
    tls_cert: str | None = None
    """PEM certificate chain: serve wss:// and https:// (with tls_key)."""
    tls_key: str | None = None
    """PEM private key of tls_cert (default: tls_cert itself)."""
    redis_url: str | None = None
    """Redis of a cluster (redis://[user:password@]host:port/db; rediss:// across machines): this process becomes one of its nodes, sharing rooms and sessions with the others (docs/CLUSTER.md). None: one process, no cluster."""
    cluster_secret: str | None = None
    """Secret the cluster's nodes share (16+ characters) to sign the hand-over of a client one node relays to another; required with redis_url when API keys or a token secret are set."""
    cluster_namespace: str = "daily-gateway"
    """Prefix of this cluster's keys in Redis (several clusters may share one Redis)."""
    cluster_address: str | None = None
    """WebSocket URL other nodes relay clients to (ws://10.0.0.2:8765/v1); default: ws(s)://<host>:<port>/v1 of this process (a wildcard host: this machine's name)."""
    cluster_public_url: str | None = None
    """This node's own endpoint for clients (wss://node-2.example.com/v1): clients that opt in with ?redirect=1 are sent there (close 4307) instead of being relayed. None: always relayed."""
    cluster_heartbeat_ms: int = 1000
    """How often this node tells Redis it is alive, with its load."""
    cluster_node_ttl_ms: int = 5000
    """A node silent this long is gone: its rooms and sessions may be taken over (the cluster's failure bound; at least 3 heartbeats)."""
    workers: int = 1
    """Gateway processes sharing the port (SO_REUSEPORT), each a node of a cluster, restarted when one dies; with no redis_url a redis-server is started for them (docs/CLUSTER.md, "Workers"). 1: this process alone."""
    max_session_hours: float = 0.0
    """A cluster node older than this drains and is replaced (under --workers), so a slow native leak never grows for ever. 0: never."""
    max_rss_mb: int = 0
    """A cluster node whose resident memory passes this drains and is replaced (under --workers). 0: never."""
    drain_timeout: float = 30.0
    """Seconds a cluster node stopped with SIGTERM drains: its clients are told to resume on other nodes (1012) and its sessions wait for them there; what is left then is closed with 1001."""

    def limits(self) -> dict[str, int]:
        """The ``limits`` object of the hello message (``max_json_depth`` is the protocol's, not a setting)."""
        return {**{name: int(getattr(self, name)) for name in DEFAULT_LIMITS}, "max_json_depth": MAX_JSON_DEPTH}

    def receive_buffer_bytes(self) -> int:
        """``max_receive_buffer_bytes``, or its default: two of the largest frame a client may send."""
        return self.max_receive_buffer_bytes or 2 * max(self.max_frame_bytes, self.max_message_bytes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Config:
        """Build from ``GATEWAY_*`` variables, then ``overrides`` (non-None values) on top."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(f, raw)
        if "daily_api_key" not in values and environ.get("DAILY_API_KEY"):
            values["daily_api_key"] = environ["DAILY_API_KEY"]  # the name Daily's own tools use
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _parse(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if kind.startswith("bool"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind.startswith("int"):
        return int(raw)
    if kind.startswith("float"):
        return float(raw)
    if kind.startswith("tuple"):
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    return raw


def field_docs() -> list[tuple[str, Any, str]]:
    """(name, default, doc) for every setting, read from the attribute docstrings above."""
    import ast
    import inspect

    source = inspect.getsource(Config)
    tree = ast.parse(source)
    docs: dict[str, str] = {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, nxt in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                docs[node.target.id] = str(nxt.value.value)
    defaults = Config()
    return [(f.name, getattr(defaults, f.name), docs.get(f.name, "")) for f in dataclasses.fields(Config)]


__all__ = ["Config", "ENV_PREFIX", "field", "field_docs"]
