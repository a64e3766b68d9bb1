"""The wire format between the server and a worker: JSON plus raw numeric arrays, no pickle.

    frame  = total length (8 bytes, big-endian) | header length (4 bytes) | header JSON | blobs
    header = {"value": <JSON value with refs>, "blobs": [[kind, dtype, shape, nbytes], ...]}

A value is built from dict (str keys), list/tuple (decoded as list), str, int, float (NaN and
Inf allowed), bool, None, bytes and numpy arrays of numeric or bool dtype. Arrays and bytes
travel as raw blobs after the header and are referred to as {"\\u0000": index}.

Why not pickle: the worker runs code paths an uploaded model steers (protobuf parsing,
onnxruntime kernels). If a model ever got native code execution there, a pickle sent back
would run code in the server. Decoding here is `json.loads` plus `np.frombuffer` with a
whitelisted dtype, both of which only ever build plain data. The same format is used in
both directions so there is one codec to review.

# NOTE: every length is checked against `max_bytes` before anything is allocated, and a
# blob's declared size must equal prod(shape) x itemsize.
"""

from __future__ import annotations

import json
import math
import socket
import time

import numpy as np

REF = "\x00"
ARRAY_KINDS = "biufc"  # bool, signed, unsigned, float, complex: no object/void/str arrays


class ProtocolError(RuntimeError):
    """A malformed or oversized frame (a worker bug or a worker that is not ours)."""


def _pack(value, blobs: list):
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in ARRAY_KINDS:
            raise ProtocolError(f"arrays of dtype {value.dtype} cannot be sent")
        blobs.append(value if value.flags.c_contiguous else value.copy(order="C"))  # keeps 0-d arrays 0-d
        return {REF: len(blobs) - 1}
    if isinstance(value, (bytes, bytearray, memoryview)):
        blobs.append(bytes(value))
        return {REF: len(blobs) - 1}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if any(not isinstance(k, str) or k.startswith(REF) for k in value):
            raise ProtocolError("dict keys must be strings not starting with NUL")
        return {k: _pack(v, blobs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(v, blobs) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ProtocolError(f"cannot send a {type(value).__name__}")


def _blob_meta(blob) -> list:
    if isinstance(blob, bytes):
        return ["bytes", "", [], len(blob)]
    return ["array", blob.dtype.str, list(blob.shape), blob.nbytes]


def _raw(blob):
    return blob if isinstance(blob, bytes) else memoryview(blob.reshape(-1).view(np.uint8))


def encode(value) -> list:
    """The frame for `value` as a list of buffers (arrays are not copied)."""
    blobs: list = []
    header = json.dumps({"value": _pack(value, blobs), "blobs": [_blob_meta(b) for b in blobs]}).encode()
    parts = [len(header).to_bytes(4, "big"), header, *(_raw(b) for b in blobs)]
    total = sum(len(p) for p in parts)
    return [total.to_bytes(8, "big"), *parts]


def decode(frame: bytes | bytearray | memoryview, *, copy: bool = True):
    """Rebuild a value from a frame body (without its 8-byte length); ProtocolError if malformed.

    copy=False (the worker's side, for a request) returns bytes blobs as memoryviews and
    arrays as views into `frame`: a 200 MB upload is then not copied once more.
    """
    view = memoryview(frame)
    try:
        n = int.from_bytes(view[:4], "big")
        header = json.loads(bytes(view[4 : 4 + n]))
        offset, blobs = 4 + n, []
        for meta in header["blobs"]:
            blob, offset = _read_blob(view, offset, meta, copy)
            blobs.append(blob)
        if offset != len(view):
            raise ProtocolError("frame has trailing bytes")
        return _unpack(header["value"], blobs)
    except ProtocolError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as e:
        raise ProtocolError(f"malformed frame ({type(e).__name__})") from None


def _read_blob(view: memoryview, offset: int, meta: list, copy: bool):
    kind, dtype, shape, nbytes = meta
    if not isinstance(nbytes, int) or nbytes < 0 or offset + nbytes > len(view):
        raise ProtocolError("blob runs past the end of the frame")
    raw = view[offset : offset + nbytes]
    if kind == "bytes":
        return (bytes(raw) if copy else raw), offset + nbytes
    dt = np.dtype(dtype)
    if dt.kind not in ARRAY_KINDS or dt.hasobject or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ProtocolError(f"refusing an array of dtype {dtype!r} shape {shape!r}")
    if math.prod(shape) * dt.itemsize != nbytes:
        raise ProtocolError("array size does not match its shape")
    x = np.frombuffer(raw, dtype=dt).reshape(shape)
    return (x.copy() if copy else x), offset + nbytes


def _unpack(value, blobs: list):
    if isinstance(value, dict):
        if set(value) == {REF}:
            return blobs[value[REF]]
        return {k: _unpack(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v, blobs) for v in value]
    return value


# ---- sockets with a deadline ---------------------------------------------------------------


def _set_timeout(sock: socket.socket, deadline: float | None) -> None:
    if deadline is None:
        sock.settimeout(None)
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    sock.settimeout(left)


def send_frame(sock: socket.socket, value, deadline: float | None = None) -> None:
    """Encode and send `value`; TimeoutError when `deadline` (time.monotonic) passes."""
    send_parts(sock, encode(value), deadline)


def send_parts(sock: socket.socket, parts: list, deadline: float | None = None) -> None:
    """Send an already encoded frame (see `encode`)."""
    for part in parts:
        view = memoryview(part)
        while view.nbytes:
            _set_timeout(sock, deadline)
            sent = sock.send(view)
            view = view[sent:]


def recv_frame(sock: socket.socket, max_bytes: int, deadline: float | None = None, *, copy: bool = True):
    """Receive and decode one frame (see `decode` for `copy`); None on a clean EOF before the first byte."""
    head = _recv_exact(sock, 8, deadline, eof_ok=True)
    if head is None:
        return None
    total = int.from_bytes(head, "big")
    if total > max_bytes:
        raise ProtocolError(f"reply of {total / 2**20:.0f} MiB is over the {max_bytes / 2**20:.0f} MiB limit")
    return decode(_recv_exact(sock, total, deadline), copy=copy)


def _recv_exact(sock: socket.socket, n: int, deadline: float | None, eof_ok: bool = False):
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        _set_timeout(sock, deadline)
        k = sock.recv_into(view[got:])
        if k == 0:
            if eof_ok and got == 0:
                return None
            raise ProtocolError("connection closed mid-frame")
        got += k
    return buf
