"""The vPDQ child process of :mod:`hashing.video`: JSON in on stdin, JSON out on stdout.

Run by path (``python hashing/_video_worker.py``), not as a module, so it imports neither
the hashing package nor Pillow/numpy: only the standard library and ``vpdq``. Input::

    {"fd": 5, "max_memory_bytes": 1073741824, "max_cpu_seconds": 120,
     "seconds_per_hash": 1.0}

``fd`` is an inherited memfd holding the video (memory, never a file on disk); the limits
are applied to this process before vpdq (and FFmpeg's decoders) are loaded, so a hostile
video that makes a decoder crash or balloon kills this child, never the caller. Output::

    {"frames": [["<64 hex>", quality, frame_number, timestamp], ...]}
    {"error": "decode_error", "message": "..."}   (exit status 0 either way)
"""

from __future__ import annotations

import json
import resource
import sys


def main() -> int:
    request = json.loads(sys.stdin.read())
    memory = int(request["max_memory_bytes"])
    cpu = int(request["max_cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core with pixels
    try:
        import vpdq  # type: ignore[import-not-found,unused-ignore]
    except MemoryError:
        print(json.dumps({"error": "too_much_memory", "message": "vpdq did not load"}))
        return 0
    try:
        features = vpdq.computeHash(
            f"/proc/self/fd/{int(request['fd'])}",
            seconds_per_hash=float(request["seconds_per_hash"]),
            thread_count=1,
        )
    except MemoryError:
        print(json.dumps({"error": "too_much_memory", "message": "out of memory decoding"}))
        return 0
    except Exception as exc:  # vpdq raises a bare Exception when FFmpeg cannot decode
        print(json.dumps({"error": "decode_error", "message": str(exc)[:200]}))
        return 0
    frames = [[f.hex, int(f.quality), int(f.frame_number), float(f.timestamp)] for f in features]
    print(json.dumps({"frames": frames}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
