"""The reference side of test_calibrated_parity.py: LLM Compressor's `oneshot` with a list of modifiers, run on
pre-tokenized calibration samples, saved with `save_pretrained(save_compressed=True)`.

Run as a script with a JSON spec (`python calibrated_reference.py SPEC`), one process for a whole tier, so that
llmcompressor's global state (logging, the patched save_pretrained, the session) stays out of pytest's process:
  {"cases": {name: {"model": dir, "modifiers": [[class name, kwargs], ...], "dataset": jsonl,
                     "max_seq_length": n, "output": dir}},
   "results": path}
writes {name: {"ok": true, "seconds": s} | {"error": type, "message": str, "seconds": s}} to `results`.

kwargs are the modifier's keyword arguments as JSON, quantization groups written as in llmc recipes (see
modifier_kwargs).
"""
import json
import logging
import os
import pathlib
import sys
import time
import traceback
import warnings


def modifier_classes() -> dict:
    from llmcompressor.modifiers.gptq import GPTQModifier
    from llmcompressor.modifiers.pruning import SparseGPTModifier, WandaPruningModifier
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from llmcompressor.modifiers.transform import AWQModifier, SmoothQuantModifier

    return {cls.__name__: cls for cls in (GPTQModifier, QuantizationModifier, AWQModifier, SmoothQuantModifier,
                                          SparseGPTModifier, WandaPruningModifier)}


ARGS_KEYS = ("weights", "input_activations", "output_activations")


def modifier_kwargs(kwargs: dict) -> dict:
    """A quantizing modifier's llmc-style groups as config_groups: "groups" is a list of {"targets", "scheme"}
    (a preset) or {"targets", "weights", ...} tables, numbered in order; top-level "weights" etc. make one group
    (on "targets", by default ["Linear"] as the modifiers' own default)."""
    from compressed_tensors.quantization import preset_name_to_scheme

    kwargs = dict(kwargs)
    groups = kwargs.pop("groups", None)
    if groups is None and any(key in kwargs for key in ARGS_KEYS):
        groups = [{"targets": kwargs.pop("targets", ["Linear"]),
                   **{key: kwargs.pop(key) for key in ARGS_KEYS if key in kwargs}}]
    if groups is not None:
        kwargs["config_groups"] = {
            f"group_{i}": preset_name_to_scheme(group["scheme"], group["targets"]) if "scheme" in group else group
            for i, group in enumerate(groups)}
    return kwargs


def calibration_loader(path: str, max_seq_length: int):
    """The samples of a JSONL file ({"input_ids": [...]} per line) in file order, one per batch, through the
    reference's own collator. oneshot's shuffle_calibration_samples=False would use its LengthAwareSampler,
    whose unstable argsort permutes equal-length samples once there are more than 16 (the order matters for
    memoryless observers, which keep the last batch), so the loader is given to oneshot ready-made."""
    from datasets import Dataset
    from llmcompressor.datasets.utils import DataCollatorWithTruncation
    from torch.utils.data import DataLoader, SequentialSampler

    rows = [json.loads(line)["input_ids"] for line in pathlib.Path(path).read_text().splitlines() if line.strip()]
    dataset = Dataset.from_dict({"input_ids": rows, "attention_mask": [[1] * len(row) for row in rows]})
    return DataLoader(dataset, batch_size=1, sampler=SequentialSampler(dataset),
                      collate_fn=DataCollatorWithTruncation(max_seq_length))


def word_level_tokenizer(vocab_size: int):
    """oneshot insists on a processor when given data, though pre-tokenized samples never use it."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {f"t{i}": i for i in range(vocab_size)}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="t0")))


def run_case(job: dict, classes: dict) -> None:
    from llmcompressor import oneshot
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # oneshot reads config.json from the model's name_or_path, so the model comes from its directory; it runs
    # in its checkpoint dtype, as llmc's does
    model = AutoModelForCausalLM.from_pretrained(job["model"], dtype="auto")
    model_dir = pathlib.Path(job["model"])
    processor = (AutoTokenizer.from_pretrained(model_dir) if (model_dir / "tokenizer.json").is_file()
                 else word_level_tokenizer(model.config.vocab_size))
    recipe = [classes[name](**modifier_kwargs(kwargs)) for name, kwargs in job["modifiers"]]
    oneshot(model=model, processor=processor, recipe=recipe,
            dataset=calibration_loader(job["dataset"], job["max_seq_length"]))
    model.save_pretrained(job["output"], save_compressed=True)


def allow_cpu_only_awq() -> None:
    """AWQ pins its cached activations in page-locked memory for faster uploads to a GPU, which fails on a machine
    without a CUDA driver; pinning changes no value, so without a GPU it is skipped."""
    import torch
    from llmcompressor.pipelines.cache import IntermediatesCache

    if not torch.cuda.is_available():
        IntermediatesCache.pin_memory = lambda self, batch_index, input_names=None: None


def main(spec_path: str) -> None:
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    allow_cpu_only_awq()
    classes = modifier_classes()
    spec = json.loads(pathlib.Path(spec_path).read_text())
    results = {}
    for name, job in spec["cases"].items():
        started = time.perf_counter()
        try:
            run_case(job, classes)
            results[name] = {"ok": True}
        except Exception as error:  # noqa: BLE001 -- recorded, judged by the test
            traceback.print_exc()  # into the tier's reference.log
            results[name] = {"error": type(error).__name__, "message": str(error)}
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
        print(name, results[name], flush=True)
    pathlib.Path(spec["results"]).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
