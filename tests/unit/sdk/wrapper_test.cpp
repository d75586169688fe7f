// The C++ wrapper (llmc/plugin.hpp) against the fake host: callback detection, the lifecycle through
// the descriptor, exceptions turned into statuses, typed options, tensors and owned memory.
#include <llmc/plugin.hpp>

#include <gtest/gtest.h>

#include <iterator>
#include <memory>
#include <ranges>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sdk/fake_host.h"

namespace sdk = llmc::sdk;

namespace {

// Plugin classes with different sets of lifecycle members.
struct Nothing {
  explicit Nothing(sdk::Context&) {}
};

struct OnlyCompress {
  explicit OnlyCompress(sdk::Context&) {}
  void compress(sdk::Layer&, const sdk::ModuleList&) {}
};

// The calls Full received, in order.
std::vector<std::string> calls;

struct Full {
  explicit Full(sdk::Context&) { calls.push_back("create"); }
  ~Full() { calls.push_back("destroy"); }
  void initialize(const sdk::ModuleList& modules) {
    std::string line = "initialize";
    for (sdk::Module module : modules) line += " " + std::string(module.name());
    calls.push_back(line);
  }
  void calibrate(sdk::Layer& layer, const sdk::CalibrationBatch& batch) {
    std::string line = "calibrate " + std::to_string(layer.index()) + " batch " + std::to_string(batch.index());
    for (sdk::Activation activation : batch) {
      line += " " + std::string(activation.module()) + ":" + std::to_string(activation.input().numel()) +
              (activation.output() ? "+out" : "");
    }
    calls.push_back(line);
  }
  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    calls.push_back("compress " + std::string(layer.name()) + " " + std::to_string(modules.size()));
  }
  void finalize() { calls.push_back("finalize"); }
};

struct WithTorch {
  static constexpr const char* torch_version = "2.14.0";
  explicit WithTorch(sdk::Context&) {}
  void compress(sdk::Layer&, const sdk::ModuleList&) {}
};

// A member named like a callback with another signature: detected as the wrong signature (so
// make_descriptor's static_assert rejects it) rather than silently treated as absent.
struct WrongSignature {
  explicit WrongSignature(sdk::Context&) {}
  void compress(sdk::Layer&) {}
};
static_assert(sdk::HasCompress<OnlyCompress> && !sdk::HasCalibrate<OnlyCompress>);
static_assert(!sdk::HasCompress<WrongSignature> && sdk::detail::NamesCompress<WrongSignature>);
static_assert(!sdk::detail::NamesCompress<Nothing>);
static_assert(std::forward_iterator<sdk::ModuleList::iterator> && std::ranges::forward_range<sdk::CalibrationBatch>);

// Throws what option "throw" asks for, in create ("create_throw") or compress ("throw").
struct Thrower {
  explicit Thrower(sdk::Context& ctx) : ctx(ctx) {
    if (ctx.option<bool>("create_throw")) throw sdk::Error(LLMC_ERROR_UNSUPPORTED, "no such device");
  }
  void compress(sdk::Layer&, const sdk::ModuleList&) {
    const std::string what = ctx.option<std::string>("throw");
    if (what == "error") throw sdk::Error(LLMC_ERROR_NUMERICAL, "cholesky failed");
    if (what == "ok_error") throw sdk::Error(LLMC_OK, "an error with no code");
    if (what == "bad_alloc") throw std::bad_alloc();
    if (what == "runtime") throw std::runtime_error("boom");
    if (what == "int") throw 42;
  }
  sdk::Context& ctx;
};

constexpr llmc_option_spec full_options[] = {
    sdk::float_option("alpha", "0.5", "a float"),
    sdk::string_option("log_file", sdk::required, "a required string"),
};

class SdkWrapper : public ::testing::Test {
 protected:
  void SetUp() override {
    calls.clear();
    fake::live_statuses = 0;
  }
  void TearDown() override {
    EXPECT_EQ(fake::live_statuses, 0) << "a status leaked";
    EXPECT_EQ(ctx.live_tensors, 0) << "a tensor leaked";
  }

  std::pair<std::int32_t, std::string> take(llmc_status* status) { return fake::take(api, status); }

  llmc_host_api api = fake::make_api();
  llmc_host_ctx ctx;
  llmc_layer layer;
  sdk::Context context{&api, &ctx};
};

}  // namespace

LLMC_CPP_PLUGIN(Full, sdk_test_full, "0.3.0", "the wrapper's test plugin", LLMC_CAP_EDITS_WEIGHTS, full_options)

TEST_F(SdkWrapper, DescriptorHasCallbacksOnlyForTheMembersThatExist) {
  constexpr llmc_plugin_descriptor nothing = sdk::make_descriptor<Nothing>("nothing", "1.0.0", "", 0);
  EXPECT_NE(nothing.create, nullptr);
  EXPECT_NE(nothing.destroy, nullptr);
  EXPECT_EQ(nothing.initialize, nullptr);
  EXPECT_EQ(nothing.calibrate, nullptr);
  EXPECT_EQ(nothing.compress, nullptr);
  EXPECT_EQ(nothing.finalize, nullptr);
  EXPECT_EQ(nothing.options, nullptr);
  EXPECT_EQ(nothing.option_count, 0u);

  constexpr llmc_plugin_descriptor only = sdk::make_descriptor<OnlyCompress>("only", "1.0.0", "", 0);
  EXPECT_NE(only.compress, nullptr);
  EXPECT_EQ(only.calibrate, nullptr);
  EXPECT_EQ(only.initialize, nullptr);
  EXPECT_EQ(only.finalize, nullptr);
  EXPECT_EQ(only.torch_version, nullptr);

  const llmc_plugin_descriptor& full = llmc_cpp_sdk_test_full_descriptor;
  EXPECT_EQ(full.struct_size, sizeof(llmc_plugin_descriptor));
  EXPECT_EQ(full.abi_major, LLMC_ABI_MAJOR);
  EXPECT_EQ(full.abi_minor, LLMC_ABI_MINOR);
  EXPECT_STREQ(full.name, "sdk_test_full");
  EXPECT_STREQ(full.version, "0.3.0");
  EXPECT_EQ(full.capabilities, LLMC_CAP_EDITS_WEIGHTS);
  ASSERT_EQ(full.option_count, 2u);
  EXPECT_EQ(full.options, full_options);
  EXPECT_EQ(full.options[0].struct_size, sizeof(llmc_option_spec));
  EXPECT_EQ(full.options[0].type, LLMC_OPTION_FLOAT);
  EXPECT_STREQ(full.options[0].default_value, "0.5");
  EXPECT_EQ(full.options[1].default_value, nullptr);
  for (auto callback : {reinterpret_cast<const void*>(full.initialize), reinterpret_cast<const void*>(full.calibrate),
                        reinterpret_cast<const void*>(full.compress), reinterpret_cast<const void*>(full.finalize)}) {
    EXPECT_NE(callback, nullptr);
  }

  EXPECT_STREQ(sdk::make_descriptor<WithTorch>("t", "1", "", 0).torch_version, "2.14.0");
}

TEST_F(SdkWrapper, EntryPointNegotiatesTheAbiVersion) {
  const llmc_plugin_descriptor* descriptor = nullptr;
  EXPECT_EQ(llmc_sdk_test_full_plugin_entry(&api, &descriptor), LLMC_OK);
  EXPECT_EQ(descriptor, &llmc_cpp_sdk_test_full_descriptor);

  llmc_host_api next_major = api;
  next_major.abi_major = LLMC_ABI_MAJOR + 1;
  EXPECT_EQ(llmc_plugin_entry(&next_major, &descriptor), LLMC_ERROR_ABI_MISMATCH);

  llmc_host_api newer_minor = api;
  newer_minor.abi_minor = LLMC_ABI_MINOR + 1;
  EXPECT_EQ(llmc_plugin_entry(&newer_minor, &descriptor), LLMC_OK);
  EXPECT_EQ(llmc_plugin_entry(nullptr, &descriptor), LLMC_ERROR_INVALID_ARGUMENT);
}

TEST_F(SdkWrapper, LifecycleCallsReachTheMembers) {
  const llmc_plugin_descriptor& d = llmc_cpp_sdk_test_full_descriptor;
  void* self = nullptr;
  ASSERT_EQ(d.create(&api, &ctx, &self), nullptr);
  ASSERT_NE(self, nullptr);

  fake::Modules modules({{"model.layers.0.mlp.up_proj", LLMC_MODULE_LINEAR},
                         {"model.layers.0.mlp.down_proj", LLMC_MODULE_LINEAR}});
  EXPECT_EQ(d.initialize(self, &modules.list), nullptr);

  std::int64_t shape[] = {3, 4};
  std::vector<float> input(12);
  const llmc_dl_tensor tensor{input.data(), {LLMC_DL_CPU, 0}, 2, {LLMC_DL_FLOAT, 32, 1}, shape, nullptr, 0};
  const llmc_module_activation activations[] = {
      {sizeof(llmc_module_activation), "model.layers.0.mlp.up_proj", &tensor, nullptr},
      {sizeof(llmc_module_activation), "model.layers.0.mlp.down_proj", &tensor, &tensor}};
  const llmc_calibration_batch batch{sizeof(llmc_calibration_batch), 7, 2, activations};
  layer.index = 5;
  layer.name = "model.layers.5";
  EXPECT_EQ(d.calibrate(self, &layer, &batch), nullptr);
  EXPECT_EQ(d.compress(self, &layer, &modules.list), nullptr);
  EXPECT_EQ(d.finalize(self), nullptr);
  d.destroy(self);
  d.destroy(nullptr);

  EXPECT_EQ(calls, (std::vector<std::string>{
                       "create", "initialize model.layers.0.mlp.up_proj model.layers.0.mlp.down_proj",
                       "calibrate 5 batch 7 model.layers.0.mlp.up_proj:12 model.layers.0.mlp.down_proj:12+out",
                       "compress model.layers.5 2", "finalize", "destroy"}));
}

TEST_F(SdkWrapper, ModuleListWalksItemsByTheirStructSize) {
  // A newer host's module info is larger than this header's: items are struct_size bytes apart.
  struct NewerInfo {
    llmc_module_info info;
    std::int64_t appended_field;
  };
  NewerInfo items[2] = {{{sizeof(NewerInfo), "a", LLMC_MODULE_LINEAR, 3, 1, 0, "{}"}, 99},
                        {{sizeof(NewerInfo), "b", LLMC_MODULE_NORM, 4, -1, 0, nullptr}, 99}};
  const llmc_module_list list{sizeof(llmc_module_list), 2, &items[0].info};
  const sdk::ModuleList modules(list);
  ASSERT_EQ(modules.size(), 2u);
  EXPECT_EQ(modules[1].name(), "b");
  EXPECT_EQ(modules[1].kind(), sdk::ModuleKind::norm);
  EXPECT_EQ(modules[1].layer_index(), 4);
  EXPECT_EQ(modules[1].group_index(), -1);
  EXPECT_FALSE(modules[1].scheme_json());
  EXPECT_EQ(modules[0].scheme_json(), "{}");
  std::string names;
  for (sdk::Module module : modules) names += module.name();
  EXPECT_EQ(names, "ab");
}

struct ThrowCase {
  const char* what;
  std::int32_t code;
  const char* message;
};
void PrintTo(const ThrowCase& c, std::ostream* os) { *os << c.what; }

class SdkWrapperThrows : public SdkWrapper, public ::testing::WithParamInterface<ThrowCase> {};

TEST_P(SdkWrapperThrows, ExceptionBecomesAStatus) {
  constexpr llmc_plugin_descriptor d = sdk::make_descriptor<Thrower>("thrower", "1.0.0", "", 0);
  ctx.options = {{"create_throw", false}, {"throw", std::string(GetParam().what)}};
  void* self = nullptr;
  ASSERT_EQ(d.create(&api, &ctx, &self), nullptr);
  const fake::Modules none({});
  const auto [code, message] = take(d.compress(self, &layer, &none.list));
  EXPECT_EQ(code, GetParam().code);
  EXPECT_EQ(message, GetParam().message);
  d.destroy(self);
}

INSTANTIATE_TEST_SUITE_P(
    All, SdkWrapperThrows,
    ::testing::Values(ThrowCase{"error", LLMC_ERROR_NUMERICAL, "cholesky failed"},
                      ThrowCase{"ok_error", LLMC_ERROR_INTERNAL, "an error with no code"},
                      ThrowCase{"bad_alloc", LLMC_ERROR_OUT_OF_MEMORY, "out of memory"},
                      ThrowCase{"runtime", LLMC_ERROR_INTERNAL, "boom"},
                      ThrowCase{"int", LLMC_ERROR_INTERNAL, "unknown exception"}),
    [](const ::testing::TestParamInfo<ThrowCase>& info) { return std::string(info.param.what); });

TEST_F(SdkWrapper, FailingCreateLeavesOutSelfUntouched) {
  constexpr llmc_plugin_descriptor d = sdk::make_descriptor<Thrower>("thrower", "1.0.0", "", 0);
  ctx.options = {{"create_throw", true}};
  void* self = &ctx;
  const auto [code, message] = take(d.create(&api, &ctx, &self));
  EXPECT_EQ(code, LLMC_ERROR_UNSUPPORTED);
  EXPECT_EQ(message, "no such device");
  EXPECT_EQ(self, &ctx);

  ctx.options.clear();  // a host function failing inside the constructor: its status passes through
  const auto [missing_code, missing_message] = take(d.create(&api, &ctx, &self));
  EXPECT_EQ(missing_code, LLMC_ERROR_NOT_FOUND);
  EXPECT_EQ(missing_message, "no option create_throw");
}

TEST_F(SdkWrapper, OptionsAreTyped) {
  ctx.options = {{"flag", true},
                 {"count", std::int64_t{-3}},
                 {"alpha", 0.25},
                 {"mode", std::string("2:4")},
                 {"names", std::vector<std::string>{"q_proj", "k_proj"}},
                 {"ratios", std::vector<double>{0.5, 1.5}},
                 {"empty", std::vector<double>{}}};
  EXPECT_TRUE(context.option<bool>("flag"));
  EXPECT_EQ(context.option<std::int64_t>("count"), -3);
  EXPECT_DOUBLE_EQ(context.option<double>("alpha"), 0.25);
  EXPECT_EQ(context.option<std::string>("mode"), "2:4");
  EXPECT_EQ(context.option<std::vector<std::string>>("names"), (std::vector<std::string>{"q_proj", "k_proj"}));
  EXPECT_EQ(context.option<std::vector<double>>("ratios"), (std::vector<double>{0.5, 1.5}));
  EXPECT_TRUE(context.option<std::vector<double>>("empty").empty());

  try {
    context.option<double>("missing");
    FAIL() << "no exception";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), LLMC_ERROR_NOT_FOUND);
    EXPECT_STREQ(e.what(), "no option missing");
  }
  try {
    context.option<std::int64_t>("alpha");
    FAIL() << "no exception";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), LLMC_ERROR_INVALID_ARGUMENT);
  }
  try {
    context.option_error("alpha", "must be in [0, 1]");
    FAIL() << "no exception";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), LLMC_ERROR_INVALID_ARGUMENT);
    EXPECT_STREQ(e.what(), "recipe.toml:3:1: alpha: must be in [0, 1]");
  }
}

TEST_F(SdkWrapper, LogsCarryTheirLevel) {
  context.log_debug("d");
  context.log_info("i");
  context.log_warning("w");
  context.log_error("e");
  EXPECT_EQ(ctx.logs, (std::vector<std::pair<std::int32_t, std::string>>{
                          {LLMC_LOG_DEBUG, "d"}, {LLMC_LOG_INFO, "i"}, {LLMC_LOG_WARNING, "w"}, {LLMC_LOG_ERROR, "e"}}));
}

TEST_F(SdkWrapper, LayerTensorsAreViews) {
  layer.index = 2;
  layer.name = "model.layers.2";
  layer.tensors["m.weight"] = fake::f32_tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  const sdk::Layer view(api, &layer);
  EXPECT_EQ(view.index(), 2);
  EXPECT_EQ(view.name(), "model.layers.2");

  const sdk::TensorView weight = view.tensor("m", "weight", sdk::Access::write);
  EXPECT_EQ(weight.dtype(), sdk::float32);
  EXPECT_EQ(weight.ndim(), 2);
  EXPECT_EQ(std::vector<std::int64_t>(weight.shape().begin(), weight.shape().end()), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(weight.numel(), 6);
  EXPECT_TRUE(weight.is_cpu());
  EXPECT_TRUE(weight.is_contiguous());
  weight.values<float>()[4] = 50.0f;  // written in place
  EXPECT_EQ(fake::values(layer.tensors["m.weight"])[4], 50.0f);
  EXPECT_EQ(weight.data<float>(), weight.data_ptr());

  try {
    weight.data<double>();
    FAIL() << "no exception";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), LLMC_ERROR_UNSUPPORTED);
    EXPECT_STREQ(e.what(), "tensor is float32, accessed as float64");
  }
  try {
    view.tensor("m", "bias");
    FAIL() << "no exception";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), LLMC_ERROR_NOT_FOUND);
  }
  EXPECT_FALSE(view.tensor_if_present("m", "bias"));
  ASSERT_TRUE(view.tensor_if_present("m", "weight"));
  EXPECT_EQ(view.tensor_if_present("m", "weight")->data_ptr(), weight.data_ptr());

  const sdk::OwnedTensor marker = context.allocate(sdk::int32, {1});
  marker.view().values<std::int32_t>()[0] = 2;
  view.set_tensor("m", "marker", marker.view());
  ASSERT_EQ(layer.tensors.count("m.marker"), 1u);
  EXPECT_EQ(layer.tensors["m.marker"].dtype.code, LLMC_DL_INT);
  EXPECT_EQ(layer.tensors["m.marker"].shape, (std::vector<std::int64_t>{1}));
}

TEST_F(SdkWrapper, StridedViewsAreNotContiguous) {
  std::vector<float> data(6);
  std::int64_t shape[] = {2, 3};
  std::int64_t transposed[] = {1, 2};
  std::int64_t row_major[] = {3, 1};
  const sdk::TensorView strided(llmc_dl_tensor{data.data(), {LLMC_DL_CPU, 0}, 2, {LLMC_DL_FLOAT, 32, 1}, shape,
                                               transposed, 8});
  EXPECT_FALSE(strided.is_contiguous());
  EXPECT_EQ(strided.data_ptr(), data.data() + 2);
  EXPECT_THROW(strided.values<float>(), sdk::Error);
  EXPECT_TRUE(sdk::TensorView(llmc_dl_tensor{data.data(), {LLMC_DL_CPU, 0}, 2, {LLMC_DL_FLOAT, 32, 1}, shape,
                                             row_major, 0})
                  .is_contiguous());
  const sdk::TensorView on_gpu(llmc_dl_tensor{data.data(), {LLMC_DL_CUDA, 0}, 2, {LLMC_DL_FLOAT, 32, 1}, shape,
                                              nullptr, 0});
  EXPECT_FALSE(on_gpu.is_cpu());
  EXPECT_THROW(on_gpu.values<float>(), sdk::Error);
}

TEST_F(SdkWrapper, OwnedTensorsAreFreedOnce) {
  {
    sdk::OwnedTensor a = context.allocate(sdk::float32, {2, 2});
    EXPECT_EQ(ctx.live_tensors, 1);
    for (float value : a.view().values<float>()) EXPECT_EQ(value, 0.0f);  // zero-filled
    sdk::OwnedTensor b = std::move(a);
    EXPECT_FALSE(a);
    EXPECT_TRUE(b);
    b = context.allocate(sdk::bfloat16, {3});  // frees the first
    EXPECT_EQ(ctx.live_tensors, 1);
    llmc_dl_managed_tensor* raw = b.release();
    EXPECT_EQ(ctx.live_tensors, 1);
    sdk::OwnedTensor(raw).reset();
    EXPECT_EQ(ctx.live_tensors, 0);
    sdk::OwnedTensor c = context.allocate(sdk::float32, {1});
  }
  EXPECT_EQ(ctx.live_tensors, 0);

  ctx.budget_bytes = 16;
  try {
    context.allocate(sdk::float32, {5});
    FAIL() << "no exception";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), LLMC_ERROR_OUT_OF_MEMORY);
  }
}

TEST_F(SdkWrapper, CopyConvertsBetweenDtypes) {
  layer.tensors["m.weight"] = fake::bf16_tensor({2, 2}, {1.5f, -2.0f, 0.0078125f, 3.0f});
  const sdk::TensorView weight = sdk::Layer(api, &layer).tensor("m", "weight", sdk::Access::write);
  EXPECT_EQ(weight.dtype(), sdk::bfloat16);
  EXPECT_EQ(weight.dtype().name(), "bfloat16");

  const sdk::OwnedTensor f32 = context.convert(weight, sdk::float32);
  EXPECT_EQ(f32.view().dtype(), sdk::float32);
  const std::span<float> values = f32.view().values<float>();
  EXPECT_EQ(std::vector<float>(values.begin(), values.end()), (std::vector<float>{1.5f, -2.0f, 0.0078125f, 3.0f}));

  values[1] = 4.0f;
  context.copy(f32.view(), weight);
  EXPECT_EQ(fake::values(layer.tensors["m.weight"]), (std::vector<float>{1.5f, 4.0f, 0.0078125f, 3.0f}));

  const sdk::OwnedTensor wrong_shape = context.allocate(sdk::float32, {4});
  EXPECT_THROW(context.copy(wrong_shape.view(), weight), sdk::Error);
}

TEST(SdkDType, NamesAndElementTypes) {
  static_assert(sdk::dtype_of<float> == sdk::float32 && sdk::dtype_of<std::int8_t> == sdk::int8 &&
                sdk::dtype_of<bool> == sdk::boolean && sdk::dtype_of<double> != sdk::float32);
  EXPECT_EQ(sdk::float16.name(), "float16");
  EXPECT_EQ(sdk::float64.name(), "float64");
  EXPECT_EQ(sdk::int64.name(), "int64");
  EXPECT_EQ(sdk::uint8.name(), "uint8");
  EXPECT_EQ(sdk::float8_e4m3fn.name(), "float8_e4m3fn");
  EXPECT_EQ(sdk::DType(LLMC_DL_FLOAT4_E2M1FN, 4).name(), "float4_e2m1fn");
  EXPECT_EQ(sdk::DType(llmc_dl_dtype{LLMC_DL_BFLOAT, 16, 1}), sdk::bfloat16);
}
