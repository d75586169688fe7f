"""llmc-synth checkpoints against the reference stack (safetensors, transformers), and the resident memory of
copying large checkpoints through Checkpoint + SafetensorsWriter (run by test_model's CopyMemoryTest)."""
import json
import os
import struct
import subprocess

import pytest
import torch
from safetensors import safe_open


@pytest.fixture(scope="session")
def synth_bin(binary_dir):
    path = binary_dir / "bin" / "llmc-synth"
    assert path.exists(), f"{path} is not built"
    return path


def synth(synth_bin, output, *args):
    subprocess.run([str(synth_bin), "--output", str(output), *args], check=True)
    return output


def test_tiny_preset_runs_in_transformers(synth_bin, tmp_path):
    from transformers import AutoModelForCausalLM

    out = synth(synth_bin, tmp_path / "tiny", "--preset", "tiny", "--seed", "3")
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and config["dtype"] == "bfloat16"
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.dtype == torch.bfloat16
    assert model.config.hidden_size == 64 and model.config.num_key_value_heads == 2
    assert torch.all(model.model.norm.weight == 1)
    std = model.model.layers[1].mlp.down_proj.weight.float().std().item()
    assert 0.018 < std < 0.022
    with torch.no_grad():
        logits = model(torch.tensor([[1, 2, 3, 4, 5]])).logits
    assert logits.shape == (1, 5, 256) and torch.isfinite(logits).all()


def test_header_is_padded_and_aligned(synth_bin, tmp_path):
    out = synth(synth_bin, tmp_path / "tiny", "--dtype", "f16")
    raw = (out / "model.safetensors").read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    assert (8 + length) % 8 == 0
    assert raw[8:8 + length].decode().rstrip(" ").endswith("}")
    with safe_open(out / "model.safetensors", "pt") as f:
        assert f.metadata() == {"format": "pt"}
        assert f.get_tensor("model.embed_tokens.weight").dtype == torch.float16


def test_same_seed_same_bytes(synth_bin, tmp_path):
    a = synth(synth_bin, tmp_path / "a", "--seed", "7")
    b = synth(synth_bin, tmp_path / "b", "--seed", "7")
    c = synth(synth_bin, tmp_path / "c", "--seed", "8")
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "model.safetensors").read_bytes() != (c / "model.safetensors").read_bytes()


def test_sharded_f32_untied_loads(synth_bin, tmp_path):
    from transformers import AutoModelForCausalLM

    out = synth(synth_bin, tmp_path / "sharded", "--dtype", "f32", "--tie-embeddings=false", "--max-shard-size", "100KB")
    index = json.loads((out / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1 and "lm_head.weight" in index["weight_map"]
    assert index["metadata"]["total_size"] == sum(
        (out / s).stat().st_size for s in shards) - sum(8 + struct.unpack("<Q", (out / s).read_bytes()[:8])[0] for s in shards)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.dtype == torch.float32 and not model.config.tie_word_embeddings


def test_existing_output_needs_overwrite(synth_bin, tmp_path):
    out = synth(synth_bin, tmp_path / "tiny")
    result = subprocess.run([str(synth_bin), "--output", str(out)], capture_output=True, text=True)
    assert result.returncode != 0 and "--overwrite" in result.stderr
    synth(synth_bin, out, "--overwrite", "--seed", "1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]


def copy_peak_memory(binary_dir, source):
    test_model = binary_dir / "bin" / "test_model"
    assert test_model.exists(), f"{test_model} is not built"
    result = subprocess.run([str(test_model), "--gtest_filter=CopyMemoryTest.*"], capture_output=True, text=True,
                            env={**os.environ, "LLMC_COPY_SOURCE": str(source)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_copy_300mb_keeps_memory_flat(synth_bin, binary_dir, tmp_path):
    source = synth(synth_bin, tmp_path / "source", "--hidden", "1024", "--intermediate", "2816", "--layers", "8",
                   "--heads", "16", "--kv-heads", "4", "--vocab", "32000", "--tie-embeddings=false")
    assert sum(p.stat().st_size for p in source.iterdir()) > 300e6
    copy_peak_memory(binary_dir, source)


@pytest.mark.slow
def test_copy_2gb_keeps_memory_flat(synth_bin, binary_dir, tmp_path):
    source = synth(synth_bin, tmp_path / "source", "--hidden", "2048", "--intermediate", "5632", "--layers", "20",
                   "--heads", "16", "--kv-heads", "4", "--vocab", "32000", "--tie-embeddings=false")
    assert sum(p.stat().st_size for p in source.iterdir()) > 2e9
    copy_peak_memory(binary_dir, source)
