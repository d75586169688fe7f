"""A byte-level tokenizer.json (one token per byte, no merges) for synthetic checkpoints, which have no tokenizer:
`llmc eval` reads the original model's tokenizer.json, so this lets it score random-weight models too (token ids
0-255 fit any vocabulary of at least 256)."""
import json
import pathlib


def gpt2_byte_symbols() -> list:
    """The printable character GPT-2's byte-level BPE uses for each byte value 0-255."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    symbols = {}
    shifted = 0
    for byte in range(256):
        if byte in printable:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + shifted)
            shifted += 1
    return [symbols[byte] for byte in range(256)]


def byte_tokenizer() -> dict:
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": byte_level, "post_processor": None, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {symbol: byte for byte, symbol in enumerate(gpt2_byte_symbols())}, "merges": []},
    }


def write_byte_tokenizer(model_dir: pathlib.Path) -> None:
    """Writes tokenizer.json into a checkpoint directory that has none."""
    (model_dir / "tokenizer.json").write_text(json.dumps(byte_tokenizer(), ensure_ascii=False))
