"""Gateway nodes sharing rooms through Redis (docs/CLUSTER.md).

Without ``--redis-url`` none of this runs: one process is the whole gateway. With it, the
process is a *node*: it registers in a directory kept in Redis and holds leases on what it
hosts, so that any node can accept any client and send it where its room or session lives.

- :mod:`.keys`         where each thing lives in Redis (one namespace per cluster)
- :mod:`.node`         what a node says about itself: address, version, load (sans-I/O)
- :mod:`.directory`    the directory in Redis: nodes, room and session leases taken atomically (Lua)
- :mod:`.membership`   this node's life in the directory: heartbeat, lease renewal, Redis outages
- :mod:`.placement`    which node hosts a new room or session (least loaded; sans-I/O)
- :mod:`.bridge`       a client's WebSocket relayed frame for frame to the hosting node
- :mod:`.redis_server` a redis-server child on a free loopback port (``--workers`` without a URL; tests)
- :mod:`.supervisor`   ``--workers N``: node processes sharing one port, restarted when they die
"""
