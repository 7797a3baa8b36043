"""gzip of an answer while it is being built: a second native thread compresses each chunk as
the scrape thread renders the next (zlib runs without the GIL), so compressing a full-budget
text answer (16 ms for 11 MB here) overlaps its rendering instead of following it.

The process is monkey-patched by Locust (gevent), so the thread and the queue are the
originals: a gevent greenlet or queue would not run beside the scrape thread.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from gevent import monkey

_start_native_thread = monkey.get_original("_thread", "start_new_thread")
_NativeQueue = monkey.get_original("queue", "SimpleQueue")

# Level 1: 11 MB of text become 0.61 MB; higher levels cost several times the CPU for a few
# percent fewer bytes.
GZIP_LEVEL = 1
_GZIP_CONTAINER = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream


def gzip_chunks(chunks: Iterable[bytes], level: int = GZIP_LEVEL) -> bytes:
    """One gzip member of the concatenated chunks, compressed while they are produced."""
    pending = _NativeQueue()
    finished = _NativeQueue()

    def compress() -> None:
        compressor = zlib.compressobj(level, zlib.DEFLATED, _GZIP_CONTAINER)
        parts = []
        try:
            while (chunk := pending.get()) is not None:
                parts.append(compressor.compress(chunk))
            parts.append(compressor.flush())
            finished.put(b"".join(parts))
        except BaseException as error:  # handed to the scrape thread, which raises it
            finished.put(error)

    _start_native_thread(compress, ())
    try:
        for chunk in chunks:
            pending.put(chunk)
    finally:
        pending.put(None)
        result = finished.get()
    if isinstance(result, BaseException):
        raise result
    return result
