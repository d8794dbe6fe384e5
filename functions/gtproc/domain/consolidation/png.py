"""A small PNG codec (zlib + numpy) for segmentation masks.

Decodes 8-bit, non-interlaced grayscale, grayscale+alpha, RGB, RGBA and palette images (palette with
optional tRNS). Encodes the same layouts, with a selectable row filter so tests can exercise every
filter the decoder has to undo. Nothing else (16-bit, <8-bit, Adam7) is supported: masks from the
Ground Truth UI are 8-bit RGBA.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Sequence

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


class PngError(ValueError):
    pass


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG (bad signature)")
    pos = len(SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise PngError("truncated chunk")
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise PngError(f"bad CRC in {kind!r} chunk")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise PngError("missing IEND")


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


# Estimated costs (seconds) of undoing Average/Paeth rows: a Python loop per byte, or one numpy step
# per anti-diagonal. Each block of such rows takes the cheaper, so the work stays linear in the pixels
# with a bounded constant whatever the shape (a 2,000,000 x 4 image runs no 2,000,000 numpy steps).
_LOOP_COST_PER_BYTE = 4e-7
_DIAGONAL_COST_PER_STEP = 4e-5


def _unfilter_bytes(kind: int, f: bytes, up: bytes, bpp: int) -> bytearray:
    """One Average (3) or Paeth (4) row, byte by byte."""
    out = bytearray(len(f))
    for i in range(len(f)):
        a = out[i - bpp] if i >= bpp else 0
        b = up[i]
        if kind == 3:
            out[i] = (f[i] + ((a + b) >> 1)) & 0xFF
            continue
        c = up[i - bpp] if i >= bpp else 0
        pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - c - c)
        out[i] = (f[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return out


def _unfilter_diagonals(kinds: np.ndarray, f: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Rows of any filter, one step per anti-diagonal (pixel (r, c) needs (r, c-1), (r-1, c), (r-1, c-1))."""
    h, w, bpp = f.shape
    f = f.astype(np.int16)
    x = np.zeros((h + 1, w + 1, bpp), np.int16)  # padded: x[r+1, c+1] is pixel (r, c); x[0] the row above
    x[0, 1:] = previous
    kind_of = kinds.astype(np.int16)
    for d in range(h + w - 1):
        r = np.arange(max(0, d - w + 1), min(h - 1, d) + 1)
        c = d - r
        left, up, up_left = x[r + 1, c], x[r, c + 1], x[r, c]
        k = kind_of[r][:, None]
        predicted = np.select(
            [k == 1, k == 2, k == 3, k == 4],
            [left, up, (left + up) // 2, _paeth(left, up, up_left)],
            default=0,
        )
        x[r + 1, c + 1] = (f[r, c] + predicted) & 0xFF
    return x[1:, 1:].astype(np.uint8)


def _unfilter(kinds: np.ndarray, filtered: np.ndarray) -> np.ndarray:
    """filtered: (H, W, bpp) uint8 -> raw pixels (H, W, bpp) uint8, in time linear in the pixels."""
    h, w, bpp = filtered.shape
    if kinds.max(initial=0) > 4:
        raise PngError("unknown row filter")
    out = np.empty_like(filtered)
    previous = np.zeros((w, bpp), np.uint8)
    r = 0
    while r < h:
        kind = int(kinds[r])
        if kind <= 2:  # None, Sub (a running sum per channel, mod 256) and Up are vectorised per row
            row = filtered[r]
            if kind == 1:
                row = np.cumsum(row, axis=0, dtype=np.uint8)
            elif kind == 2:
                row = row + previous
            out[r] = previous = row
            r += 1
            continue
        end = r
        while end < h and kinds[end] >= 3:
            end += 1
        rows = end - r
        if rows * w * bpp * _LOOP_COST_PER_BYTE <= (rows + w) * _DIAGONAL_COST_PER_STEP:
            up = previous.tobytes()
            for i in range(r, end):
                up = bytes(_unfilter_bytes(int(kinds[i]), filtered[i].tobytes(), up, bpp))
                out[i] = np.frombuffer(up, np.uint8).reshape(w, bpp)
        else:
            out[r:end] = _unfilter_diagonals(kinds[r:end], filtered[r:end], previous)
        previous = out[end - 1]
        r = end
    return out


def _inflate(idat: bytes, expected: int) -> bytes:
    """Inflate at most `expected` bytes: a stream that would expand further is refused, not expanded."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(idat, expected + 1)
    except zlib.error as exc:
        raise PngError(f"bad image data: {exc}") from exc
    if len(raw) > expected or inflater.unconsumed_tail:
        raise PngError("image data inflates beyond the size in its header")
    if len(raw) != expected or not inflater.eof:
        raise PngError("image data has the wrong size")
    return raw


def decode_png(
    data: bytes, *, max_pixels: int | None = None, expected_size: tuple[int, int] | None = None
) -> np.ndarray:
    """PNG bytes -> (H, W, C) uint8; C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (palette is expanded).

    max_pixels and expected_size (width, height) are checked against the header before inflating.
    """
    header = None
    palette = None
    transparency = None
    idat = bytearray()
    for kind, body in _chunks(bytes(data)):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            transparency = np.frombuffer(body, np.uint8)
        elif kind == b"IDAT":
            idat += body
    if header is None:
        raise PngError("missing IHDR")
    width, height, depth, color_type, compression, filter_method, interlace = header
    if depth != 8 or color_type not in _CHANNELS or compression or filter_method or interlace:
        raise PngError(f"unsupported PNG (depth {depth}, color type {color_type}, interlace {interlace})")
    if expected_size is not None and (width, height) != tuple(expected_size):
        raise PngError(f"mask is {width}x{height}, the image is {expected_size[0]}x{expected_size[1]}")
    if max_pixels is not None and width * height > max_pixels:
        raise PngError(f"mask of {width}x{height} pixels is over the limit of {max_pixels}")
    channels = _CHANNELS[color_type]
    stride = width * channels
    raw = _inflate(bytes(idat), height * (stride + 1))
    rows = np.frombuffer(raw, np.uint8).reshape(height, stride + 1)
    pixels = _unfilter(rows[:, 0], rows[:, 1:].reshape(height, width, channels))
    if color_type != 3:
        return pixels
    if palette is None:
        raise PngError("palette image without PLTE")
    index = pixels[:, :, 0]
    if index.size and index.max() >= len(palette):
        raise PngError("palette index out of range")
    if transparency is None:
        return palette[index]
    alpha = np.full(len(palette), 255, np.uint8)
    alpha[: min(len(transparency), len(palette))] = transparency[: len(palette)]
    return np.dstack([palette[index], alpha[index]])


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _filter(pixels: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    if kinds.size and (kinds == kinds[0]).all() and kinds[0] in (0, 2):
        # One filter for all rows (masks are written with Up): no int16 copies of the whole image.
        if kinds[0] == 0:
            return pixels.copy()
        out = pixels.copy()
        out[1:] -= pixels[:-1]  # uint8 arithmetic wraps mod 256, as the filter does
        return out
    x = pixels.astype(np.int16)
    left = np.zeros_like(x)
    left[:, 1:] = x[:, :-1]
    up = np.zeros_like(x)
    up[1:] = x[:-1]
    up_left = np.zeros_like(x)
    up_left[1:, 1:] = x[:-1, :-1]
    k = kinds[:, None, None]
    predicted = np.select(
        [k == 1, k == 2, k == 3, k == 4],
        [left, up, (left + up) // 2, _paeth(left, up, up_left)],
        default=0,
    )
    return ((x - predicted) & 0xFF).astype(np.uint8)


def encode_png(
    pixels: np.ndarray,
    *,
    palette: Sequence[tuple[int, int, int]] | np.ndarray | None = None,
    row_filter: int | Sequence[int] = 2,
    level: int = 6,
) -> bytes:
    """(H, W[, C]) uint8 -> PNG bytes. With `palette`, pixels are (H, W) palette indices.

    row_filter: one PNG filter type (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) for all rows, or one per row.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise ValueError("pixels must be uint8")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    if palette is not None:
        if channels != 1:
            raise ValueError("palette images take (H, W) indices")
        color_type = 3
        plte = np.asarray(palette, np.uint8).reshape(-1, 3)
    elif channels in _COLOR_TYPE:
        color_type = _COLOR_TYPE[channels]
    else:
        raise ValueError(f"unsupported channel count {channels}")
    kinds = np.broadcast_to(np.asarray(row_filter, np.int16), (height,)).copy()
    filtered = _filter(pixels, kinds).reshape(height, width * channels)
    raw = np.hstack([kinds.astype(np.uint8)[:, None], filtered]).tobytes()
    out = [SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))]
    if color_type == 3:
        out.append(_chunk(b"PLTE", plte.tobytes()))
    out += [_chunk(b"IDAT", zlib.compress(raw, level)), _chunk(b"IEND", b"")]
    return b"".join(out)
