// tests/unit/plugins_gptq/plugin_test.cpp - gptq.so as built (dlopen), through the C ABI against the SDK
// tests' fake host, with the quantization services (quant_weight, quant_fake_quantize)
// served by core/quant as the real host serves them: recipe keys, Hessians from calibrate, weights written
// equal (exactly) to the reference's quantize_weight output cast to the weight's dtype, the Cholesky fallback,
// and the errors that name a module.
#include <ATen/ATen.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <llmc/plugin.h>
#include <llmc/torch.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "plugins_gptq/gptq_cases.h"
#include "quant/column_quantize.h"
#include "quant/observer.h"
#include "recipe/quant_args.h"
#include "sdk/fake_host.h"

namespace {

namespace testing = llmc::gptq::testing;
using llmc::torch_bridge::as_tensor;

// The fake host's quantization state: each module's weight args, and the qparams recorded in compress.
std::map<std::string, llmc::recipe::QuantArgs> weight_args;
std::map<std::string, llmc::quant::QParams> recorded;

fake::Tensor to_fake(const at::Tensor& tensor) {
  const at::Tensor compact = tensor.contiguous();
  fake::Tensor t;
  t.dtype = llmc::torch_bridge::dl_dtype(compact.scalar_type());
  t.shape.assign(compact.sizes().begin(), compact.sizes().end());
  t.bytes.resize(compact.nbytes());
  std::memcpy(t.bytes.data(), compact.data_ptr(), compact.nbytes());
  return t;
}

at::Tensor from_fake(const fake::Tensor& t) {
  at::Tensor tensor = at::empty(t.shape, llmc::torch_bridge::scalar_type(t.dtype));
  std::memcpy(tensor.data_ptr(), t.bytes.data(), t.bytes.size());
  return tensor;
}

llmc_status* record(llmc_layer* layer, const char* module) {
  const auto args = weight_args.find(module);
  if (args == weight_args.end()) return fake::status(LLMC_ERROR_UNSUPPORTED, std::string("no scheme for ") + module);
  const at::Tensor weight = from_fake(layer->tensors.at(std::string(module) + ".weight"));
  auto qparams = llmc::quant::compute_weight_qparams(weight, args->second);
  if (!qparams) return fake::status(LLMC_ERROR_INTERNAL, qparams.error().message);
  recorded[module] = *qparams;
  return nullptr;
}

llmc_host_api make_api() {
  llmc_host_api api = fake::make_api();
  api.quant_weight = [](llmc_layer* layer, const char* module, const char*) { return record(layer, module); };
  api.quant_fake_quantize = [](llmc_layer*, const char* module, const llmc_dl_tensor* values,
                               const llmc_dl_tensor* columns, llmc_dl_tensor* out) -> llmc_status* {
    const auto qparams = recorded.find(module);
    if (qparams == recorded.end()) return fake::status(LLMC_ERROR_INVALID_ARGUMENT, "no qparams recorded");
    auto result = llmc::quant::fake_quantize_columns(as_tensor(*values), as_tensor(*columns), qparams->second,
                                                     weight_args.at(module));
    if (!result) return fake::status(LLMC_ERROR_INTERNAL, result.error().message);
    as_tensor(*out).copy_(*result);
    return nullptr;
  };
  return api;
}

const std::string kQ = "model.layers.0.self_attn.q_proj", kK = "model.layers.0.self_attn.k_proj",
                  kV = "model.layers.0.self_attn.v_proj";

class GptqPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    library_ = dlopen(LLMC_GPTQ_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(library_, nullptr) << dlerror();
    auto entry = reinterpret_cast<llmc_plugin_entry_fn>(dlsym(library_, LLMC_PLUGIN_ENTRY_SYMBOL));
    ASSERT_NE(entry, nullptr);
    ASSERT_EQ(entry(&api, &descriptor), LLMC_OK);
    fake::live_statuses = 0;
    weight_args.clear();
    recorded.clear();
  }
  void TearDown() override {
    if (self != nullptr) descriptor->destroy(self);
    EXPECT_EQ(fake::live_statuses, 0) << "a status leaked";
  }

  std::pair<std::int32_t, std::string> create(std::map<std::string, fake::OptionValue> changes = {}) {
    ctx.options = {{"block_size", std::int64_t{64}},
                   {"dampening_frac", 0.01},
                   {"actorder", std::string("static")},
                   {"weight_observer", std::string("")}};
    for (auto& [key, value] : changes) ctx.options[key] = value;
    return fake::take(api, descriptor->create(&api, &ctx, &self));
  }

  // Modules with the reference case's scheme (nullptr: a scheme without weights), weights `weight`.
  void add_modules(const std::vector<std::string>& names, const nlohmann::json* args, const at::Tensor& weight) {
    for (const std::string& name : names) {
      nlohmann::json scheme = {{"targets", {"Linear"}}, {"weights", args ? *args : nlohmann::json()},
                               {"input_activations", nullptr}, {"output_activations", nullptr}};
      schemes.push_back(scheme.dump());
      module_names.push_back(name);
      if (args) weight_args[name] = *llmc::recipe::quant_args_from_json(*args);
      layer.tensors[name + ".weight"] = to_fake(weight);
    }
  }

  llmc_module_list module_list() {
    infos.clear();
    for (std::size_t i = 0; i < module_names.size(); ++i) {
      infos.push_back({sizeof(llmc_module_info), module_names[i].c_str(), LLMC_MODULE_LINEAR, 0, 0, 0,
                       schemes[i].c_str()});
    }
    return {sizeof(llmc_module_list), infos.size(), infos.data()};
  }

  // One calibration batch per input: every module in `readers` reads `inputs[b]` (one view: shared memory).
  std::pair<std::int32_t, std::string> calibrate(const std::vector<at::Tensor>& inputs,
                                                 const std::vector<std::string>& readers) {
    for (std::size_t b = 0; b < inputs.size(); ++b) {
      fake::Tensor input = to_fake(inputs[b]);
      const llmc_dl_tensor view{input.bytes.data(), {LLMC_DL_CPU, 0}, 2, input.dtype, input.shape.data(), nullptr, 0};
      std::vector<llmc_module_activation> items;
      for (const std::string& name : readers) items.push_back({sizeof(llmc_module_activation), name.c_str(), &view, nullptr});
      const llmc_calibration_batch batch{sizeof(llmc_calibration_batch), static_cast<std::int64_t>(b), items.size(),
                                         items.data(), 1};
      auto status = fake::take(api, descriptor->calibrate(self, &layer, &batch));
      if (status.first != LLMC_OK) return status;
    }
    return {LLMC_OK, ""};
  }

  std::pair<std::int32_t, std::string> initialize() {
    const llmc_module_list list = module_list();
    return fake::take(api, descriptor->initialize(self, &list));
  }
  std::pair<std::int32_t, std::string> compress() {
    const llmc_module_list list = module_list();
    return fake::take(api, descriptor->compress(self, &layer, &list));
  }

  std::vector<at::Tensor> main_batches() const {
    std::vector<at::Tensor> batches;
    for (int b = 0; b < 4; ++b) batches.push_back(testing::case_tensor("h.main.x" + std::to_string(b)));
    return batches;
  }

  bool logged(std::int32_t level, const std::string& text) const {
    for (const auto& [l, message] : ctx.logs) {
      if (l == level && message.find(text) != std::string::npos) return true;
    }
    return false;
  }

  void* library_ = nullptr;
  llmc_host_api api = make_api();
  llmc_host_ctx ctx;
  llmc_layer layer;
  const llmc_plugin_descriptor* descriptor = nullptr;
  void* self = nullptr;
  std::vector<std::string> module_names, schemes;
  std::vector<llmc_module_info> infos;
};

TEST_F(GptqPluginTest, Descriptor) {
  EXPECT_STREQ(descriptor->name, "gptq");
  EXPECT_EQ(descriptor->capabilities, LLMC_CAP_QUANTIZES | LLMC_CAP_EDITS_WEIGHTS);
  EXPECT_NE(descriptor->torch_version, nullptr);
  EXPECT_NE(descriptor->calibrate, nullptr);
  std::vector<std::string> keys, defaults;
  for (std::size_t i = 0; i < descriptor->option_count; ++i) {
    keys.emplace_back(descriptor->options[i].key);
    defaults.emplace_back(descriptor->options[i].default_value);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"block_size", "dampening_frac", "actorder", "weight_observer"}));
  EXPECT_EQ(defaults, (std::vector<std::string>{"128", "0.01", "\"static\"", "\"\""}));
}

TEST_F(GptqPluginTest, RejectsBadKeys) {
  const std::vector<std::pair<std::pair<std::string, fake::OptionValue>, std::string>> bad = {
      {{"block_size", std::int64_t{0}}, "block_size: must be positive"},
      {{"dampening_frac", -0.5}, "dampening_frac: must be >= 0"},
      {{"actorder", std::string("columns")}, "actorder: expected \"static\", \"weight\" or \"none\""},
      {{"actorder", std::string("group")}, "actorder: actorder \"group\" was removed by compressed-tensors 0.19"},
      {{"weight_observer", std::string("max")}, "weight_observer: expected memoryless_minmax"},
  };
  for (const auto& [option, message] : bad) {
    const auto [code, text] = create({{option.first, option.second}});
    EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT) << option.first;
    EXPECT_NE(text.find(message), std::string::npos) << text;
    EXPECT_EQ(self, nullptr);
  }
}

// q/k/v read one input (one Hessian); q and k quantize as the reference's quantize_weight did on the same
// weight and Hessian, v's scheme has no weights and stays as it was.
TEST_F(GptqPluginTest, QuantizesAsTheReference) {
  for (const std::string actorder : {"static", "none"}) {
    SCOPED_TRACE(actorder);
    const nlohmann::json& c = testing::gptq_case("int4_g32_" + actorder);
    const at::Tensor weight = testing::case_tensor("w.bf16");
    module_names.clear();
    schemes.clear();
    layer.tensors.clear();
    ctx.logs.clear();
    ctx.weight_args.clear();
    add_modules({kQ, kK}, &c["args"], weight);
    add_modules({kV}, nullptr, weight);
    ASSERT_EQ(create({{"actorder", actorder}}).first, LLMC_OK);
    ASSERT_EQ(initialize(), (std::pair<std::int32_t, std::string>{LLMC_OK, ""}));
    // the config records the resolved actorder once for the group, as the reference's resolve_quantization_config
    using WeightArg = std::tuple<std::int32_t, std::string, std::string>;
    EXPECT_EQ(ctx.weight_args, std::vector<WeightArg>{WeightArg(0, "actorder", actorder == "none" ? "null" : "\"" + actorder + "\"")});
    ASSERT_EQ(calibrate(main_batches(), {kQ, kK, kV}).first, LLMC_OK);
    ASSERT_EQ(compress(), (std::pair<std::int32_t, std::string>{LLMC_OK, ""}));
    const at::Tensor expected = testing::case_tensor(c["name"].get<std::string>() + ".quantized").to(at::kBFloat16);
    EXPECT_EQ(testing::difference(from_fake(layer.tensors[kQ + ".weight"]), expected), "");
    EXPECT_EQ(testing::difference(from_fake(layer.tensors[kK + ".weight"]), expected), "");
    EXPECT_TRUE(from_fake(layer.tensors[kV + ".weight"]).equal(weight));
    ASSERT_EQ(fake::take(api, descriptor->finalize(self)).first, LLMC_OK);
    EXPECT_TRUE(logged(LLMC_LOG_INFO, "model.layers.0: GPTQ on 2 modules")) << actorder;
    EXPECT_TRUE(logged(LLMC_LOG_INFO, "GPTQ quantized 2 modules, mean loss")) << actorder;
    EXPECT_TRUE(logged(LLMC_LOG_INFO, "Cholesky fallbacks: 0")) << actorder;
    descriptor->destroy(self);
    self = nullptr;
  }
}

// weight_observer rewrites the scheme of each group once, as the reference's _apply_observer_overrides: the
// config records it and the host gathers the inputs' importance that imatrix_mse weighs by.
TEST_F(GptqPluginTest, WeightObserverRewritesTheSchemes) {
  add_modules({kQ, kK}, &testing::gptq_case("int4_g32_static")["args"], testing::case_tensor("w.bf16"));
  ASSERT_EQ(create({{"weight_observer", std::string("imatrix_mse")}}).first, LLMC_OK);
  ASSERT_EQ(initialize(), (std::pair<std::int32_t, std::string>{LLMC_OK, ""}));
  using WeightArg = std::tuple<std::int32_t, std::string, std::string>;
  EXPECT_EQ(ctx.weight_args, (std::vector<WeightArg>{WeightArg(0, "actorder", "\"static\""),
                                                      WeightArg(0, "observer", "\"imatrix_mse\"")}));
}

TEST_F(GptqPluginTest, NvFp4AndFp8BlockAsTheReference) {
  for (const std::string name : {"nvfp4", "fp8_block"}) {
    SCOPED_TRACE(name);
    const nlohmann::json& c = testing::gptq_case(name);
    module_names.clear();
    schemes.clear();
    add_modules({kQ}, &c["args"], testing::case_tensor("w.bf16"));
    ASSERT_EQ(create({{"actorder", std::string("weight")}}).first, LLMC_OK);
    ASSERT_EQ(initialize().first, LLMC_OK);
    ASSERT_EQ(calibrate(main_batches(), {kQ}).first, LLMC_OK);
    ASSERT_EQ(compress(), (std::pair<std::int32_t, std::string>{LLMC_OK, ""}));
    const at::Tensor expected = testing::case_tensor(name + ".quantized").to(at::kBFloat16);
    EXPECT_EQ(testing::difference(from_fake(layer.tensors[kQ + ".weight"]), expected), "");
    descriptor->destroy(self);
    self = nullptr;
  }
}

TEST_F(GptqPluginTest, FallsBackToRoundingAndSaysWhich) {
  const nlohmann::json& c = testing::gptq_case("int4_g32_none");
  add_modules({kQ}, &c["args"], testing::case_tensor("w.bf16"));
  ASSERT_EQ(create({{"dampening_frac", 0.0}, {"actorder", std::string("none")}}).first, LLMC_OK);
  ASSERT_EQ(initialize().first, LLMC_OK);
  at::Tensor rank_one = at::ones({4, 160}, at::kBFloat16);  // H = 2 * ones: singular, not dampened
  ASSERT_EQ(calibrate({rank_one}, {kQ}).first, LLMC_OK);
  ASSERT_EQ(compress().first, LLMC_OK);
  EXPECT_TRUE(logged(LLMC_LOG_WARNING, kQ + ": the Hessian is not positive definite"));
  ASSERT_EQ(fake::take(api, descriptor->finalize(self)).first, LLMC_OK);
  EXPECT_TRUE(logged(LLMC_LOG_INFO, "Cholesky fallbacks: 1"));
  EXPECT_TRUE(logged(LLMC_LOG_WARNING, "1 of 1 modules was not positive definite"));
  // With the identity, GPTQ is round to nearest: the host's own fake-quantization of the weight.
  const at::Tensor weight = testing::case_tensor("w.bf16");
  auto rtn = llmc::quant::fake_quantize_columns(weight.to(at::kFloat), at::arange(160, at::kLong), recorded.at(kQ),
                                                weight_args.at(kQ));
  ASSERT_TRUE(rtn);
  EXPECT_EQ(testing::difference(from_fake(layer.tensors[kQ + ".weight"]), rtn->to(at::kBFloat16)), "");
}

TEST_F(GptqPluginTest, AModuleWithoutCalibrationDataIsAnError) {
  const nlohmann::json& c = testing::gptq_case("int8_channel");
  add_modules({kQ, kK}, &c["args"], testing::case_tensor("w.bf16"));
  ASSERT_EQ(create().first, LLMC_OK);
  ASSERT_EQ(initialize().first, LLMC_OK);
  ASSERT_EQ(calibrate(main_batches(), {kQ}).first, LLMC_OK);
  const auto [code, message] = compress();
  EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(message.find(kK + ": no calibration data reached this module"), std::string::npos) << message;
}

TEST_F(GptqPluginTest, ActorderConflictingWithTheSchemeIsAnError) {
  nlohmann::json args = testing::gptq_case("int4_g32_weight")["args"];
  args["actorder"] = "weight";
  add_modules({kQ}, &args, testing::case_tensor("w.bf16"));
  ASSERT_EQ(create({{"actorder", std::string("none")}}).first, LLMC_OK);
  const auto [code, message] = initialize();
  EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("actorder: actorder = \"none\" conflicts with the scheme's weights.actorder = \"weight\""),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(kQ), std::string::npos) << message;
}

TEST_F(GptqPluginTest, NothingToQuantizeIsAnError) {
  add_modules({kQ}, nullptr, testing::case_tensor("w.bf16"));
  ASSERT_EQ(create().first, LLMC_OK);
  const auto [code, message] = initialize();
  EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("none of the modifier's 1 modules"), std::string::npos) << message;
}

}  // namespace
