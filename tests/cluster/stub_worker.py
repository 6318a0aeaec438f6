"""A stand-in worker for the supervisor's tests (until gateway nodes run under it, phase 2 of issue 21).

Binds the shared port with SO_REUSEPORT as a gateway node does, answers each HTTP request with its
pid, slot and Redis URL, tells the supervisor it is ready, drains on SIGTERM, and with
``STUB_RECYCLE_AFTER_S`` asks to be replaced (recycling) after that long.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from gateway.cluster.supervisor import REDIS_URL_ENV, WORKER_INDEX_ENV, SupervisorLink


async def main(port: int) -> None:
    link = SupervisorLink.from_env()
    body = f"{os.getpid()} {os.environ.get(WORKER_INDEX_ENV, '')} {os.environ.get(REDIS_URL_ENV, '')}".encode()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port, reuse_port=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if link is not None:
        link.tell("ready", f"http://127.0.0.1:{port}")
    if os.environ.get("STUB_CRASH"):
        os._exit(3)
    recycle = float(os.environ.get("STUB_RECYCLE_AFTER_S", "0") or 0)
    if not recycle:
        await stop.wait()
    else:
        try:
            await asyncio.wait_for(stop.wait(), recycle)
        except TimeoutError:
            if link is not None:
                link.tell("draining", "recycle")
            await asyncio.sleep(1.5)  # a draining node still accepts (and bridges) while its replacement starts
    server.close()
    await asyncio.sleep(0.1)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
