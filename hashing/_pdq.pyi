# Types of the compiled PDQ in hashing/_pdq.c (see hashing/pdq.py for the contract).
from typing import Any

Buffer = Any  # anything with the buffer protocol: bytes, numpy arrays

def pdq(rgb: Buffer, height: int, width: int) -> tuple[bytes, int]: ...
def pdq_boxes(rgb: Buffer, height: int, width: int, boxes: Buffer) -> tuple[bytes, bytes]: ...
