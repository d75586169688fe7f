"""The calibration data of the calibrated scenarios: a text tokenized once per model, cut into SAMPLES chunks of
MAX_SEQ_LENGTH token ids, written as JSONL ({"input_ids": [...]} per line) that both tools read as they are.

Tokenizing here, with the tokenizer.json of the model directory both tools read (the `tokenizers` library that
transformers uses), keeps tokenization out of the comparison: both calibrate on the same ids, in file order."""
import dataclasses
import gzip
import json
import pathlib

# English prose that every Debian system has (package debian-faq), as tools/main-job.sh calibrates on
DEFAULT_TEXT = pathlib.Path("/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz")


@dataclasses.dataclass(frozen=True)
class Calibration:
    text: pathlib.Path  # plain text, or gzip-compressed when it ends in .gz
    samples: int
    max_seq_length: int

    def to_json(self) -> dict:
        return {"text": str(self.text), "samples": self.samples, "max_seq_length": self.max_seq_length}


@dataclasses.dataclass(frozen=True)
class CalibrationTokens:
    path: pathlib.Path  # the JSONL file
    samples: int
    max_seq_length: int

    def to_json(self) -> dict:
        return {"dataset": str(self.path), "samples": self.samples, "max_seq_length": self.max_seq_length}


def read_text(path: pathlib.Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as text:
            return text.read()
    return path.read_text(encoding="utf-8")


def write_calibration_tokens(model_dir: pathlib.Path, calibration: Calibration,
                             path: pathlib.Path) -> CalibrationTokens:
    """Joins the text's tokens (no special tokens added) and writes the first SAMPLES chunks to PATH."""
    from tokenizers import Tokenizer

    if not calibration.text.is_file():
        raise SystemExit(f"{calibration.text}: the calibration text is missing (package debian-faq, or pass "
                         "--calibration-text)")
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    ids = tokenizer.encode(read_text(calibration.text), add_special_tokens=False).ids
    length = calibration.max_seq_length
    if len(ids) < calibration.samples * length:
        raise SystemExit(f"{calibration.text}: {len(ids)} tokens with {model_dir.name}'s tokenizer, fewer than "
                         f"{calibration.samples} x {length}; lower --samples or --max-seq-length")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"input_ids": ids[start:start + length]}) + "\n"
                            for start in range(0, calibration.samples * length, length)))
    return CalibrationTokens(path, calibration.samples, length)
