"""Every recipe in recipes/ runs with `llmc oneshot` on a small Llama-shaped checkpoint whose widths fit
group 128, and transformers loads what it writes (bit-exactness against the reference is
test_rtn_parity.py's and test_calibrated_parity.py's job). Every run gets a small calibration set (random
token ids); data-free recipes ignore it."""
import json
import subprocess

import pytest
import torch
import transformers

from conftest import SOURCE_DIR

RECIPES = sorted((SOURCE_DIR / "recipes").glob("*.toml"))


@pytest.fixture(scope="module")
def model(binary_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("recipes") / "model"
    subprocess.run([str(binary_dir / "bin" / "llmc-synth"), "--hidden", "256", "--intermediate", "512", "--layers",
                    "2", "--heads", "4", "--kv-heads", "2", "--vocab", "512", "--output", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def calibration_ids(tmp_path_factory):
    path = tmp_path_factory.mktemp("calibration") / "ids.jsonl"
    generator = torch.Generator().manual_seed(0)
    rows = [torch.randint(0, 512, (48,), generator=generator).tolist() for _ in range(4)]
    path.write_text("".join(json.dumps({"input_ids": row}) + "\n" for row in rows))
    return path


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.stem for r in RECIPES])
def test_recipe_runs_and_loads(llmc_bin, model, calibration_ids, tmp_path, recipe):
    out = tmp_path / "out"
    result = subprocess.run([str(llmc_bin), "oneshot", "--model", str(model), "--recipe", str(recipe), "--output",
                             str(out), "--dataset", str(calibration_ids)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    if recipe.stem != "sparse-2of4-magnitude":
        quantization = config["quantization_config"]
        assert quantization["quant_method"] == "compressed-tensors"
        assert quantization["ignore"] == ["lm_head"]
    loaded = transformers.AutoModelForCausalLM.from_pretrained(out, dtype=torch.bfloat16)
    logits = loaded(torch.arange(16).unsqueeze(0)).logits
    assert torch.isfinite(logits).all()
