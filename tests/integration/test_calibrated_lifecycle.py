"""The calibrated lifecycle of `llmc oneshot` as a plugin sees it (tests/plugins/calibration_recorder.cpp): one
calibrate call per decoder layer and batch with the modifier's modules' inputs and outputs, modules reading one
tensor sharing its memory, the architecture's smoothing mappings, module_forward on the cached inputs with the
edited weights; and the command line around it: calibration flags, their errors, conflicting schemes,
calibration data outside the decoder layers, and the activation cache spilled to a file under a small
--memory-budget."""
import json
import pathlib
import subprocess

import pytest
import torch

from test_oneshot_cli import assert_no_output, oneshot, records, write_recipe

SAMPLES, LENGTH = 3, 40


@pytest.fixture(scope="module")
def model(binary_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("calibrated") / "model"
    subprocess.run([str(binary_dir / "bin" / "llmc-synth"), "--hidden", "128", "--intermediate", "256", "--layers",
                    "2", "--heads", "4", "--kv-heads", "2", "--vocab", "256", "--output", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "ids.jsonl"
    generator = torch.Generator().manual_seed(0)
    rows = [torch.randint(0, 256, (LENGTH,), generator=generator).tolist() for _ in range(SAMPLES)]
    path.write_text("".join(json.dumps({"input_ids": row}) + "\n" for row in rows))
    return path


def recorder_recipe(tmp_path, extra=""):
    return write_recipe(tmp_path, f"""
        [[modifier]]
        plugin = "calibration_recorder"
        log_file = "{tmp_path / 'calls.jsonl'}"
        ignore = ["lm_head"]
        {extra}""")


def test_calibrate_sees_every_layer_and_batch(llmc_bin, model, dataset, test_plugin_dir, tmp_path):
    result = oneshot(llmc_bin, model, recorder_recipe(tmp_path), tmp_path / "out", test_plugin_dir,
                     "--dataset", dataset)
    assert result.returncode == 0, result.stderr
    assert f"calibrated on {SAMPLES} samples ({SAMPLES * LENGTH} tokens)" in result.stderr
    calls = records(tmp_path / "calls.jsonl")
    calibrates = [c for c in calls if c["event"] == "calibrate"]
    assert [(c["layer_index"], c["batch"]) for c in calibrates] == [(l, b) for l in range(2) for b in range(SAMPLES)]
    for call in calibrates:
        assert call["sequences"] == 1
        items = {item["module"].split(".", 3)[3]: item for item in call["items"]}
        assert list(items) == ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                               "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
        assert all(item["tokens"] == LENGTH and item["has_output"] for item in items.values())
        assert items["mlp.down_proj"]["features"] == 256
        # q/k/v read one tensor, gate/up another: the plugin can share one statistic between them
        groups = [item["input_group"] for item in items.values()]
        assert groups[0] == groups[1] == groups[2] and groups[4] == groups[5]
        assert len(set(groups)) == 4
    # each layer is compressed once, after all of its batches
    order = [(c["event"], c["layer_index"]) for c in calls if c["event"] in ("calibrate", "compress")]
    assert order.index(("compress", 0)) == SAMPLES and order.index(("compress", 1)) == 2 * SAMPLES + 1


def test_every_layer_but_the_last_propagates(llmc_bin, model, dataset, test_plugin_dir, tmp_path):
    """The last decoder layer's output feeds nothing (the head is not calibrated), so it is not computed; the
    plan counts the same forwards."""
    log = tmp_path / "events.jsonl"
    result = oneshot(llmc_bin, model, recorder_recipe(tmp_path), tmp_path / "out", test_plugin_dir,
                     "--dataset", dataset, "--log-json", log)
    assert result.returncode == 0, result.stderr
    events = records(log)
    assert [e["layer"] for e in events if e["event"] == "propagate"] == [0]
    assert [e["layer"] for e in events if e["event"] == "calibrate"] == [0, 1]
    [plan] = [e["plan"] for e in events if e["event"] == "plan"]
    [propagate] = [s for s in plan["stages"] if s["name"] == "propagate"]
    assert propagate["work"].startswith("1 units")


@pytest.mark.parametrize("scale_weights", [False, True])
def test_mappings_and_module_forward(llmc_bin, model, dataset, test_plugin_dir, tmp_path, scale_weights):
    recipe = recorder_recipe(tmp_path, f"scale_weights = {str(scale_weights).lower()}")
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out", test_plugin_dir, "--dataset", dataset)
    assert result.returncode == 0, result.stderr
    compress = [c for c in records(tmp_path / "calls.jsonl") if c["event"] == "compress"]
    layer = compress[0]
    # The reference's AWQ mappings for Llama; v_proj -> o_proj is left out under GQA (v is 64 wide, o reads 128)
    assert layer["mappings"] == [
        {"smooth": "model.layers.0.input_layernorm", "parent": "model.layers.0.self_attn",
         "balance": [f"model.layers.0.self_attn.{p}_proj" for p in "qkv"]},
        {"smooth": "model.layers.0.post_attention_layernorm", "parent": "model.layers.0.mlp",
         "balance": ["model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj"]},
        {"smooth": "model.layers.0.mlp.up_proj", "parent": "model.layers.0.mlp.down_proj",
         "balance": ["model.layers.0.mlp.down_proj"]},
    ]
    shapes = {f["module"].split(".", 3)[3]: f["shape"] for f in layer["forward"]}
    assert shapes == {"self_attn": [LENGTH, 128], "self_attn.q_proj": [LENGTH, 128], "self_attn.k_proj": [LENGTH, 64],
                      "self_attn.v_proj": [LENGTH, 64], "mlp": [LENGTH, 128], "mlp.gate_proj": [LENGTH, 256],
                      "mlp.up_proj": [LENGTH, 256], "mlp.down_proj": [LENGTH, 128]}
    # A Linear runs on the input it was calibrated on, with the weights as compress left them (bf16 model:
    # outputs are rounded to bf16, 2^-8 relative)
    for forward in layer["forward"]:
        if "max_rel_diff" in forward:
            assert forward["max_rel_diff"] < 2 ** -7, forward


def test_smoothquant_mappings_leave_out_the_mlp_down_projection(llmc_bin, model, dataset, test_plugin_dir, tmp_path):
    recipe = recorder_recipe(tmp_path, 'mapping_algorithm = "smoothquant"')
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out", test_plugin_dir, "--dataset", dataset)
    assert result.returncode == 0, result.stderr
    compress = [c for c in records(tmp_path / "calls.jsonl") if c["event"] == "compress"]
    assert [m["smooth"] for m in compress[1]["mappings"]] == ["model.layers.1.input_layernorm",
                                                             "model.layers.1.post_attention_layernorm"]


def test_calibration_flags_and_table(llmc_bin, model, dataset, test_plugin_dir, tmp_path):
    recipe = write_recipe(tmp_path, f"""
        [calibration]
        dataset = "{dataset}"
        samples = 2
        max_seq_length = 16

        [[modifier]]
        plugin = "calibration_recorder"
        log_file = "{tmp_path / 'calls.jsonl'}"
        ignore = ["lm_head"]
        """)
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out", test_plugin_dir)
    assert result.returncode == 0, result.stderr
    assert "calibrated on 2 samples (32 tokens)" in result.stderr
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out2", test_plugin_dir, "--samples", "3",
                     "--max-seq-length", "8", "--concatenate")
    assert result.returncode == 0, result.stderr
    assert "calibrated on 3 samples (24 tokens)" in result.stderr


def test_matmul_flag_reaches_the_calibration(llmc_bin, model, dataset, test_plugin_dir, tmp_path):
    """--matmul picks how the calibration forwards multiply the synthetic bf16 model's matrices; the run reports
    its choice, and auto picks one of the two."""
    recipe = recorder_recipe(tmp_path)
    chosen = {}
    for matmul in ("dtype", "float32", "auto"):
        log = tmp_path / f"{matmul}.jsonl"
        result = oneshot(llmc_bin, model, recipe, tmp_path / matmul, test_plugin_dir, "--dataset", dataset,
                         "--matmul", matmul, "--log-json", log)
        assert result.returncode == 0, result.stderr
        [event] = [e for e in records(log) if e["event"] == "calibration_data"]
        chosen[matmul] = event["matmul"]
        assert f"matmuls in {event['matmul']}" in result.stderr
    assert chosen["dtype"] == "dtype" and chosen["float32"] == "float32"
    assert chosen["auto"] in ("dtype", "float32")


def test_a_calibrating_recipe_without_data_is_refused(llmc_bin, model, test_plugin_dir, tmp_path):
    result = oneshot(llmc_bin, model, recorder_recipe(tmp_path), tmp_path / "out", test_plugin_dir)
    assert result.returncode == 2
    assert "calibration_recorder' calibrates on data" in result.stderr and "--dataset" in result.stderr
    assert_no_output(tmp_path / "out")


def test_static_activations_need_data(llmc_bin, model, test_plugin_dir, tmp_path):
    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "rtn"
        scheme = "FP8"
        ignore = ["lm_head"]
        """)
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out", test_plugin_dir)
    assert result.returncode == 2
    assert "input_activations quantized statically" in result.stderr and f"{recipe}:" in result.stderr


@pytest.mark.parametrize("dataset_text, message", [
    ('{"input_ids": [1, 2, 999]}\n', "token ids must lie in [0, 256)"),
    ('{"input_ids": [1, 2,\n', "ids.jsonl:1"),
])
def test_bad_calibration_data_is_named(llmc_bin, model, test_plugin_dir, tmp_path, dataset_text, message):
    data = tmp_path / "ids.jsonl"
    data.write_text(dataset_text)
    result = oneshot(llmc_bin, model, recorder_recipe(tmp_path), tmp_path / "out", test_plugin_dir, "--dataset", data)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert_no_output(tmp_path / "out")


def test_two_modifiers_giving_one_module_different_schemes_are_refused(llmc_bin, model, dataset, test_plugin_dir,
                                                                      tmp_path):
    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "rtn"
        scheme = "W8A16"
        ignore = ["lm_head"]

        [[modifier]]
        plugin = "gptq"
        scheme = "W4A16"
        targets = ['re:.*mlp\\.down_proj$']
        """)
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out", test_plugin_dir, "--dataset", dataset)
    assert result.returncode == 3
    assert "modifier 1 (rtn) and modifier 2 (gptq) both quantize model.layers.0.mlp.down_proj" in result.stderr


def test_disjoint_modifiers_make_one_checkpoint_with_both_schemes(llmc_bin, model, dataset, test_plugin_dir, tmp_path):
    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "awq"
        scheme = "W4A16_ASYM"
        targets = ['re:.*self_attn\\.(q|k|v|o)_proj$']

        [[modifier]]
        plugin = "gptq"
        scheme = "W8A16"
        targets = ['re:.*mlp\\.(gate|up|down)_proj$']
        """)
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out", test_plugin_dir, "--dataset", dataset)
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "out" / "config.json").read_text())["quantization_config"]
    assert config["format"] == "pack-quantized"  # one format for both groups: not "mixed-precision"
    formats = sorted((g["format"], g["weights"]["num_bits"]) for g in config["config_groups"].values())
    assert formats == [("pack-quantized", 4), ("pack-quantized", 8)]
    targets = {g["weights"]["num_bits"]: g["targets"] for g in config["config_groups"].values()}
    assert all("self_attn" in t for t in targets[4]) and all("mlp" in t for t in targets[8])


def test_a_calibrating_modifier_that_quantizes_nothing_leaves_the_head_alone(llmc_bin, model, dataset,
                                                                               test_plugin_dir, tmp_path):
    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "smoothquant"
        smoothing_strength = 0.8
        """)
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out", test_plugin_dir, "--dataset", dataset)
    assert result.returncode == 0, result.stderr


def test_the_head_gets_no_calibration(llmc_bin, model, dataset, test_plugin_dir, tmp_path):
    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "gptq"
        scheme = "W8A16"
        """)
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out", test_plugin_dir, "--dataset", dataset)
    assert result.returncode == 3
    assert "lm_head is outside the decoder layers" in result.stderr and "add it to ignore" in result.stderr


def stored_bytes(model, prefix):
    """The bytes of the model's tensors whose names start with `prefix`, from the safetensors headers."""
    total = 0
    for shard in model.glob("*.safetensors"):
        with shard.open("rb") as f:
            header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
        total += sum(t["data_offsets"][1] - t["data_offsets"][0] for name, t in header.items() if name.startswith(prefix))
    return total


def test_a_small_memory_budget_spills_the_activation_cache_to_the_same_result(llmc_bin, model, test_plugin_dir,
                                                                              tmp_path):
    samples, length = 16, 128
    data = tmp_path / "ids.jsonl"
    generator = torch.Generator().manual_seed(1)
    data.write_text("".join(json.dumps({"input_ids": torch.randint(0, 256, (length,), generator=generator).tolist()})
                            + "\n" for _ in range(samples)))
    config = json.loads((model / "config.json").read_text())
    cache_bytes = samples * length * config["hidden_size"] * 2  # bf16
    # What the run charges besides the cache is one decoder layer's edited tensors: about the layer's stored
    # size, given twice that; the cache stays in memory only within half the budget (README), so it spills.
    budget = 2 * max(stored_bytes(model, f"model.layers.{i}.") for i in range(config["num_hidden_layers"]))
    assert budget // 2 < cache_bytes
    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "gptq"
        scheme = "W4A16"
        ignore = ["lm_head"]
        """)
    flags = ["--dataset", data, "--samples", str(samples), "--max-seq-length", str(length)]
    in_memory = oneshot(llmc_bin, model, recipe, tmp_path / "in-memory", test_plugin_dir, *flags)
    assert in_memory.returncode == 0, in_memory.stderr
    assert f"activation cache: {samples} samples, {samples * length} tokens" in in_memory.stderr
    assert "in memory" in in_memory.stderr

    log = tmp_path / "events.jsonl"
    spilled = oneshot(llmc_bin, model, recipe, tmp_path / "spilled", test_plugin_dir, *flags,
                      "--memory-budget", str(budget), "--log-json", log)
    assert spilled.returncode == 0, spilled.stderr
    [event] = [e for e in records(log) if e["event"] == "activation_cache"]
    assert event["mode"] == "spill" and event["bytes"] == cache_bytes
    assert f"spilled to {event['file']} (memory budget" in spilled.stderr
    assert pathlib.Path(event["file"]).parent.name.startswith(".spilled.tmp-")  # the output's temporary directory
    assert not pathlib.Path(event["file"]).exists()
    assert not list((tmp_path / "spilled").glob(".activations-*"))

    shards = sorted(p.name for p in (tmp_path / "in-memory").glob("*.safetensors"))
    assert shards and shards == sorted(p.name for p in (tmp_path / "spilled").glob("*.safetensors"))
    for name in shards:
        assert (tmp_path / "spilled" / name).read_bytes() == (tmp_path / "in-memory" / name).read_bytes(), name


def test_a_spill_file_is_removed_when_the_run_fails(llmc_bin, model, dataset, test_plugin_dir, tmp_path):
    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "gptq"
        scheme = "W4A16"
        ignore = ["lm_head"]
        """)
    # 1 byte of budget: the cache spills, and the first tensor the run charges exceeds the budget
    result = oneshot(llmc_bin, model, recipe, tmp_path / "out", test_plugin_dir, "--dataset", dataset,
                     "--memory-budget", "1", "--log-json", tmp_path / "events.jsonl")
    assert result.returncode == 1 and "memory budget" in result.stderr, result.stderr
    [event] = [e for e in records(tmp_path / "events.jsonl") if e["event"] == "activation_cache"]
    assert event["mode"] == "spill" and not pathlib.Path(event["file"]).exists()
    assert_no_output(tmp_path / "out")
