"""Writes the Python-side fixtures of the model I/O tests (run by test_support.h, cached per content).

OUT/models/<arch>/     tiny transformers models saved with save_pretrained, and modules.json: every module
                       that owns a tensor of the checkpoint -> its torch class name
OUT/dtypes/single/     model.safetensors with a tensor of every dtype torch can write
OUT/dtypes/sharded/    the same tensors in two shards and a model.safetensors.index.json
OUT/dtypes/manifest.json  name -> {dtype (safetensors name), shape, hex of the bytes}
"""
import json
import pathlib
import sys

import torch
import transformers
from safetensors.torch import save_file

out = pathlib.Path(sys.argv[1])
torch.manual_seed(0)

common = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, vocab_size=256)
models = {
    "llama": transformers.LlamaForCausalLM(transformers.LlamaConfig(**common, tie_word_embeddings=False)),
    "qwen2": transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**common, tie_word_embeddings=True)),
    "qwen3": transformers.Qwen3ForCausalLM(transformers.Qwen3Config(**common, head_dim=16)),
}
for arch, model in models.items():
    model = model.to(torch.bfloat16)
    model.save_pretrained(out / "models" / arch)
    saved = set(transformers.modeling_utils.load_state_dict(str(out / "models" / arch / "model.safetensors")))
    owners = {name.rpartition(".")[0] for name in saved}
    if model.config.tie_word_embeddings:
        owners.add("lm_head")  # a tied head saves no tensor, but it is a module llmc must list
    modules = {name: type(module).__name__ for name, module in model.named_modules() if name in owners}
    (out / "models" / arch / "modules.json").write_text(json.dumps(modules, indent=1))

dtypes = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.uint16, torch.int32, torch.uint32, torch.int64,
          torch.uint64, torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
          torch.float8_e4m3fn, torch.float8_e5m2, torch.float8_e4m3fnuz, torch.float8_e5m2fnuz,
          torch.float8_e8m0fnu, torch.float4_e2m1fn_x2]
tensors = {}
for i, dtype in enumerate(dtypes):
    raw = torch.randint(0, 256, (3 * 5 * dtype.itemsize,), dtype=torch.uint8)
    if dtype == torch.bool:
        raw = raw % 2
    tensors[f"t{i:02}.{str(dtype).removeprefix('torch.')}"] = raw.view(dtype).reshape(3, 5)
tensors["empty"] = torch.zeros(0, 4, dtype=torch.float32)
tensors["scalar"] = torch.tensor(1.5, dtype=torch.bfloat16)

dtype_dir = out / "dtypes"
(dtype_dir / "single").mkdir(parents=True)
(dtype_dir / "sharded").mkdir(parents=True)
save_file(tensors, dtype_dir / "single" / "model.safetensors", metadata={"format": "pt", "note": "fixture"})
names = sorted(tensors)
shards = [names[: len(names) // 2], names[len(names) // 2:]]
weight_map = {}
for index, shard in enumerate(shards):
    file = f"model-{index + 1:05}-of-00002.safetensors"
    save_file({name: tensors[name] for name in shard}, dtype_dir / "sharded" / file, metadata={"format": "pt"})
    weight_map.update({name: file for name in shard})
index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
(dtype_dir / "sharded" / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
for directory in ("single", "sharded"):
    (dtype_dir / directory / "config.json").write_text("{}")
    (dtype_dir / directory / "tokenizer.json").write_text("{}")

SAFETENSORS_NAMES = {
    torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16", torch.uint16: "U16",
    torch.int32: "I32", torch.uint32: "U32", torch.int64: "I64", torch.uint64: "U64", torch.float16: "F16",
    torch.bfloat16: "BF16", torch.float32: "F32", torch.float64: "F64", torch.complex64: "C64",
    torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2", torch.float8_e4m3fnuz: "F8_E4M3FNUZ",
    torch.float8_e5m2fnuz: "F8_E5M2FNUZ", torch.float8_e8m0fnu: "F8_E8M0", torch.float4_e2m1fn_x2: "F4",
}
manifest = {}
for name, tensor in tensors.items():
    storage = tensor.contiguous().view(-1).view(torch.uint8) if tensor.numel() else torch.zeros(0, dtype=torch.uint8)
    header_shape = list(tensor.shape)
    if tensor.dtype == torch.float4_e2m1fn_x2:
        header_shape[-1] *= 2  # safetensors counts F4 elements, torch counts packed pairs
    manifest[name] = {"dtype": SAFETENSORS_NAMES[tensor.dtype], "shape": header_shape,
                      "hex": bytes(storage.tolist()).hex()}
(dtype_dir / "manifest.json").write_text(json.dumps(manifest))
