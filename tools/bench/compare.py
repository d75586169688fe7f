"""One scenario: llmc and the reference on the same model and equivalent recipes, their runs alternating
(llmc, reference, llmc, reference, ...), then the quality of each tool's first output against the original.
Calibrated scenarios give both tools the same calibration token ids.

Before every run the page cache holds no dirty data (sync) and none of the input checkpoint (evicted), so both tools
read their input from the disk; neither tool syncs its output, so their writes end in the page cache alike."""
import json
import os
import pathlib
import shutil

from calibration import CalibrationTokens
from machine import busy_cpu_seconds
from measure import evict_from_page_cache, run_measured, tree_bytes
from plan_check import compare_plan
from programs import Programs
from quality import evaluate
from scenarios import Scenario

TOOLS = ("llmc", "reference")


def _command(tool: str, scenario: Scenario, programs: Programs, model_dir: pathlib.Path, recipe: pathlib.Path,
             output: pathlib.Path, calibration: CalibrationTokens | None, events: pathlib.Path) -> list:
    if tool == "llmc":
        return programs.llmc_oneshot(model_dir, recipe, output, calibration, events)
    return programs.reference_oneshot(model_dir, json.dumps(scenario.reference_modifiers()), output, calibration)


def run_scenario(scenario: Scenario, programs: Programs, model_dir: pathlib.Path, work: pathlib.Path, repeats: int,
                 eval_data: pathlib.Path, calibration: CalibrationTokens | None) -> dict:
    """Runs the scenario under WORK; returns its raw figures (runs and quality). Keeps each tool's first output."""
    work.mkdir(parents=True, exist_ok=True)
    recipe = work / "recipe.toml"
    recipe.write_text(scenario.llmc_recipe())
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    input_bytes = tree_bytes(model_dir)
    runs, first_outputs = [], {}
    for repeat in range(repeats):
        for tool in TOOLS:
            output = work / f"{tool}-{repeat}"
            if output.exists():
                shutil.rmtree(output)
            os.sync()
            evict_from_page_cache(model_dir)
            print(f"  {scenario.name}: {tool}, repeat {repeat + 1} of {repeats}", flush=True)
            events = work / f"{tool}-{repeat}.events.jsonl"
            machine_busy = busy_cpu_seconds()
            measurement = run_measured(_command(tool, scenario, programs, model_dir, recipe, output, calibration,
                                                events), work / f"{tool}-{repeat}.log", env=env)
            # the CPU time other processes took meanwhile: how contended this run was
            others = max(0.0, busy_cpu_seconds() - machine_busy - measurement.cpu_s)
            runs.append({"tool": tool, "repeat": repeat, **measurement.to_json(), "input_bytes": input_bytes,
                         "output_bytes": tree_bytes(output), "other_processes_cpu_s": others,
                         "plan": compare_plan(events, measurement) if tool == "llmc" else None})
            if repeat == 0:
                first_outputs[tool] = output
            else:
                shutil.rmtree(output)
    result = {"name": scenario.name, "method": scenario.method.name, "model": scenario.model.name,
              "method_description": scenario.method.description, "model_description": scenario.model.description,
              "llmc_recipe": scenario.llmc_recipe(), "reference_modifiers": scenario.reference_modifiers(),
              "calibration": calibration.to_json() if calibration else None,
              "input_bytes": input_bytes, "runs": runs,
              "outputs": {tool: str(path) for tool, path in first_outputs.items()},
              "quality": None, "quality_skipped": None}
    if scenario.model.eval_windows:
        print(f"  {scenario.name}: scoring both outputs with llmc eval", flush=True)
        result["quality"] = {tool: evaluate(programs.llmc, model_dir, first_outputs[tool], eval_data,
                                            scenario.model.eval_windows, work / f"eval-{tool}")
                             for tool in TOOLS}
    else:
        result["quality_skipped"] = "random weights: this model is measured for time and memory only"
    return result
