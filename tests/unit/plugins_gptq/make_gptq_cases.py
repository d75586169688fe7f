"""Reference cases for tests/unit/plugins_gptq: the installed reference's own GPTQ code on fixed inputs.

Usage: make_gptq_cases.py OUTDIR. Writes OUTDIR/cases.json (one entry per case: QuantizationArgs as CT
dumps them, activation ordering, block size, dampening, Hessian and weight names, the reference's loss and
RTN-fallback flag) and OUTDIR/reference.safetensors (inputs and outputs).

Hessians come from llmcompressor's make_empty_hessian + accumulate_hessian over four calibration batches
of one sequence each (bf16 activations), divided by the sample count as prepare_batch does. Weight qparams
come from the weight observer (memoryless_minmax) on the weight in its own dtype, as GPTQModifier's
on_sequential_epoch_end observes it before the GPTQ loop. quantize_weight is llmcompressor's
(modifiers/gptq/gptq_quantize.py, eager CPU backend) on a batch of one module.
"""

import json
import sys
from pathlib import Path

import torch
from compressed_tensors.quantization import QuantizationArgs
from compressed_tensors.quantization.quant_scheme import preset_name_to_scheme
from llmcompressor.modifiers.gptq.gptq_quantize import quantize_weight
from llmcompressor.modifiers.gptq.helpers import accumulate_hessian, make_empty_hessian
from llmcompressor.observers import Observer
from safetensors.torch import save_file

ROWS, COLS, TOKENS, BATCHES = 48, 160, 64, 4
BLOCK_SIZE, DAMPENING = 64, 0.01  # 160 columns: blocks of 64, 64 and a partial 32

tensors: dict[str, torch.Tensor] = {}
cases: list[dict] = []


def make_batches(seed: int, dead_columns=()):
    """Correlated bf16 activations with per-channel magnitudes spread over two decades."""
    gen = torch.Generator().manual_seed(seed)
    mix = torch.eye(COLS) + 0.3 * torch.randn(COLS, COLS, generator=gen) / COLS**0.5
    magnitude = torch.exp(torch.randn(COLS, generator=gen))
    batches = []
    for _ in range(BATCHES):
        x = (torch.randn(TOKENS, COLS, generator=gen) @ mix) * magnitude
        x[:, list(dead_columns)] = 0.0
        batches.append(x.to(torch.bfloat16))
    return batches


def reference_hessian(name: str, batches) -> torch.Tensor:
    """make_empty_hessian + accumulate_hessian per batch ([1, tokens, cols]), then H / n."""
    module = torch.nn.Linear(COLS, ROWS, bias=False, dtype=torch.bfloat16)
    hessian = make_empty_hessian(module)
    samples = torch.zeros(tuple())
    for index, x in enumerate(batches):
        tensors[f"{name}.x{index}"] = x
        hessian, samples = accumulate_hessian(x.unsqueeze(0), module, hessian, samples)
    tensors[f"{name}.sum"] = hessian.clone()
    return hessian / samples


def weight_qparams(weight: torch.Tensor, args: QuantizationArgs):
    observer = Observer.load_from_registry("memoryless_minmax", base_name="weight", args=args)
    observer(weight)
    return observer.get_qparams()


def add_case(name: str, args: QuantizationArgs, actorder: str, weight: str, hessian: str):
    """actorder: "static", "weight" or "none"."""
    W, H = tensors[weight], tensors[hessian]
    run_args = args.model_copy(update={"actorder": None if actorder == "none" else actorder})
    qparams = weight_qparams(W, run_args)
    w_in = W.to(torch.float32, copy=True).unsqueeze(0)  # quantize_weight works in place
    h_in = H.clone().unsqueeze(0)
    global_scale = qparams["global_scale"]
    quantized, losses, fallback = quantize_weight(
        weights=w_in,
        hessians=h_in,
        scale=qparams["scale"].unsqueeze(0),
        zero_point=qparams["zero_point"].unsqueeze(0),
        global_scale=None if global_scale is None else global_scale.reshape(-1)[:1],
        quant_args=run_args,
        blocksize=BLOCK_SIZE,
        percdamp=DAMPENING,
    )
    quantized = quantized[0]
    tensors[f"{name}.quantized"] = quantized.contiguous()
    tensors[f"{name}.scale"] = qparams["scale"].contiguous()
    tensors[f"{name}.zero_point"] = qparams["zero_point"].contiguous()
    if global_scale is not None:
        tensors[f"{name}.global_scale"] = global_scale.reshape(1).to(torch.float32)
    cases.append(
        {
            "name": name,
            "args": {**args.model_dump(mode="json"), "zp_dtype": str(args.zp_dtype)},
            "actorder": actorder,
            "weight": weight,
            "hessian": hessian,
            "block_size": BLOCK_SIZE,
            "dampening_frac": DAMPENING,
            "loss": float(losses[0]),
            "rtn_fallback": bool(fallback[0]),
        }
    )


def main(out: Path):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    weight = torch.randn(ROWS, COLS, generator=gen) * 0.05
    weight[:, 3] *= 8.0  # an outlier column
    tensors["w.bf16"] = weight.to(torch.bfloat16)
    tensors["w.fp32"] = weight.clone()

    tensors["h.main"] = reference_hessian("h.main", make_batches(2))
    tensors["h.dead"] = reference_hessian("h.dead", make_batches(3, dead_columns=(7, 100)))
    npd = tensors["h.main"].clone()
    npd[5, 5] = -1.0  # a negative diagonal: no Cholesky factor exists, even after dampening
    tensors["h.npd"] = npd

    int4_g32 = QuantizationArgs(num_bits=4, type="int", symmetric=True, strategy="group", group_size=32)
    for actorder in ("static", "weight", "none"):
        add_case(f"int4_g32_{actorder}", int4_g32, actorder, "w.bf16", "h.main")
    add_case("int4_g32_fp32_weight", int4_g32, "weight", "w.fp32", "h.main")
    add_case("int4_g32_asym", int4_g32.model_copy(update={"symmetric": False}), "weight", "w.bf16", "h.main")
    int8_channel = QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="channel")
    add_case("int8_channel", int8_channel, "weight", "w.bf16", "h.main")
    fp8_tensor = QuantizationArgs(num_bits=8, type="float", symmetric=True, strategy="tensor")
    add_case("fp8_tensor", fp8_tensor, "weight", "w.bf16", "h.main")
    fp8_channel = QuantizationArgs(num_bits=8, type="float", symmetric=True, strategy="channel")
    add_case("fp8_channel", fp8_channel, "none", "w.bf16", "h.main")
    nvfp4 = preset_name_to_scheme("NVFP4A16", ["Linear"]).weights
    add_case("nvfp4", nvfp4, "weight", "w.bf16", "h.main")
    fp8_block = QuantizationArgs(num_bits=8, type="float", symmetric=True, strategy="block", block_structure=[16, 32])
    add_case("fp8_block", fp8_block, "weight", "w.bf16", "h.main")
    add_case("int4_g32_dead_columns", int4_g32, "weight", "w.bf16", "h.dead")
    add_case("int4_g32_not_positive_definite", int4_g32, "weight", "w.bf16", "h.npd")

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out / "reference.safetensors"))
    (out / "cases.json").write_text(json.dumps(cases, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
