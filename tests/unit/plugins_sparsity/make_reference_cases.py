"""Reference cases for tests/unit/plugins_sparsity: LLM Compressor's own SparseGPT and Wanda functions
(sgpt_sparsify.py, wanda_sparsify.py) on fixed random weights and calibration inputs.

Usage: make_reference_cases.py OUTDIR. Writes OUTDIR/cases.json (one entry per case: algorithm, options,
the samples of every calibration batch, the reference's loss, and the tensors as
{"file", "dtype", "shape"}) and one raw little-endian file per tensor.

A calibration batch is a [samples, tokens, in_features] tensor, as the reference's hooks see it; llmc's
host hands the plugins the same tokens as [samples * tokens, in_features] with `sequences` = samples.
"""

import json
import sys
from pathlib import Path

import torch
from llmcompressor.modifiers.pruning.sparsegpt.sgpt_sparsify import (
    accumulate_hessian,
    make_empty_hessian,
)
from llmcompressor.modifiers.pruning.sparsegpt.sgpt_sparsify import (
    sparsify_weight as sparsegpt_sparsify_weight,
)
from llmcompressor.modifiers.pruning.wanda.wanda_sparsify import (
    accumulate_row_scalars,
    make_empty_row_scalars,
)
from llmcompressor.modifiers.pruning.wanda.wanda_sparsify import (
    sparsify_weight as wanda_sparsify_weight,
)

OUT = Path(sys.argv[1])
ROWS, COLS = 48, 320  # three SparseGPT blocks of 128 columns, the last one partial
cases = []


def save(case: dict, key: str, tensor: torch.Tensor):
    tensor = tensor.detach().contiguous()
    name = f"{case['name']}.{key}.bin"
    tensor.view(torch.uint8).numpy().tofile(OUT / name)
    case["tensors"][key] = {"file": name, "dtype": str(tensor.dtype).removeprefix("torch."), "shape": list(tensor.shape)}


def make_weight(seed, rows=ROWS, cols=COLS, dtype=torch.float32, zero_fraction=0.0):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=gen) * 0.02
    if zero_fraction:
        w[torch.rand(rows, cols, generator=gen) < zero_fraction] = 0.0
    return w.to(dtype)


def make_batches(seed, cols=COLS, samples=(1, 2, 1), tokens=24, dtype=torch.float32, dead=()):
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for count in samples:
        x = torch.randn(count, tokens, cols, generator=gen)
        x[..., 3] *= 20.0  # an outlier channel, as real activations have
        x[..., list(dead)] = 0.0
        batches.append(x.to(dtype))
    return batches


def linear(weight):
    module = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False, dtype=weight.dtype)
    with torch.no_grad():
        module.weight.copy_(weight)
    return module


def new_case(name, algorithm, weight, batches, options):
    case = {"name": name, "algorithm": algorithm, "options": options, "tensors": {},
            "batch_samples": [b.shape[0] for b in batches]}
    save(case, "weight", weight)
    for index, batch in enumerate(batches):
        save(case, f"batch{index}", batch)
    cases.append(case)
    return case


def sparsegpt_case(name, weight, batches, sparsity=0.5, mask="0:0", block_size=128, dampening_frac=0.01,
                   preserve=False, hessian=None):
    options = {"sparsity": sparsity, "mask_structure": mask, "block_size": block_size,
               "dampening_frac": dampening_frac, "preserve_sparsity_mask": preserve}
    case = new_case(name, "sparsegpt", weight, batches, options)
    module = linear(weight)
    if hessian is None:
        hessian, samples = make_empty_hessian(module), 0
        for batch in batches:
            hessian, samples = accumulate_hessian(batch, module, hessian, samples)
    save(case, "hessian", hessian)
    prune_n, prune_m = (int(v) for v in mask.split(":"))
    loss, pruned = sparsegpt_sparsify_weight(module, {module: hessian.clone()}, sparsity, prune_n, prune_m,
                                             block_size, dampening_frac, preserve)
    case["loss"] = loss
    save(case, "pruned", pruned)


def wanda_case(name, weight, batches, sparsity=0.5, mask="0:0"):
    case = new_case(name, "wanda", weight, batches, {"sparsity": sparsity, "mask_structure": mask})
    module = linear(weight)
    scalars, samples = make_empty_row_scalars(module), 0
    for batch in batches:
        scalars, samples = accumulate_row_scalars(batch, module, scalars, samples)
    save(case, "row_scalars", scalars)
    prune_n, prune_m = (int(v) for v in mask.split(":"))
    save(case, "pruned", wanda_sparsify_weight(module, {module: scalars.clone()}, sparsity, prune_n, prune_m))


torch.set_grad_enabled(False)
w, x = make_weight(1), make_batches(2)
sparsegpt_case("sparsegpt_unstructured", w, x)
sparsegpt_case("sparsegpt_2of4", w, x, mask="2:4")
sparsegpt_case("sparsegpt_block32_sparsity07", w, x, sparsity=0.7, block_size=32)
dead = make_batches(3, dead=(5, 200, 201))
sparsegpt_case("sparsegpt_dead_columns", w, dead)
sparsegpt_case("sparsegpt_dead_columns_2of4", w, dead, mask="2:4")
sparsegpt_case("sparsegpt_preserve", make_weight(4, zero_fraction=0.3), x, preserve=True)
# preserve + N:M on one block only: there the reference reads the block's own existing zeros (see sparsify.h)
sparsegpt_case("sparsegpt_preserve_2of4_one_block", make_weight(5, cols=128, zero_fraction=0.2),
               make_batches(6, cols=128), mask="2:4", preserve=True)
sparsegpt_case("sparsegpt_bf16", make_weight(7, dtype=torch.bfloat16), make_batches(8, dtype=torch.bfloat16))
# An indefinite Hessian: Cholesky fails, the reference falls back to the identity (magnitude pruning).
indefinite = torch.eye(COLS) + 0.01
indefinite[7, 7] = -3.0
sparsegpt_case("sparsegpt_indefinite_hessian", w, [], hessian=indefinite)

wanda_case("wanda_unstructured", w, x)
wanda_case("wanda_2of4", w, x, mask="2:4")
wanda_case("wanda_sparsity03", w, x, sparsity=0.3)
wanda_case("wanda_bf16", make_weight(7, dtype=torch.bfloat16), make_batches(8, dtype=torch.bfloat16))
# Ties: every column has the same input norm and |W| takes four values, so the order among equal
# metrics decides (the reference's stable sort; topk for N:M).
tied_weight = (torch.randint(1, 5, (ROWS, COLS), generator=torch.Generator().manual_seed(9)) - 2.5) * 0.01
tied_inputs = [b[..., :1].expand(-1, -1, COLS).contiguous() for b in make_batches(10)]
wanda_case("wanda_ties", tied_weight, tied_inputs)
wanda_case("wanda_ties_2of4", tied_weight, tied_inputs, mask="2:4")

(OUT / "cases.json").write_text(json.dumps(cases, indent=1))
