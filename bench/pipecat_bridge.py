"""Reference 2: a Pipecat WebSocket audio bridge, one echo pipeline per connection.

Runs only in the benchmark's own environment (``bench/.venv-pipecat``, made by
``bench/run.py``); pipecat-ai is never a dependency of the gateway.

Each WebSocket connection to ``/ws`` gets Pipecat's FastAPI WebSocket transport with
its protobuf serializer and a pipeline ``input -> Echo -> output``: the client hears
its own audio back, through Pipecat's input transport (protobuf decode, input audio
queue), the pipeline's frame processors, and its output transport (re-chunking into
``audio_out_10ms_chunks`` x 10 ms, protobuf encode, simulated-playback pacing).
Echo rather than pairing, because a pipeline is per connection in Pipecat; per
connection the work is the same as the gateway's (one 50 frames/s stream in, one out).

The pipeline is configured to give Pipecat its best case: no RTVI processor, no turn
tracking, no idle watchdog, no metrics; 20 ms output chunks to match the workload.

    bench/.venv-pipecat/bin/python bench/pipecat_bridge.py --port 0
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys

import uvicorn
from fastapi import FastAPI, WebSocket
from loguru import logger
from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.serializers.protobuf import ProtobufFrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from pipecat.workers.runner import WorkerRunner

SAMPLE_RATE = 16000


class Echo(FrameProcessor):
    """Turns each received audio frame into an output audio frame; passes the rest on."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            out = OutputAudioRawFrame(audio=frame.audio, sample_rate=frame.sample_rate, num_channels=frame.num_channels)
            await self.push_frame(out, direction)
        else:
            await self.push_frame(frame, direction)


app = FastAPI()


@app.websocket("/ws")
async def bridge(websocket: WebSocket) -> None:
    await websocket.accept()
    transport = FastAPIWebsocketTransport(
        websocket,
        FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=SAMPLE_RATE,
            audio_out_sample_rate=SAMPLE_RATE,
            audio_out_10ms_chunks=2,
            add_wav_header=False,
            serializer=ProtobufFrameSerializer(),
            allowed_origins=[],
        ),
    )
    worker = PipelineWorker(
        Pipeline([transport.input(), Echo(), transport.output()]),
        params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE, audio_out_sample_rate=SAMPLE_RATE),
        enable_rtvi=False,
        enable_turn_tracking=False,
        idle_timeout_secs=None,
    )

    @transport.event_handler("on_client_disconnected")
    async def on_disconnected(_transport: object, _ws: object) -> None:
        await worker.cancel()

    await WorkerRunner(handle_sigint=False).run(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level=os.environ.get("BRIDGE_LOG_LEVEL", "WARNING"))
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, loop="uvloop", log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    print(f"pipecat-bridge listening on ws://{args.host}:{port}/ws", flush=True)
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
