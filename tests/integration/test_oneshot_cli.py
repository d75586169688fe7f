"""`llmc oneshot` and `llmc plugins` end to end: the lifecycle order, the modules each modifier sees, edits
reaching the output, --log-json, exit codes, and that a failed run leaves no output behind."""
import json
import os
import pathlib
import shutil
import subprocess
import textwrap

import pytest
import torch
from conftest import ABI_MAJOR, ABI_MINOR, HOST_ABI
from safetensors.torch import load_file

LINEARS = ["mlp.down_proj", "mlp.gate_proj", "mlp.up_proj", "self_attn.k_proj", "self_attn.o_proj",
           "self_attn.q_proj", "self_attn.v_proj"]


def run(llmc_bin, *args, env=None):
    return subprocess.run([str(llmc_bin), *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def write_recipe(tmp_path, text, name="recipe.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def recorder_recipe(tmp_path, extra=""):
    """A one-modifier recipe running the recorder, logging to tmp_path/calls.jsonl."""
    return write_recipe(tmp_path, f"""
        [[modifier]]
        plugin = "recorder"
        log_file = "{tmp_path / 'calls.jsonl'}"
        {extra}""")


def oneshot(llmc_bin, model, recipe, out, plugin_dir, *extra):
    return run(llmc_bin, "oneshot", "--model", model, "--recipe", recipe, "--output", out,
               "--plugin-path", plugin_dir, *extra)


def records(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def assert_no_output(out):
    assert not out.exists()
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    assert leftovers == [], f"temporary output left behind: {leftovers}"


def test_help_and_usage_errors(llmc_bin):
    assert run(llmc_bin, "--help").returncode == 0
    for command in ("oneshot", "plugins"):
        result = run(llmc_bin, command, "--help")
        assert result.returncode == 0 and "--plugin-path" in result.stdout
    assert run(llmc_bin).returncode == 2
    assert run(llmc_bin, "frobnicate").returncode == 2
    result = run(llmc_bin, "oneshot", "--model", "x")
    assert result.returncode == 2 and "recipe" in result.stderr
    result = run(llmc_bin, "oneshot", "--model", "x", "--recipe", "y", "--output", "z", "--max-shard-size", "lots")
    assert result.returncode == 2 and "--max-shard-size" in result.stderr
    result = run(llmc_bin, "oneshot", "--model", "x", "--recipe", "y", "--output", "z", "--matmul", "fp32")
    assert result.returncode == 2 and "--matmul must be auto, dtype or float32" in result.stderr


def test_the_launcher_limits_openmp_spinning_and_runs_the_core_beside_it(llmc_bin, tmp_path):
    # a copy of the launcher beside a stand-in core that prints what it was given
    launcher = tmp_path / "llmc"
    shutil.copy(llmc_bin, launcher)
    core = tmp_path / "llmc-core"
    core.write_text('#!/bin/sh\necho "$0|$*|${GOMP_SPINCOUNT-unset}|${OMP_WAIT_POLICY-unset}|${GLIBC_TUNABLES-unset}"\n')
    core.chmod(0o755)
    clean = {key: value for key, value in os.environ.items()
             if key not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "GLIBC_TUNABLES")}

    def launch(**env):
        return subprocess.run([str(launcher), "oneshot", "--model", "m"], capture_output=True, text=True,
                              env={**clean, **env})

    assert launch().stdout == f"{core}|oneshot --model m|10000|unset|glibc.malloc.hugetlb=1\n"
    assert launch(GOMP_SPINCOUNT="5").stdout.split("|")[2] == "5"  # the user's setting wins
    assert launch(OMP_WAIT_POLICY="active").stdout.split("|")[2:4] == ["unset", "active"]
    # the user's glibc tunables are kept; a huge-page choice of theirs wins
    assert launch(GLIBC_TUNABLES="glibc.malloc.arena_max=2").stdout.split("|")[4] == \
        "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1\n"
    assert launch(GLIBC_TUNABLES="glibc.malloc.hugetlb=0").stdout.split("|")[4] == "glibc.malloc.hugetlb=0\n"
    core.unlink()
    result = launch()
    assert result.returncode == 127 and f"llmc: cannot run {core}" in result.stderr
    # the real pair
    assert run(llmc_bin, "--version").stdout.startswith("llmc ")


def test_plugins_lists_good_ones_and_names_each_broken_file(llmc_bin, test_plugin_dir):
    result = run(llmc_bin, "plugins", "--plugin-path", test_plugin_dir, "--verbose")
    assert result.returncode == 4, result.stderr
    recorder = next(line for line in result.stdout.splitlines() if line.startswith("recorder "))
    assert "1.0.0" in recorder and f"abi {HOST_ABI}" in recorder and "quantizes,edits-weights" in recorder
    assert "recorder.so" in recorder
    assert "log_file (string, required)" in result.stdout
    assert "magnitude_prune" in result.stdout  # the stock plugin, from the install dir
    for stem, reason in [("broken_abi_major", f"ABI {ABI_MAJOR + 1}.{ABI_MINOR}"),
                         ("broken_abi_minor", f"ABI {ABI_MAJOR}.{ABI_MINOR + 1}"),
                         ("broken_no_entry", "exports no 'llmc_plugin_entry'"),
                         ("broken_not_a_library", "not a shared library"),
                         ("broken_null_create", "create/destroy"), ("broken_entry_refuses", "refused"),
                         ("broken_undefined_symbol", "undefined symbol: llmc_test_symbol_nobody_defines")]:
        line = next(line for line in result.stderr.splitlines() if f"{stem}.so" in line)
        assert reason in line, line


def test_lifecycle_order_and_the_modules_each_modifier_sees(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path):
    log = tmp_path / "calls.jsonl"
    recipe = write_recipe(tmp_path, f"""
        [[modifier]]
        plugin = "recorder"
        tag = "attn"
        log_file = "{log}"
        targets = ['re:.*self_attn\\.(q|k|v)_proj$']

        [[modifier]]
        plugin = "recorder"
        tag = "all"
        log_file = "{log}"
        targets = ["Linear"]
        ignore = ["lm_head", "re:.*down_proj$"]

        [[modifier]]
        plugin = "recorder"
        tag = "down"
        log_file = "{log}"
        targets = ['re:.*mlp\\.down_proj$']
        edit = true
        set_tensor = true
        """)
    out = tmp_path / "out"
    events = tmp_path / "events.jsonl"
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, out, test_plugin_dir, "--log-json", events)
    assert result.returncode == 0, result.stderr
    calls = [(r["tag"], r["event"], r.get("layer_index")) for r in records(log)]

    # create and initialize in recipe order; then per layer, compress in recipe order; finalize; destroy.
    tags = ["attn", "all", "down"]
    expected = [(t, "create", None) for t in tags] + [(t, "initialize", None) for t in tags]
    for layer in (0, 1):
        expected += [(t, "compress", layer) for t in tags]
    expected += [(t, "finalize", None) for t in tags] + [(t, "destroy", None) for t in tags]
    assert calls == expected

    by_tag = {}
    for r in records(log):
        if r["event"] == "initialize":
            by_tag[r["tag"]] = sorted(m["name"] for m in r["modules"])
    layer_modules = lambda suffixes: sorted(f"model.layers.{i}.{s}" for i in (0, 1) for s in suffixes)
    assert by_tag["attn"] == layer_modules(["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"])
    assert by_tag["all"] == layer_modules([s for s in LINEARS if s != "mlp.down_proj"])
    assert by_tag["down"] == layer_modules(["mlp.down_proj"])
    for r in records(log):
        if r["event"] == "compress":
            assert all(name.startswith(f"model.layers.{r['layer_index']}.") for name in r["modules"])
            assert r["layer_name"] == f"model.layers.{r['layer_index']}"

    # The edit reached the output (bf16(w + 1), computed the same way), markers were added, the rest is unchanged.
    before = load_file(tiny_checkpoint / "model.safetensors")
    after = load_file(out / "model.safetensors")
    for name, tensor in before.items():
        if name.endswith("mlp.down_proj.weight"):
            assert torch.equal(after[name], (tensor.float() + 1).to(tensor.dtype)), name
        else:
            assert torch.equal(after[name], tensor), name
    for i in (0, 1):
        assert after[f"model.layers.{i}.mlp.down_proj.recorder_marker"].tolist() == [float(i)]
    assert json.loads((out / "config.json").read_text()) == json.loads((tiny_checkpoint / "config.json").read_text())
    assert (out / "recipe.toml").read_text() == recipe.read_text()
    manifest = json.loads((out / "llmc_manifest.json").read_text())
    assert [p["plugin"] for p in manifest["plugins"]] == ["recorder"] * 3

    # --log-json: the plan, then one event per lifecycle step (and a write per unit).
    steps = [e["event"] for e in records(events) if e["event"] != "write"]
    assert steps == ["plan", "start"] + ["initialize"] * 3 + ["compress"] * 6 + ["finalize"] * 3 + ["done"]
    compress = [e for e in records(events) if e["event"] == "compress"]
    assert [e["modifier"] for e in compress[:3]] == [f"modifier {i} (recorder)" for i in (1, 2, 3)]


@pytest.mark.parametrize("callback", ["create", "initialize", "compress", "finalize"])
def test_a_failing_callback_fails_the_run_and_leaves_no_output(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path,
                                                                callback):
    recipe = recorder_recipe(tmp_path, f"fail_in = \"{callback}\"")
    out = tmp_path / "out"
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, out, test_plugin_dir)
    assert result.returncode == (3 if callback == "create" else 1), result.stderr
    assert f"requested failure in {callback}" in result.stderr
    assert "modifier 1 (recorder)" in result.stderr and "recorder.so" in result.stderr
    if callback == "compress":
        assert "compress on model.layers.0" in result.stderr
    assert_no_output(out)
    # An instance whose create failed never existed; every other one is destroyed.
    last = "create" if callback == "create" else "destroy"
    assert [r["event"] for r in records(tmp_path / "calls.jsonl")][-1] == last


@pytest.mark.parametrize("plugin,code,message", [
    ("no_such_plugin", 4, "plugin 'no_such_plugin' not found"),
    ("broken_abi_major", 4, f"ABI {ABI_MAJOR + 1}.{ABI_MINOR}"),
    ("broken_not_a_library", 4, "not a shared library"),
    ("broken_failing_compress", 1, "cholesky failed on purpose"),
    ("broken_throwing_compress", 1, "threw a C++ exception across the C ABI"),
])
def test_broken_plugins_in_a_recipe(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path, plugin, code, message):
    recipe = write_recipe(tmp_path, f"""
        [[modifier]]
        plugin = "{plugin}"
        """)
    out = tmp_path / "out"
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, out, test_plugin_dir)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert_no_output(out)


def test_recipe_errors_name_file_line_and_column(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path):
    recipe = recorder_recipe(tmp_path, "sparsity = 0.5")
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, tmp_path / "out", test_plugin_dir)
    assert result.returncode == 3
    assert f"{recipe}:5:1" in result.stderr and "sparsity" in result.stderr

    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "recorder"
        log_file = 7
        """, "typed.toml")
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, tmp_path / "out", test_plugin_dir)
    assert result.returncode == 3 and f"{recipe}:4:" in result.stderr and "log_file" in result.stderr

    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "magnitude_prune"
        scheme = "W4A16"
        """, "quant.toml")
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, tmp_path / "out", test_plugin_dir)
    assert result.returncode == 3 and "scheme" in result.stderr and "magnitude_prune" in result.stderr

    recipe = write_recipe(tmp_path, "[[modifier]\nplugin = 1\n", "malformed.toml")
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, tmp_path / "out", test_plugin_dir)
    assert result.returncode == 3 and f"{recipe}:1:" in result.stderr


def test_existing_output_needs_overwrite(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path):
    recipe = recorder_recipe(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, out, test_plugin_dir)
    assert result.returncode == 1 and "--overwrite" in result.stderr
    assert (out / "keep.txt").exists()
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, out, test_plugin_dir, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").exists()


def test_the_leftover_of_a_killed_run_is_named(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path):
    # what a SIGKILLed run leaves: its temporary directory, named after a process that is gone (no Linux pid
    # reaches 99999999)
    leftover = tmp_path / ".out.tmp-99999999-00000000deadbeef"
    leftover.mkdir()
    (leftover / ".llmc-shard-00001.safetensors.partial").write_bytes(b"\0" * 64)
    result = oneshot(llmc_bin, tiny_checkpoint, recorder_recipe(tmp_path), tmp_path / "out", test_plugin_dir)
    assert result.returncode == 0, result.stderr
    assert f"{leftover}: left by an interrupted run" in result.stderr
    assert leftover.exists() and (tmp_path / "out" / "model.safetensors").exists()


def test_memory_budget_is_enforced(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path):
    recipe = recorder_recipe(tmp_path, "edit = true")
    out = tmp_path / "out"
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, out, test_plugin_dir, "--memory-budget", "1KB")
    assert result.returncode == 1 and "memory budget" in result.stderr
    assert_no_output(out)


def test_corrupt_checkpoint_is_named(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((tiny_checkpoint / "config.json").read_text())
    data = (tiny_checkpoint / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])
    recipe = recorder_recipe(tmp_path)
    result = oneshot(llmc_bin, broken, recipe, tmp_path / "out", test_plugin_dir)
    assert result.returncode == 5, result.stderr
    assert "model.safetensors" in result.stderr


def test_sharded_output_with_index(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path):
    recipe = recorder_recipe(tmp_path)
    out = tmp_path / "out"
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, out, test_plugin_dir, "--max-shard-size", "64KB", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    index = json.loads((out / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1
    merged = {}
    for shard in shards:
        merged.update(load_file(out / shard))
    assert merged.keys() == load_file(tiny_checkpoint / "model.safetensors").keys()


def test_plugin_path_from_environment(llmc_bin, test_plugin_dir):
    env = dict(os.environ, LLMC_PLUGIN_PATH=str(test_plugin_dir))
    result = run(llmc_bin, "plugins", env=env)
    assert any(line.startswith("recorder ") for line in result.stdout.splitlines())


def test_progress_is_drawn_on_a_terminal_and_not_in_logs(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path):
    import pty

    recipe = recorder_recipe(tmp_path)
    master, slave = pty.openpty()
    args = [str(llmc_bin), "oneshot", "--model", str(tiny_checkpoint), "--recipe", str(recipe), "--output",
            str(tmp_path / "tty"), "--plugin-path", str(test_plugin_dir)]
    process = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, timeout=60)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert process.returncode == 0
    assert b"\rcompress [" in drawn.replace(b"\x1b[K", b"") and b"5/5" in drawn

    result = oneshot(llmc_bin, tiny_checkpoint, recipe, tmp_path / "piped", test_plugin_dir)
    assert result.returncode == 0
    assert "compress [" not in result.stderr and "\r" not in result.stderr
    assert "wrote" in result.stderr  # the summary line is still there


def test_non_uniform_recipe_groups_and_plugins(llmc_bin, tiny_checkpoint, test_plugin_dir, tmp_path):
    log = tmp_path / "calls.jsonl"
    recipe = write_recipe(tmp_path, f"""
        [[modifier]]
        plugin = "recorder"
        log_file = "{log}"
        ignore = ["lm_head"]
          [[modifier.group]]
          targets = ['re:.*self_attn\\.(q|k|v|o)_proj$']
          scheme = "FP8_DYNAMIC"
          [[modifier.group]]
          targets = ['re:.*mlp\\.(gate|up|down)_proj$']
          weights = {{ num_bits = 4, type = "int", symmetric = true, strategy = "group", group_size = 64 }}

        [[modifier]]
        plugin = "magnitude_prune"
        targets = ["lm_head"]
        mask_structure = "2:4"
        """)
    out = tmp_path / "out"
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, out, test_plugin_dir)
    assert result.returncode == 0, result.stderr
    modules = next(r for r in records(log) if r["event"] == "initialize")["modules"]
    assert len(modules) == 14
    for module in modules:
        scheme = json.loads(module["scheme_json"])
        if "self_attn" in module["name"]:
            assert module["group_index"] == 0
            assert scheme["format"] == "float-quantized"
            assert scheme["weights"]["type"] == "float" and scheme["weights"]["strategy"] == "channel"
            assert scheme["input_activations"]["dynamic"] is True
        else:
            assert module["group_index"] == 1
            assert scheme["format"] == "pack-quantized"
            assert scheme["weights"]["num_bits"] == 4 and scheme["weights"]["group_size"] == 64
            assert scheme["input_activations"] is None
    head = load_file(out / "model.safetensors")["lm_head.weight"].float().reshape(-1, 4)
    assert ((head == 0).sum(dim=1) >= 2).all()


def test_calibration_table_of_a_data_free_recipe_is_reported_unused(llmc_bin, tiny_checkpoint, test_plugin_dir,
                                                                     tmp_path):
    recipe = write_recipe(tmp_path, f"""
        [calibration]
        samples = 16

        [[modifier]]
        plugin = "recorder"
        log_file = "{tmp_path / 'calls.jsonl'}"
        """)
    result = oneshot(llmc_bin, tiny_checkpoint, recipe, tmp_path / "out", test_plugin_dir)
    assert result.returncode == 0, result.stderr
    assert "calibration settings are not used" in result.stderr


def test_a_tied_head_is_listed_and_claiming_it_is_refused(llmc_bin, binary_dir, tmp_path):
    model = tmp_path / "tied"
    subprocess.run([str(binary_dir / "bin" / "llmc-synth"), "--preset", "tiny", "--tie-embeddings", "--output",
                    str(model)], check=True)
    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "rtn"
        scheme = "FP8_DYNAMIC"
        """)
    result = run(llmc_bin, "oneshot", "--model", model, "--recipe", recipe, "--output", tmp_path / "out")
    assert result.returncode == 3
    assert "lm_head shares its weight with the input embedding" in result.stderr and "ignore" in result.stderr

    recipe = write_recipe(tmp_path, """
        [[modifier]]
        plugin = "rtn"
        scheme = "FP8_DYNAMIC"
        ignore = ["lm_head"]
        """, "ignored.toml")
    result = run(llmc_bin, "oneshot", "--model", model, "--recipe", recipe, "--output", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["quantization_config"]["ignore"] == ["lm_head"]
