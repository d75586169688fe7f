"""The quality of a compressed checkpoint against its original: `llmc eval --model ORIGINAL --compare OUTPUT`.

Perplexity of both, mean and largest KL(P_original || P_output) per token, and top-1 agreement, on the first
WINDOWS non-overlapping 512-token windows of a text. llmc eval reads compressed-tensors checkpoints, so the same
command scores llmc's output and the reference's."""
import json
import pathlib

from measure import run_measured

WINDOW = 512


def evaluate(llmc: pathlib.Path, original: pathlib.Path, output: pathlib.Path, data: pathlib.Path, windows: int,
             work: pathlib.Path) -> dict:
    report = work.with_suffix(".json")
    measurement = run_measured([llmc, "eval", "--model", original, "--compare", output, "--data", data,
                                "--window", WINDOW, "--max-windows", windows, "--json", report, "--quiet"],
                               work.with_suffix(".log"))
    scores = json.loads(report.read_text())
    compare = scores["compare"]
    return {"original_perplexity": scores["perplexity"], "perplexity": compare["perplexity"],
            "mean_kl": compare["mean_kl"], "max_kl": compare["max_kl"], "top1_agreement": compare["top1_agreement"],
            "windows": scores["windows"], "predicted_tokens": scores["predicted_tokens"],
            "eval_wall_s": measurement.wall_s}
