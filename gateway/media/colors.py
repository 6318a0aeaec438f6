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

__all__ = ["FORMATS", "FrameData", "VideoFormatError", "convert_frame", "frame_size", "scale_frame"]

FrameData = bytes | bytearray | memoryview
"""Frame buffers accepted: whatever a room or a WebSocket message hands over."""

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
_RGB_TO_UV_OF_SUM = np.ascontiguousarray(_RGB_TO_YUV[1:].T / 4)
"""(3, 2): U and V of a 2x2 block from the sum of its four RGB pixels."""
_UV_TO_RGB = np.ascontiguousarray(_YUV_TO_RGB[:, 1:].T)
"""(2, 3): the chroma part of R, G and B from (U - 128, V - 128)."""
_Y_TERM_RGB = np.repeat(((np.arange(256, dtype=np.float32) - 16.0) * _YUV_TO_RGB[0, 0])[:, None], 3, axis=1)
"""(256, 3): the luma part of R, G and B for each Y (same for all three)."""


class VideoFormatError(ValueError):
    """A format name, frame size or data length that can't be converted."""

    def __init__(self, message: str, *, fmt: str | None = None) -> None:
        super().__init__(message)
        self.fmt = fmt
        """The format at fault, when one is."""


def _check_format(fmt: str) -> str:
    name = fmt.upper() if isinstance(fmt, str) else fmt
    if name not in FORMATS:
        raise VideoFormatError(f"unknown video format {fmt!r}; expected one of {sorted(FORMATS)}", fmt=str(fmt))
    return name


def _check_size(width: int, height: int, fmt: str) -> None:
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        raise VideoFormatError(f"frame size must be positive ints, got {width!r}x{height!r}")
    if fmt == "I420" and (width % 2 or height % 2):
        raise VideoFormatError(f"I420 needs an even width and height, got {width}x{height}", fmt=fmt)


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


def _view(data: FrameData, width: int, height: int, fmt: str) -> np.ndarray:
    """Validate and wrap ``data`` without copying (read only)."""
    expected = frame_size(width, height, fmt)
    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size != expected:
        raise VideoFormatError(f"{fmt} {width}x{height} frame is {expected} bytes, got {buf.size}", fmt=fmt)
    return buf


def _packed_to_packed(pixels: np.ndarray, src: str, dst: str) -> np.ndarray:
    order_src, order_dst = _PACKED[src], _PACKED[dst]
    if order_src == order_dst:
        return pixels
    if "A" in order_dst and "A" not in order_src:
        out = np.empty(pixels.shape[:2] + (len(order_dst),), dtype=np.uint8)
        for i, channel in enumerate(order_dst):
            out[..., i] = 255 if channel == "A" else pixels[..., order_src.index(channel)]
        return out
    # One gather along the channel axis reorders (and drops alpha); np.take is
    # several times faster than the equivalent fancy indexing.
    return np.take(pixels, [order_src.index(channel) for channel in order_dst], axis=2)


def _rgb_to_i420(rgb: np.ndarray) -> bytes:
    h, w = rgb.shape[:2]
    n, quarter = w * h, (w // 2) * (h // 2)
    rgbf = rgb.astype(np.float32)
    out = np.empty(n * 3 // 2, dtype=np.uint8)
    # (N, 3) @ (3,) runs in BLAS: far faster than three scaled channel views.
    y = rgbf.reshape(n, 3) @ _RGB_TO_YUV[0]
    y += 16.5  # offset, plus 0.5 so that truncation below rounds
    out[:n] = np.clip(y, 0, 255, out=y)
    # Chroma is linear in RGB, so summing RGB over each 2x2 block first is the
    # same as averaging the per-pixel chroma, at a quarter of the work.
    # Sum row pairs first (long contiguous rows), then neighbouring pixels;
    # uint16 holds a sum of four bytes exactly.
    row_pairs = rgb.reshape(h // 2, 2, w * 3)
    rows = np.add(row_pairs[:, 0], row_pairs[:, 1], dtype=np.uint16).reshape(h // 2, w // 2, 6)
    total = np.add(rows[..., :3], rows[..., 3:], dtype=np.float32)
    uv = total.reshape(quarter, 3) @ _RGB_TO_UV_OF_SUM
    uv += 128.5
    np.clip(uv, 0, 255, out=uv)
    out[n : n + quarter] = uv[:, 0]
    out[n + quarter :] = uv[:, 1]
    return out.tobytes()


def _i420_to_rgb(buf: np.ndarray, width: int, height: int) -> np.ndarray:
    n = width * height
    quarter = n // 4
    # Luma term via a 256-entry table already repeated for R, G and B: one
    # np.take gives the (N, 3) array the chroma terms are added to.
    rgbf = np.take(_Y_TERM_RGB, buf[:n], axis=0)
    uv = np.empty((quarter, 2), dtype=np.float32)
    uv[:, 0] = buf[n : n + quarter]
    uv[:, 1] = buf[n + quarter :]
    uv -= 128.0
    chroma = uv @ _UV_TO_RGB
    chroma += 0.5  # so that truncation below rounds
    # Each chroma sample covers a 2x2 block: repeat it across the row pair
    # horizontally, then broadcast it over both rows with long inner loops.
    chroma_row = np.repeat(chroma.reshape(height // 2, width // 2, 3), 2, axis=1)
    rows = rgbf.reshape(height // 2, 2, width * 3)
    rows += chroma_row.reshape(height // 2, 1, width * 3)
    np.clip(rgbf, 0, 255, out=rgbf)
    return rgbf.reshape(height, width, 3).astype(np.uint8)


def convert_frame(data: FrameData, width: int, height: int, src: str, dst: str) -> bytes:
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


def scale_frame(data: FrameData, width: int, height: int, fmt: str, new_width: int, new_height: int) -> bytes:
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
