"""tests/unit/tensor/make_convert_cases.py - torch's reference for copy_convert.

Writes, into OUT_DIR, one input vector per source dtype (`<src>.bin`) and torch's `dst.copy_(src)` of it
for every destination dtype (`<src>_to_<dst>.bin`), all raw little-endian, contiguous. The inputs hold
the edge values (signed zeros, subnormals, halfway cases of every narrower float, max and overflow,
infinities, NaNs, integer limits) plus exhaustive or random bit patterns. Usage: python3 THIS OUT_DIR
"""
import os
import sys

import numpy as np
import torch

DTYPES = {
    "BOOL": torch.bool,
    "U8": torch.uint8,
    "I8": torch.int8,
    "I16": torch.int16,
    "I32": torch.int32,
    "I64": torch.int64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F32": torch.float32,
    "F64": torch.float64,
    "F8_E4M3": torch.float8_e4m3fn,
}
rng = np.random.default_rng(1234)


def from_bits(bits, dtype):
    """A tensor of `dtype` whose elements have the given bit patterns."""
    width = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[torch.empty(0, dtype=dtype).element_size()]
    signed = {torch.uint8: np.uint8, torch.int16: np.int16, torch.int32: np.int32, torch.int64: np.int64}[width]
    return torch.from_numpy(np.asarray(bits).astype(signed)).view(dtype)


def f32_bits(values):
    return np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.int64)


def midpoints_f32(narrow):
    """f32 values at, just below and just above the midpoints between adjacent finite `narrow` values."""
    grid = from_bits(np.arange(1 << (8 * torch.empty(0, dtype=narrow).element_size())), narrow).float()
    grid = grid[torch.isfinite(grid)].double().unique()
    mid = ((grid[:-1] + grid[1:]) / 2).float().numpy()
    bits = mid.view(np.uint32).astype(np.int64)
    return np.concatenate([bits, bits - 1, bits + 1])


def integer_edges(bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    edges = [0, 1, -1, lo, hi, lo + 1, hi - 1]
    for k in range(1, bits - 1):
        for d in (-3, -1, 0, 1, 3):
            edges += [(1 << k) + d, -(1 << k) - d]
        # ties for bf16 (8-bit significand), f16 (11) and f32 (24): 2^k + 2^(k-s)
        for s in (8, 9, 11, 12, 24, 25):
            if k > s:
                edges += [(1 << k) + (1 << (k - s)), (1 << k) + 3 * (1 << (k - s)), -((1 << k) + (1 << (k - s)))]
    values = [v for v in edges if lo <= v <= hi]
    for m in range(1, bits):
        values += list(rng.integers(-(1 << m), 1 << m, 500, dtype=np.int64))
    return np.asarray(values, dtype=np.int64)


def source(name):
    if name == "BOOL":
        return torch.from_numpy(rng.integers(0, 2, 1001).astype(np.bool_))
    if name in ("U8", "I8", "F8_E4M3"):
        return from_bits(np.arange(256), DTYPES[name])
    if name in ("I16", "F16", "BF16"):
        return from_bits(np.arange(65536), DTYPES[name])
    if name == "I32":
        return torch.from_numpy(integer_edges(32).astype(np.int32))
    if name == "I64":
        return torch.from_numpy(integer_edges(64))
    if name == "F32":
        special = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, 2.7, -2.7, 127.9, 128.0, -129.0, 255.5, 256.0,
                   300.0, -300.0, 448.0, 464.0, 479.9, 480.0, 1e9, -1e9, 2.0**31, -2.0**31, 2.0**63, -2.0**63,
                   65504.0, 65519.0, 65520.0, 3.4e38, -3.4e38, 2.0**-24, 2.0**-25, 2.0**-26, 2.0**-9, 2.0**-10,
                   2.0**-126, 2.0**-149, -2.0**-149, np.inf, -np.inf, np.nan, -np.nan]
        bits = np.concatenate([
            f32_bits(special),
            [0x7F800001, 0xFF800001, 0x7FC01234, 0xFFC01234, 0x7FFFFFFF, 0x007FFFFF, 0x80000001, 0x7F7FFFFF],
            midpoints_f32(torch.bfloat16), midpoints_f32(torch.float16), midpoints_f32(torch.float8_e4m3fn),
            rng.integers(0, 1 << 32, 100_000, dtype=np.int64),
            f32_bits(rng.standard_normal(50_000) * 10.0 ** rng.integers(-8, 9, 50_000)),
        ])
        return from_bits(bits, torch.float32)
    if name == "F64":
        f32_mid = torch.from_numpy(midpoints_f32(torch.bfloat16)[:65536].astype(np.uint32).view(np.float32)).double()
        f32_grid = torch.from_numpy(rng.standard_normal(20_000).astype(np.float32)).double()
        f32_ulp = torch.from_numpy(np.spacing(f32_grid.float().numpy())).double()
        values = torch.cat([
            torch.tensor([0.0, -0.0, 1.0, -2.5, 2.7, -2.7, 2.0**31, 2.0**31 - 0.5, -2.0**31 - 0.5, -2.0**31 - 1,
                          2.0**63, -2.0**63, 1e300, -1e300, 4e38, 3.4028235677973366e38, 5e-324, 1e-46,
                          float("inf"), float("-inf"), float("nan"), -float("nan")], dtype=torch.float64),
            f32_mid, torch.nextafter(f32_mid, torch.tensor(np.inf)), torch.nextafter(f32_mid, torch.tensor(-np.inf)),
            f32_grid + f32_ulp / 2, f32_grid - f32_ulp / 2, f32_grid + f32_ulp / 2 * (1 + 2.0**-40),
            from_bits(rng.integers(-(1 << 63), (1 << 63) - 1, 50_000, dtype=np.int64), torch.float64),
            torch.from_numpy(rng.standard_normal(50_000) * 10.0 ** rng.integers(-12, 13, 50_000)),
        ])
        return values
    raise ValueError(name)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for src_name in DTYPES:
        src = source(src_name).contiguous()
        src.view(torch.uint8).numpy().tofile(os.path.join(out, f"{src_name}.bin"))
        for dst_name, dst_dtype in DTYPES.items():
            dst = torch.empty(src.shape, dtype=dst_dtype)
            dst.copy_(src)
            dst.view(torch.uint8).numpy().tofile(os.path.join(out, f"{src_name}_to_{dst_name}.bin"))


if __name__ == "__main__":
    main()
