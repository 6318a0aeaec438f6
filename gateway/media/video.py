"""Video frame colour conversion between Daily's pixel formats, with numpy.

Rooms hand out frames in one format and WebSocket clients ask for another
(browsers want RGBA for ``ImageData``, encoders want I420), so the gateway
converts in between.  Every function here is vectorised numpy: a 1280x720
frame converts in a few milliseconds, without Python per-pixel loops.

Formats (Daily's names; case-insensitive):

======  =====================================================  ================
name    memory layout, top row first                           bytes
======  =====================================================  ================
RGB     R G B per pixel                                        3 * w * h
BGR     B G R per pixel                                        3 * w * h
RGBA    R G B A per pixel                                      4 * w * h
BGRA    B G R A per pixel                                      4 * w * h
ARGB    A R G B per pixel                                      4 * w * h
ABGR    A B G R per pixel                                      4 * w * h
I420    planar YUV 4:2:0: Y (w*h), then U, then V (w/2 * h/2)  3 * w * h / 2
======  =====================================================  ================

I420 uses ITU-R BT.601 in limited ("studio", "TV") range, which is what
WebRTC and most encoders mean by I420: Y in [16, 235], U and V in [16, 240],
Kr = 0.299, Kb = 0.114.  I420 needs an even width and height (one chroma
sample per 2x2 block); RGB to I420 averages each block's colour, I420 to RGB
repeats each chroma sample over its block.  Alpha is dropped when the target
has none and set to 255 (opaque) when the source has none.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FORMATS", "VideoFormatError", "convert_frame", "frame_size", "scale_frame"]

_PACKED: dict[str, str] = {
    "RGB": "RGB",
    "BGR": "BGR",
    "RGBA": "RGBA",
    "BGRA": "BGRA",
    "ARGB": "ARGB",
    "ABGR": "ABGR",
}
"""Packed formats and their byte order: the name spells the channel order."""

FORMATS: frozenset[str] = frozenset(_PACKED) | {"I420"}
"""Every format name accepted by this module."""

# BT.601 luma weights, and the limited-range scale: 219 levels of luma and
# 224 of chroma out of 255 (ITU-R BT.601-7, section 2.5.3).
_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
_Y_SCALE = 219.0 / 255.0
_C_SCALE = 224.0 / 255.0

# RGB (0..255) -> limited range Y'CbCr, rows Y, U (Cb), V (Cr); offsets added
# afterwards.
_RGB_TO_YUV = np.array(
    [
        [_KR * _Y_SCALE, _KG * _Y_SCALE, _KB * _Y_SCALE],
        [
            -_KR / (2 * (1 - _KB)) * _C_SCALE,
            -_KG / (2 * (1 - _KB)) * _C_SCALE,
            0.5 * _C_SCALE,
        ],
        [
            0.5 * _C_SCALE,
            -_KG / (2 * (1 - _KR)) * _C_SCALE,
            -_KB / (2 * (1 - _KR)) * _C_SCALE,
        ],
    ],
    dtype=np.float32,
)
_YUV_TO_RGB = np.linalg.inv(_RGB_TO_YUV.astype(np.float64)).astype(np.float32)
"""Exact inverse of the forward matrix, so a round trip only loses rounding."""


class VideoFormatError(ValueError):
    """A format name, frame size or data length that can't be converted."""

    def __init__(self, message: str, *, fmt: str | None = None) -> None:
        super().__init__(message)
        self.fmt = fmt
        """The format at fault, when one is."""


def _check_format(fmt: str) -> str:
    name = fmt.upper() if isinstance(fmt, str) else fmt
    if name not in FORMATS:
        raise VideoFormatError(
            f"unknown video format {fmt!r}; expected one of {sorted(FORMATS)}", fmt=str(fmt)
        )
    return name


def _check_size(width: int, height: int, fmt: str) -> None:
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        raise VideoFormatError(f"frame size must be positive ints, got {width!r}x{height!r}")
    if fmt == "I420" and (width % 2 or height % 2):
        raise VideoFormatError(
            f"I420 needs an even width and height, got {width}x{height}", fmt=fmt
        )


def frame_size(width: int, height: int, fmt: str) -> int:
    """Bytes in one ``width`` x ``height`` frame of ``fmt``.

    Raises:
        VideoFormatError: unknown format, non-positive size, or odd I420 size.
    """
    name = _check_format(fmt)
    _check_size(width, height, name)
    if name == "I420":
        return width * height * 3 // 2
    return width * height * len(_PACKED[name])


def _view(data: bytes, width: int, height: int, fmt: str) -> np.ndarray:
    """Validate and wrap ``data`` without copying (read only)."""
    expected = frame_size(width, height, fmt)
    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size != expected:
        raise VideoFormatError(
            f"{fmt} {width}x{height} frame is {expected} bytes, got {buf.size}", fmt=fmt
        )
    return buf


def _packed_to_packed(pixels: np.ndarray, src: str, dst: str) -> np.ndarray:
    order_src, order_dst = _PACKED[src], _PACKED[dst]
    if "A" in order_dst and "A" not in order_src:
        out = np.empty(pixels.shape[:2] + (len(order_dst),), dtype=np.uint8)
        for i, channel in enumerate(order_dst):
            out[..., i] = 255 if channel == "A" else pixels[..., order_src.index(channel)]
        return out
    # Fancy indexing on the channel axis reorders (and drops alpha) in one copy.
    return pixels[..., [order_src.index(channel) for channel in order_dst]]


def _rgb_to_i420(rgb: np.ndarray) -> bytes:
    h, w = rgb.shape[:2]
    rgbf = rgb.astype(np.float32)
    m = _RGB_TO_YUV
    y = rgbf[..., 0] * m[0, 0] + rgbf[..., 1] * m[0, 1] + rgbf[..., 2] * m[0, 2] + 16.0
    # Chroma is linear in RGB, so averaging RGB over each 2x2 block first is
    # the same as averaging the per-pixel chroma, at a quarter of the work.
    block = rgbf.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    u = block[..., 0] * m[1, 0] + block[..., 1] * m[1, 1] + block[..., 2] * m[1, 2] + 128.0
    v = block[..., 0] * m[2, 0] + block[..., 1] * m[2, 1] + block[..., 2] * m[2, 2] + 128.0
    out = np.empty(w * h * 3 // 2, dtype=np.uint8)
    quarter = (w // 2) * (h // 2)
    _round_into(y, out[: w * h])
    _round_into(u, out[w * h : w * h + quarter])
    _round_into(v, out[w * h + quarter :])
    return out.tobytes()


def _round_into(values: np.ndarray, out: np.ndarray) -> None:
    np.clip(np.rint(values), 0, 255, out=values)
    out[:] = values.reshape(-1)


def _i420_to_rgb(buf: np.ndarray, width: int, height: int) -> np.ndarray:
    n = width * height
    quarter = n // 4
    y = buf[:n].reshape(height, width).astype(np.float32) - 16.0
    u = buf[n : n + quarter].reshape(height // 2, width // 2).astype(np.float32) - 128.0
    v = buf[n + quarter :].reshape(height // 2, width // 2).astype(np.float32) - 128.0
    m = _YUV_TO_RGB
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    # Each chroma term is computed at quarter resolution and then broadcast
    # over its 2x2 block through a (h/2, 2, w/2, 2) view of the luma.
    y4 = (y * m[0, 0]).reshape(height // 2, 2, width // 2, 2)
    for channel in range(3):
        chroma = (u * m[channel, 1] + v * m[channel, 2])[:, None, :, None]
        value = y4 + chroma
        np.clip(np.rint(value, out=value), 0, 255, out=value)
        rgb[..., channel] = value.reshape(height, width)
    return rgb


def convert_frame(data: bytes, width: int, height: int, src: str, dst: str) -> bytes:
    """Convert one frame from format ``src`` to format ``dst``.

    Args:
        data: the frame, any bytes-like object of exactly
            ``frame_size(width, height, src)`` bytes.
        width, height: frame size in pixels.
        src, dst: format names, see the module docstring.

    Returns:
        A new ``bytes`` of ``frame_size(width, height, dst)`` bytes.

    Raises:
        VideoFormatError: unknown format, bad size (I420 needs even sizes) or
            a data length that doesn't match ``src``.
    """
    src_name, dst_name = _check_format(src), _check_format(dst)
    _check_size(width, height, dst_name)
    buf = _view(data, width, height, src_name)
    if src_name == dst_name:
        return buf.tobytes()
    if src_name == "I420":
        rgb = _i420_to_rgb(buf, width, height)
        return _packed_to_packed(rgb, "RGB", dst_name).tobytes()
    pixels = buf.reshape(height, width, len(_PACKED[src_name]))
    if dst_name == "I420":
        return _rgb_to_i420(_packed_to_packed(pixels, src_name, "RGB"))
    return _packed_to_packed(pixels, src_name, dst_name).tobytes()


def scale_frame(
    data: bytes, width: int, height: int, fmt: str, new_width: int, new_height: int
) -> bytes:
    """Resize a frame by nearest neighbour, e.g. to send clients thumbnails.

    Nearest neighbour is blocky but costs one gather per plane; smooth
    scaling belongs in an encoder.

    Raises:
        VideoFormatError: as ``convert_frame``, for either size.
    """
    name = _check_format(fmt)
    _check_size(new_width, new_height, name)
    buf = _view(data, width, height, name)
    if name != "I420":
        pixels = buf.reshape(height, width, len(_PACKED[name]))
        return _nearest(pixels, new_width, new_height).tobytes()
    n, quarter = width * height, width * height // 4
    planes = (
        (buf[:n].reshape(height, width), new_width, new_height),
        (buf[n : n + quarter].reshape(height // 2, width // 2), new_width // 2, new_height // 2),
        (buf[n + quarter :].reshape(height // 2, width // 2), new_width // 2, new_height // 2),
    )
    return b"".join(_nearest(plane, w, h).tobytes() for plane, w, h in planes)


def _nearest(plane: np.ndarray, new_width: int, new_height: int) -> np.ndarray:
    height, width = plane.shape[:2]
    # Sample at each output pixel's centre: floor((i + 0.5) * in / out).
    rows = ((2 * np.arange(new_height) + 1) * height) // (2 * new_height)
    cols = ((2 * np.arange(new_width) + 1) * width) // (2 * new_width)
    return plane[rows[:, None], cols[None, :]]
