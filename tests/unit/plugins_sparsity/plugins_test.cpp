// tests/unit/plugins_sparsity/plugins_test.cpp - sparsegpt.so and wanda.so as built (dlopen), through the C
// ABI against the SDK tests' fake host: recipe key checks, one statistic for the modules that read the same
// input, and pruned weights equal to the reference's on make_reference_cases.py's inputs.
#include <llmc/plugin.h>

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "plugins_sparsity/reference_cases.h"
#include "sdk/fake_host.h"

namespace {

using llmc::sparsity::testing::reference_cases;
using llmc::sparsity::testing::ReferenceCase;

fake::Tensor to_fake(const at::Tensor& tensor) {
  const at::Tensor compact = tensor.contiguous();
  fake::Tensor t;
  t.dtype = compact.scalar_type() == at::kBFloat16 ? llmc_dl_dtype{LLMC_DL_BFLOAT, 16, 1} : llmc_dl_dtype{LLMC_DL_FLOAT, 32, 1};
  t.shape.assign(compact.sizes().begin(), compact.sizes().end());
  t.bytes.resize(compact.nbytes());
  std::memcpy(t.bytes.data(), compact.data_ptr(), compact.nbytes());
  return t;
}

at::Tensor from_fake(const fake::Tensor& t) {
  const auto type = t.dtype.code == LLMC_DL_BFLOAT ? at::kBFloat16 : at::kFloat;
  at::Tensor tensor = at::empty(t.shape, type);
  std::memcpy(tensor.data_ptr(), t.bytes.data(), t.bytes.size());
  return tensor;
}

ReferenceCase find_case(const std::string& algorithm, const std::string& name) {
  for (const ReferenceCase& c : reference_cases(algorithm)) {
    if (c.name == algorithm + ":" + name) return c;
  }
  ADD_FAILURE() << "no reference case " << name;
  return {};
}

class PluginTest : public ::testing::Test {
 protected:
  void load(const char* path) {
    library_ = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(library_, nullptr) << dlerror();
    auto entry = reinterpret_cast<llmc_plugin_entry_fn>(dlsym(library_, LLMC_PLUGIN_ENTRY_SYMBOL));
    ASSERT_NE(entry, nullptr);
    ASSERT_EQ(entry(&api, &descriptor), LLMC_OK);
    ctx.budget_bytes = std::size_t{64} << 20;
    fake::live_statuses = 0;
  }
  void TearDown() override {
    if (self != nullptr) descriptor->destroy(self);
    EXPECT_EQ(fake::live_statuses, 0) << "a status leaked";
    EXPECT_EQ(ctx.live_tensors, 0) << "a tensor leaked";
  }

  // Creates the instance with `options`; the status of create, as code and message ({0, ""} on success).
  std::pair<std::int32_t, std::string> create(std::map<std::string, fake::OptionValue> options) {
    ctx.options = std::move(options);
    return fake::take(api, descriptor->create(&api, &ctx, &self));
  }

  // Runs initialize, the case's batches (every module of `modules` reading the same input tensor) and
  // compress on `modules` of layer `layer.index`, whose weights are the case's.
  std::pair<std::int32_t, std::string> run(const ReferenceCase& c, const fake::Modules& modules) {
    for (const std::string& name : modules.names) layer.tensors[name + ".weight"] = to_fake(c.weight);
    if (auto status = fake::take(api, descriptor->initialize(self, &modules.list)); status.first != LLMC_OK) return status;
    for (std::size_t b = 0; b < c.batches.size(); ++b) {
      fake::Tensor input = to_fake(c.batches[b]);
      const llmc_dl_tensor view{input.bytes.data(), {LLMC_DL_CPU, 0}, 2, input.dtype, input.shape.data(), nullptr, 0};
      std::vector<llmc_module_activation> items;
      for (const std::string& name : modules.names) items.push_back({sizeof(llmc_module_activation), name.c_str(), &view, nullptr});
      const llmc_calibration_batch batch{sizeof(llmc_calibration_batch), static_cast<std::int64_t>(b), items.size(),
                                         items.data(), c.samples[b]};
      if (auto status = fake::take(api, descriptor->calibrate(self, &layer, &batch)); status.first != LLMC_OK) return status;
      statistics_held = ctx.live_tensors;
    }
    return fake::take(api, descriptor->compress(self, &layer, &modules.list));
  }

  void expect_reference_weights(const ReferenceCase& c, const fake::Modules& modules) {
    for (const std::string& name : modules.names) {
      EXPECT_TRUE(from_fake(layer.tensors[name + ".weight"]).equal(c.pruned)) << name << " in " << c.name;
    }
  }

  bool logged(std::int32_t level, const std::string& text) const {
    for (const auto& [l, message] : ctx.logs) {
      if (l == level && message.find(text) != std::string::npos) return true;
    }
    return false;
  }

  void* library_ = nullptr;
  llmc_host_api api = fake::make_api();
  llmc_host_ctx ctx;
  llmc_layer layer;
  const llmc_plugin_descriptor* descriptor = nullptr;
  void* self = nullptr;
  int statistics_held = 0;  // host tensors the plugin held after the last batch
};

std::map<std::string, fake::OptionValue> sparsegpt_options(const ReferenceCase& c) {
  return {{"sparsity", c.options.at("sparsity").get<double>()},
          {"sparsity_per_layer", std::vector<double>{}},
          {"mask_structure", c.options.at("mask_structure").get<std::string>()},
          {"block_size", c.options.at("block_size").get<std::int64_t>()},
          {"dampening_frac", c.options.at("dampening_frac").get<double>()},
          {"preserve_sparsity_mask", c.options.at("preserve_sparsity_mask").get<bool>()}};
}

std::map<std::string, fake::OptionValue> wanda_options(double sparsity, const std::string& mask) {
  return {{"sparsity", sparsity}, {"sparsity_per_layer", std::vector<double>{}}, {"mask_structure", mask}};
}

const fake::Modules& qkv() {
  static const fake::Modules modules({{"model.layers.0.self_attn.q_proj", LLMC_MODULE_LINEAR},
                                      {"model.layers.0.self_attn.k_proj", LLMC_MODULE_LINEAR},
                                      {"model.layers.0.self_attn.v_proj", LLMC_MODULE_LINEAR}});
  return modules;
}

TEST_F(PluginTest, SparseGptDescriptor) {
  load(LLMC_SPARSEGPT_PLUGIN);
  EXPECT_STREQ(descriptor->name, "sparsegpt");
  EXPECT_EQ(descriptor->capabilities, LLMC_CAP_EDITS_WEIGHTS);
  EXPECT_NE(descriptor->torch_version, nullptr);
  EXPECT_NE(descriptor->calibrate, nullptr);
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < descriptor->option_count; ++i) keys.emplace_back(descriptor->options[i].key);
  EXPECT_EQ(keys, (std::vector<std::string>{"sparsity", "sparsity_per_layer", "mask_structure", "block_size",
                                            "dampening_frac", "preserve_sparsity_mask"}));
  EXPECT_EQ(descriptor->options[0].default_value, nullptr);  // sparsity is required
}

TEST_F(PluginTest, SparseGptSharesOneHessianAndPrunesAsReference) {
  load(LLMC_SPARSEGPT_PLUGIN);
  for (const char* name : {"sparsegpt_unstructured", "sparsegpt_2of4", "sparsegpt_bf16", "sparsegpt_preserve"}) {
    const ReferenceCase c = find_case("sparsegpt", name);
    ctx.logs.clear();
    ASSERT_EQ(create(sparsegpt_options(c)).first, LLMC_OK);
    ASSERT_EQ(run(c, qkv()), (std::pair<std::int32_t, std::string>{LLMC_OK, ""})) << name;
    EXPECT_EQ(statistics_held, 1) << "one Hessian for q/k/v";
    EXPECT_EQ(ctx.live_tensors, 0) << "Hessians released after compress";
    expect_reference_weights(c, qkv());
    ASSERT_EQ(fake::take(api, descriptor->finalize(self)).first, LLMC_OK);
    EXPECT_TRUE(logged(LLMC_LOG_DEBUG, "model.layers.0.self_attn.k_proj: sparsity 50.")) << name;
    EXPECT_TRUE(logged(LLMC_LOG_INFO, "pruned 3 Linear modules: sparsity 50.")) << name;
    descriptor->destroy(self);
    self = nullptr;
  }
}

TEST_F(PluginTest, SparseGptRejectsBadKeys) {
  load(LLMC_SPARSEGPT_PLUGIN);
  const ReferenceCase c = find_case("sparsegpt", "sparsegpt_unstructured");
  const std::vector<std::pair<std::pair<std::string, fake::OptionValue>, std::string>> bad = {
      {{"sparsity", 1.0}, "sparsity: must be in [0, 1), got 1"},
      {{"sparsity_per_layer", std::vector<double>{0.5, -0.1}}, "sparsity_per_layer: must be in [0, 1), got -0.1"},
      {{"mask_structure", std::string("4:2")}, "mask_structure: expected \"0:0\" (unstructured) or \"N:M\""},
      {{"mask_structure", std::string("2:4")}, ""},
      {{"block_size", std::int64_t{0}}, "block_size: must be positive"},
      {{"dampening_frac", -1.0}, "dampening_frac: must be >= 0"},
  };
  for (const auto& [option, message] : bad) {
    auto options = sparsegpt_options(c);
    options[option.first] = option.second;
    if (option.first == "mask_structure" && message.empty()) options["block_size"] = std::int64_t{126};
    const auto [code, text] = create(options);
    EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT) << option.first;
    EXPECT_NE(text.find(message.empty() ? "block_size: must be a multiple of M = 4" : message), std::string::npos) << text;
    EXPECT_EQ(self, nullptr);
  }
}

TEST_F(PluginTest, SparseGptWarnsNamingModulesWithoutPositiveDefiniteHessian) {
  load(LLMC_SPARSEGPT_PLUGIN);
  ReferenceCase c = find_case("sparsegpt", "sparsegpt_unstructured");
  auto options = sparsegpt_options(c);
  options["dampening_frac"] = 0.0;
  ASSERT_EQ(create(options).first, LLMC_OK);
  c.batches = {at::zeros({4, c.weight.size(1)})};  // rank 1 plus a dead column: no Cholesky without dampening
  c.batches[0].index_put_({at::indexing::Slice(), at::indexing::Slice(1, at::indexing::None)}, 1.0);
  c.samples = {1};
  ASSERT_EQ(run(c, qkv()).first, LLMC_OK);
  EXPECT_TRUE(logged(LLMC_LOG_WARNING, "model.layers.0.self_attn.q_proj, model.layers.0.self_attn.k_proj, "
                                       "model.layers.0.self_attn.v_proj: the Hessian is not positive definite"));
}

TEST_F(PluginTest, SparseGptPerLayerSparsityAndItsLength) {
  load(LLMC_SPARSEGPT_PLUGIN);
  const ReferenceCase c = find_case("sparsegpt", "sparsegpt_block32_sparsity07");
  auto options = sparsegpt_options(c);
  options["sparsity"] = 0.2;
  options["sparsity_per_layer"] = std::vector<double>{0.5, 0.7};  // layer 1: the case's 0.7
  ASSERT_EQ(create(options).first, LLMC_OK);
  layer.index = 1;
  const fake::Modules modules({{"model.layers.1.mlp.down_proj", LLMC_MODULE_LINEAR}}, 1);
  ASSERT_EQ(run(c, modules).first, LLMC_OK);
  expect_reference_weights(c, modules);

  descriptor->destroy(self);
  self = nullptr;
  options["sparsity_per_layer"] = std::vector<double>{0.5};
  ASSERT_EQ(create(options).first, LLMC_OK);
  const auto [code, message] = fake::take(api, descriptor->initialize(self, &modules.list));
  EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("has 1 values, but model.layers.1.mlp.down_proj is in decoder layer 1"), std::string::npos)
      << message;
}

TEST_F(PluginTest, WandaSharesOneStatisticAndPrunesAsReference) {
  load(LLMC_WANDA_PLUGIN);
  EXPECT_STREQ(descriptor->name, "wanda");
  EXPECT_EQ(descriptor->capabilities, LLMC_CAP_EDITS_WEIGHTS);
  const fake::Modules gate_up({{"model.layers.0.mlp.gate_proj", LLMC_MODULE_LINEAR},
                               {"model.layers.0.mlp.up_proj", LLMC_MODULE_LINEAR},
                               {"model.layers.0.post_attention_layernorm", LLMC_MODULE_NORM}});
  for (const char* name : {"wanda_unstructured", "wanda_2of4", "wanda_bf16", "wanda_ties"}) {
    const ReferenceCase c = find_case("wanda", name);
    ASSERT_EQ(create(wanda_options(c.options.at("sparsity").get<double>(),
                                   c.options.at("mask_structure").get<std::string>())).first, LLMC_OK);
    ASSERT_EQ(run(c, gate_up), (std::pair<std::int32_t, std::string>{LLMC_OK, ""})) << name;
    for (const char* linear : {"model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj"}) {
      EXPECT_TRUE(from_fake(layer.tensors[std::string(linear) + ".weight"]).equal(c.pruned)) << linear << " " << name;
    }
    EXPECT_TRUE(from_fake(layer.tensors["model.layers.0.post_attention_layernorm.weight"]).equal(c.weight))
        << "a norm is not pruned";
    ASSERT_EQ(fake::take(api, descriptor->finalize(self)).first, LLMC_OK);
    descriptor->destroy(self);
    self = nullptr;
  }
}

TEST_F(PluginTest, WandaRejectsBadKeysAndUnalignedColumns) {
  load(LLMC_WANDA_PLUGIN);
  EXPECT_NE(create(wanda_options(-0.5, "0:0")).second.find("sparsity: must be in [0, 1), got -0.5"), std::string::npos);
  EXPECT_NE(create(wanda_options(0.5, "2:x")).second.find("mask_structure: expected"), std::string::npos);
  ASSERT_EQ(create(wanda_options(0.5, "2:3")).first, LLMC_OK);
  ReferenceCase c = find_case("wanda", "wanda_unstructured");  // 320 columns, not a multiple of 3
  const fake::Modules modules({{"model.layers.0.mlp.down_proj", LLMC_MODULE_LINEAR}});
  const auto [code, message] = run(c, modules);
  EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(message, "model.layers.0.mlp.down_proj: in_features 320 is not a multiple of M = 3 (mask_structure)");
}

}  // namespace
