"""A scenario's figures reduced to what the report shows: per-tool medians, llmc/reference ratios (the median of
the per-repeat ratios, each repeat's llmc run paired with the reference run after it), the I/O rate as a share of the
machine's bandwidth, the perplexity of llmc's output over the reference's, and the issue's targets judged on those
figures, and llmc's --plan estimate against its measured runs."""
import statistics

from plan_check import TOLERANCE, within_tolerance
from scenarios import Targets

MEASURES = ("wall_s", "cpu_s", "user_s", "sys_s", "peak_rss_bytes", "output_bytes", "other_processes_cpu_s")
OPTIONAL_MEASURES = ("peak_gpu_bytes",)  # None where the machine has no nvidia-smi
RATIOS = ("wall_s", "cpu_s", "peak_rss_bytes")


def _io_rate(run: dict) -> float:
    """(input bytes read + output bytes written) / wall time."""
    return (run["input_bytes"] + run["output_bytes"]) / run["wall_s"]


def _tool_medians(runs: list, bandwidth: dict) -> dict:
    medians = {measure: statistics.median(run[measure] for run in runs) for measure in MEASURES}
    for measure in OPTIONAL_MEASURES:
        values = [run[measure] for run in runs]
        medians[measure] = None if None in values else statistics.median(values)
    rate = statistics.median(_io_rate(run) for run in runs)
    medians["io_bytes_per_s"] = rate
    medians["bandwidth_fraction"] = {kind: rate / bandwidth[kind]["read_write_bytes_per_s"]
                                     for kind in ("disk", "page_cache")}
    return medians


def _perplexity_ratio(quality: dict | None) -> float | None:
    return quality["llmc"]["perplexity"] / quality["reference"]["perplexity"] if quality else None


def _judge(targets: Targets, ratios: dict, llmc: dict, perplexity_ratio: float | None) -> list:
    judged = []
    wall = ratios["wall_s"]
    judged.append({"target": "time", "requirement": f"at least {1 / targets.max_wall_ratio:g}x faster than the "
                   "reference", "bound": targets.max_wall_ratio, "measured": wall,
                   "met": wall <= targets.max_wall_ratio,
                   "text": f"{1 / wall:.2f}x faster (llmc/reference wall {wall:.3f})"})
    memory = ratios["peak_rss_bytes"]
    judged.append({"target": "memory", "requirement": f"at most 1/{1 / targets.max_peak_rss_ratio:g} of the "
                   "reference's peak RSS", "bound": targets.max_peak_rss_ratio, "measured": memory,
                   "met": memory <= targets.max_peak_rss_ratio,
                   "text": f"{memory:.3f} of the reference's peak RSS (1/{1 / memory:.1f})"})
    if targets.min_bandwidth_fraction is not None:
        share = llmc["bandwidth_fraction"]["disk"]
        judged.append({"target": "bandwidth", "requirement": f"at least {targets.min_bandwidth_fraction:g} of the "
                       "measured sequential read+write bandwidth", "bound": targets.min_bandwidth_fraction,
                       "measured": share, "met": share >= targets.min_bandwidth_fraction,
                       "text": f"{share:.3f} of the disk read+write bandwidth "
                               f"({llmc['io_bytes_per_s'] / 1e6:.0f} MB/s)"})
    if targets.max_perplexity_ratio is not None and perplexity_ratio is not None:
        bound = targets.max_perplexity_ratio
        judged.append({"target": "perplexity", "requirement": f"perplexity at most {bound:g}x the reference output's",
                       "bound": bound, "measured": perplexity_ratio, "met": perplexity_ratio <= bound,
                       "text": f"{perplexity_ratio:.4f}x the reference's output's perplexity"})
    return judged


def _plan_summary(llmc_runs: list) -> dict:
    """Medians over llmc's runs of the estimate/measured ratios (time: the plan's total against the wall time)."""
    plans = [run["plan"] for run in llmc_runs]
    return {measure: statistics.median(plan[measure] for plan in plans) for measure in ("time_ratio", "memory_ratio")}


def _judge_plan(plan: dict) -> dict:
    time, memory = plan["time_ratio"], plan["memory_ratio"]
    return {"target": "plan", "requirement": f"--plan's time and peak memory within {TOLERANCE:.0%} of the run's",
            "bound": TOLERANCE, "measured": max(abs(time - 1), abs(memory - 1)),
            "met": within_tolerance(time) and within_tolerance(memory),
            "text": f"estimate/measured: time {time:.3f}, peak memory {memory:.3f}"}


def summarize(result: dict, bandwidth: dict, targets: Targets) -> dict:
    by_tool = {tool: [run for run in result["runs"] if run["tool"] == tool] for tool in ("llmc", "reference")}
    medians = {tool: _tool_medians(runs, bandwidth) for tool, runs in by_tool.items()}
    per_repeat = {measure: [ours[measure] / theirs[measure] for ours, theirs in zip(by_tool["llmc"],
                                                                                    by_tool["reference"])]
                  for measure in RATIOS}
    ratios = {measure: statistics.median(values) for measure, values in per_repeat.items()}
    perplexity_ratio = _perplexity_ratio(result["quality"])
    plan = _plan_summary(by_tool["llmc"])
    return {"medians": medians, "ratios": ratios, "ratios_per_repeat": per_repeat, "perplexity_ratio": perplexity_ratio,
            "plan": plan, "targets": _judge(targets, ratios, medians["llmc"], perplexity_ratio) + [_judge_plan(plan)]}
