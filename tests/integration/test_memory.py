"""Peak resident memory of `llmc oneshot` stays flat when a checkpoint streams through it: tensors no
plugin edits are copied file to file, and only the unit being compressed is held. The bound, 200 MB, is
the issue's for copying a 2 GB checkpoint; the fast tier checks it on SmolLM2-135M shapes (270 MB)."""
import subprocess
import sys
import textwrap

import pytest

BOUND_BYTES = 200e6

# Runs the command in a fresh Python process, so RUSAGE_CHILDREN covers that one child only.
MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
           "sys.stderr.write(r.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024); "
           "sys.exit(r.returncode)")


def peak_rss(*command):
    result = subprocess.run([sys.executable, "-c", MEASURE, *map(str, command)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def copy_peak(binary_dir, tmp_path, synth_args, recipe_body):
    model = tmp_path / "model"
    subprocess.run([str(binary_dir / "bin" / "llmc-synth"), *synth_args, "--output", str(model)], check=True)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(textwrap.dedent(recipe_body))
    size = sum(f.stat().st_size for f in model.glob("*.safetensors"))
    peak = peak_rss(binary_dir / "bin" / "llmc", "oneshot", "--model", model, "--recipe", recipe, "--output",
                    tmp_path / "out", "--plugin-path", binary_dir / "test-plugins", "--quiet")
    return size, peak


RECORD_ONLY = """
    [[modifier]]
    plugin = "recorder"
    log_file = "{log}"
    ignore = ["lm_head"]
    """


def test_copy_of_smollm2_shapes_stays_under_bound(binary_dir, tmp_path):
    size, peak = copy_peak(binary_dir, tmp_path, ["--preset", "smollm2-135m"],
                           RECORD_ONLY.format(log=tmp_path / "calls.jsonl"))
    assert size > 250e6
    assert peak < BOUND_BYTES, f"peak RSS {peak / 1e6:.1f} MB copying {size / 1e6:.0f} MB"


def test_pruning_holds_one_layer_at_a_time(binary_dir, tmp_path):
    # Every Linear is edited: what the run adds to the process's own footprint (LibTorch's CPU library
    # alone is about 110 MB resident) is a layer's weights, their float32 copies and allocator slack,
    # far below the 270 MB checkpoint.
    size, peak = copy_peak(binary_dir, tmp_path, ["--preset", "smollm2-135m"], """
        [[modifier]]
        plugin = "magnitude_prune"
        ignore = ["lm_head"]
        """)
    baseline = peak_rss(binary_dir / "bin" / "llmc", "--help")
    assert peak - baseline < 128e6, f"peak RSS {peak / 1e6:.1f} MB ({baseline / 1e6:.1f} MB at start) pruning {size / 1e6:.0f} MB"


def test_quantizing_holds_one_layer_at_a_time(binary_dir, tmp_path):
    # W4A16 group 64 on every Linear: a layer's weights, the quantization temporaries and its packed form.
    size, peak = copy_peak(binary_dir, tmp_path, ["--preset", "smollm2-135m"], """
        [[modifier]]
        plugin = "rtn"
        ignore = ["lm_head"]
        weights = { num_bits = 4, type = "int", symmetric = true, strategy = "group", group_size = 64 }
        """)
    baseline = peak_rss(binary_dir / "bin" / "llmc", "--help")
    assert peak - baseline < 128e6, f"peak RSS {peak / 1e6:.1f} MB ({baseline / 1e6:.1f} MB at start) quantizing {size / 1e6:.0f} MB"


@pytest.mark.slow
def test_copy_of_2gb_checkpoint_stays_under_bound(binary_dir, tmp_path):
    size, peak = copy_peak(binary_dir, tmp_path, ["--preset", "llama-1b"],
                           RECORD_ONLY.format(log=tmp_path / "calls.jsonl"))
    assert size > 2e9
    assert peak < BOUND_BYTES, f"peak RSS {peak / 1e6:.1f} MB copying {size / 1e6:.0f} MB"
