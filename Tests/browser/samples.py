"""Small real files for the upload tests, generated (seeded, so a failure can be replayed)."""

from __future__ import annotations

import random
import struct
import zlib


def png(width: int = 2, height: int = 2, seed: int = 1) -> bytes:
    """A valid RGB PNG of random pixels (a seeded generator): about 3·width·height bytes."""
    rng = random.Random(seed)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + rng.randbytes(3 * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def html() -> bytes:
    return b"<!DOCTYPE html>\n<html><head><title>Hi</title></head><body><script>alert(document.cookie)</script></body></html>\n"
