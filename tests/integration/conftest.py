"""Shared pytest fixtures: paths to the built binaries and the source tree."""
import os
import pathlib

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
