"""Preparing the benchmark's input checkpoints: the default GGUF imported by llmc, or llmc-synth's random ones."""
import pathlib
import shutil
import subprocess

from byte_tokenizer import write_byte_tokenizer
from programs import SOURCE_DIR, Programs
from scenarios import Model

DEFAULT_GGUF = SOURCE_DIR / ".cache" / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def prepare_model(model: Model, programs: Programs, directory: pathlib.Path, gguf: pathlib.Path) -> pathlib.Path:
    """Makes MODEL's bf16 checkpoint under DIRECTORY (replacing an older one) and returns its path."""
    path = directory / model.name
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if model.gguf:
        if not gguf.is_file():
            raise SystemExit(f"{gguf}: the default GGUF is missing; run tools/setup.sh or pass --gguf")
        command = [programs.llmc, "import-gguf", gguf, "--output", path, "--quiet"]
    else:
        command = [programs.llmc_synth, "--preset", model.synth_preset, "--output", path]
    command = [str(part) for part in command]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"preparing model {model.name} failed: {' '.join(command)}\n{result.stderr}")
    if not (path / "tokenizer.json").is_file():
        write_byte_tokenizer(path)  # synthetic checkpoints have none; llmc eval and the calibration tokens need one
    return path
