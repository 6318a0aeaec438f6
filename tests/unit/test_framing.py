"""Framer and frame_bytes: exact frames, remainders, tiny pushes, flush padding."""

from __future__ import annotations

import os

import pytest

from gateway.media.framing import Framer, frame_bytes


@pytest.mark.parametrize(
    ("rate", "channels", "ms", "expected"),
    [(16000, 1, 20, 640), (48000, 2, 20, 3840), (8000, 1, 10, 160), (44100, 1, 10, 882), (22050, 1, 10, 440)],
)
def test_frame_bytes(rate, channels, ms, expected):
    """frame_bytes counts whole samples per channel, two bytes each."""
    assert frame_bytes(rate, channels, ms) == expected


@pytest.mark.parametrize(("rate", "channels", "ms"), [(0, 1, 20), (16000, 0, 20), (16000, 1, 0), (100, 1, 1)])
def test_frame_bytes_rejects_empty_frames(rate, channels, ms):
    """Non-positive arguments, or a frame too short for one sample, raise ValueError."""
    with pytest.raises(ValueError):
        frame_bytes(rate, channels, ms)


def test_exact_frames():
    """A push of exactly three frames returns those three frames, in order, and holds nothing."""
    data = os.urandom(3 * 640)
    framer = Framer(640)
    assert framer.push(data) == [data[:640], data[640:1280], data[1280:]]
    assert framer.pending == 0


def test_remainder_is_held_and_completed_by_the_next_push():
    """Bytes past the last whole frame wait, then open the first frame of the next push."""
    data = os.urandom(1000)
    framer = Framer(400)
    assert framer.push(data[:900]) == [data[:400], data[400:800]]
    assert framer.pending == 100
    assert framer.push(data[900:]) == []
    assert framer.pending == 200
    assert framer.push(bytes(200)) == [data[800:] + bytes(200)]
    assert framer.pending == 0


def test_many_tiny_pushes_reassemble_the_stream():
    """Pushing one byte, then ragged sizes, yields frames that concatenate back to the input."""
    data = os.urandom(10_000)
    framer = Framer(320)
    frames: list[bytes] = []
    sizes = [1, 0, 2, 3, 319, 320, 321, 7, 641, 1]
    pos = 0
    while pos < len(data):
        for size in sizes:
            frames += framer.push(data[pos : pos + size])
            pos += size
    assert all(len(frame) == 320 for frame in frames)
    assert len(frames) == len(data) // 320
    assert b"".join(frames) + framer.flush(pad=False) == data


def test_accepts_any_bytes_like():
    """bytearray and memoryview input frame the same as bytes, and frames are immutable bytes."""
    data = os.urandom(100)
    for kind in (bytes, bytearray, memoryview):
        frames = Framer(40).push(kind(data))
        assert frames == [data[:40], data[40:80]]
        assert all(type(frame) is bytes for frame in frames)


def test_flush_pads_the_remainder_with_silence():
    """flush() returns the held bytes zero-padded to a whole frame, then holds nothing."""
    framer = Framer(8)
    framer.push(b"\x01\x02\x03")
    assert framer.flush() == b"\x01\x02\x03" + bytes(5)
    assert framer.pending == 0
    assert framer.flush() is None


def test_flush_without_padding_and_when_empty():
    """flush(pad=False) returns exactly the remainder; an empty framer flushes None."""
    framer = Framer(8)
    assert framer.flush() is None
    framer.push(b"\x01" * 11)
    assert framer.flush(pad=False) == b"\x01" * 3
    assert framer.flush(pad=False) is None


def test_reset_drops_the_remainder():
    """reset() forgets held bytes: the next frame starts with the next push."""
    framer = Framer(4)
    framer.push(b"abc")
    framer.reset()
    assert framer.pending == 0
    assert framer.push(b"wxyz") == [b"wxyz"]


def test_frame_size_must_be_positive():
    """A zero frame size is refused."""
    with pytest.raises(ValueError):
        Framer(0)


def test_a_whole_frame_of_bytes_passes_through_uncopied():
    """A bytes chunk of exactly one frame with nothing held is returned as the same object; a bytearray is copied."""
    framer = Framer(4)
    chunk = b"abcd"
    assert framer.push(chunk)[0] is chunk
    mutable = bytearray(b"wxyz")
    out = framer.push(mutable)
    mutable[:] = b"0000"
    assert out == [b"wxyz"] and type(out[0]) is bytes
    framer.push(b"ab")
    assert framer.push(b"cdef") == [b"abcd"] and framer.pending == 2
