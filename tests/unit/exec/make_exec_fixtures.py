"""Tiny random causal LMs of every supported architecture and transformers' logits for them, for
tests/unit/exec (logits parity of the layer-streamed runner).

usage: make_exec_fixtures.py OUT_DIR

OUT_DIR/<case>/            the model as save_pretrained writes it (fp32 or bf16 weights)
OUT_DIR/<case>/reference.safetensors
                           for each batch in BATCHES: ids_<batch> (int64 [2, 10]), mask_<batch> (int64 [2, 10],
                           1 = token), logits_<batch> (float32 [2, 10, vocab]): transformers' logits of the
                           checkpoint reloaded in float32 (eager attention), with position_ids counting tokens only
                           (cumsum(mask) - 1), as the runner numbers them.
OUT_DIR/w4a16, fp8_dynamic, w8a8, fp8_static: compressed-tensors checkpoints (see make_compressed), with
                           reference.safetensors (CT's forward: activations fake-quantized) and
                           reference_weight_only.safetensors (quantization disabled: the dequantized weights only)
OUT_DIR/cases.json         {"cases": [case, ...]}

Batch rows are built so that padding can be checked without transformers: row 0 of "left" is row 0 of "full"
with its last 3 tokens cut and 3 pads in front; row 0 of "right" is row 0 of "full" with its last 4 tokens
replaced by pads.
"""

import json
import logging
import os
import sys
import warnings

import torch

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
try:
    from loguru import logger

    logger.remove()
except ImportError:
    pass

import transformers
from safetensors.torch import save_file

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

VOCAB = 300
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6,
              initializer_range=0.1)  # large enough weights that attention is not uniform: a wrong rope shows
LENGTH = 10

# case -> (config class, model class, config overrides, saved dtype)
CASES = {
    # GQA, untied head, default rope, fp32 weights
    "llama": ("LlamaConfig", "LlamaForCausalLM", dict(tie_word_embeddings=False), torch.float32),
    # tied head, linear rope scaling, bf16 weights, three layers
    "llama_linear_tied_bf16": ("LlamaConfig", "LlamaForCausalLM",
                               dict(tie_word_embeddings=True, num_hidden_layers=3,
                                    rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}),
                               torch.bfloat16),
    # llama3 rope (original context 16 puts frequencies in all three bands), attention bias on q/k/v/o
    "llama3_rope_bias": ("LlamaConfig", "LlamaForCausalLM",
                         dict(tie_word_embeddings=False, attention_bias=True,
                              rope_parameters={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                               "high_freq_factor": 4.0, "original_max_position_embeddings": 16,
                                               "rope_theta": 500000.0}),
                         torch.float32),
    # dynamic NTK rope: the 10-token batches reach past max_position_embeddings = 8, so the base is rescaled
    "llama_dynamic_rope": ("LlamaConfig", "LlamaForCausalLM",
                           dict(tie_word_embeddings=False, max_position_embeddings=8,
                                rope_parameters={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0}),
                           torch.float32),
    # sliding window shorter than the sequence
    "mistral_window": ("MistralConfig", "MistralForCausalLM", dict(tie_word_embeddings=False, sliding_window=4,
                                                                   head_dim=16), torch.float32),
    # qkv bias, tied head (as the small Qwen2 models)
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(tie_word_embeddings=True), torch.float32),
    # q/k norms, head_dim from config (32 != hidden / heads), bf16 weights
    "qwen3_bf16": ("Qwen3Config", "Qwen3ForCausalLM", dict(tie_word_embeddings=False, head_dim=32), torch.bfloat16),
    "mixtral": ("MixtralConfig", "MixtralForCausalLM",
                dict(tie_word_embeddings=False, num_local_experts=4, num_experts_per_tok=2, head_dim=16),
                torch.float32),
    # renormalized top-k, one dense layer (mlp_only_layers), three layers
    "qwen3_moe": ("Qwen3MoeConfig", "Qwen3MoeForCausalLM",
                  dict(tie_word_embeddings=False, num_hidden_layers=3, num_experts=4, num_experts_per_tok=2,
                       moe_intermediate_size=32, norm_topk_prob=True, mlp_only_layers=[1], head_dim=16),
                  torch.float32),
    "qwen3_moe_plain_topk": ("Qwen3MoeConfig", "Qwen3MoeForCausalLM",
                             dict(tie_word_embeddings=True, num_experts=4, num_experts_per_tok=2,
                                  moe_intermediate_size=32, norm_topk_prob=False, head_dim=16),
                             torch.bfloat16),
}


def batches():
    generator = torch.Generator().manual_seed(1234)
    full = torch.randint(1, VOCAB, (2, LENGTH), generator=generator)
    other = torch.randint(1, VOCAB, (2, LENGTH), generator=generator)
    ones = torch.ones(2, LENGTH, dtype=torch.int64)
    left = other.clone()
    left_mask = ones.clone()
    left[0, 3:] = full[0, :LENGTH - 3]
    left[0, :3] = 0
    left_mask[0, :3] = 0
    right = other.clone()
    right_mask = ones.clone()
    right[0, :LENGTH - 4] = full[0, :LENGTH - 4]
    right[0, LENGTH - 4:] = 0
    right_mask[0, LENGTH - 4:] = 0
    return {"full": (full, ones), "left": (left, left_mask), "right": (right, right_mask)}


def reference_logits(directory, **load_kwargs):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager", **load_kwargs).float().eval()
    out = {}
    with torch.no_grad():
        for name, (ids, mask) in batches().items():
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
            out[f"ids_{name}"] = ids.contiguous()
            out[f"mask_{name}"] = mask.contiguous()
            out[f"logits_{name}"] = logits.float().contiguous()
    save_file(out, os.path.join(directory, "reference.safetensors"))


def native_eager_logits(directory):
    """The bf16 model run in bf16 with eager attention (LLM Compressor's calibration forward) on the unpadded batch:
    reference_native_eager.safetensors holds its logits as bf16."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager", dtype=torch.bfloat16).eval()
    ids, _ = batches()["full"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    assert logits.dtype == torch.bfloat16
    save_file({"ids": ids.contiguous(), "logits": logits.contiguous()},
              os.path.join(directory, "reference_native_eager.safetensors"))


def make_case(out_dir, name, config_class, model_class, overrides, dtype):
    config = getattr(transformers, config_class)(**{**COMMON, **overrides})
    torch.manual_seed(0)
    model = getattr(transformers, model_class)(config)
    # random init leaves the norms at 1: perturb them so that a norm applied wrongly shows
    with torch.no_grad():
        for parameter_name, parameter in model.named_parameters():
            if parameter_name.endswith("norm.weight") or parameter_name.endswith("layernorm.weight"):
                parameter.add_(0.1 * torch.randn_like(parameter))
            if parameter_name.endswith(".bias"):
                parameter.normal_(0, 0.1)
    directory = os.path.join(out_dir, name)
    model.to(dtype).save_pretrained(directory)
    reference_logits(directory)
    if dtype == torch.bfloat16:
        native_eager_logits(directory)


def calibration():
    """What oneshot needs to calibrate static activation scales: 8 random rows and a word-level tokenizer over
    the vocabulary (oneshot requires a processor once it is given a dataset)."""
    from datasets import Dataset
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    ids = torch.randint(1, VOCAB, (8, LENGTH), generator=torch.Generator().manual_seed(7))
    dataset = Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": torch.ones_like(ids).tolist()})
    vocabulary = Tokenizer(models.WordLevel({f"t{i}": i for i in range(VOCAB)}, unk_token="t0"))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=vocabulary, unk_token="t0", pad_token="t0")
    return dict(dataset=dataset, processor=tokenizer, num_calibration_samples=len(ids))


def make_compressed(out_dir, name, scheme, calibrated):
    """A bf16 Llama (hidden 128: W4A16's groups are 128 wide) quantized with `scheme` by LLM Compressor,
    data-free or (`calibrated`) on calibration() for static input scales, saved compressed. The references
    decompress it at load (CompressedTensorsConfig(dequantize=True)), which leaves every quantized Linear in
    status DECOMPRESSED: CT's forward then skips the weights' fake-quantization (the weights are the
    dequantized ones) but still fake-quantizes the scheme's activations.
    reference.safetensors runs that forward; reference_weight_only.safetensors disables quantization."""
    from compressed_tensors.quantization import QuantizationStatus
    from compressed_tensors.quantization.lifecycle.helpers import disable_quantization
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from transformers import AutoModelForCausalLM, LlamaForCausalLM
    from transformers.utils.quantization_config import CompressedTensorsConfig

    base = os.path.join(out_dir, f"{name}_base")
    config = transformers.LlamaConfig(**{**COMMON, "hidden_size": 128, "intermediate_size": 256,
                                         "tie_word_embeddings": False})
    torch.manual_seed(0)
    LlamaForCausalLM(config).to(torch.bfloat16).save_pretrained(base)
    # oneshot reads config.json from the model's name_or_path, so the model comes from its directory
    model = LlamaForCausalLM.from_pretrained(base, dtype=torch.bfloat16)
    oneshot(model=model, recipe=QuantizationModifier(targets=["Linear"], scheme=scheme, ignore=["lm_head"]),
            **(calibration() if calibrated else {}))
    directory = os.path.join(out_dir, name)
    model.save_pretrained(directory, save_compressed=True)

    model = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager", dtype=torch.bfloat16,
                                                 quantization_config=CompressedTensorsConfig(dequantize=True))
    statuses = {getattr(m, "quantization_status", None) for m in model.modules() if hasattr(m, "quantization_scheme")}
    assert statuses == {QuantizationStatus.DECOMPRESSED}, statuses
    model = model.float().eval()

    def logits():
        out = {}
        with torch.no_grad():
            for batch, (ids, mask) in batches().items():
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                out[f"ids_{batch}"] = ids.contiguous()
                out[f"mask_{batch}"] = mask.contiguous()
                out[f"logits_{batch}"] = model(input_ids=ids, attention_mask=mask,
                                               position_ids=positions).logits.float().contiguous()
        return out

    save_file(logits(), os.path.join(directory, "reference.safetensors"))
    model.apply(disable_quantization)
    save_file(logits(), os.path.join(directory, "reference_weight_only.safetensors"))


# compressed case -> (LLM Compressor scheme, calibrated): int4 packed in int32 (pack-quantized, weights only);
# float8 stored as `weight` itself (float-quantized), whose name alone does not tell that it needs its scale,
# with fp8 per-token dynamic inputs; int8 channel weights (int-quantized) with int8 per-token dynamic inputs;
# fp8 per-tensor weights with a static fp8 per-tensor input scale (input_scale) calibrated on random tokens;
# fp4 weights in groups of 16 with float8 group scales and a float32 global scale (nvfp4-pack-quantized)
COMPRESSED = {"w4a16": ("W4A16", False), "fp8_dynamic": ("FP8_DYNAMIC", False), "w8a8": ("W8A8", False),
              "fp8_static": ("FP8", True), "nvfp4a16": ("NVFP4A16", False)}


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name, (config_class, model_class, overrides, dtype) in CASES.items():
        make_case(out_dir, name, config_class, model_class, overrides, dtype)
    for name, (scheme, calibrated) in COMPRESSED.items():
        make_compressed(out_dir, name, scheme, calibrated)
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump({"cases": list(CASES) + list(COMPRESSED)}, f)


if __name__ == "__main__":
    main()
