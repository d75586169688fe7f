"""The benchmark harness (tools/bench/run.sh) end to end on the tiny synthetic model, one repeat: it runs llmc and
the reference for every data-free method, and writes results.json with every figure, table.md and chart.png.
Timings are not asserted (they depend on the machine); the structure and the quality figures are."""
import json
import math
import subprocess

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_FIGURES = ("wall_s", "user_s", "sys_s", "cpu_s", "peak_rss_bytes", "peak_gpu_bytes", "exit_code", "input_bytes",
               "output_bytes", "other_processes_cpu_s", "command", "log")
MEDIANS = ("wall_s", "cpu_s", "user_s", "sys_s", "peak_rss_bytes", "peak_gpu_bytes", "output_bytes",
           "other_processes_cpu_s", "io_bytes_per_s", "bandwidth_fraction")
QUALITY = ("original_perplexity", "perplexity", "mean_kl", "max_kl", "top1_agreement", "windows",
           "predicted_tokens")


@pytest.fixture(scope="module")
def bench_run(source_dir, binary_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    command = [str(source_dir / "tools" / "bench" / "run.sh"), "--models", "tiny", "--repeats", "1", "--out", str(out),
               "--build-dir", str(binary_dir), "--bandwidth-bytes", str(32 << 20)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
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
    assert [scenario["name"] for scenario in results["scenarios"]] == ["w4a16/tiny", "fp8_dynamic/tiny"]
    for scenario in results["scenarios"]:
        assert [(run["tool"], run["repeat"]) for run in scenario["runs"]] == [("llmc", 0), ("reference", 0)]
        for run in scenario["runs"]:
            assert set(RUN_FIGURES) <= set(run), f"{scenario['name']} {run['tool']}: missing figures"
            assert run["exit_code"] == 0 and run["wall_s"] > 0 and run["peak_rss_bytes"] > 0
            assert run["output_bytes"] > 0 and run["input_bytes"] > 0
        summary = scenario["summary"]
        for tool in ("llmc", "reference"):
            assert set(MEDIANS) <= set(summary["medians"][tool])
        assert set(summary["ratios"]) == {"wall_s", "cpu_s", "peak_rss_bytes"}
        assert all(value > 0 and math.isfinite(value) for value in summary["ratios"].values())
        assert [target["target"] for target in summary["targets"]] == ["time", "memory", "bandwidth"]
        assert all(isinstance(target["met"], bool) for target in summary["targets"])


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
        # round to nearest in both tools, equal bit for bit (test_rtn_parity.py): the same scores
        assert quality["llmc"]["perplexity"] == pytest.approx(quality["reference"]["perplexity"], rel=1e-9)


def test_table_and_chart_are_written(bench_run):
    out, result = bench_run
    table = (out / "table.md").read_text()
    for needle in ("| w4a16/tiny |", "| fp8_dynamic/tiny |", "Targets of issue 6", "Sequential bandwidth"):
        assert needle in table
    assert table in result.stdout
    assert (out / "chart.png").read_bytes()[:8] == PNG_SIGNATURE
    assert not (out / "models").exists(), "the model copies are removed"


def test_a_missing_build_names_the_binary(source_dir, tmp_path):
    result = subprocess.run([str(source_dir / "tools" / "bench" / "run.sh"), "--models", "tiny", "--build-dir",
                             str(tmp_path / "no-build"), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert str(tmp_path / "no-build" / "bin" / "llmc") in result.stderr
