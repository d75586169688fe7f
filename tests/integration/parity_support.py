"""What the parity tests share: the reference in a background subprocess while llmc runs the same jobs beside it,
one thread each, and cases run one tier (fast or slow) at a time on models saved on first use."""
import dataclasses
import json
import os
import pathlib
import subprocess
import sys

import pytest


def single_thread_env() -> dict:
    # one thread each: the two processes share the cores instead of oversubscribing them (OpenMP teams whose
    # threads get descheduled make small ATen ops, such as the MSE search's, 10-50x slower)
    return dict(os.environ, OMP_NUM_THREADS="1")


def start_reference(work: pathlib.Path, script: list, jobs: dict) -> subprocess.Popen:
    """Starts `python SCRIPT... SPEC` in WORK, SPEC = {"cases": JOBS, "results": WORK/results.json}."""
    spec = work / "spec.json"
    spec.write_text(json.dumps({"cases": jobs, "results": str(work / "results.json")}))
    with open(work / "reference.log", "w") as log:  # the child writes to its own copy of the descriptor
        return subprocess.Popen([sys.executable, *map(str, script), str(spec)], stdout=log,
                                stderr=subprocess.STDOUT, cwd=work, env=single_thread_env())


def finish_reference(work: pathlib.Path, reference: subprocess.Popen, timeout: int) -> dict:
    """Waits for the reference subprocess (killed after TIMEOUT seconds); its results per job."""
    try:
        reference.wait(timeout=timeout)
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.wait()
    tail = (work / "reference.log").read_text()[-4000:]
    assert reference.returncode == 0, f"the reference subprocess failed:\n{tail}"
    return json.loads((work / "results.json").read_text())


@dataclasses.dataclass
class Outcome:
    llmc_dir: pathlib.Path
    llmc: subprocess.CompletedProcess
    reference_dir: pathlib.Path
    reference: dict  # the reference subprocess's result for the case
    model_dir: pathlib.Path


class TieredParity:
    """Outcomes of named cases (each with .model and .slow). A case's whole tier runs on its first use: the
    reference subprocess (REFERENCE_SCRIPT) works through the tier's jobs while llmc runs them one by one.
    Subclasses say what a job is on each side."""
    REFERENCE_SCRIPT: list
    REFERENCE_TIMEOUT_S: int

    def __init__(self, root: pathlib.Path, llmc_bin: pathlib.Path, cases: dict, models: dict, save_model):
        self.root, self.llmc_bin, self.cases, self.models, self.save_model = root, llmc_bin, cases, models, save_model
        self.model_dirs, self.outcomes = {}, {}

    def reference_job(self, name: str, output: pathlib.Path) -> dict:
        raise NotImplementedError

    def run_llmc(self, name: str, work: pathlib.Path, output: pathlib.Path) -> subprocess.CompletedProcess:
        raise NotImplementedError

    def model_dir(self, name: str) -> pathlib.Path:
        if name not in self.model_dirs:
            path = self.root / "models" / name
            self.save_model(path, *self.models[name])
            self.model_dirs[name] = path
        return self.model_dirs[name]

    def get(self, name: str) -> Outcome:
        if name not in self.outcomes:
            slow = self.cases[name].slow
            self._run_tier([case for case, spec in self.cases.items() if spec.slow == slow], "slow" if slow else "fast")
        return self.outcomes[name]

    def _run_tier(self, names: list, tier: str) -> None:
        work = self.root / tier
        work.mkdir(parents=True)
        jobs = {name: self.reference_job(name, work / "reference" / name) for name in names}
        reference = start_reference(work, self.REFERENCE_SCRIPT, jobs)
        llmc = {}
        try:
            for name in names:
                llmc[name] = self.run_llmc(name, work, work / "llmc" / name)
        finally:
            results = finish_reference(work, reference, timeout=self.REFERENCE_TIMEOUT_S)
        for name in names:
            self.outcomes[name] = Outcome(work / "llmc" / name, llmc[name], work / "reference" / name, results[name],
                                          self.model_dir(self.cases[name].model))


def tiered(cases: dict, names: list) -> list:
    """NAMES as pytest parameters, the slow cases marked slow."""
    return [pytest.param(name, marks=[pytest.mark.slow] if cases[name].slow else []) for name in names]
