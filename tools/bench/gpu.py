"""GPU figures from nvidia-smi: the machine's GPUs, and a process's peak GPU memory sampled while it runs.

Without nvidia-smi (a machine without an NVIDIA GPU) there is nothing to sample: the figures are None. Both tools
are measured the same way, from outside the process: the memory nvidia-smi shows for the process's pid, which
includes its CUDA context and what its caching allocator holds. The reference's calibrated pipeline runs its layers
on the GPU whenever torch sees one (llmcompressor's get_main_device); `llmc oneshot` runs on the CPU."""
import shutil
import subprocess
import threading

SAMPLE_INTERVAL_S = 0.2
MIB = 1 << 20


def _query(*arguments: str) -> list | None:
    """nvidia-smi's CSV rows (no header, no units) as lists of fields; None without nvidia-smi or when it fails."""
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return None
    try:
        result = subprocess.run([nvidia_smi, *arguments, "--format=csv,noheader,nounits"], capture_output=True,
                                text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return [[field.strip() for field in line.split(",")] for line in result.stdout.splitlines() if line.strip()]


def describe_gpus() -> list | None:
    rows = _query("--query-gpu=name,memory.total")
    if not rows:
        return None
    return [{"name": name, "memory_bytes": int(memory) * MIB} for name, memory in rows]


def process_gpu_bytes(pid: int) -> int | None:
    """The GPU memory PID holds now, over all GPUs; None without nvidia-smi."""
    rows = _query("--query-compute-apps=pid,used_memory")
    if rows is None:
        return None
    return sum(int(memory) * MIB for row_pid, memory in rows if row_pid == str(pid) and memory.isdigit())


class PeakGpuMemory:
    """Samples process_gpu_bytes(pid) in a thread until stop(); peak is None when nvidia-smi is absent."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = None
        self._stopped = threading.Event()
        self._thread = None
        if shutil.which("nvidia-smi") is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while True:
            used = process_gpu_bytes(self.pid)
            if used is not None:
                self.peak = max(self.peak or 0, used)
            if self._stopped.wait(SAMPLE_INTERVAL_S):
                return

    def stop(self) -> int | None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak
