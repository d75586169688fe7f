"""The SDK as a plugin author meets it: install llmc, build the example plugin out of tree against the
installed `llmc-sdk` package, and run it with the installed `llmc` binary on a tiny checkpoint."""
import pathlib
import re
import shutil
import subprocess

import pytest
import safetensors.torch as safetensors_torch
import torch

# The Linear weights of a Llama decoder layer; lm_head is ignored by the recipe, the rest is not Linear.
LINEAR_WEIGHT = re.compile(r"model\.layers\.\d+\.(self_attn|mlp)\.[a-z_]+_proj\.weight")

RECIPE = """\
[[modifier]]
plugin = "magnitude_prune"
targets = ["Linear"]
ignore = ["lm_head"]
mask_structure = "2:4"
"""


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    """Runs `command`; on failure, the assertion shows its output."""
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def prefix(binary_dir, tmp_path_factory) -> pathlib.Path:
    """The build tree installed into a fresh prefix, without the stock copy of the example plugin (so
    that only the out-of-tree build can provide magnitude_prune)."""
    prefix = tmp_path_factory.mktemp("prefix")
    run("cmake", "--install", binary_dir, "--prefix", prefix)
    for stock in prefix.glob("lib*/llmc/plugins/magnitude_prune.so"):
        stock.unlink()
    return prefix


@pytest.fixture(scope="module")
def plugin_dir(prefix, source_dir, tmp_path_factory) -> pathlib.Path:
    """sdk/examples/magnitude_prune copied out of the tree and built against the installed SDK only."""
    work = tmp_path_factory.mktemp("example")
    source = work / "magnitude_prune"
    shutil.copytree(source_dir / "sdk" / "examples" / "magnitude_prune", source)
    build = work / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    run("cmake", "-S", source, "-B", build, *generator, f"-DCMAKE_PREFIX_PATH={prefix}",
        "-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
        "-DCMAKE_BUILD_TYPE=Release")
    run("cmake", "--build", build, "-j", "2")

    cache = (build / "CMakeCache.txt").read_text()
    package_dir = re.search(r"^llmc-sdk_DIR:PATH=(.*)$", cache, re.MULTILINE).group(1)
    assert pathlib.Path(package_dir).resolve().is_relative_to(prefix.resolve()), package_dir
    compile_commands = (build / "compile_commands.json").read_text()
    assert str(source_dir / "sdk") not in compile_commands
    assert str(prefix) in compile_commands
    assert (build / "magnitude_prune.so").is_file()
    return build


def load_tensors(directory: pathlib.Path) -> dict:
    tensors = {}
    for shard in sorted(directory.glob("*.safetensors")):
        tensors.update(safetensors_torch.load_file(shard))
    assert tensors, f"no safetensors in {directory}"
    return tensors


def prune_two_of_four(weight):
    """The expected 2:4 result: in every 4 consecutive input weights of a row, the 2 of smallest |w|
    zeroed, the lower column first among equal magnitudes (a stable sort)."""
    rows, cols = weight.shape
    groups = weight.float().abs().reshape(rows, cols // 4, 4)
    pruned = torch.argsort(groups, dim=-1, stable=True)[..., :2]
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, pruned, True).reshape(rows, cols)
    return weight.masked_fill(mask, 0)


def as_bytes(tensor):
    return tensor.contiguous().reshape(-1).view(torch.uint8)


def test_installed_llmc_lists_the_out_of_tree_plugin(prefix, plugin_dir):
    listing = run(prefix / "bin" / "llmc", "plugins", "--plugin-path", plugin_dir).stdout
    lines = [line for line in listing.splitlines() if "magnitude_prune" in line and "1.0.0" in line]
    assert len(lines) == 1, listing
    assert "magnitude_prune.so" in lines[0], listing


def test_installed_llmc_runs_the_out_of_tree_plugin(prefix, plugin_dir, tiny_checkpoint, tmp_path):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(RECIPE)
    output = tmp_path / "out"
    run(prefix / "bin" / "llmc", "oneshot", "--model", tiny_checkpoint, "--recipe", recipe, "--output", output,
        "--plugin-path", plugin_dir)

    before, after = load_tensors(tiny_checkpoint), load_tensors(output)
    assert sorted(after) == sorted(before)
    pruned = 0
    for name, original in before.items():
        result = after[name]
        assert result.dtype == original.dtype and result.shape == original.shape, name
        if LINEAR_WEIGHT.fullmatch(name):
            groups = result.reshape(result.shape[0], -1, 4)
            assert ((groups == 0).sum(dim=-1) >= 2).all(), f"{name} is not 2:4 sparse"
            assert torch.equal(as_bytes(result), as_bytes(prune_two_of_four(original))), name
            pruned += 1
        else:
            assert torch.equal(as_bytes(result), as_bytes(original)), f"{name} changed"
    assert pruned >= 7, f"only {pruned} Linear weights found"
