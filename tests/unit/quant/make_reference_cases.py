"""Reference cases for tests/unit/quant: the installed reference's own code on fixed inputs.

Usage: make_reference_cases.py OUTDIR. Writes OUTDIR/cases.json (one entry per case: kind, QuantizationArgs
as CT dumps them, dtype, tensor names) and OUTDIR/reference.safetensors (inputs and outputs, keyed
"<case>.<tensor>").

Weights go through the path llmcompressor's QuantizationModifier takes: initialize_module_for_quantization
(qparam parameters in the weight dtype / zp_dtype), initialize_observer (weights get memoryless observers),
observe + update_qparams (observer statistics -> calculate_qparams -> copied into the parameters), with
fuse_weight_observers for q/k/v siblings. The quantized values are what the compressors produce before
packing (quantize with the compressor's dtype), the fake-quantized weight is forward_quantize's, and the
dequantized one is dequantize's. (Stored forms of scales, e.g. E8M0 bytes, are the format writer's.)
"""

import json
import sys
from pathlib import Path

import torch
from compressed_tensors.quantization import (
    QuantizationArgs,
    QuantizationScheme,
)
from compressed_tensors.quantization.lifecycle.forward import (
    dequantize,
    fake_quantize,
    forward_quantize,
    quantize,
)
from compressed_tensors.quantization.lifecycle.helpers import disable_quantization
from compressed_tensors.quantization.lifecycle.initialize import (
    initialize_module_for_quantization,
)
from compressed_tensors.quantization.quant_scheme import preset_name_to_scheme
from compressed_tensors.quantization.utils import compute_dynamic_scales_and_zp
from llmcompressor.modifiers.quantization.calibration import (
    initialize_observer,
    observe,
    update_qparams,
)
from llmcompressor.observers import Observer, fuse_weight_observers
from safetensors.torch import save_file

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}

tensors: dict[str, torch.Tensor] = {}
cases: list[dict] = []


def make_weight(shape, seed, dtype):
    """normal * 0.02 with outliers, a zero row, a zero group and an all-positive row."""
    gen = torch.Generator().manual_seed(seed)
    rows, cols = shape
    w = torch.randn(rows, cols, generator=gen) * 0.02
    idx = torch.randint(0, rows * cols, (6,), generator=gen)
    w.view(-1)[idx] = torch.randn(6, generator=gen) * 0.25
    w[3] = 0.0
    w[5, : min(32, cols)] = 0.0
    w[7] = w[7].abs()
    w[9, 0] = -0.0
    return w.to(dtype)


def make_activation(shape, seed, dtype):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=gen)
    x[..., 3] *= 20.0  # an outlier channel, as real activations have
    return x.to(dtype)


def storage_dtype(args: QuantizationArgs):
    """The dtype the compressors pass to quantize(): pack/naive int and naive float use pytorch_dtype(),
    the FP4 compressors pass none (values stay in the weight dtype on the E2M1 grid)."""
    if args.type == "float" and args.num_bits == 4:
        return None
    return args.pytorch_dtype()


def dump_args(args: QuantizationArgs) -> dict:
    """CT's dump, plus the zp_dtype it leaves out for symmetric args (MX presets set uint8)."""
    return {**args.model_dump(mode="json"), "zp_dtype": str(args.zp_dtype)}


def add(name, tensor):
    tensors[name] = tensor.detach().contiguous().clone()


def record_weight_outputs(case, module, args):
    weight = module.weight.data
    scale = module.weight_scale.data
    zero_point = getattr(module, "weight_zero_point", None)
    global_scale = getattr(module, "weight_global_scale", None)
    zero_point = zero_point.data if zero_point is not None else None
    global_scale = global_scale.data if global_scale is not None else None
    name = case["name"]
    add(f"{name}.weight", weight)
    add(f"{name}.scale", scale)
    add(f"{name}.zero_point", zero_point)
    if global_scale is not None:
        add(f"{name}.global_scale", global_scale)
    q = quantize(weight, scale, zero_point, args, dtype=storage_dtype(args), global_scale=global_scale)
    add(f"{name}.quantized", q)
    add(f"{name}.fake", forward_quantize(module, weight, "weight", args))
    add(f"{name}.dequantized", dequantize(q, scale, zero_point, args, global_scale=global_scale))
    case["has_global_scale"] = global_scale is not None


def observed_linear(args, shape, dtype, seed):
    """A Linear of `shape` with a seeded weight, initialized for quantization with `args` and its weight observer."""
    module = torch.nn.Linear(shape[1], shape[0], bias=False, dtype=dtype)
    module.weight.data = make_weight(shape, seed, dtype)
    initialize_module_for_quantization(module, QuantizationScheme(targets=["Linear"], weights=args))
    initialize_observer(module, "weight")
    return module


def weight_case(name, args, shape, dtype_name, seed):
    module = observed_linear(args, shape, DTYPES[dtype_name], seed)
    observe(module, "weight")
    update_qparams(module, "weight")
    case = {"kind": "weight", "name": name, "dtype": dtype_name, "args": dump_args(args)}
    record_weight_outputs(case, module, args)
    cases.append(case)


def imatrix_case(name, args, shape, dtype_name, seed, batches=3):
    """A weight whose imatrix observer's forward-pre hook saw `batches` inputs of the module (calibration runs
    with quantization off, as the modifiers run it); none gives the reference's uniform fallback. Records
    the inputs, the importance statistic (sum of x^2 per input channel, token count) and the weight outputs."""
    dtype = DTYPES[dtype_name]
    module = observed_linear(args, shape, dtype, seed)
    module.apply(disable_quantization)
    gain = torch.rand(shape[1], generator=torch.Generator().manual_seed(seed)) * 3.0  # uneven channels
    for b in range(batches):
        x = (make_activation((2, 5, shape[1]), seed + 100 + b, torch.float32) * gain).to(dtype)
        add(f"{name}.batch{b}", x)
        module(x)
    observer = module.weight_observer
    if batches:
        add(f"{name}.importance_sum", observer._imatrix_sum)
    case = {"kind": "imatrix", "name": name, "dtype": dtype_name, "args": dump_args(args), "batches": batches,
            "tokens": int(observer._imatrix_count)}
    observe(module, "weight")
    update_qparams(module, "weight")
    record_weight_outputs(case, module, args)
    cases.append(case)


def fused_case(name, args, shapes, dtype_name, seed):
    """q/k/v siblings with one shared global scale (fuse_weight_observers)."""
    dtype = DTYPES[dtype_name]
    parent = torch.nn.Module()
    names = ["q_proj", "k_proj", "v_proj"]
    for i, (child, shape) in enumerate(zip(names, shapes)):
        module = torch.nn.Linear(shape[1], shape[0], bias=False, dtype=dtype)
        module.weight.data = make_weight(shape, seed + i, dtype) * (1.0 + i)  # different ranges
        scheme = QuantizationScheme(targets=["Linear"], weights=args.model_copy(deep=True))
        initialize_module_for_quantization(module, scheme)
        initialize_observer(module, "weight")
        parent.register_module(child, module)
    fuse_weight_observers(parent)
    members = []
    for child in names:
        module = getattr(parent, child)
        observe(module, "weight")
        update_qparams(module, "weight")
    for child in names:
        module = getattr(parent, child)
        member = {"name": f"{name}.{child}"}
        record_weight_outputs(member, module, module.quantization_scheme.weights)
        members.append(member["name"])
    cases.append({"kind": "fused", "name": name, "dtype": dtype_name, "args": dump_args(args),
                  "members": members})


def observer_case(name, args, shape, dtype_name, seed, batches=3):
    """A stateful activation observer over several batches: statistics after each, qparams at the end."""
    dtype = DTYPES[dtype_name]
    observer = Observer.load_from_registry(args.observer, base_name="input", args=args.model_copy(deep=True))
    for b in range(batches):
        x = make_activation(shape, seed + b, dtype)
        add(f"{name}.batch{b}", x)
        observer(x)
        add(f"{name}.min{b}", observer.min_vals)
        add(f"{name}.max{b}", observer.max_vals)
    qparams = observer.get_qparams()
    add(f"{name}.scale", qparams["scale"])
    add(f"{name}.zero_point", qparams["zero_point"])
    if qparams["global_scale"] is not None:
        add(f"{name}.global_scale", qparams["global_scale"])
    cases.append({"kind": "observer", "name": name, "dtype": dtype_name, "args": dump_args(args),
                  "batches": batches, "has_global_scale": qparams["global_scale"] is not None})


def dynamic_case(name, args, shape, dtype_name, seed, global_scale=None):
    """Dynamic activation qparams (compute_dynamic_scales_and_zp) and forward_quantize's fake quant."""
    dtype = DTYPES[dtype_name]
    x = make_activation(shape, seed, dtype)
    add(f"{name}.input", x)
    if global_scale is not None:
        add(f"{name}.global_scale", global_scale)
    scale, zero_point = compute_dynamic_scales_and_zp(x, args, module=None, global_scale=global_scale)
    add(f"{name}.scale", scale)
    add(f"{name}.zero_point", zero_point)
    add(f"{name}.fake", fake_quantize(x, scale, zero_point, args, global_scale=global_scale))
    cases.append({"kind": "dynamic", "name": name, "dtype": dtype_name, "args": dump_args(args),
                  "has_global_scale": global_scale is not None})


def preset_weights(preset):
    return preset_name_to_scheme(preset, ["Linear"]).weights


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    weight_specs = []  # (name, args, shape)
    for bits in range(2, 9):
        weight_specs.append((f"W{bits}A16", preset_weights(f"W{bits}A16"), (64, 256)))
    weight_specs += [
        ("W4A16_ASYM", preset_weights("W4A16_ASYM"), (64, 256)),
        ("W8A8", preset_weights("W8A8"), (72, 200)),
        ("FP8", preset_weights("FP8"), (64, 160)),
        ("FP8_DYNAMIC", preset_weights("FP8_DYNAMIC"), (72, 200)),
        ("FP8_BLOCK", preset_weights("FP8_BLOCK"), (200, 328)),
        ("NVFP4A16", preset_weights("NVFP4A16"), (48, 96)),
        ("MXFP4A16", preset_weights("MXFP4A16"), (64, 128)),
        ("MXFP8A16", preset_weights("MXFP8A16"), (64, 128)),
        ("int4_asym_channel", QuantizationArgs(num_bits=4, symmetric=False, strategy="channel"), (72, 200)),
        ("int8_asym_g64", QuantizationArgs(num_bits=8, symmetric=False, group_size=64), (80, 192)),
        ("int3_asym_g32", QuantizationArgs(num_bits=3, symmetric=False, group_size=32), (80, 192)),
        ("int5_g64", QuantizationArgs(num_bits=5, group_size=64), (80, 192)),
        ("int6_asym_g64", QuantizationArgs(num_bits=6, symmetric=False, group_size=64), (80, 192)),
        ("int7_g32", QuantizationArgs(num_bits=7, group_size=32), (80, 192)),
        ("int8_asym_tensor", QuantizationArgs(num_bits=8, symmetric=False), (64, 160)),
        ("int8_block_32x64", QuantizationArgs(num_bits=8, strategy="block", block_structure=[32, 64]), (100, 90)),
        ("int4_g64_mse", QuantizationArgs(num_bits=4, group_size=64, observer="mse"), (80, 192)),
        ("int4_asym_g64_mse", QuantizationArgs(num_bits=4, symmetric=False, group_size=64,
                                               observer="memoryless_mse",
                                               observer_kwargs={"grid": 50, "maxshrink": 0.3, "norm": 2.0}),
         (80, 192)),
        ("fp8_channel_mse", QuantizationArgs(num_bits=8, type="float", strategy="channel", observer="mse"),
         (72, 200)),
        ("nvfp4_mse", preset_weights("NVFP4A16").model_copy(update={"observer": "mse"}), (48, 96)),
        ("mxfp4_mse", preset_weights("MXFP4A16").model_copy(update={"observer": "mse"}), (64, 128)),
        ("nvfp4_expanded_mse", preset_weights("NVFP4A16").model_copy(update={"observer": "nvfp4_expanded_mse"}),
         (48, 96)),
        ("int8_tensor_static_minmax", QuantizationArgs(num_bits=8, observer="static_minmax"), (64, 160)),
    ]
    seed = 1
    for name, args, shape in weight_specs:
        for dtype_name in DTYPES:
            weight_case(f"{name}.{dtype_name}", args.model_copy(deep=True), shape, dtype_name, seed)
            seed += 1

    for dtype_name in DTYPES:
        fused_case(f"NVFP4A16_qkv.{dtype_name}", preset_weights("NVFP4A16"), [(64, 96), (32, 96), (32, 96)],
                   dtype_name, 1000 + seed)
        seed += 3

    imatrix_specs = [  # (name, args, shape, batches)
        ("int4_g64", QuantizationArgs(num_bits=4, group_size=64, observer="imatrix_mse"), (80, 192), 3),
        ("int4_asym_channel", QuantizationArgs(num_bits=4, symmetric=False, strategy="channel",
                                               observer="imatrix_mse"), (72, 200), 3),
        ("int3_asym_g32_kwargs", QuantizationArgs(num_bits=3, symmetric=False, group_size=32, observer="imatrix_mse",
                                                  observer_kwargs={"grid": 10, "maxshrink": 0.5, "norm": 2.0,
                                                                   "patience": 0}), (80, 192), 2),
        ("nvfp4", preset_weights("NVFP4A16").model_copy(update={"observer": "imatrix_mse"}), (48, 96), 3),
        ("nvfp4_expanded", preset_weights("NVFP4A16").model_copy(update={"observer": "nvfp4_expanded_imatrix"}),
         (48, 96), 3),
        # the reference's uniform fallbacks: no calibration inputs, the tensor and block strategies
        ("int4_g64_no_data", QuantizationArgs(num_bits=4, group_size=64, observer="imatrix_mse"), (80, 192), 0),
        ("int8_tensor", QuantizationArgs(num_bits=8, observer="imatrix_mse"), (64, 160), 2),
        ("int8_block_32x64", QuantizationArgs(num_bits=8, strategy="block", block_structure=[32, 64],
                                              observer="imatrix_mse"), (100, 90), 2),
    ]
    for name, args, shape, batches in imatrix_specs:
        for dtype_name in DTYPES:
            imatrix_case(f"imatrix_{name}.{dtype_name}", args.model_copy(deep=True), shape, dtype_name, seed, batches)
            seed += 1

    int8_tensor = QuantizationArgs(num_bits=8, strategy="tensor")
    observer_specs = [
        ("minmax_int8", int8_tensor.model_copy(update={"observer": "minmax"})),
        ("minmax_int8_asym", int8_tensor.model_copy(update={"observer": "minmax", "symmetric": False})),
        ("static_minmax_fp8", preset_name_to_scheme("FP8", ["Linear"]).input_activations),
        ("memoryless_minmax_int8_asym",
         int8_tensor.model_copy(update={"observer": "memoryless_minmax", "symmetric": False})),
        ("static_minmax_int8_g16", QuantizationArgs(num_bits=8, group_size=16, observer="static_minmax")),
        ("minmax_ema_half", int8_tensor.model_copy(update={"observer": "minmax",
                                                           "observer_kwargs": {"averaging_constant": 0.5}})),
        ("nvfp4_input", preset_name_to_scheme("NVFP4", ["Linear"]).input_activations),
        ("mse_int8", int8_tensor.model_copy(update={"observer": "mse"})),
        ("mse_fp8_ema_half", preset_name_to_scheme("FP8", ["Linear"]).input_activations.model_copy(
            update={"observer": "mse", "observer_kwargs": {"averaging_constant": 0.5}})),
        ("mse_int8_asym_g16", QuantizationArgs(num_bits=8, symmetric=False, group_size=16, observer="mse")),
        ("imatrix_int8", int8_tensor.model_copy(update={"observer": "imatrix_mse"})),  # uniform: not a weight
    ]
    for name, args in observer_specs:
        for dtype_name in ("bfloat16", "float32"):
            observer_case(f"{name}.{dtype_name}", args, (2, 5, 64), dtype_name, seed)
            seed += 10

    token_int8 = preset_name_to_scheme("W8A8", ["Linear"]).input_activations
    dynamic_specs = [
        ("token_int8", token_int8, (2, 5, 64), None),
        ("token_int8_2d", token_int8, (10, 64), None),  # 2-D input: CT reduces over everything
        ("token_fp8", preset_name_to_scheme("FP8_DYNAMIC", ["Linear"]).input_activations, (2, 5, 64), None),
        ("group_fp8", preset_name_to_scheme("FP8_BLOCK", ["Linear"]).input_activations, (2, 5, 256), None),
        ("mxfp4_input", preset_name_to_scheme("MXFP4", ["Linear"]).input_activations, (2, 5, 64), None),
        ("tensor_int8_asym", QuantizationArgs(num_bits=8, symmetric=False, dynamic=True), (2, 5, 64), None),
        ("nvfp4_local", preset_name_to_scheme("NVFP4", ["Linear"]).input_activations, (2, 5, 64),
         torch.tensor([2688.0 / 60.0], dtype=torch.float32)),
    ]
    for name, args, shape, global_scale in dynamic_specs:
        for dtype_name in DTYPES:
            dynamic_case(f"{name}.{dtype_name}", args, shape, dtype_name, seed, global_scale)
            seed += 1

    save_file(tensors, str(out / "reference.safetensors"))
    (out / "cases.json").write_text(json.dumps(cases, indent=1))


if __name__ == "__main__":
    main()
