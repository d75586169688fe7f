"""The machine a benchmark ran on, and how busy it was with other work meanwhile."""
import importlib.metadata
import os
import platform
import resource
import time

from gpu import describe_gpus


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _memory_bytes() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/meminfo has no MemTotal line")


def describe_machine(llmc_version: str) -> dict:
    packages = {name: importlib.metadata.version(name)
                for name in ("torch", "transformers", "llmcompressor", "compressed-tensors")}
    return {"cpu_model": _cpu_model(), "cores": os.cpu_count(), "memory_bytes": _memory_bytes(),
            "kernel": platform.release(), "python": platform.python_version(), "llmc": llmc_version,
            "reference_packages": packages, "gpus": describe_gpus()}


def busy_cpu_seconds() -> float:
    """CPU time all processes of the machine have used since boot (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class LoadMonitor:
    """The CPU time other processes used while the benchmark ran: machine-wide busy time minus the harness's own
    (its children included), a measure of how noisy the timings are."""

    def __init__(self):
        self.started = time.monotonic()
        self.busy = busy_cpu_seconds()
        self.own = _own_cpu_seconds()
        self.loadavg_start = os.getloadavg()

    def report(self) -> dict:
        wall = time.monotonic() - self.started
        busy = busy_cpu_seconds() - self.busy
        own = _own_cpu_seconds() - self.own
        other = max(0.0, busy - own)
        return {"wall_s": wall, "machine_busy_cpu_s": busy, "benchmark_cpu_s": own, "other_processes_cpu_s": other,
                "other_processes_mean_cores": other / wall if wall > 0 else 0.0,
                "loadavg_start": list(self.loadavg_start), "loadavg_end": list(os.getloadavg())}
