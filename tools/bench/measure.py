"""Running one command as a child process and measuring that child alone.

Wall time comes from a monotonic clock around the child's life; CPU time (user + system) and peak resident memory
from the rusage that os.wait4 returns for that child, so nothing of the harness or of concurrent processes is
counted; peak GPU memory from nvidia-smi sampled meanwhile (gpu.py; None on a machine without it)."""
import dataclasses
import os
import pathlib
import subprocess
import time

from gpu import PeakGpuMemory


@dataclasses.dataclass
class Measurement:
    command: list
    exit_code: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_bytes: int
    peak_gpu_bytes: int | None
    log: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def to_json(self) -> dict:
        fields = dataclasses.asdict(self)
        fields["cpu_s"] = self.cpu_s
        return fields


class CommandFailed(RuntimeError):
    def __init__(self, measurement: Measurement):
        log_tail = pathlib.Path(measurement.log).read_text(errors="replace")[-3000:]
        super().__init__(f"exit code {measurement.exit_code} from: {' '.join(measurement.command)}\n"
                         f"log {measurement.log}, last lines:\n{log_tail}")
        self.measurement = measurement


def run_measured(command: list, log: pathlib.Path, env: dict | None = None, check: bool = True) -> Measurement:
    """Runs COMMAND with stdout and stderr into LOG; returns its wall time, CPU time, peak RSS and peak GPU memory."""
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [str(part) for part in command]
    with open(log, "wb") as log_file:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env)
        gpu_memory = PeakGpuMemory(child.pid)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        peak_gpu = gpu_memory.stop()
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    measurement = Measurement(command=command, exit_code=child.returncode, wall_s=wall, user_s=usage.ru_utime,
                              sys_s=usage.ru_stime, peak_rss_bytes=usage.ru_maxrss * 1024,  # Linux: kilobytes
                              peak_gpu_bytes=peak_gpu, log=str(log))
    if check and measurement.exit_code != 0:
        raise CommandFailed(measurement)
    return measurement


def tree_bytes(path: pathlib.Path) -> int:
    """The total size of the regular files under PATH."""
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def evict_from_page_cache(path: pathlib.Path) -> None:
    """Drops the cached pages of every file under PATH (fsync, then POSIX_FADV_DONTNEED; no root needed), so the next
    reader reads them from the disk."""
    for item in sorted(path.rglob("*")):
        if item.is_file():
            descriptor = os.open(item, os.O_RDONLY)
            try:
                os.fsync(descriptor)
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)
