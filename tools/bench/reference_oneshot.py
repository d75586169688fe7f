"""The reference side of a benchmark run, as its own process: LLM Compressor's data-free oneshot, end to end.

    python reference_oneshot.py --model DIR --output DIR --args JSON

Loads the checkpoint with transformers (AutoModelForCausalLM, dtype as stored), runs `oneshot` with the modifier
that ARGS names (QuantizationModifier for the data-free methods) and the same quantization arguments as llmc's
recipe (see scenarios.py), and saves with save_pretrained(save_compressed=True). The harness times the whole
process, imports included."""
import argparse
import json
import logging
import os
import warnings


def build_modifier(args: dict):
    """{"modifier", "targets", "ignore", and "scheme" or explicit "weights"/"input_activations"/...} -> the modifier
    (a class of llmcompressor.modifiers.quantization) with those arguments."""
    from llmcompressor.modifiers import quantization

    args = dict(args)
    modifier = getattr(quantization, args.pop("modifier"))
    ignore = args.pop("ignore")
    if "scheme" in args:
        return modifier(targets=args["targets"], scheme=args["scheme"], ignore=ignore)
    return modifier(config_groups={"group_0": args}, ignore=ignore)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--args", required=True, help="the quantization arguments as JSON")
    options = parser.parse_args()

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from llmcompressor import oneshot
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(options.model, dtype="auto")
    oneshot(model=model, recipe=build_modifier(json.loads(options.args)))
    model.save_pretrained(options.output, save_compressed=True)


if __name__ == "__main__":
    main()
