"""The benchmark's outputs: results.json (every figure) and table.md (the tables the README shows)."""
import json
import pathlib

from gpu import SAMPLE_INTERVAL_S


def _mb(value: float) -> str:
    return f"{value / 1e6:,.0f} MB"


def _gpu_mb(value: int | None) -> str:
    return "n/a" if value is None else _mb(value)


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _machine_line(results: dict) -> str:
    machine = results["machine"]
    return (f"Machine: {machine['cpu_model']}, {machine['cores']} cores, {machine['memory_bytes'] / 2**30:.1f} GiB "
            f"RAM, Linux {machine['kernel']}; {machine['llmc']}; reference llmcompressor "
            f"{machine['reference_packages']['llmcompressor']} (torch {machine['reference_packages']['torch']}).")


def _gpu_line(results: dict) -> str:
    gpus = results["machine"]["gpus"]
    if not gpus:
        return "GPU: none (no nvidia-smi), so no peak GPU memory (n/a)."
    return "GPU: " + ", ".join(f"{gpu['name']} ({gpu['memory_bytes'] / 2**30:.0f} GiB)" for gpu in gpus) + \
        f"; peak GPU memory is what nvidia-smi showed for the process (sampled every {SAMPLE_INTERVAL_S:g} s)."


def _calibration_line(results: dict) -> str:
    calibration = results["calibration"]
    return (f"Calibrated scenarios: both tools calibrate on the same {calibration['samples']} x "
            f"{calibration['max_seq_length']} token ids of {calibration['text']}, in file order, one sample per batch.")


def _load_line(results: dict) -> str:
    load = results["load"]
    return (f"Other processes used {load['other_processes_cpu_s']:.0f} CPU-seconds during the "
            f"{load['wall_s']:.0f} s run ({load['other_processes_mean_cores']:.2f} cores on average; load average "
            f"{load['loadavg_start'][0]:.2f} at the start, {load['loadavg_end'][0]:.2f} at the end).")


def _bandwidth_line(results: dict) -> str:
    bandwidth = results["bandwidth"]
    disk, cache = bandwidth["disk"], bandwidth["page_cache"]
    return (f"Sequential bandwidth ({bandwidth['bytes'] / 2**30:.2f} GiB file): disk (write + fsync, then read with "
            f"the file evicted from the page cache) write {_mb(disk['write_bytes_per_s'])}/s, read "
            f"{_mb(disk['read_bytes_per_s'])}/s, read+write {_mb(disk['read_write_bytes_per_s'])}/s; page cache "
            f"read+write {_mb(cache['read_write_bytes_per_s'])}/s.")


def _time_memory_table(scenarios: list) -> list:
    lines = ["| scenario | llmc wall | reference wall | speed-up | llmc CPU | reference CPU | llmc peak RSS | "
             "reference peak RSS | RSS llmc/ref | llmc peak GPU | reference peak GPU | "
             "llmc I/O rate (share of disk r+w) | others' CPU meanwhile |", "|---" * 13 + "|"]
    for scenario in scenarios:
        llmc, reference = scenario["summary"]["medians"]["llmc"], scenario["summary"]["medians"]["reference"]
        ratios = scenario["summary"]["ratios"]
        lines.append(f"| {scenario['name']} | {_seconds(llmc['wall_s'])} | {_seconds(reference['wall_s'])} | "
                     f"{1 / ratios['wall_s']:.2f}x | {_seconds(llmc['cpu_s'])} | {_seconds(reference['cpu_s'])} | "
                     f"{_mb(llmc['peak_rss_bytes'])} | {_mb(reference['peak_rss_bytes'])} | "
                     f"{ratios['peak_rss_bytes']:.3f} | {_gpu_mb(llmc['peak_gpu_bytes'])} | "
                     f"{_gpu_mb(reference['peak_gpu_bytes'])} | {_mb(llmc['io_bytes_per_s'])}/s "
                     f"({llmc['bandwidth_fraction']['disk']:.3f}) | "
                     f"{_seconds(llmc['other_processes_cpu_s'])} / {_seconds(reference['other_processes_cpu_s'])} |")
    return lines


def _quality_table(scenarios: list) -> list:
    scored = [scenario for scenario in scenarios if scenario["quality"]]
    if not scored:
        return []
    lines = ["| scenario | windows | original PPL | llmc PPL | reference PPL | PPL llmc/ref | llmc mean KL | "
             "reference mean KL | llmc top-1 | reference top-1 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for scenario in scored:
        ours, theirs = scenario["quality"]["llmc"], scenario["quality"]["reference"]
        lines.append(f"| {scenario['name']} | {ours['windows']} x 512 | {ours['original_perplexity']:.3f} | "
                     f"{ours['perplexity']:.3f} | {theirs['perplexity']:.3f} | "
                     f"{scenario['summary']['perplexity_ratio']:.4f} | {ours['mean_kl']:.5f} | "
                     f"{theirs['mean_kl']:.5f} | {100 * ours['top1_agreement']:.2f}% | "
                     f"{100 * theirs['top1_agreement']:.2f}% |")
    return lines


def _plan_table(scenarios: list) -> list:
    """The first llmc run's plan against its measurement, with the stages whose events measured them."""
    lines = ["| scenario | estimated | measured wall | est/measured | estimated peak | measured peak RSS | "
             "est/measured | stages: estimated / measured s |", "|---|---|---|---|---|---|---|---|"]
    for scenario in scenarios:
        plan = next(run["plan"] for run in scenario["runs"] if run["tool"] == "llmc")
        stages = "; ".join(f"{stage['name']} {stage['estimated_s']:.1f} / {stage['measured_s']:.1f}"
                           for stage in plan["stages"] if stage["measured_s"] is not None)
        lines.append(f"| {scenario['name']} | {_seconds(plan['estimated_s'])} | {_seconds(plan['measured_wall_s'])} | "
                     f"{plan['time_ratio']:.3f} | {_mb(plan['estimated_peak_bytes'])} | "
                     f"{_mb(plan['measured_peak_rss_bytes'])} | {plan['memory_ratio']:.3f} | {stages} |")
    return lines


def _targets_table(scenarios: list) -> list:
    lines = ["| scenario | target | measured | met |", "|---|---|---|---|"]
    for scenario in scenarios:
        for judged in scenario["summary"]["targets"]:
            lines.append(f"| {scenario['name']} | {judged['requirement']} | {judged['text']} | "
                         f"{'yes' if judged['met'] else 'no'} |")
    return lines


def markdown(results: dict) -> str:
    scenarios = results["scenarios"]
    repeats = results["repeats"]
    lines = [f"Time and memory: medians of {repeats} alternating runs per tool, each a whole process (imports and "
             "loading included); ratios are medians of per-repeat llmc/reference ratios; the last column is the CPU "
             "time other processes of the machine used during the llmc / reference runs (medians).", ""]
    lines += _time_memory_table(scenarios)
    quality = _quality_table(scenarios)
    if quality:
        lines += ["", f"Quality against the original model (`llmc eval`, {results['eval_data']}, 512-token "
                      "windows; KL(original || output) per token, top-1 agreement with the original):", ""]
        lines += quality
    lines += ["", "`llmc oneshot --plan`'s estimate (logged by each run before any work) against the same run "
              "measured (first repeat; the targets use the medians over repeats):", ""] + _plan_table(scenarios)
    lines += ["", "Targets of issue 6:", ""] + _targets_table(scenarios)
    if results["calibration"]:
        lines += ["", _calibration_line(results)]
    lines += ["", _bandwidth_line(results), "", _machine_line(results), "", _gpu_line(results), "",
              _load_line(results)]
    return "\n".join(lines) + "\n"


def write_reports(results: dict, out: pathlib.Path) -> str:
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results)
    (out / "table.md").write_text(table)
    return table
