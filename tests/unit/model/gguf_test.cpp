// tests/unit/model/gguf_test.cpp - reading GGUF files and dequantizing their tensors bit-exactly as the gguf
// Python package (make_gguf_fixtures.py), on small files, the default SmolLM2 model, and malformed bytes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "model/gguf_dequant.h"
#include "model/gguf_file.h"
#include "support/python_fixture.h"
#include "test_support.h"

namespace llmc::model {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_file;

std::filesystem::path fixtures() {
  auto dir = test::python_fixture(std::filesystem::path(LLMC_SOURCE_DIR) / "tests/unit/model/make_gguf_fixtures.py",
                                  "gguf");
  if (!dir) {
    std::cerr << dir.error().message << "\n";
    return {};
  }
  return *dir;
}

std::vector<float> read_floats(const std::filesystem::path& path) {
  const std::string bytes = testing::read_file(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

// Same bits, element by element (NaN payloads and signed zeros included).
void expect_same_bits(std::span<const float> actual, std::span<const float> expected, std::string_view what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  size_t mismatches = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::memcmp(&actual[i], &expected[i], sizeof(float)) != 0 && mismatches++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: " << actual[i] << " != " << expected[i];
  }
  EXPECT_EQ(mismatches, 0u) << what;
}

class GgufFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fixtures();
    ASSERT_FALSE(dir_.empty()) << "make_gguf_fixtures.py failed";
  }
  std::filesystem::path dir_;
};

TEST_F(GgufFixtureTest, ReadsMetadataOfEveryKind) {
  auto file = GgufFile::open(dir_ / "types.gguf");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  const GgufFile& gguf = **file;
  EXPECT_EQ(gguf.version(), 3u);
  EXPECT_EQ(gguf.alignment(), 32u);
  EXPECT_EQ(*gguf.find_metadata("general.architecture")->as_string(), "llama");
  EXPECT_EQ(gguf.find_metadata("llama.block_count")->as_int(), 30);
  EXPECT_EQ(gguf.find_metadata("test.u8")->as_int(), 200);
  EXPECT_EQ(gguf.find_metadata("test.u8")->type, GgufValueType::UINT8);
  EXPECT_EQ(gguf.find_metadata("test.i8")->as_int(), -100);
  EXPECT_EQ(gguf.find_metadata("test.u16")->as_int(), 60000);
  EXPECT_EQ(gguf.find_metadata("test.i16")->as_int(), -30000);
  EXPECT_EQ(gguf.find_metadata("test.u32")->as_int(), 4000000000);
  EXPECT_EQ(gguf.find_metadata("test.i32")->as_int(), -2000000000);
  EXPECT_EQ(gguf.find_metadata("test.u64")->as_int(), std::nullopt);  // past INT64_MAX
  EXPECT_EQ(std::get<uint64_t>(gguf.find_metadata("test.u64")->value), (uint64_t{1} << 63) + 5);
  EXPECT_EQ(gguf.find_metadata("test.i64")->as_int(), -(int64_t{1} << 62));
  EXPECT_EQ(gguf.find_metadata("test.f32")->as_float(), 0.25);
  EXPECT_EQ(gguf.find_metadata("test.f64")->as_float(), 1e-300);
  EXPECT_EQ(*gguf.find_metadata("test.bool")->as_bool(), true);
  EXPECT_EQ(*gguf.find_metadata("test.string")->as_string(), "h\xc3\xa9llo");
  const auto* ints = gguf.find_metadata("test.ints")->as_array();
  ASSERT_NE(ints, nullptr);
  ASSERT_EQ(ints->size(), 3u);
  EXPECT_EQ((*ints)[1].as_int(), -2);
  const GgufValue* strings = gguf.find_metadata("test.strings");
  EXPECT_EQ(strings->element_type, GgufValueType::STRING);
  ASSERT_EQ(strings->as_array()->size(), 3u);
  EXPECT_EQ(*(*strings->as_array())[1].as_string(), "bc");
  EXPECT_EQ(gguf.find_metadata("missing"), nullptr);
}

TEST_F(GgufFixtureTest, DequantizesEveryTypeLikeTheGgufPackage) {
  auto file = GgufFile::open(dir_ / "types.gguf");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  const struct {
    const char* name;
    GgmlType type;
    std::vector<int64_t> shape;
  } cases[] = {
      {"f32", GgmlType::F32, {3, 256}},   {"f16", GgmlType::F16, {3, 256}},   {"bf16", GgmlType::BF16, {3, 256}},
      {"q8_0", GgmlType::Q8_0, {3, 256}}, {"q4_0", GgmlType::Q4_0, {3, 256}}, {"q4_1", GgmlType::Q4_1, {3, 256}},
      {"q4_k", GgmlType::Q4_K, {3, 512}}, {"q6_k", GgmlType::Q6_K, {3, 512}},
  };
  for (const auto& c : cases) {
    const GgufTensorInfo* info = (*file)->find(c.name);
    ASSERT_NE(info, nullptr) << c.name;
    EXPECT_EQ(info->type, c.type) << c.name;
    EXPECT_EQ(info->shape, c.shape) << c.name;
    EXPECT_EQ(info->offset % 32, 0u) << c.name;
    auto values = (*file)->dequantize(*info);
    ASSERT_TRUE(values.has_value()) << values.error().message;
    expect_same_bits(*values, read_floats(dir_ / (std::string(c.name) + ".f32")), c.name);
  }
}

TEST_F(GgufFixtureTest, RefusesToDequantizeOtherTypes) {
  auto file = GgufFile::open(dir_ / "types.gguf");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  const GgufTensorInfo* info = (*file)->find("q5_0");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->nbytes, 3u * 256 / 32 * 22);
  auto values = (*file)->dequantize(*info);
  ASSERT_FALSE(values.has_value());
  EXPECT_THAT(values.error().message, HasSubstr("tensor 'q5_0': unsupported ggml type Q5_0"));
  EXPECT_THAT(values.error().message, HasSubstr("types.gguf"));
}

TEST_F(GgufFixtureTest, ReadsTheDefaultModel) {
  auto file = GgufFile::open(dir_ / "smollm2.gguf");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  const GgufFile& gguf = **file;
  EXPECT_EQ(gguf.version(), 3u);
  EXPECT_EQ(*gguf.find_metadata("general.architecture")->as_string(), "llama");
  EXPECT_EQ(gguf.find_metadata("llama.block_count")->as_int(), 30);
  EXPECT_EQ(gguf.find_metadata("tokenizer.ggml.tokens")->as_array()->size(), 49152u);
  ASSERT_EQ(gguf.tensors().size(), 272u);
  int q4_1 = 0, f32 = 0;
  for (const GgufTensorInfo& info : gguf.tensors()) {
    q4_1 += info.type == GgmlType::Q4_1;
    f32 += info.type == GgmlType::F32;
  }
  EXPECT_EQ(q4_1, 210);
  EXPECT_EQ(f32, 61);
  const GgufTensorInfo* embed = gguf.find("token_embd.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->type, GgmlType::Q8_0);
  EXPECT_EQ(embed->shape, (std::vector<int64_t>{49152, 576}));
  EXPECT_EQ(gguf.find("blk.0.ffn_down.weight")->shape, (std::vector<int64_t>{576, 1536}));
  EXPECT_EQ(gguf.find("output.weight"), nullptr);

  constexpr size_t kRows = 64;  // make_gguf_fixtures.py keeps the first and last 64 rows
  for (const char* name : {"blk.0.attn_q.weight", "token_embd.weight"}) {
    const GgufTensorInfo* info = gguf.find(name);
    ASSERT_NE(info, nullptr) << name;
    auto values = gguf.dequantize(*info);
    ASSERT_TRUE(values.has_value()) << values.error().message;
    const auto row = static_cast<size_t>(info->shape.back());
    std::vector<float> kept(values->begin(), values->begin() + kRows * row);
    kept.insert(kept.end(), values->end() - kRows * row, values->end());
    expect_same_bits(kept, read_floats(dir_ / (std::string("smollm2.") + name + ".f32")), name);
  }
}

// ---- malformed files, built by hand ----------------------------------------------------------------------

// A GGUF file with one uint32 key "general.alignment" = 32 and one tensor "w" of `type` with GGUF dims
// {64, 2} at data offset `offset` (and, where `second` is named, an F32 tensor of it with GGUF dims {8} at
// `second_offset`), followed by `data_bytes` bytes of data.
struct Layout {
  uint32_t magic = 0x46554747;
  uint32_t version = 3;
  uint32_t type = 0;  // F32
  uint64_t ne0 = 64;
  uint64_t offset = 0;
  uint64_t data_bytes = 64 * 2 * 4;
  std::string second;
  uint64_t second_offset = 512;
};

std::string gguf_bytes(const Layout& layout) {
  std::string out;
  const auto put = [&out](auto value) { out.append(reinterpret_cast<const char*>(&value), sizeof value); };
  const auto put_string = [&](std::string_view text) {
    put(uint64_t{text.size()});
    out.append(text);
  };
  put(layout.magic);
  put(layout.version);
  put(uint64_t{layout.second.empty() ? 1u : 2u});  // tensors
  put(uint64_t{1});  // key/values
  put_string("general.alignment");
  put(uint32_t{4});  // UINT32
  put(uint32_t{32});
  put_string("w");
  put(uint32_t{2});
  put(layout.ne0);
  put(uint64_t{2});
  put(layout.type);
  put(layout.offset);
  if (!layout.second.empty()) {
    put_string(layout.second);
    put(uint32_t{1});
    put(uint64_t{8});
    put(uint32_t{0});
    put(layout.second_offset);
  }
  out.resize((out.size() + 31) / 32 * 32, '\0');
  out.append(layout.data_bytes, '\x01');
  return out;
}

class GgufMalformedTest : public ::testing::Test {
 protected:
  // Opens the bytes, expects failure, and returns the error message (which must name the file).
  std::string open_error(std::string_view bytes) {
    const auto path = dir_.path() / "model.gguf";
    write_file(path, bytes);
    auto file = GgufFile::open(path);
    EXPECT_FALSE(file.has_value());
    if (file.has_value()) return {};
    EXPECT_THAT(file.error().message, HasSubstr(path.string()));
    return file.error().message;
  }

  TempDir dir_{"gguf-file"};
};

TEST_F(GgufMalformedTest, ReadsTheHandMadeFileAsVersion2And3) {
  for (const uint32_t version : {2u, 3u}) {
    Layout layout;
    layout.version = version;
    const auto path = dir_.path() / "model.gguf";
    write_file(path, gguf_bytes(layout));
    auto file = GgufFile::open(path);
    ASSERT_TRUE(file.has_value()) << file.error().message;
    EXPECT_EQ((*file)->version(), version);
    ASSERT_EQ((*file)->tensors().size(), 1u);
    const GgufTensorInfo& info = (*file)->tensors()[0];
    EXPECT_EQ(info.shape, (std::vector<int64_t>{2, 64}));
    EXPECT_EQ(info.nbytes, 512u);
    EXPECT_EQ(info.offset, 128u);  // 122 header bytes, aligned to 32
  }
}

TEST_F(GgufMalformedTest, RejectsBadFilesNamingTheFileAndTensor) {
  Layout bad_magic;
  bad_magic.magic = 0x12345678;
  EXPECT_THAT(open_error(gguf_bytes(bad_magic)), HasSubstr("bad magic"));
  for (const uint32_t version : {1u, 4u}) {
    Layout layout;
    layout.version = version;
    EXPECT_THAT(open_error(gguf_bytes(layout)), HasSubstr(fmt::format("unsupported GGUF version {}", version)));
  }
  EXPECT_THAT(open_error("GGUF"), HasSubstr("too short"));
  EXPECT_THAT(open_error(gguf_bytes({}).substr(0, 60)), HasSubstr("truncated"));

  Layout short_data;
  short_data.data_bytes = 500;
  EXPECT_THAT(open_error(gguf_bytes(short_data)), HasSubstr("tensor 'w': data [0, 512) lies outside the data section"));
  Layout far_offset;
  far_offset.offset = 1ull << 62;
  EXPECT_THAT(open_error(gguf_bytes(far_offset)), HasSubstr("tensor 'w': data"));
  Layout misaligned;
  misaligned.offset = 4;
  EXPECT_THAT(open_error(gguf_bytes(misaligned)), HasSubstr("tensor 'w': data offset 4 is not a multiple"));
  Layout unknown_type;
  unknown_type.type = 77;
  EXPECT_THAT(open_error(gguf_bytes(unknown_type)), HasSubstr("tensor 'w': unknown ggml type 77"));
  Layout partial_block;
  partial_block.type = static_cast<uint32_t>(GgmlType::Q4_1);
  partial_block.ne0 = 48;
  EXPECT_THAT(open_error(gguf_bytes(partial_block)), HasSubstr("tensor 'w': rows of 48 elements"));
  Layout overlap;
  overlap.second = "v";
  overlap.second_offset = 480;
  EXPECT_THAT(open_error(gguf_bytes(overlap)), HasSubstr("tensor 'v': data at 480 overlaps tensor 'w'"));
  Layout duplicate;
  duplicate.second = "w";
  duplicate.data_bytes = 512 + 32;
  EXPECT_THAT(open_error(gguf_bytes(duplicate)), HasSubstr("tensor 'w': the tensor name appears twice"));
}

TEST(GgufDequantTest, ChecksSizesAndNamesUnsupportedTypes) {
  std::vector<std::byte> block(20);
  std::vector<float> out(32);
  EXPECT_TRUE(dequantize(GgmlType::Q4_1, block, out).has_value());
  const Status short_data = dequantize(GgmlType::Q4_1, std::span(block).first(19), out);
  ASSERT_FALSE(short_data.has_value());
  EXPECT_THAT(short_data.error().message, HasSubstr("take 20 bytes, got 19"));
  const Status unsupported = dequantize(GgmlType::IQ2_XS, block, out);
  ASSERT_FALSE(unsupported.has_value());
  EXPECT_EQ(unsupported.error().message, "unsupported ggml type IQ2_XS");
  EXPECT_EQ(ggml_type_traits(77), nullptr);
  EXPECT_EQ(ggml_type_traits(12)->type_size, 144u);
}

}  // namespace
}  // namespace llmc::model
