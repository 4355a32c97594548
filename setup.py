"""Native parts of the build; everything else is declared in pyproject.toml.

Two small C extensions, compiled by ``pip install``: ``hashing._pdq`` (PDQ bit for bit as
Meta's reference, so floating-point contraction stays off) and ``matcher._mih`` (exact
multi-index Hamming search). Without a compiler both fall back to pure-Python/FAISS paths.
"""

import platform

from setuptools import Extension, setup

# x86-64-v2 has POPCNT, which the Hamming distance leans on; other machines get the
# compiler's generic popcount.
ARCH = ["-march=x86-64-v2"] if platform.machine() in ("x86_64", "AMD64") else []

setup(
    ext_modules=[
        Extension(
            "hashing._pdq",
            ["hashing/_pdq.c"],
            extra_compile_args=["-O3", "-ffp-contract=off"],
            optional=True,
        ),
        Extension(
            "matcher._mih", ["matcher/_mih.c"], extra_compile_args=["-O3", *ARCH], optional=True
        ),
    ]
)
