"""Video frame colour conversion: layouts, BT.601 values, round trips, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gateway.media.colors import (
    FORMATS,
    VideoFormatError,
    convert_frame,
    frame_size,
    scale_frame,
)

PACKED = ["RGB", "BGR", "RGBA", "BGRA", "ARGB", "ABGR"]
W, H = 16, 10


def random_rgb(width: int = W, height: int = H, seed: int = 1) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8).tobytes()


def smooth_rgb(width: int = 64, height: int = 48) -> np.ndarray:
    """Gradients in all three channels: what chroma subsampling preserves."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 40 + 170 * xx / width
    g = 30 + 180 * yy / height
    b = 200 - 150 * (xx + yy) / (width + height)
    return np.rint(np.stack([r, g, b], axis=-1)).astype(np.uint8)


def solid(rgb: tuple[int, int, int], width: int = 2, height: int = 2) -> bytes:
    return bytes(rgb) * (width * height)


def test_frame_sizes() -> None:
    """frame_size gives 3, 4 and 1.5 bytes per pixel for the format families."""
    assert frame_size(4, 2, "RGB") == frame_size(4, 2, "BGR") == 24
    for fmt in ("RGBA", "BGRA", "ARGB", "ABGR"):
        assert frame_size(4, 2, fmt) == 32
    assert frame_size(4, 2, "I420") == 12
    assert frame_size(1280, 720, "I420") == 1280 * 720 * 3 // 2


def test_format_names_are_case_insensitive() -> None:
    """Lower-case names are accepted, so 'rgba' from a client JSON works."""
    assert convert_frame(solid((1, 2, 3)), 2, 2, "rgb", "bgra") == bytes([3, 2, 1, 255]) * 4


@pytest.mark.parametrize(
    ("fmt", "pixel"),
    [
        ("RGB", [255, 0, 0]),
        ("BGR", [0, 0, 255]),
        ("RGBA", [255, 0, 0, 255]),
        ("BGRA", [0, 0, 255, 255]),
        ("ARGB", [255, 255, 0, 0]),
        ("ABGR", [255, 0, 0, 255]),
    ],
)
def test_pure_red_byte_layout(fmt: str, pixel: list[int]) -> None:
    """Pure red lands in the byte positions each format name spells, alpha 255."""
    out = convert_frame(solid((255, 0, 0)), 2, 2, "RGB", fmt)
    assert list(out) == pixel * 4


def test_distinct_channels_layout() -> None:
    """Each channel is routed by name, not just red: (10, 20, 30, a=40)."""
    rgba = bytes([10, 20, 30, 40])
    assert convert_frame(rgba, 1, 1, "RGBA", "ARGB") == bytes([40, 10, 20, 30])
    assert convert_frame(rgba, 1, 1, "RGBA", "ABGR") == bytes([40, 30, 20, 10])
    assert convert_frame(rgba, 1, 1, "RGBA", "BGR") == bytes([30, 20, 10])
    assert convert_frame(bytes([40, 30, 20, 10]), 1, 1, "ABGR", "BGRA") == bytes([30, 20, 10, 40])


@pytest.mark.parametrize(
    ("rgb", "yuv"),
    [
        # BT.601 limited range, Y = 16 + 219 * (0.299 R + 0.587 G + 0.114 B) / 255 etc.
        ((255, 0, 0), (81, 90, 240)),
        ((0, 255, 0), (145, 54, 34)),
        ((0, 0, 255), (41, 240, 110)),
        ((0, 0, 0), (16, 128, 128)),
        ((255, 255, 255), (235, 128, 128)),
        ((128, 128, 128), (126, 128, 128)),
    ],
)
def test_i420_known_values(rgb: tuple[int, int, int], yuv: tuple[int, int, int]) -> None:
    """Solid colours give the BT.601 limited-range Y, U, V in the I420 planes."""
    out = convert_frame(solid(rgb, 4, 2), 4, 2, "RGB", "I420")
    y, u, v = yuv
    assert list(out) == [y] * 8 + [u] * 2 + [v] * 2


def test_i420_plane_layout() -> None:
    """Y is full size row-major, then U, then V, one chroma sample per 2x2 block."""
    # Left 2x2 block red, right 2x2 block blue.
    rgb = np.zeros((2, 4, 3), np.uint8)
    rgb[:, :2] = (255, 0, 0)
    rgb[:, 2:] = (0, 0, 255)
    out = convert_frame(rgb.tobytes(), 4, 2, "RGB", "I420")
    assert list(out) == [81, 81, 41, 41, 81, 81, 41, 41, 90, 240, 240, 110]


def test_i420_chroma_is_block_average() -> None:
    """A 2x2 block of two reds and two blues gets the chroma of their mean."""
    rgb = np.array([[(255, 0, 0), (0, 0, 255)], [(0, 0, 255), (255, 0, 0)]], np.uint8)
    out = convert_frame(rgb.tobytes(), 2, 2, "RGB", "I420")
    mean = convert_frame(solid((128, 0, 128)), 2, 2, "RGB", "I420")
    assert abs(out[4] - mean[4]) <= 1 and abs(out[5] - mean[5]) <= 1


def test_i420_to_rgb_known_values() -> None:
    """Decoding BT.601 Y/U/V of primaries gives the primaries back (±1)."""
    for rgb, (y, u, v) in [((255, 0, 0), (81, 90, 240)), ((0, 0, 0), (16, 128, 128))]:
        out = convert_frame(bytes([y] * 4 + [u, v]), 2, 2, "I420", "RGB")
        assert np.abs(np.frombuffer(out, np.uint8).astype(int) - np.tile(rgb, 4)).max() <= 1


def test_i420_decode_clips_out_of_gamut() -> None:
    """Y/U/V combinations outside the RGB cube clip to 0..255, not wrap around."""
    out = convert_frame(bytes([255] * 4 + [255, 255]), 2, 2, "I420", "RGB")
    assert list(out[:3]) == [255, 125, 255]  # G = 278 - 50 - 103
    out = convert_frame(bytes([0] * 4 + [0, 0]), 2, 2, "I420", "RGB")
    assert list(out[:3]) == [0, 136, 0]  # G = -19 + 50 + 104


@pytest.mark.parametrize(("via", "back"), list(itertools.product(PACKED, PACKED)))
def test_packed_round_trip_is_exact(via: str, back: str) -> None:
    """RGB -> X -> Y -> RGB is lossless for every pair of packed formats."""
    original = random_rgb()
    frame = convert_frame(original, W, H, "RGB", via)
    frame = convert_frame(frame, W, H, via, back)
    assert convert_frame(frame, W, H, back, "RGB") == original


@pytest.mark.parametrize("fmt", PACKED)
def test_i420_round_trip_within_tolerance(fmt: str) -> None:
    """X -> I420 -> X keeps a smooth image within a few levels per channel."""
    rgb = smooth_rgb()
    h, w = rgb.shape[:2]
    src = convert_frame(rgb.tobytes(), w, h, "RGB", fmt)
    back = convert_frame(convert_frame(src, w, h, fmt, "I420"), w, h, "I420", fmt)
    diff = np.abs(np.frombuffer(back, np.uint8).astype(int) - np.frombuffer(src, np.uint8))
    # Luma is per pixel; the error comes from one chroma sample per 2x2 block
    # on gradients of up to 2.7 levels per pixel, plus rounding twice.
    assert diff.max() <= 6
    assert diff.mean() < 2.0


def test_i420_round_trip_of_random_noise_is_lossy() -> None:
    """Chroma subsampling really happens: noise does not survive I420 exactly."""
    original = random_rgb()
    back = convert_frame(convert_frame(original, W, H, "RGB", "I420"), W, H, "I420", "RGB")
    assert back != original


def test_i420_to_i420_via_rgb_is_stable() -> None:
    """Decoding and re-encoding I420 reproduces it within one level."""
    rgb = smooth_rgb()
    h, w = rgb.shape[:2]
    yuv = convert_frame(rgb.tobytes(), w, h, "RGB", "I420")
    again = convert_frame(convert_frame(yuv, w, h, "I420", "BGRA"), w, h, "BGRA", "I420")
    diff = np.abs(np.frombuffer(again, np.uint8).astype(int) - np.frombuffer(yuv, np.uint8))
    assert diff.max() <= 1


def test_alpha_dropped_then_opaque() -> None:
    """Alpha is dropped for 3-channel targets and comes back as 255."""
    rgba = bytes([1, 2, 3, 7])
    rgb = convert_frame(rgba, 1, 1, "RGBA", "RGB")
    assert rgb == bytes([1, 2, 3])
    assert convert_frame(rgb, 1, 1, "RGB", "ARGB") == bytes([255, 1, 2, 3])


def test_alpha_preserved_between_alpha_formats() -> None:
    """Converting between 4-channel formats keeps alpha as it was."""
    rgba = bytes([1, 2, 3, 7])
    assert convert_frame(convert_frame(rgba, 1, 1, "RGBA", "ABGR"), 1, 1, "ABGR", "RGBA") == rgba


def test_same_format_returns_copy() -> None:
    """src == dst returns equal, independent bytes, even from a bytearray."""
    data = bytearray(random_rgb())
    out = convert_frame(data, W, H, "RGB", "RGB")
    assert isinstance(out, bytes) and out == data


def test_accepts_memoryview() -> None:
    """Any bytes-like object is accepted, as frames may arrive as memoryviews."""
    data = random_rgb()
    assert convert_frame(memoryview(data), W, H, "RGB", "BGR") == convert_frame(data, W, H, "RGB", "BGR")


def test_formats_constant() -> None:
    """FORMATS lists exactly Daily's seven names."""
    assert FORMATS == {"RGB", "BGR", "RGBA", "BGRA", "ARGB", "ABGR", "I420"}


@pytest.mark.parametrize(("src", "dst"), [("RGB", "YUY2"), ("NV12", "RGB"), ("", "RGB")])
def test_unknown_format_raises(src: str, dst: str) -> None:
    """Unknown format names raise VideoFormatError naming the format."""
    with pytest.raises(VideoFormatError) as info:
        convert_frame(b"\0" * 12, 2, 2, src, dst)
    assert info.value.fmt in (src, dst)
    with pytest.raises(VideoFormatError):
        frame_size(2, 2, "YUY2")


@pytest.mark.parametrize(("width", "height"), [(3, 2), (2, 3), (5, 5)])
def test_odd_size_i420_raises(width: int, height: int) -> None:
    """I420 needs even sizes, whether it is the source or the target."""
    with pytest.raises(VideoFormatError, match="even"):
        convert_frame(b"\0" * (width * height * 3), width, height, "RGB", "I420")
    with pytest.raises(VideoFormatError, match="even"):
        frame_size(width, height, "I420")


def test_odd_size_packed_is_fine() -> None:
    """Odd sizes are valid for packed formats."""
    assert len(convert_frame(b"\1" * 45, 5, 3, "RGB", "RGBA")) == 60


@pytest.mark.parametrize(("width", "height"), [(0, 2), (2, 0), (-2, 2)])
def test_non_positive_size_raises(width: int, height: int) -> None:
    """Zero or negative sizes raise VideoFormatError."""
    with pytest.raises(VideoFormatError):
        frame_size(width, height, "RGB")


@pytest.mark.parametrize(("fmt", "length"), [("RGB", 11), ("RGB", 13), ("RGBA", 12), ("I420", 5)])
def test_wrong_data_length_raises(fmt: str, length: int) -> None:
    """A buffer that is not exactly one frame is rejected, naming both lengths."""
    with pytest.raises(VideoFormatError, match=str(length)):
        convert_frame(b"\0" * length, 2, 2, fmt, "BGRA")


def test_video_format_error_is_value_error() -> None:
    """Callers catching ValueError also catch VideoFormatError."""
    assert issubclass(VideoFormatError, ValueError)


def test_large_frame_converts() -> None:
    """A 1280x720 frame converts in every direction with the right sizes."""
    w, h = 1280, 720
    rgb = smooth_rgb(w, h).tobytes()
    for fmt in FORMATS:
        out = convert_frame(rgb, w, h, "RGB", fmt)
        assert len(out) == frame_size(w, h, fmt)
        assert len(convert_frame(out, w, h, fmt, "RGBA")) == w * h * 4


def test_scale_packed_nearest() -> None:
    """Halving a 4x2 RGBA frame keeps one pixel of each 2x2 block."""
    pixels = np.arange(4 * 2 * 4, dtype=np.uint8).reshape(2, 4, 4)
    out = np.frombuffer(scale_frame(pixels.tobytes(), 4, 2, "RGBA", 2, 1), np.uint8)
    assert out.reshape(1, 2, 4).tolist() == pixels[1:2, 1::2].tolist()


def test_scale_up_repeats_pixels() -> None:
    """Doubling a frame repeats every pixel into a 2x2 block."""
    pixels = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    out = np.frombuffer(scale_frame(pixels.tobytes(), 2, 2, "RGB", 4, 4), np.uint8)
    expected = pixels.repeat(2, axis=0).repeat(2, axis=1)
    assert out.reshape(4, 4, 3).tolist() == expected.tolist()


def test_scale_i420_scales_each_plane() -> None:
    """Scaling I420 matches scaling its RGB and converting (solid colours)."""
    yuv = convert_frame(solid((255, 0, 0), 8, 4), 8, 4, "RGB", "I420")
    out = scale_frame(yuv, 8, 4, "I420", 4, 2)
    assert out == convert_frame(solid((255, 0, 0), 4, 2), 4, 2, "RGB", "I420")


def test_scale_errors() -> None:
    """Scaling rejects odd I420 targets and mismatched data."""
    yuv = bytes(frame_size(8, 4, "I420"))
    with pytest.raises(VideoFormatError, match="even"):
        scale_frame(yuv, 8, 4, "I420", 3, 2)
    with pytest.raises(VideoFormatError):
        scale_frame(yuv[:-1], 8, 4, "I420", 4, 2)
