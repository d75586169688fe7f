"""The reference side of a benchmark run, as its own process: LLM Compressor's oneshot, end to end.

    python reference_oneshot.py --model DIR --output DIR --modifiers JSON [--dataset FILE.jsonl --max-seq-length N]

Loads the checkpoint with transformers (AutoModelForCausalLM, dtype as stored), runs `oneshot` with the modifiers
that MODIFIERS lists ([[class name, keyword arguments], ...], the same quantization arguments as llmc's recipe, see
scenarios.py) and, for calibrated methods, the token ids of DATASET in file order, one sample per batch; then saves
with save_pretrained(save_compressed=True). The harness times the whole process, imports included."""
import argparse
import json
import logging
import os
import pathlib
import warnings


def modifier_classes() -> dict:
    from llmcompressor.modifiers.gptq import GPTQModifier
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from llmcompressor.modifiers.transform import AWQModifier, SmoothQuantModifier

    return {cls.__name__: cls for cls in (GPTQModifier, QuantizationModifier, AWQModifier, SmoothQuantModifier)}


def build_modifier(classes: dict, name: str, kwargs: dict):
    """Explicit "weights" become the modifier's one config group on its "targets"; a "scheme" preset and every
    other keyword argument pass as they are."""
    kwargs = dict(kwargs)
    if "weights" in kwargs:
        kwargs["config_groups"] = {"group_0": {"targets": kwargs.pop("targets"), "weights": kwargs.pop("weights")}}
    return classes[name](**kwargs)


def calibration_loader(path: str, max_seq_length: int):
    """The JSONL file's samples in file order through the reference's own collator. oneshot's own loader with
    shuffle_calibration_samples=False sorts by length (LengthAwareSampler), which may permute equal-length samples."""
    from datasets import Dataset
    from llmcompressor.datasets.utils import DataCollatorWithTruncation
    from torch.utils.data import DataLoader, SequentialSampler

    rows = [json.loads(line)["input_ids"] for line in pathlib.Path(path).read_text().splitlines() if line.strip()]
    dataset = Dataset.from_dict({"input_ids": rows, "attention_mask": [[1] * len(row) for row in rows]})
    return DataLoader(dataset, batch_size=1, sampler=SequentialSampler(dataset),
                      collate_fn=DataCollatorWithTruncation(max_seq_length))


def allow_cpu_only_awq() -> None:
    """AWQ pins its cached activations in page-locked memory for faster uploads to a GPU, which fails on a machine
    without a CUDA driver; pinning changes no value, so without a GPU it is skipped."""
    import torch
    from llmcompressor.pipelines.cache import IntermediatesCache

    if not torch.cuda.is_available():
        IntermediatesCache.pin_memory = lambda self, batch_index, input_names=None: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--modifiers", required=True, help="[[class name, keyword arguments], ...] as JSON")
    parser.add_argument("--dataset", help="calibration token ids, JSONL with one {\"input_ids\": [...]} per line")
    parser.add_argument("--max-seq-length", type=int, default=2048)
    options = parser.parse_args()

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from llmcompressor import oneshot
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

    classes = modifier_classes()
    recipe = [build_modifier(classes, name, kwargs) for name, kwargs in json.loads(options.modifiers)]
    model = AutoModelForCausalLM.from_pretrained(options.model, dtype="auto")
    if options.dataset:
        allow_cpu_only_awq()
        # oneshot insists on a processor when given data, though pre-tokenized samples never use it
        processor = PreTrainedTokenizerFast(tokenizer_file=str(pathlib.Path(options.model) / "tokenizer.json"))
        oneshot(model=model, processor=processor, recipe=recipe,
                dataset=calibration_loader(options.dataset, options.max_seq_length))
    else:
        oneshot(model=model, recipe=recipe)
    model.save_pretrained(options.output, save_compressed=True)


if __name__ == "__main__":
    main()
