#!/usr/bin/env python3
# tests/unit/model/make_gguf_import_fixtures.py - tiny GGUF models for gguf_import*_test.cpp and
# tests/integration/test_import_gguf.py, written by the gguf Python package the way llama.cpp's
# convert_hf_to_gguf.py writes them (attn_q/attn_k rows permuted for llama), with the Hugging Face tensors an
# import must produce as bf16 bits: gguf's dequantization, transformers' own reverse permutation
# (LlamaTensorProcessor), then torch's rounding to bfloat16.
#
#   <model>.gguf                     llama (tied embeddings), qwen2 (q/k/v biases, output.weight), qwen3 (q/k norms)
#   <model>.expected/<hf name>.bf16  the expected tensor, raw little-endian bf16
#   bad_*.gguf                       one defect each: unknown architecture, missing key, SentencePiece tokenizer,
#                                    unknown pre-tokenizer, unsupported tensor type, stray tensor, shape
#                                    contradicting the metadata
import sys
from pathlib import Path

import gguf
import numpy as np
import torch
from gguf import GGMLQuantizationType as T
from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

HIDDEN, HEADS, KV_HEADS, HEAD_DIM, FFN, LAYERS, CONTEXT = 64, 4, 2, 16, 96, 2, 256
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
USER_DEFINED = ["<tool>"]
MERGES = ["Ġ t", "h e", "Ġt he", "Ġ Ġ", "1 2", "i n", "Ġ in", "Ġ a"]
CHAT_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
                 "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def byte_tokens():
    """GPT-2's bytes_to_unicode: the 256 single-byte tokens of a byte-level BPE, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def vocabulary():
    tokens = SPECIALS + byte_tokens() + [m.replace(" ", "") for m in MERGES] + USER_DEFINED
    types = [3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS) - len(USER_DEFINED)) + [4] * len(USER_DEFINED)
    return tokens, types


def llama_cpp_permute(weights, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute: Hugging Face rows -> GGUF rows."""
    return weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def to_bf16_bits(values: np.ndarray) -> bytes:
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32)).to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()


def hf_tensors(arch, rng, tied):
    """name -> (gguf name, float32 Hugging Face weight, ggml type)."""
    qtypes = {"q": T.Q4_1, "k": T.Q8_0, "v": T.F16, "o": T.BF16, "gate": T.Q4_0, "up": T.Q4_1, "down": T.Q8_0}
    tensors = {"model.embed_tokens.weight": ("token_embd.weight", None, T.Q8_0),
               "model.norm.weight": ("output_norm.weight", (HIDDEN,), T.F32)}
    if not tied:
        tensors["lm_head.weight"] = ("output.weight", None, T.Q4_1)
    for i in range(LAYERS):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        tensors.update({
            p + "input_layernorm.weight": (b + "attn_norm.weight", (HIDDEN,), T.F32),
            p + "self_attn.q_proj.weight": (b + "attn_q.weight", (HEADS * HEAD_DIM, HIDDEN), qtypes["q"]),
            p + "self_attn.k_proj.weight": (b + "attn_k.weight", (KV_HEADS * HEAD_DIM, HIDDEN), qtypes["k"]),
            p + "self_attn.v_proj.weight": (b + "attn_v.weight", (KV_HEADS * HEAD_DIM, HIDDEN), qtypes["v"]),
            p + "self_attn.o_proj.weight": (b + "attn_output.weight", (HIDDEN, HEADS * HEAD_DIM), qtypes["o"]),
            p + "post_attention_layernorm.weight": (b + "ffn_norm.weight", (HIDDEN,), T.F32),
            p + "mlp.gate_proj.weight": (b + "ffn_gate.weight", (FFN, HIDDEN), qtypes["gate"]),
            p + "mlp.up_proj.weight": (b + "ffn_up.weight", (FFN, HIDDEN), qtypes["up"]),
            p + "mlp.down_proj.weight": (b + "ffn_down.weight", (HIDDEN, FFN), qtypes["down"]),
        })
        if arch == "qwen2":
            for x, rows in (("q", HEADS * HEAD_DIM), ("k", KV_HEADS * HEAD_DIM), ("v", KV_HEADS * HEAD_DIM)):
                tensors[p + f"self_attn.{x}_proj.bias"] = (b + f"attn_{x}.bias", (rows,), T.F32)
        if arch == "qwen3":
            tensors[p + "self_attn.q_norm.weight"] = (b + "attn_q_norm.weight", (HEAD_DIM,), T.F32)
            tensors[p + "self_attn.k_norm.weight"] = (b + "attn_k_norm.weight", (HEAD_DIM,), T.F32)
    vocab = len(vocabulary()[0])
    out = {}
    for name, (gguf_name, shape, qtype) in tensors.items():
        shape = shape or (vocab, HIDDEN)
        scale = 1.0 if len(shape) == 1 else 0.2
        out[name] = (gguf_name, (rng.standard_normal(shape) * scale + (1.0 if len(shape) == 1 else 0.0)).astype(np.float32), qtype)
    return out


def write_model(path: Path, arch="llama", pre="smollm", tied=True, expected_dir=None, skip_keys=(),
                tokenizer_model="gpt2", extra_tensor=None, tensor_type_override=None, add_bos=False, seed=0):
    """Writes a tiny model; with `expected_dir`, the bf16 bits an import must produce for each tensor."""
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(path, arch=arch)
    keys = {
        "block_count": lambda: writer.add_block_count(LAYERS),
        "context_length": lambda: writer.add_context_length(CONTEXT),
        "embedding_length": lambda: writer.add_embedding_length(HIDDEN),
        "feed_forward_length": lambda: writer.add_feed_forward_length(FFN),
        "head_count": lambda: writer.add_head_count(HEADS),
        "head_count_kv": lambda: writer.add_head_count_kv(KV_HEADS),
        "rope_freq_base": lambda: writer.add_rope_freq_base(500000.0),
        "rms_eps": lambda: writer.add_layer_norm_rms_eps(1e-6),
        "rope_dims": lambda: writer.add_rope_dimension_count(HEAD_DIM),
        "key_length": lambda: writer.add_key_length(HEAD_DIM),
    }
    writer.add_name("tiny test model")
    for key, add in keys.items():
        if key not in skip_keys:
            add()
    tokens, types = vocabulary()
    writer.add_tokenizer_model(tokenizer_model)
    if pre is not None:
        writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(MERGES)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(add_bos)
    writer.add_chat_template(CHAT_TEMPLATE)

    tensors = hf_tensors(arch, rng, tied)
    processor = LlamaTensorProcessor(config={"num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS})
    for hf_name, (gguf_name, weights, qtype) in tensors.items():
        if tensor_type_override and gguf_name == tensor_type_override[0]:
            qtype = tensor_type_override[1]
        stored = weights
        if arch == "llama" and (".attn_q." in gguf_name or ".attn_k." in gguf_name):
            stored = llama_cpp_permute(weights, HEADS if ".attn_q." in gguf_name else KV_HEADS)
        if qtype == T.F32:
            data = stored
        elif qtype == T.F16:
            data = stored.astype(np.float16)
        else:
            data = gguf.quants.quantize(stored, qtype)
        writer.add_tensor(gguf_name, data, raw_dtype=qtype if qtype not in (T.F32, T.F16) else None)
        if expected_dir is not None:
            dequantized = gguf.quants.dequantize(data, qtype).reshape(weights.shape)
            if arch == "llama":
                dequantized = processor.process(dequantized, gguf_name).weights
            (expected_dir / f"{hf_name}.bf16").write_bytes(to_bf16_bits(dequantized))
    if extra_tensor is not None:
        writer.add_tensor(extra_tensor, np.ones((HIDDEN,), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for arch, pre, tied in (("llama", "smollm", True), ("qwen2", "qwen2", False), ("qwen3", "qwen2", True)):
        expected = out / f"{arch}.expected"
        expected.mkdir(exist_ok=True)
        write_model(out / f"{arch}.gguf", arch=arch, pre=pre, tied=tied, expected_dir=expected)
    write_model(out / "llama3.gguf", pre="llama-bpe", add_bos=True)
    write_model(out / "bad_architecture.gguf", arch="falcon")
    write_model(out / "bad_missing_key.gguf", skip_keys=("block_count",))
    write_model(out / "bad_tokenizer_model.gguf", tokenizer_model="llama")
    write_model(out / "bad_pre_tokenizer.gguf", pre="deepseek-coder")
    write_model(out / "bad_tensor_type.gguf", tensor_type_override=("blk.0.ffn_up.weight", T.Q5_0))
    write_model(out / "bad_stray_tensor.gguf", extra_tensor="blk.7.attn_norm.weight")
    write_model(out / "bad_shape.gguf", skip_keys=("head_count_kv",))  # as many kv heads as heads: k is too small


if __name__ == "__main__":
    main()
