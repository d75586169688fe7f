// core/recipe/presets.cpp - the preset table. Rows follow compressed-tensors 0.19 quant_scheme.py (CT 0.18
// per compressed-tensors.md 2.1; the two agree); tests/unit/recipe/presets_reference_test.cpp checks every
// row against the installed package.
#include "recipe/presets.h"

#include <array>
#include <cassert>
#include <cctype>

namespace llmc::recipe {
namespace {

// One QuantizationArgs of a preset; zero / empty fields mean "not set".
struct ArgsRow {
  int64_t num_bits;
  QuantType type;
  Strategy strategy;
  int64_t group_size = 0;
  bool symmetric = true;
  Dynamic dynamic = Dynamic::off;
  std::array<int64_t, 2> block_structure = {0, 0};
  std::string_view scale_dtype = {};
  std::string_view zp_dtype = {};
  std::string_view observer = {};
};

struct PresetRow {
  std::string_view name;
  std::optional<ArgsRow> weights;
  std::optional<ArgsRow> input_activations;
};

constexpr ArgsRow int_group128(int64_t bits, bool symmetric = true) {
  return {.num_bits = bits, .type = QuantType::int_, .strategy = Strategy::group, .group_size = 128,
          .symmetric = symmetric};
}
constexpr ArgsRow int_token_dynamic(int64_t bits) {
  return {.num_bits = bits, .type = QuantType::int_, .strategy = Strategy::token, .dynamic = Dynamic::on};
}
constexpr ArgsRow kFp8TokenDynamic{.num_bits = 8, .type = QuantType::float_, .strategy = Strategy::token,
                                   .dynamic = Dynamic::on};
constexpr ArgsRow kNvfp4Weights{.num_bits = 4, .type = QuantType::float_, .strategy = Strategy::tensor_group,
                                .group_size = 16, .scale_dtype = "torch.float8_e4m3fn",
                                .zp_dtype = "torch.float8_e4m3fn"};
constexpr ArgsRow kNvfp4Inputs{.num_bits = 4, .type = QuantType::float_, .strategy = Strategy::tensor_group,
                               .group_size = 16, .dynamic = Dynamic::local, .scale_dtype = "torch.float8_e4m3fn",
                               .zp_dtype = "torch.float8_e4m3fn", .observer = "static_minmax"};
constexpr ArgsRow mx_group32(int64_t bits, Dynamic dynamic) {
  return {.num_bits = bits, .type = QuantType::float_, .strategy = Strategy::group, .group_size = 32,
          .dynamic = dynamic, .scale_dtype = "torch.uint8", .zp_dtype = "torch.uint8"};
}

const std::array<PresetRow, 30> kPresets{{
    {"UNQUANTIZED", std::nullopt, std::nullopt},
    {"W4A16_ASYM", int_group128(4, false), std::nullopt},
    {"W8A8",
     ArgsRow{.num_bits = 8, .type = QuantType::int_, .strategy = Strategy::channel},
     int_token_dynamic(8)},
    {"INT8",
     ArgsRow{.num_bits = 8, .type = QuantType::int_, .strategy = Strategy::channel},
     int_token_dynamic(8)},
    {"W4AFP8", int_group128(4), kFp8TokenDynamic},
    {"FP8",
     ArgsRow{.num_bits = 8, .type = QuantType::float_, .strategy = Strategy::tensor},
     ArgsRow{.num_bits = 8, .type = QuantType::float_, .strategy = Strategy::tensor, .observer = "static_minmax"}},
    {"FP8_DYNAMIC", ArgsRow{.num_bits = 8, .type = QuantType::float_, .strategy = Strategy::channel},
     kFp8TokenDynamic},
    {"FP8_BLOCK",
     ArgsRow{.num_bits = 8, .type = QuantType::float_, .strategy = Strategy::block, .block_structure = {128, 128}},
     ArgsRow{.num_bits = 8, .type = QuantType::float_, .strategy = Strategy::group, .group_size = 128,
             .dynamic = Dynamic::on}},
    {"NVFP4A16", kNvfp4Weights, std::nullopt},
    {"NVFP4", kNvfp4Weights, kNvfp4Inputs},
    {"MXFP4A16", mx_group32(4, Dynamic::off), std::nullopt},
    {"MXFP4", mx_group32(4, Dynamic::off), mx_group32(4, Dynamic::on)},
    {"MXFP8A16", mx_group32(8, Dynamic::off), std::nullopt},
    {"MXFP8", mx_group32(8, Dynamic::off), mx_group32(8, Dynamic::on)},
    {"W2A4", int_group128(2), int_token_dynamic(4)},
    {"W2A8", int_group128(2), int_token_dynamic(8)},
    {"W2A16", int_group128(2), std::nullopt},
    {"W3A4", int_group128(3), int_token_dynamic(4)},
    {"W3A8", int_group128(3), int_token_dynamic(8)},
    {"W3A16", int_group128(3), std::nullopt},
    {"W4A4", int_group128(4), int_token_dynamic(4)},
    {"W4A8", int_group128(4), int_token_dynamic(8)},
    {"W4A16", int_group128(4), std::nullopt},
    {"W5A8", int_group128(5), int_token_dynamic(8)},
    {"W5A16", int_group128(5), std::nullopt},
    {"W6A8", int_group128(6), int_token_dynamic(8)},
    {"W6A16", int_group128(6), std::nullopt},
    {"W7A8", int_group128(7), int_token_dynamic(8)},
    {"W7A16", int_group128(7), std::nullopt},
    {"W8A16", int_group128(8), std::nullopt},
}};

std::optional<QuantArgs> to_args(const std::optional<ArgsRow>& row) {
  if (!row) return std::nullopt;
  QuantArgs args;
  args.num_bits = row->num_bits;
  args.type = row->type;
  args.symmetric = row->symmetric;
  args.strategy = row->strategy;
  args.dynamic = row->dynamic;
  if (row->group_size != 0) args.group_size = row->group_size;
  if (row->block_structure[0] != 0) args.block_structure = row->block_structure;
  if (!row->scale_dtype.empty()) args.scale_dtype = std::string(row->scale_dtype);
  if (!row->zp_dtype.empty()) args.zp_dtype = std::string(row->zp_dtype);
  if (!row->observer.empty()) args.observer = std::string(row->observer);
  [[maybe_unused]] const Status status = finalize_quant_args(args);
  assert(status && "a preset row breaks CT's rules");
  return args;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

std::optional<PresetScheme> find_preset(std::string_view name) {
  for (const PresetRow& row : kPresets) {
    if (equal_ignoring_case(row.name, name)) {
      return PresetScheme{row.name, to_args(row.weights), to_args(row.input_activations)};
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> preset_names() {
  std::vector<std::string_view> names;
  for (const PresetRow& row : kPresets) names.push_back(row.name);
  return names;
}

}  // namespace llmc::recipe
