"""The Python side of interop_test.cpp: reads what the C++ writer wrote with the reference libraries.

check_interop.py load DIR MANIFEST   safetensors.torch.load_file of every shard of DIR == MANIFEST's bytes
check_interop.py transformers A B    from_pretrained(A) and from_pretrained(B) have equal weights and logits
"""
import json
import pathlib
import sys

import torch


def load(directory: pathlib.Path, manifest_path: pathlib.Path) -> None:
    from safetensors.torch import load_file
    manifest = json.loads(manifest_path.read_text())
    index = directory / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() else ["model.safetensors"]
    loaded = {}
    for file in files:
        loaded.update(load_file(directory / file))
    assert sorted(loaded) == sorted(manifest), (sorted(loaded), sorted(manifest))
    for name, expected in manifest.items():
        tensor = loaded[name]
        storage = tensor.contiguous().view(-1).view(torch.uint8) if tensor.numel() else torch.zeros(0, dtype=torch.uint8)
        assert bytes(storage.tolist()).hex() == expected["hex"], name


def transformers_equal(a: pathlib.Path, b: pathlib.Path) -> None:
    from transformers import AutoModelForCausalLM
    first = AutoModelForCausalLM.from_pretrained(a)
    second = AutoModelForCausalLM.from_pretrained(b)
    first_state, second_state = first.state_dict(), second.state_dict()
    assert sorted(first_state) == sorted(second_state)
    for name, tensor in first_state.items():
        assert torch.equal(tensor, second_state[name]), name
    tokens = torch.tensor([[1, 5, 9, 200]])
    with torch.no_grad():
        assert torch.equal(first(tokens).logits, second(tokens).logits)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"load": load, "transformers": transformers_equal}[command](*map(pathlib.Path, args))
