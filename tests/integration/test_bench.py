"""The benchmark harness (tools/bench/run.sh) end to end on the tiny synthetic model, one repeat: it runs llmc and
the reference for every data-free method and for GPTQ W4A16 calibrated on a few short samples, and writes
results.json with every figure, table.md and chart.png. Timings are not asserted (they depend on the machine); the
structure and the quality figures are."""
import json
import math
import shutil
import subprocess
import sys

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_FIGURES = ("wall_s", "user_s", "sys_s", "cpu_s", "peak_rss_bytes", "peak_gpu_bytes", "exit_code", "input_bytes",
               "output_bytes", "other_processes_cpu_s", "command", "log")
MEDIANS = ("wall_s", "cpu_s", "user_s", "sys_s", "peak_rss_bytes", "peak_gpu_bytes", "output_bytes",
           "other_processes_cpu_s", "io_bytes_per_s", "bandwidth_fraction")
SCENARIOS = ["w4a16/tiny", "fp8_dynamic/tiny", "gptq_w4a16/tiny"]
TARGETS = {"w4a16": ["time", "memory", "bandwidth", "plan"], "fp8_dynamic": ["time", "memory", "bandwidth", "plan"],
           "gptq_w4a16": ["time", "memory", "perplexity", "plan"]}
SAMPLES, MAX_SEQ_LENGTH = 4, 64
QUALITY = ("original_perplexity", "perplexity", "mean_kl", "max_kl", "top1_agreement", "windows",
           "predicted_tokens")


@pytest.fixture(scope="module")
def bench_run(source_dir, binary_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    command = [str(source_dir / "tools" / "bench" / "run.sh"), "--models", "tiny", "--repeats", "1", "--out", str(out),
               "--build-dir", str(binary_dir), "--bandwidth-bytes", str(32 << 20),
               "--scenarios", ",".join(name.split("/")[0] for name in SCENARIOS), "--samples", str(SAMPLES),
               "--max-seq-length", str(MAX_SEQ_LENGTH)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(command)}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return out, result


def test_results_json_has_every_figure(bench_run):
    out, _ = bench_run
    results = json.loads((out / "results.json").read_text())
    assert results["repeats"] == 1
    assert results["machine"]["cores"] >= 1 and results["machine"]["memory_bytes"] > 0
    for kind in ("disk", "page_cache"):
        figure = results["bandwidth"][kind]
        assert all(figure[key] > 0 for key in ("write_bytes_per_s", "read_bytes_per_s", "read_write_bytes_per_s"))
    assert results["load"]["wall_s"] > 0
    assert isinstance(results["all_targets_met"], bool)
    assert [scenario["name"] for scenario in results["scenarios"]] == SCENARIOS
    no_gpu = shutil.which("nvidia-smi") is None
    for scenario in results["scenarios"]:
        assert [(run["tool"], run["repeat"]) for run in scenario["runs"]] == [("llmc", 0), ("reference", 0)]
        for run in scenario["runs"]:
            assert set(RUN_FIGURES) <= set(run), f"{scenario['name']} {run['tool']}: missing figures"
            assert run["exit_code"] == 0 and run["wall_s"] > 0 and run["peak_rss_bytes"] > 0
            assert run["output_bytes"] > 0 and run["input_bytes"] > 0
            if no_gpu:
                assert run["peak_gpu_bytes"] is None
        summary = scenario["summary"]
        for tool in ("llmc", "reference"):
            assert set(MEDIANS) <= set(summary["medians"][tool])
        assert set(summary["ratios"]) == {"wall_s", "cpu_s", "peak_rss_bytes"}
        assert all(value > 0 and math.isfinite(value) for value in summary["ratios"].values())
        assert [target["target"] for target in summary["targets"]] == TARGETS[scenario["method"]]
        assert all(isinstance(target["met"], bool) for target in summary["targets"])


def test_llmc_runs_compare_their_plan_with_the_measurement(bench_run):
    out, _ = bench_run
    results = json.loads((out / "results.json").read_text())
    for scenario in results["scenarios"]:
        llmc, reference = scenario["runs"]
        assert reference["plan"] is None
        plan = llmc["plan"]
        assert plan["measured_wall_s"] == llmc["wall_s"] and plan["measured_peak_rss_bytes"] == llmc["peak_rss_bytes"]
        assert plan["time_ratio"] == pytest.approx(plan["estimated_s"] / llmc["wall_s"])
        assert plan["memory_ratio"] == pytest.approx(plan["estimated_peak_bytes"] / llmc["peak_rss_bytes"])
        stages = {stage["name"]: stage for stage in plan["stages"]}
        assert sum(stage["estimated_s"] for stage in stages.values()) == pytest.approx(plan["estimated_s"])
        # the write stage is measured by the run's write events; the start-up was measured before the plan
        assert stages["write shards"]["measured_s"] > 0
        assert stages["start-up and probes"]["measured_by_plan"] and stages["start-up and probes"]["measured_s"] is None
        if scenario["method"] == "gptq_w4a16":
            assert stages["calibrate: modifier 1 (gptq)"]["measured_s"] > 0
        assert scenario["summary"]["plan"]["time_ratio"] == plan["time_ratio"]  # one repeat: its own median
        [judged] = [target for target in scenario["summary"]["targets"] if target["target"] == "plan"]
        assert judged["met"] == (abs(plan["time_ratio"] - 1) <= 0.25 and abs(plan["memory_ratio"] - 1) <= 0.25)


def test_calibrated_scenario_gives_both_tools_the_same_token_ids(bench_run):
    out, _ = bench_run
    results = json.loads((out / "results.json").read_text())
    assert results["calibration"]["samples"] == SAMPLES and results["calibration"]["max_seq_length"] == MAX_SEQ_LENGTH
    by_name = {scenario["name"]: scenario for scenario in results["scenarios"]}
    assert by_name["w4a16/tiny"]["calibration"] is None
    gptq = by_name["gptq_w4a16/tiny"]
    dataset = gptq["calibration"]["dataset"]
    rows = [json.loads(line)["input_ids"] for line in open(dataset)]
    assert [len(row) for row in rows] == [MAX_SEQ_LENGTH] * SAMPLES
    for run in gptq["runs"]:
        assert dataset in run["command"], f"{run['tool']} was not given the calibration tokens"
    assert "shuffle = false" in gptq["llmc_recipe"] and 'plugin = "gptq"' in gptq["llmc_recipe"]
    assert [name for name, _ in gptq["reference_modifiers"]] == ["GPTQModifier"]


def test_both_outputs_are_scored_against_the_original(bench_run):
    out, _ = bench_run
    results = json.loads((out / "results.json").read_text())
    for scenario in results["scenarios"]:
        quality = scenario["quality"]
        for tool in ("llmc", "reference"):
            assert set(QUALITY) <= set(quality[tool])
            assert quality[tool]["windows"] == 2
            assert 0 <= quality[tool]["mean_kl"] <= quality[tool]["max_kl"]
            assert 0 < quality[tool]["top1_agreement"] <= 1
        ratio = scenario["summary"]["perplexity_ratio"]
        assert ratio == pytest.approx(quality["llmc"]["perplexity"] / quality["reference"]["perplexity"])
        if scenario["method"] != "gptq_w4a16":
            # round to nearest in both tools, equal bit for bit (test_rtn_parity.py): the same scores
            assert quality["llmc"]["perplexity"] == pytest.approx(quality["reference"]["perplexity"], rel=1e-9)


def test_table_and_chart_are_written(bench_run):
    out, result = bench_run
    table = (out / "table.md").read_text()
    for needle in [f"| {name} |" for name in SCENARIOS] + ["Targets of issue 6", "Sequential bandwidth",
                                                          "Calibrated scenarios", "--plan`'s estimate"]:
        assert needle in table
    if shutil.which("nvidia-smi") is None:
        assert "| n/a | n/a |" in table, "no GPU: the peak GPU memory columns say n/a"
    assert table in result.stdout
    assert (out / "chart.png").read_bytes()[:8] == PNG_SIGNATURE
    assert not (out / "models").exists(), "the model copies are removed"


def test_a_missing_build_names_the_binary(source_dir, tmp_path):
    result = subprocess.run([str(source_dir / "tools" / "bench" / "run.sh"), "--models", "tiny", "--build-dir",
                             str(tmp_path / "no-build"), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert str(tmp_path / "no-build" / "bin" / "llmc") in result.stderr


FAKE_NVIDIA_SMI = """#!/bin/sh
case "$1" in
  --query-gpu=*) echo "Fake GPU, 1024" ;;
  --query-compute-apps=*) for pid in $(pgrep -x sleep); do echo "$pid, 300"; done; echo "1, [N/A]" ;;
esac
"""


def test_peak_gpu_memory_comes_from_nvidia_smi(source_dir, tmp_path):
    """With an nvidia-smi on PATH (a fake one that gives every `sleep` 300 MiB), the harness records the measured
    process's peak GPU memory; without one, None."""
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text(FAKE_NVIDIA_SMI)
    fake.chmod(0o755)
    probe = ("import pathlib, sys; from measure import run_measured; from machine import describe_gpus; "
             f"print(describe_gpus(), run_measured([{shutil.which('sleep')!r}, '0.5'], "
             "pathlib.Path(sys.argv[1])).peak_gpu_bytes)")
    outputs = {}
    # the fake needs pgrep from the system's PATH; "none" has a PATH with no nvidia-smi even on a GPU machine
    for label, path in (("fake", f"{fake.parent}:/usr/bin:/bin"), ("none", str(tmp_path))):
        env = {"PATH": path, "PYTHONPATH": str(source_dir / "tools" / "bench")}
        result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / f"{label}.log")], env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        outputs[label] = result.stdout.strip()
    assert outputs["fake"] == f"[{{'name': 'Fake GPU', 'memory_bytes': {1024 << 20}}}] {300 << 20}"
    assert outputs["none"] == "None None"
