"""Benchmark llmc against the Python reference (LLM Compressor) on the same models and equivalent recipes.

For each scenario (a method on a model) the two tools run alternately, REPEATS times each, every run a whole process
measured alone (wall time, user+system CPU time, peak RSS, peak GPU memory where nvidia-smi exists); both outputs
are then scored against the original with `llmc eval`. Calibrated methods get the same token ids in both tools.
Writes OUT/results.json, OUT/table.md and OUT/chart.png, and prints the table."""
import argparse
import datetime
import os
import pathlib
import shutil
import sys

from bandwidth import measure_bandwidth
from calibration import DEFAULT_TEXT, Calibration, write_calibration_tokens
from chart import write_chart
from compare import run_scenario
from machine import LoadMonitor, describe_machine
from models import DEFAULT_GGUF, prepare_model
from programs import SOURCE_DIR, Programs
from report import write_reports
from scenarios import METHODS, MODELS, Scenario, select
from summary import summarize

DEFAULT_EVAL_DATA = pathlib.Path("/usr/share/common-licenses/GPL-3")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(METHODS),
                        help=f"comma-separated methods (default: all of {', '.join(METHODS)})")
    parser.add_argument("--models", default="smollm2,llama-1b",
                        help=f"comma-separated models (default: smollm2,llama-1b; known: {', '.join(MODELS)})")
    parser.add_argument("--repeats", type=int, default=3, help="runs per tool and scenario (default 3)")
    parser.add_argument("--out", type=pathlib.Path, default=SOURCE_DIR / ".cache" / "bench",
                        help="output directory (default .cache/bench)")
    parser.add_argument("--build-dir", type=pathlib.Path,
                        default=pathlib.Path(os.environ.get("LLMC_BUILD_DIR", SOURCE_DIR / "build")),
                        help="llmc's build directory (default $LLMC_BUILD_DIR, else build/)")
    parser.add_argument("--gguf", type=pathlib.Path, default=DEFAULT_GGUF, help="the SmolLM2 GGUF to import")
    parser.add_argument("--eval-data", type=pathlib.Path, default=DEFAULT_EVAL_DATA,
                        help="the text llmc eval scores (default the GPL-3 text)")
    parser.add_argument("--calibration-text", type=pathlib.Path, default=DEFAULT_TEXT,
                        help="the text calibrated methods calibrate on, plain or .gz (default the Debian FAQ)")
    parser.add_argument("--samples", type=int, default=16, help="calibration samples (default 16)")
    parser.add_argument("--max-seq-length", type=int, default=512, help="tokens per calibration sample (default 512)")
    parser.add_argument("--bandwidth-bytes", type=int, default=1 << 30,
                        help="size of the file written and read to measure the bandwidth (default 1 GiB)")
    parser.add_argument("--keep-outputs", action="store_true", help="keep each tool's first output checkpoint")
    arguments = parser.parse_args()
    if min(arguments.repeats, arguments.samples, arguments.max_seq_length) < 1:
        parser.error("--repeats, --samples and --max-seq-length must be at least 1")
    if not arguments.eval_data.is_file():
        parser.error(f"{arguments.eval_data}: the evaluation text is missing")
    return arguments


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def main() -> None:
    arguments = parse_arguments()
    methods = select(arguments.scenarios, METHODS, "scenario")
    models = select(arguments.models, MODELS, "model")
    programs = Programs.from_build_dir(arguments.build_dir.resolve())
    out = arguments.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    monitor = LoadMonitor()
    results = {"command": ["tools/bench/run.sh", *sys.argv[1:]], "started": utc_now(), "repeats": arguments.repeats,
               "eval_data": str(arguments.eval_data), "machine": describe_machine(programs.llmc_version())}
    print(f"measuring the sequential read+write bandwidth ({arguments.bandwidth_bytes} bytes)", flush=True)
    results["bandwidth"] = measure_bandwidth(out, arguments.bandwidth_bytes)
    calibration = Calibration(arguments.calibration_text.resolve(), arguments.samples, arguments.max_seq_length)
    calibrated = any(method.calibrated for method in methods)
    results["calibration"] = calibration.to_json() if calibrated else None
    results["scenarios"] = []
    for model in models:
        print(f"preparing {model.name}: {model.description}", flush=True)
        model_dir = prepare_model(model, programs, out / "models", arguments.gguf.resolve())
        tokens = (write_calibration_tokens(model_dir, calibration, out / "calibration" / f"{model.name}.jsonl")
                  if calibrated else None)
        for method in methods:
            scenario = Scenario(method, model)
            work = out / "runs" / f"{method.name}-{model.name}"
            if work.exists():
                shutil.rmtree(work)
            result = run_scenario(scenario, programs, model_dir, work, arguments.repeats, arguments.eval_data,
                                  tokens if method.calibrated else None)
            result["summary"] = summarize(result, results["bandwidth"], method.targets)
            if not arguments.keep_outputs:
                for output in result["outputs"].values():
                    shutil.rmtree(output)
                result["outputs"] = None
            results["scenarios"].append(result)
        if not arguments.keep_outputs:
            shutil.rmtree(model_dir)
    if not arguments.keep_outputs:
        (out / "models").rmdir()
    results["all_targets_met"] = all(target["met"] for scenario in results["scenarios"]
                                     for target in scenario["summary"]["targets"])
    results["finished"] = utc_now()
    results["load"] = monitor.report()
    write_chart(results, out / "chart.png")
    print(write_reports(results, out))
    print(f"wrote {out / 'results.json'}, {out / 'table.md'} and {out / 'chart.png'}")


if __name__ == "__main__":
    main()
