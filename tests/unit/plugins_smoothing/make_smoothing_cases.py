"""Reference cases for tests/unit/plugins_smoothing: LLM Compressor's own AWQModifier and SmoothQuantModifier
run on tiny modules.

Usage: make_smoothing_cases.py OUTDIR. Writes OUTDIR/cases.json (one entry per case) and
OUTDIR/reference.safetensors (inputs and results, keyed "<case>.<tensor>").

AWQ: the modifier's hooks are registered on a hand-made mapping (a norm before an MLP's gate/up, parent the
MLP; or an up Linear before down, parent down), calibration batches run through the parent, then
_apply_smoothing runs the reference's search and fold. Recorded: the parent's inputs, weights before and
after, x_mean (from the hook's sums), w_mean (_compute_layer_means), every grid point's loss (_compute_loss,
in grid order) and the best scales (_compute_best_scale's result).
SmoothQuant: the modifier's hooks on a smooth module (norm or Linear) over several batches, then
_apply_smoothing. Recorded: the smooth outputs the hook saw, the weights before and after, and the scales
before the clamp (_calculate_smoothing_scales).
The only shim: IntermediatesCache.pin_memory is a no-op (pinning needs an accelerator; it moves no values).
"""

import json
import sys
from pathlib import Path

import torch
from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme
from compressed_tensors.quantization.lifecycle.helpers import disable_quantization
from compressed_tensors.quantization.lifecycle.initialize import initialize_module_for_quantization
from compressed_tensors.quantization.quant_scheme import preset_name_to_scheme
from llmcompressor.modifiers.quantization.calibration import initialize_observer
from llmcompressor.modifiers.transform.awq import AWQModifier
from llmcompressor.modifiers.transform.awq.mappings import ResolvedMapping
from llmcompressor.modifiers.transform.smoothquant import SmoothQuantModifier
from llmcompressor.modifiers.transform.smoothquant.base import SmoothQuantMapping
from llmcompressor.pipelines.cache import IntermediatesCache
from safetensors.torch import save_file

IntermediatesCache.pin_memory = lambda self, *args, **kwargs: None

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
TOKENS = [7, 12, 5]  # one sample per batch, of different lengths

tensors: dict[str, torch.Tensor] = {}
cases: list[dict] = []


def add(name, tensor):
    tensors[name] = tensor.detach().contiguous().clone()


def dump_args(args: QuantizationArgs) -> dict:
    return {**args.model_dump(mode="json"), "zp_dtype": str(args.zp_dtype) if args.zp_dtype else None}


class Norm(torch.nn.Module):
    """An RMSNorm's learned part (x * weight, optionally + bias); the search never runs it, the fold edits it."""

    def __init__(self, n, dtype, bias, gen):
        super().__init__()
        self.weight = torch.nn.Parameter((torch.rand(n, generator=gen) + 0.5).to(dtype))
        self.bias = torch.nn.Parameter((torch.randn(n, generator=gen) * 0.1).to(dtype)) if bias else None

    def forward(self, x):
        return x * self.weight + (self.bias if self.bias is not None else 0)


class MLP(torch.nn.Module):
    def __init__(self, hidden, inter, dtype):
        super().__init__()
        self.gate_proj = torch.nn.Linear(hidden, inter, bias=False, dtype=dtype)
        self.up_proj = torch.nn.Linear(hidden, inter, bias=False, dtype=dtype)
        self.down_proj = torch.nn.Linear(inter, hidden, bias=False, dtype=dtype)

    def forward(self, x):
        return self.down_proj(torch.nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


def activations(channels, seed, dtype, count=len(TOKENS)):
    """Batches [1, tokens, channels] with two outlier channels and one near-silent channel."""
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for tokens in TOKENS[:count]:
        x = torch.randn(1, tokens, channels, generator=gen)
        x[..., 3] *= 60.0
        x[..., 10] *= 25.0
        x[..., 5] *= 1e-3
        batches.append(x.to(dtype))
    return batches


def quantize_layers(layers, args):
    for layer in layers:
        scheme = QuantizationScheme(targets=["Linear"], weights=args.model_copy(deep=True))
        initialize_module_for_quantization(layer, scheme)
        initialize_observer(layer, "weight")
        disable_quantization(layer)  # as during the reference's calibration: forwards run the weights as they are


def run_awq(name, modifier, mapping, parent, inputs, modules):
    """Runs the reference on `mapping`, recording what the C++ test compares."""
    losses, best = [], []
    compute_loss, compute_best_scale = modifier._compute_loss, modifier._compute_best_scale

    def record_loss(*args, **kwargs):
        losses.append(compute_loss(*args, **kwargs))
        return losses[-1]

    def record_best(*args, **kwargs):
        best.append(compute_best_scale(*args, **kwargs))
        return best[-1]

    modifier._compute_loss, modifier._compute_best_scale = record_loss, record_best
    modifier._resolved_mappings = [mapping]
    for module_name, module in modules.items():
        add(f"{name}.{module_name}.weight", module.weight)
        if getattr(module, "bias", None) is not None:
            add(f"{name}.{module_name}.bias", module.bias)
    modifier._setup_activation_cache_hooks()
    with torch.no_grad():
        for b, x in enumerate(inputs):
            add(f"{name}.input{b}", x[0])
            parent(x)
    x_sum, count = modifier._smooth_activation_stats[mapping.smooth_name]
    add(f"{name}.x_mean", x_sum / count)
    add(f"{name}.w_mean", AWQModifier._compute_layer_means(mapping.balance_layers))
    modifier._apply_smoothing(parent)
    modifier.remove_hooks()
    add(f"{name}.losses", torch.tensor(losses, dtype=torch.float64))
    add(f"{name}.scales", best[0])
    for module_name, module in modules.items():
        add(f"{name}.final.{module_name}.weight", module.weight)
        if getattr(module, "bias", None) is not None:
            add(f"{name}.final.{module_name}.bias", module.bias)
    best_index = min(range(len(losses)), key=lambda i: (not losses[i] < float("inf"), losses[i], i))
    return {"losses": len(losses), "best": best_index}


def awq_mlp_case(name, args, dtype_name, duo_scaling, n_grid, seed, norm_bias=False, hidden=64, inter=128):
    """norm -> [gate_proj, up_proj], parent the MLP."""
    dtype = DTYPES[dtype_name]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    norm, mlp = Norm(hidden, dtype, norm_bias, gen), MLP(hidden, inter, dtype)
    quantize_layers([mlp.gate_proj, mlp.up_proj], args)
    modifier = AWQModifier(mappings=[], offload_device=None, duo_scaling=duo_scaling, n_grid=n_grid)
    mapping = ResolvedMapping("norm", norm, [mlp.gate_proj, mlp.up_proj], ["mlp.gate_proj", "mlp.up_proj"], mlp, "mlp")
    modules = {"norm": norm, "gate_proj": mlp.gate_proj, "up_proj": mlp.up_proj, "down_proj": mlp.down_proj}
    result = run_awq(name, modifier, mapping, mlp, activations(hidden, seed + 1, dtype), modules)
    cases.append({"kind": "awq", "name": name, "parent": "mlp", "dtype": dtype_name, "duo_scaling": str(duo_scaling).lower(),
                  "n_grid": n_grid, "args": dump_args(args), "batches": len(TOKENS), "smooth_bias": norm_bias, **result})


def awq_linear_case(name, args, dtype_name, duo_scaling, n_grid, seed, up_bias=False, hidden=64, inter=128):
    """up_proj -> [down_proj], parent down_proj."""
    dtype = DTYPES[dtype_name]
    torch.manual_seed(seed)
    up = torch.nn.Linear(hidden, inter, bias=up_bias, dtype=dtype)
    down = torch.nn.Linear(inter, hidden, bias=False, dtype=dtype)
    quantize_layers([down], args)
    modifier = AWQModifier(mappings=[], offload_device=None, duo_scaling=duo_scaling, n_grid=n_grid)
    mapping = ResolvedMapping("up_proj", up, [down], ["down_proj"], down, "down_proj")
    modules = {"up_proj": up, "down_proj": down}
    result = run_awq(name, modifier, mapping, down, activations(inter, seed + 1, dtype), modules)
    cases.append({"kind": "awq", "name": name, "parent": "linear", "dtype": dtype_name,
                  "duo_scaling": str(duo_scaling).lower(), "n_grid": n_grid, "args": dump_args(args),
                  "batches": len(TOKENS), "smooth_bias": up_bias, **result})


def smoothquant_case(name, dtype_name, alpha, algorithm, seed, smooth="norm", hidden=64):
    """A smooth module (norm, or a Linear with bias) before q/k/v-like balance Linears."""
    dtype = DTYPES[dtype_name]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    if smooth == "norm":
        smooth_layer = Norm(hidden, dtype, False, gen)
        smooth_in = hidden
    else:
        smooth_in = 48
        smooth_layer = torch.nn.Linear(smooth_in, hidden, bias=True, dtype=dtype)
    balance = [torch.nn.Linear(hidden, out, bias=False, dtype=dtype) for out in (64, 32, 32)]
    with torch.no_grad():
        for layer in balance:
            layer.weight[:, 7] = 0.0  # w_j == 0: the scale falls back to the activation range
    modifier = SmoothQuantModifier(smoothing_strength=alpha, algorithm=algorithm)
    modifier.resolved_mappings_ = [SmoothQuantMapping("smooth", smooth_layer, balance)]
    modifier.scales_ = {}
    raw = []
    calculate = modifier._calculate_smoothing_scales

    def record(*args, **kwargs):
        raw.append(calculate(*args, **kwargs))
        return raw[-1]

    object.__setattr__(modifier, "_calculate_smoothing_scales", record)
    modules = {"smooth": smooth_layer, "q": balance[0], "k": balance[1], "v": balance[2]}
    for module_name, module in modules.items():
        add(f"{name}.{module_name}.weight", module.weight)
        if getattr(module, "bias", None) is not None:
            add(f"{name}.{module_name}.bias", module.bias)
    modifier._setup_scale_hooks()
    with torch.no_grad():
        for b, x in enumerate(activations(smooth_in, seed + 1, dtype)):
            x[..., 9] = 0.25  # a constant channel: zero range, so the scale is clamped to 1e-5
            add(f"{name}.act{b}", smooth_layer(x)[0])
    modifier._apply_smoothing(None)
    modifier.remove_hooks()
    add(f"{name}.scales_raw", raw[0])
    for module_name, module in modules.items():
        add(f"{name}.final.{module_name}.weight", module.weight)
        if getattr(module, "bias", None) is not None:
            add(f"{name}.final.{module_name}.bias", module.bias)
    cases.append({"kind": "smoothquant", "name": name, "dtype": dtype_name, "alpha": alpha, "algorithm": algorithm,
                  "batches": len(TOKENS), "smooth_bias": smooth != "norm"})


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    w4_asym_g32 = QuantizationArgs(num_bits=4, symmetric=False, strategy="group", group_size=32)
    w4_sym_g32 = QuantizationArgs(num_bits=4, symmetric=True, strategy="group", group_size=32)
    w8_channel = QuantizationArgs(num_bits=8, symmetric=True, strategy="channel")
    w4_tensor = QuantizationArgs(num_bits=4, symmetric=True, strategy="tensor")
    nvfp4 = preset_name_to_scheme("NVFP4A16", ["Linear"]).weights
    fp8_block = preset_name_to_scheme("FP8_BLOCK", ["Linear"]).weights

    awq_mlp_case("awq_mlp_w4asym_duo", w4_asym_g32, "bfloat16", True, 20, 11)
    awq_mlp_case("awq_mlp_w4asym_both", w4_asym_g32, "bfloat16", "both", 10, 12, norm_bias=True)
    awq_mlp_case("awq_mlp_nvfp4_duo", nvfp4, "bfloat16", True, 20, 13)
    awq_mlp_case("awq_mlp_w4sym_noduo_f32", w4_sym_g32, "float32", False, 12, 16)
    awq_linear_case("awq_down_w8channel_noduo", w8_channel, "bfloat16", False, 20, 21, up_bias=True)
    awq_linear_case("awq_down_w4tensor_noduo", w4_tensor, "bfloat16", False, 8, 22)
    awq_linear_case("awq_down_w4sym_duo_f32", w4_sym_g32, "float32", True, 20, 23)
    awq_linear_case("awq_down_fp8block_duo", fp8_block, "bfloat16", True, 10, 24, hidden=128, inter=256)

    smoothquant_case("sq_norm_a05", "bfloat16", 0.5, "smoothquant", 31)
    smoothquant_case("sq_norm_a08", "bfloat16", 0.8, "smoothquant", 32)
    smoothquant_case("sq_norm_logeq", "bfloat16", 0.5, "log_equalization", 33)
    smoothquant_case("sq_norm_a05_f16", "float16", 0.5, "smoothquant", 34)
    smoothquant_case("sq_linear_a08_f32", "float32", 0.8, "smoothquant", 35, smooth="linear")

    save_file(tensors, str(out / "reference.safetensors"))
    (out / "cases.json").write_text(json.dumps(cases, indent=1))


if __name__ == "__main__":
    main()
