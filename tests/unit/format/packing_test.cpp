// tests/unit/format/packing_test.cpp - the packers against compressed-tensors' own (vectors made by
// make_reference_checkpoints.py) and the worked examples of compressed-tensors.md 4.3 / 4.4.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "format/e8m0.h"
#include "format/fp4_packing.h"
#include "format/int_packing.h"
#include "format/test_support.h"

namespace llmc::format {
namespace {

std::vector<int32_t> pack_one_row(const std::vector<int8_t>& values, int num_bits) {
  std::vector<int32_t> words(packed_words(static_cast<int64_t>(values.size()), num_bits), -1);
  EXPECT_EQ(pack_row(values, num_bits, words), -1);
  return words;
}

TEST(IntPacking, SpecWorkedExamples) {
  EXPECT_EQ(pack_one_row({1, -2, 3, -4, 5, -6, 7, -8}, 4), std::vector<int32_t>{0x0F2D4B69});
  EXPECT_EQ(pack_one_row({-128, 127, 0, -1}, 8), std::vector<int32_t>{0x7F80FF00});
  EXPECT_EQ(pack_one_row({-4, -3, -2, -1, 0, 1, 2, 3, 3, 3, 3}, 3),
            (std::vector<int32_t>{static_cast<int32_t>(0xFFFAC688u), 0x00000001}));
}

TEST(IntPacking, RowRoundTripAndRange) {
  for (int num_bits = 1; num_bits <= 8; ++num_bits) {
    std::vector<int8_t> values;
    for (int i = 0; i < 77; ++i) values.push_back(static_cast<int8_t>((i * 37) % (1 << num_bits) - (1 << (num_bits - 1))));
    const auto words = pack_one_row(values, num_bits);
    std::vector<int8_t> back(values.size());
    unpack_row(words, num_bits, back);
    EXPECT_EQ(back, values) << num_bits << " bits";
  }
  std::vector<int32_t> words(1);
  const std::vector<int8_t> too_big = {0, 1, 8, 0};
  EXPECT_EQ(pack_row(too_big, 4, words), 2);
}

TEST(IntPacking, MatchesCompressedTensors) {
  const auto dir = testing::reference_dir();
  ASSERT_FALSE(dir.empty());
  const auto tensors = testing::read_safetensors(dir / "packing.safetensors");
  int checked = 0;
  for (int num_bits = 1; num_bits <= 8; ++num_bits) {
    for (const char* shape : {"3x7", "5x32", "4x100", "2x257"}) {
      const std::string key = fmt::format("int_{}_{}", num_bits, shape);
      const at::Tensor& values = tensors.at(key);
      for (const auto [dim, suffix] : {std::pair{PackDim::columns, "_packed_d1"}, std::pair{PackDim::rows, "_packed_d0"}}) {
        const at::Tensor& expected = tensors.at(key + suffix);
        auto packed = pack_int32(values, num_bits, dim);
        ASSERT_TRUE(packed) << packed.error().message;
        EXPECT_TRUE(testing::same_bytes(*packed, expected)) << key << suffix;
        auto unpacked = unpack_int32(expected, num_bits, values.sizes().vec(), dim);
        ASSERT_TRUE(unpacked) << unpacked.error().message;
        EXPECT_TRUE(testing::same_bytes(*unpacked, values)) << key << suffix;
        ++checked;
      }
    }
    const std::string key = fmt::format("int_3d_{}", num_bits);  // MoE [E, out, in]: per-slice packing
    auto packed = pack_int32(tensors.at(key), num_bits);
    ASSERT_TRUE(packed) << packed.error().message;
    EXPECT_TRUE(testing::same_bytes(*packed, tensors.at(key + "_packed"))) << key;
    ++checked;
  }
  EXPECT_EQ(checked, 8 * 9);
}

TEST(IntPacking, Errors) {
  auto wrong_type = pack_int32(at::zeros({2, 8}, at::kInt), 4);
  ASSERT_FALSE(wrong_type);
  EXPECT_NE(wrong_type.error().message.find("int8"), std::string::npos);
  auto out_of_range = pack_int32(at::full({2, 8}, 8, at::kChar), 4);
  ASSERT_FALSE(out_of_range);
  EXPECT_NE(out_of_range.error().message.find("value 8 does not fit 4 bits"), std::string::npos);
  // rows are packed in parallel: the error still names the first value out of range
  at::Tensor late = at::zeros({4096, 256}, at::kChar);
  late.index_put_({4000, 3}, -9);
  late.index_put_({1000, 7}, 9);
  auto first = pack_int32(late, 4);
  ASSERT_FALSE(first);
  EXPECT_NE(first.error().message.find("value 9 does not fit"), std::string::npos) << first.error().message;
  auto bad_bits = pack_int32(at::zeros({2, 8}, at::kChar), 9);
  ASSERT_FALSE(bad_bits);
  EXPECT_NE(bad_bits.error().message.find("1..8"), std::string::npos);
  auto one_dim = pack_int32(at::zeros({8}, at::kChar), 4);
  ASSERT_FALSE(one_dim);
  const std::vector<int64_t> shape = {2, 9};
  auto bad_shape = unpack_int32(at::zeros({2, 1}, at::kInt), 4, shape);
  ASSERT_FALSE(bad_shape);
  EXPECT_NE(bad_shape.error().message.find("expected [2, 2]"), std::string::npos);
}

TEST(Fp4Packing, CodesAndSpecExample) {
  EXPECT_EQ(e2m1_code(0.5f), 0x1);
  EXPECT_EQ(e2m1_code(-1.0f), 0xA);
  EXPECT_EQ(e2m1_code(6.0f), 0x7);
  EXPECT_EQ(e2m1_code(-0.0f), 0x8);  // CT takes the sign bit, so -0 is code 0x8
  EXPECT_EQ(e2m1_code(0.0f), 0x0);
  EXPECT_FALSE(e2m1_code(2.5f));
  EXPECT_TRUE(std::signbit(e2m1_value(0x8)));
  auto packed = pack_fp4(at::tensor({0.5f, -1.0f}).reshape({1, 2}));
  ASSERT_TRUE(packed) << packed.error().message;
  EXPECT_EQ(packed->item<uint8_t>(), 0xA1);
}

TEST(Fp4Packing, MatchesCompressedTensors) {
  const auto dir = testing::reference_dir();
  ASSERT_FALSE(dir.empty());
  const auto tensors = testing::read_safetensors(dir / "packing.safetensors");
  for (const char* shape : {"4x8", "7x64"}) {
    const std::string key = fmt::format("fp4_{}", shape);
    const at::Tensor& values = tensors.at(key);
    ASSERT_GT(values.signbit().logical_and(values.eq(0)).sum().item<int64_t>(), 0) << key << " has no -0";
    for (const auto dtype : {at::kFloat, at::kBFloat16}) {
      auto packed = pack_fp4(values.to(dtype));
      ASSERT_TRUE(packed) << packed.error().message;
      EXPECT_TRUE(testing::same_bytes(*packed, tensors.at(key + "_packed"))) << key;
    }
    auto unpacked = unpack_fp4(tensors.at(key + "_packed"));
    ASSERT_TRUE(unpacked) << unpacked.error().message;
    EXPECT_TRUE(testing::same_bytes(*unpacked, values)) << key;  // -0 included
  }
}

TEST(Fp4Packing, Errors) {
  auto odd = pack_fp4(at::zeros({2, 3}));
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().message.find("even number of columns, got 3"), std::string::npos);
  auto off_grid = pack_fp4(at::tensor({0.5f, 2.5f}).reshape({1, 2}));
  ASSERT_FALSE(off_grid);
  EXPECT_NE(off_grid.error().message.find("2.5 at flat index 1 is not an E2M1 value"), std::string::npos);
  EXPECT_FALSE(pack_fp4(at::zeros({2, 2}, at::kChar)));
  EXPECT_FALSE(unpack_fp4(at::zeros({2, 2}, at::kInt)));
}

TEST(E8M0, EncodeDecode) {
  const at::Tensor scales = at::tensor({1.0f, 0.0625f, 0.125f, 4.0f, std::ldexp(1.0f, -127)});
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    auto bytes = encode_e8m0(scales.to(dtype));
    ASSERT_TRUE(bytes) << bytes.error().message;
    EXPECT_TRUE(at::equal(*bytes, at::tensor({127, 123, 124, 129, 0}, at::kByte)));
  }
  EXPECT_TRUE(at::equal(decode_e8m0(at::tensor({127, 123, 0}, at::kByte)), at::tensor({1.0f, 0.0625f, std::ldexp(1.0f, -127)})));
  const at::Tensor encoded = at::tensor({1, 2}, at::kByte);
  EXPECT_TRUE(at::equal(*encode_e8m0(encoded), encoded));  // already E8M0
  auto not_power = encode_e8m0(at::tensor({0.3f}));
  ASSERT_FALSE(not_power);
  EXPECT_NE(not_power.error().message.find("not a power of two"), std::string::npos);
  EXPECT_FALSE(encode_e8m0(at::tensor({0.0f})));
}

}  // namespace
}  // namespace llmc::format
