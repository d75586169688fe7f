"""Every recipe in recipes/ runs with `llmc oneshot` on a small Llama-shaped checkpoint whose widths fit
group 128, and transformers loads what it writes (bit-exactness against the reference is
test_rtn_parity.py's job)."""
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


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.stem for r in RECIPES])
def test_recipe_runs_and_loads(llmc_bin, model, tmp_path, recipe):
    out = tmp_path / "out"
    result = subprocess.run([str(llmc_bin), "oneshot", "--model", str(model), "--recipe", str(recipe), "--output",
                             str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    if recipe.stem != "sparse-2of4-magnitude":
        quantization = config["quantization_config"]
        assert quantization["quant_method"] == "compressed-tensors"
        assert quantization["ignore"] == ["lm_head"]
    loaded = transformers.AutoModelForCausalLM.from_pretrained(out, dtype=torch.bfloat16)
    logits = loaded(torch.arange(16).unsqueeze(0)).logits
    assert torch.isfinite(logits).all()
