"""Shared pytest fixtures: paths to the built binaries and the source tree."""
import os
import pathlib

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("LLMC_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY_DIR = pathlib.Path(os.environ.get("LLMC_BINARY_DIR", SOURCE_DIR / "build"))


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
