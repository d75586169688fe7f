"""The programs the benchmark runs: llmc's binaries from a build directory, and the reference's Python."""
import dataclasses
import pathlib
import subprocess
import sys

from calibration import CalibrationTokens

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
REFERENCE_SCRIPT = pathlib.Path(__file__).resolve().with_name("reference_oneshot.py")


@dataclasses.dataclass(frozen=True)
class Programs:
    llmc: pathlib.Path
    llmc_synth: pathlib.Path
    python: pathlib.Path  # the interpreter with the reference stack: the one running the harness

    @staticmethod
    def from_build_dir(build_dir: pathlib.Path) -> "Programs":
        programs = Programs(build_dir / "bin" / "llmc", build_dir / "bin" / "llmc-synth", pathlib.Path(sys.executable))
        for binary in (programs.llmc, programs.llmc_synth):
            if not binary.is_file():
                raise SystemExit(f"{binary}: not found; build llmc first (tools/dev.sh build) or pass --build-dir")
        return programs

    def llmc_version(self) -> str:
        return subprocess.run([str(self.llmc), "--version"], capture_output=True, text=True, check=True).stdout.strip()

    def llmc_oneshot(self, model: pathlib.Path, recipe: pathlib.Path, output: pathlib.Path,
                     calibration: CalibrationTokens | None, events: pathlib.Path) -> list:
        command = [self.llmc, "oneshot", "--model", model, "--recipe", recipe, "--output", output, "--quiet",
                   "--log-json", events]
        if calibration:
            command += ["--dataset", calibration.path, "--samples", calibration.samples, "--max-seq-length",
                        calibration.max_seq_length]
        return command

    def reference_oneshot(self, model: pathlib.Path, modifiers_json: str, output: pathlib.Path,
                          calibration: CalibrationTokens | None) -> list:
        command = [self.python, REFERENCE_SCRIPT, "--model", model, "--output", output, "--modifiers", modifiers_json]
        if calibration:
            command += ["--dataset", calibration.path, "--max-seq-length", calibration.max_seq_length]
        return command
