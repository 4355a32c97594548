# Types of the compiled search in matcher/_mih.c (see matcher/mih.py for the contract).
from collections.abc import Sequence
from typing import Any

Buffer = Any  # anything with the buffer protocol: bytes, numpy arrays

def build_table(codes: Buffer, nbytes: int, start: int, width: int) -> tuple[bytes, bytes]: ...
def search(
    codes: Buffer,
    nbytes: int,
    offsets: Sequence[Buffer],
    ids: Sequence[Buffer],
    starts: Sequence[int],
    widths: Sequence[int],
    thresholds: Sequence[int],
    queries: Buffer,
    radius: int,
) -> tuple[bytes, bytes, bytes]: ...
def scan(
    codes: Buffer, nbytes: int, queries: Buffer, radius: int
) -> tuple[bytes, bytes, bytes]: ...
