// The example plugin as built (magnitude_prune.so, loaded with dlopen) against the fake host: its
// descriptor, option checks, and the masks it computes on hand-worked examples.
#include <llmc/plugin.h>

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "sdk/fake_host.h"

namespace {

struct PruneCase {
  const char* name;
  double sparsity;
  const char* mask_structure;
  std::vector<float> weight;    // [2, 8]
  std::vector<float> expected;  // after pruning
};
void PrintTo(const PruneCase& c, std::ostream* os) { *os << c.name; }

class SdkMagnitudePrune : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    library = dlopen(LLMC_MAGNITUDE_PRUNE_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(library, nullptr) << dlerror();
  }
  static void TearDownTestSuite() { dlclose(library); }

  void SetUp() override {
    ASSERT_NE(library, nullptr);
    auto entry = reinterpret_cast<llmc_plugin_entry_fn>(dlsym(library, LLMC_PLUGIN_ENTRY_SYMBOL));
    ASSERT_NE(entry, nullptr) << dlerror();
    ASSERT_EQ(entry(&api, &descriptor), LLMC_OK);
    fake::live_statuses = 0;
  }
  void TearDown() override {
    EXPECT_EQ(fake::live_statuses, 0) << "a status leaked";
    EXPECT_EQ(ctx.live_tensors, 0) << "a tensor leaked";
  }

  // Creates an instance with these recipe values; returns the status of create.
  llmc_status* create(double sparsity, const std::string& mask_structure) {
    ctx.options = {{"sparsity", sparsity}, {"mask_structure", mask_structure}};
    return descriptor->create(&api, &ctx, &self);
  }

  // The code and message of `status`, which is released.
  std::pair<std::int32_t, std::string> take(llmc_status* status) {
    std::pair<std::int32_t, std::string> result{api.status_code(status), api.status_message(status)};
    api.status_release(status);
    return result;
  }

  static inline void* library = nullptr;
  llmc_host_api api = fake::make_api();
  llmc_host_ctx ctx;
  llmc_layer layer;
  const llmc_plugin_descriptor* descriptor = nullptr;
  void* self = nullptr;
};

constexpr const char* down_proj = "model.layers.0.mlp.down_proj";

}  // namespace

TEST_F(SdkMagnitudePrune, DescriptorIsDataFree) {
  EXPECT_EQ(descriptor->struct_size, sizeof(llmc_plugin_descriptor));
  EXPECT_EQ(descriptor->abi_major, LLMC_ABI_MAJOR);
  EXPECT_EQ(descriptor->abi_minor, LLMC_ABI_MINOR);
  EXPECT_STREQ(descriptor->name, "magnitude_prune");
  EXPECT_STREQ(descriptor->version, "1.0.0");
  EXPECT_EQ(descriptor->capabilities, LLMC_CAP_EDITS_WEIGHTS);
  EXPECT_EQ(descriptor->torch_version, nullptr);
  EXPECT_NE(descriptor->create, nullptr);
  EXPECT_NE(descriptor->compress, nullptr);
  EXPECT_NE(descriptor->finalize, nullptr);
  EXPECT_NE(descriptor->destroy, nullptr);
  EXPECT_EQ(descriptor->initialize, nullptr);
  EXPECT_EQ(descriptor->calibrate, nullptr);  // no forward pass for this plugin

  ASSERT_EQ(descriptor->option_count, 2u);
  EXPECT_STREQ(descriptor->options[0].key, "sparsity");
  EXPECT_EQ(descriptor->options[0].type, LLMC_OPTION_FLOAT);
  EXPECT_STREQ(descriptor->options[0].default_value, "0.5");
  EXPECT_STREQ(descriptor->options[1].key, "mask_structure");
  EXPECT_EQ(descriptor->options[1].type, LLMC_OPTION_STRING);
  EXPECT_STREQ(descriptor->options[1].default_value, "\"0:0\"");

  llmc_host_api old_major = api;
  old_major.abi_major = LLMC_ABI_MAJOR + 1;
  auto entry = reinterpret_cast<llmc_plugin_entry_fn>(dlsym(library, "llmc_magnitude_prune_plugin_entry"));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry(&old_major, &descriptor), LLMC_ERROR_ABI_MISMATCH);
}

class SdkMagnitudePruneMask : public SdkMagnitudePrune, public ::testing::WithParamInterface<PruneCase> {};

TEST_P(SdkMagnitudePruneMask, ZeroesTheExpectedWeights) {
  const PruneCase& c = GetParam();
  ASSERT_EQ(create(c.sparsity, c.mask_structure), nullptr);
  layer.tensors[std::string(down_proj) + ".weight"] = fake::f32_tensor({2, 8}, c.weight);
  const fake::Modules modules({{down_proj, LLMC_MODULE_LINEAR}});
  ASSERT_EQ(descriptor->compress(self, &layer, &modules.list), nullptr);
  EXPECT_EQ(fake::values(layer.tensors[std::string(down_proj) + ".weight"]), c.expected);
  descriptor->destroy(self);
}

// Row 0 has distinct magnitudes; row 1 has ties (|1| four times, |2| twice), where the lower column
// is pruned first.
INSTANTIATE_TEST_SUITE_P(
    HandWorked, SdkMagnitudePruneMask,
    ::testing::Values(
        // Unstructured, sparsity 0.5: int(8 * 0.5) = 4 per row. Row 0: |0.05| (5), |0.1| (0), |0.2| (3),
        // |0.3| (2). Row 1: |0.5| (5), then the |1| of columns 0, 1, 2 (not 6).
        PruneCase{"unstructured_half", 0.5, "0:0",
                  {0.1f, -0.9f, 0.3f, -0.2f, 0.8f, 0.05f, -0.6f, 0.4f, 1, -1, 1, 2, -2, 0.5f, 1, 3},
                  {0, -0.9f, 0, 0, 0.8f, 0, -0.6f, 0.4f, 0, 0, 0, 2, -2, 0, 1, 3}},
        // Unstructured, sparsity 0.3: int(8 * 0.3) = int(2.4) = 2 per row.
        PruneCase{"unstructured_floor", 0.3, "0:0",
                  {0.1f, -0.9f, 0.3f, -0.2f, 0.8f, 0.05f, -0.6f, 0.4f, 1, -1, 1, 2, -2, 0.5f, 1, 3},
                  {0, -0.9f, 0.3f, -0.2f, 0.8f, 0, -0.6f, 0.4f, 0, -1, 1, 2, -2, 0, 1, 3}},
        // Sparsity 0: nothing pruned.
        PruneCase{"unstructured_zero", 0.0, "0:0",
                  {0.1f, -0.9f, 0.3f, -0.2f, 0.8f, 0.05f, -0.6f, 0.4f, 1, -1, 1, 2, -2, 0.5f, 1, 3},
                  {0.1f, -0.9f, 0.3f, -0.2f, 0.8f, 0.05f, -0.6f, 0.4f, 1, -1, 1, 2, -2, 0.5f, 1, 3}},
        // 2:4 prunes 2 of every 4 (sparsity unused): [0.1 -0.9 0.3 -0.2] -> columns 0, 3;
        // [0.8 0.05 -0.6 0.4] -> 1, 3; [1 -1 1 2] -> 0, 1 (tie); [-2 0.5 1 3] -> 1, 2.
        PruneCase{"two_of_four", 0.9, "2:4",
                  {0.1f, -0.9f, 0.3f, -0.2f, 0.8f, 0.05f, -0.6f, 0.4f, 1, -1, 1, 2, -2, 0.5f, 1, 3},
                  {0, -0.9f, 0.3f, 0, 0.8f, 0, -0.6f, 0, 0, 0, 1, 2, -2, 0, 0, 3}},
        // 1:4 prunes the smallest of every 4.
        PruneCase{"one_of_four", 0.5, "1:4",
                  {0.1f, -0.9f, 0.3f, -0.2f, 0.8f, 0.05f, -0.6f, 0.4f, 1, -1, 1, 2, -2, 0.5f, 1, 3},
                  {0, -0.9f, 0.3f, -0.2f, 0.8f, 0, -0.6f, 0.4f, 0, -1, 1, 2, -2, 0, 1, 3}}),
    [](const ::testing::TestParamInfo<PruneCase>& info) { return std::string(info.param.name); });

TEST_F(SdkMagnitudePrune, PrunesBfloat16InPlaceAndKeepsTheRestBitExact) {
  ASSERT_EQ(create(0.5, "2:4"), nullptr);
  const std::vector<float> weight = {1.5f, -8, 3, -2.25f, 7, 0.5f, -6, 4.125f};
  layer.tensors["q.weight"] = fake::bf16_tensor({1, 8}, weight);
  const fake::Modules modules({{"q", LLMC_MODULE_LINEAR}});
  ASSERT_EQ(descriptor->compress(self, &layer, &modules.list), nullptr);
  const fake::Tensor& pruned = layer.tensors["q.weight"];
  EXPECT_EQ(pruned.dtype.code, LLMC_DL_BFLOAT);
  EXPECT_EQ(fake::values(pruned), (std::vector<float>{0, -8, 3, 0, 7, 0, -6, 0}));
  descriptor->destroy(self);
}

TEST_F(SdkMagnitudePrune, SkipsModulesThatAreNotLinear) {
  ASSERT_EQ(create(0.5, "0:0"), nullptr);
  layer.tensors["norm.weight"] = fake::f32_tensor({4}, {1, 2, 3, 4});
  layer.tensors["proj.weight"] = fake::f32_tensor({1, 4}, {1, 2, 3, 4});
  const fake::Modules modules({{"norm", LLMC_MODULE_NORM}, {"proj", LLMC_MODULE_LINEAR}});
  ASSERT_EQ(descriptor->compress(self, &layer, &modules.list), nullptr);
  EXPECT_EQ(fake::values(layer.tensors["norm.weight"]), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(fake::values(layer.tensors["proj.weight"]), (std::vector<float>{0, 0, 3, 4}));
  descriptor->destroy(self);
}

TEST_F(SdkMagnitudePrune, LogsLayerAndOverallSparsity) {
  ASSERT_EQ(create(0.5, "0:0"), nullptr);
  layer.name = "model.layers.0";
  layer.tensors["a.weight"] = fake::f32_tensor({1, 4}, {1, 2, 3, 4});
  layer.tensors["b.weight"] = fake::f32_tensor({1, 4}, {0, 0, 0, 4});  // already 75% zero
  const fake::Modules modules({{"a", LLMC_MODULE_LINEAR}, {"b", LLMC_MODULE_LINEAR}});
  ASSERT_EQ(descriptor->compress(self, &layer, &modules.list), nullptr);
  ASSERT_EQ(descriptor->finalize(self), nullptr);
  descriptor->destroy(self);
  EXPECT_EQ(ctx.logs, (std::vector<std::pair<std::int32_t, std::string>>{
                          {LLMC_LOG_DEBUG, "model.layers.0: 2 Linear modules, sparsity 62.50%"},
                          {LLMC_LOG_INFO, "pruned 2 Linear modules: sparsity 62.50% (5 of 8 weights are zero)"}}));
}

TEST_F(SdkMagnitudePrune, RejectsColumnsNotMultipleOfM) {
  ASSERT_EQ(create(0.5, "2:4"), nullptr);
  layer.tensors["p.weight"] = fake::f32_tensor({1, 6}, {1, 2, 3, 4, 5, 6});
  const fake::Modules modules({{"p", LLMC_MODULE_LINEAR}});
  const auto [code, message] = take(descriptor->compress(self, &layer, &modules.list));
  EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(message, "p: in_features 6 is not a multiple of M = 4 (mask_structure)");
  EXPECT_EQ(fake::values(layer.tensors["p.weight"]), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  descriptor->destroy(self);
}

TEST_F(SdkMagnitudePrune, MissingWeightIsNotFound) {
  ASSERT_EQ(create(0.5, "0:0"), nullptr);
  const fake::Modules modules({{"absent", LLMC_MODULE_LINEAR}});
  EXPECT_EQ(take(descriptor->compress(self, &layer, &modules.list)).first, LLMC_ERROR_NOT_FOUND);
  descriptor->destroy(self);
}

struct BadOption {
  const char* name;
  double sparsity;
  const char* mask_structure;
  const char* message;
};
void PrintTo(const BadOption& c, std::ostream* os) { *os << c.name; }

class SdkMagnitudePruneBadOption : public SdkMagnitudePrune, public ::testing::WithParamInterface<BadOption> {};

TEST_P(SdkMagnitudePruneBadOption, CreateFailsWithTheKeysLocation) {
  self = &ctx;
  const auto [code, message] = take(create(GetParam().sparsity, GetParam().mask_structure));
  EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(message, GetParam().message);
  EXPECT_EQ(self, &ctx);  // untouched
}

#define LLMC_MASK_ERROR(text)                                                                                   \
  "recipe.toml:3:1: mask_structure: expected \"0:0\" (unstructured) or \"N:M\" with 0 < N < M (N of every M " \
  "pruned, e.g. \"2:4\"), got \"" text "\""

INSTANTIATE_TEST_SUITE_P(
    All, SdkMagnitudePruneBadOption,
    ::testing::Values(BadOption{"sparsity_one", 1.0, "0:0", "recipe.toml:3:1: sparsity: must be in [0, 1), got 1"},
                      BadOption{"sparsity_negative", -0.25, "0:0",
                                "recipe.toml:3:1: sparsity: must be in [0, 1), got -0.25"},
                      BadOption{"mask_n_above_m", 0.5, "3:2", LLMC_MASK_ERROR("3:2")},
                      BadOption{"mask_n_equals_m", 0.5, "4:4", LLMC_MASK_ERROR("4:4")},
                      BadOption{"mask_zero_n", 0.5, "0:4", LLMC_MASK_ERROR("0:4")},
                      BadOption{"mask_no_colon", 0.5, "2", LLMC_MASK_ERROR("2")},
                      BadOption{"mask_words", 0.5, "unstructured", LLMC_MASK_ERROR("unstructured")},
                      BadOption{"mask_trailing", 0.5, "2:4:8", LLMC_MASK_ERROR("2:4:8")},
                      BadOption{"mask_empty", 0.5, "", LLMC_MASK_ERROR("")}),
    [](const ::testing::TestParamInfo<BadOption>& info) { return std::string(info.param.name); });
