"""The machine's sequential read+write bandwidth, measured once per benchmark run on the filesystem of its output.

Two figures, each for writing SIZE bytes then reading them back in 16 MiB blocks:
  disk:       the write followed by fsync, and the read after the file's pages were dropped from the page cache
              (fsync + POSIX_FADV_DONTNEED on that one file: no root needed, nothing else evicted);
  page_cache: the write without fsync, and the read of pages still cached.
The combined figure is (bytes written + bytes read) / (write time + read time): the rate at which a job that reads
its input once and writes its output once could move its bytes."""
import os
import pathlib
import time

BLOCK = 16 << 20


def _write(path: pathlib.Path, size: int, sync: bool) -> float:
    block = memoryview(os.urandom(BLOCK))  # incompressible, in case the storage compresses; sliced without copies
    started = time.perf_counter()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        written = 0
        while written < size:
            written += os.write(descriptor, block[:min(BLOCK, size - written)])
        if sync:
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return time.perf_counter() - started


def _read(path: pathlib.Path, drop_cache_first: bool) -> float:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        if drop_cache_first:
            os.fsync(descriptor)
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        started = time.perf_counter()
        while os.read(descriptor, BLOCK):
            pass
        return time.perf_counter() - started
    finally:
        os.close(descriptor)


def _figure(size: int, write_s: float, read_s: float) -> dict:
    return {"write_bytes_per_s": size / write_s, "read_bytes_per_s": size / read_s,
            "read_write_bytes_per_s": 2 * size / (write_s + read_s)}


def measure_bandwidth(directory: pathlib.Path, size: int) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "bandwidth-probe.bin"
    try:
        disk_write = _write(path, size, sync=True)
        disk_read = _read(path, drop_cache_first=True)
        cached_write = _write(path, size, sync=False)
        cached_read = _read(path, drop_cache_first=False)
    finally:
        path.unlink(missing_ok=True)
    return {"bytes": size, "file": str(path), "disk": _figure(size, disk_write, disk_read),
            "page_cache": _figure(size, cached_write, cached_read)}
