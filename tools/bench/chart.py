"""chart.png: wall time, CPU time and peak resident memory of llmc and the reference, per scenario (medians, on
logarithmic axes so that a 135M model and a 1B one fit one panel)."""
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 -- after choosing the file-only backend

PANELS = (("wall_s", "wall time (s)", 1.0), ("cpu_s", "CPU time, user + system (s)", 1.0),
          ("peak_rss_bytes", "peak resident memory (MB)", 1e-6))
COLORS = {"llmc": "#1f77b4", "reference": "#ff7f0e"}


def _label(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def write_chart(results: dict, path: pathlib.Path) -> None:
    scenarios = results["scenarios"]
    names = [scenario["name"] for scenario in scenarios]
    figure, axes = plt.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 4.5), squeeze=False)
    width = 0.38
    for axis, (measure, label, scale) in zip(axes[0], PANELS):
        for offset, tool in ((-width / 2, "llmc"), (width / 2, "reference")):
            values = [scenario["summary"]["medians"][tool][measure] * scale for scenario in scenarios]
            bars = axis.bar([index + offset for index in range(len(names))], values, width, label=tool,
                            color=COLORS[tool])
            axis.bar_label(bars, fmt=_label, fontsize=7)
        axis.set_yscale("log")
        axis.set_title(label, fontsize=10)
        axis.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        axis.legend(fontsize=8)
    figure.suptitle(f"llmc vs LLM Compressor {results['machine']['reference_packages']['llmcompressor']}: medians of "
                    f"{results['repeats']} runs, {results['machine']['cpu_model']}, {results['machine']['cores']} "
                    "cores", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
