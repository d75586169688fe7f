// tests/unit/plugin/plugin_instance_test.cpp - guarded lifecycle calls: statuses and exceptions from
// plugins become errors naming the modifier, the file, the callback and the layer; the host survives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "plugin/host_api.h"
#include "plugin/plugin_instance.h"

namespace llmc::plugin {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class EmptyLayer final : public LayerAccess {
 public:
  int32_t index() const override { return 3; }
  const std::string& name() const override { return name_; }
  Expected<llmc_dl_tensor> get(std::string_view, std::string_view, bool) override { return Error{"no tensors"}; }
  Status set(std::string_view, std::string_view, const llmc_dl_tensor&) override { return Error{"no tensors"}; }
  Status quant_weight(std::string_view, std::string_view) override { return Error{"no tensors"}; }
  Status fake_quantize(std::string_view, const llmc_dl_tensor&, const llmc_dl_tensor*, const llmc_dl_tensor&) override {
    return Error{"no tensors"};
  }
  Status fake_quantize_weight(std::string_view, const llmc_dl_tensor&) override { return Error{"no tensors"}; }

 private:
  std::string name_ = "model.layers.3";
};

std::unique_ptr<PluginInstance> make_instance(const std::string& stem) {
  auto library = PluginLibrary::load(std::filesystem::path(LLMC_TEST_PLUGIN_DIR) / (stem + ".so"));
  EXPECT_TRUE(library.has_value()) << library.error().message;
  if (!library) return nullptr;
  auto instance = PluginInstance::create(*library, "modifier 1 (" + stem + ")", {}, nullptr);
  EXPECT_TRUE(instance.has_value()) << instance.error().message;
  return instance ? std::move(*instance) : nullptr;
}

std::string compress_error(const std::string& stem) {
  auto instance = make_instance(stem);
  if (!instance) return {};
  EmptyLayer layer;
  const llmc_module_info module{sizeof(llmc_module_info), "model.layers.3.mlp.up_proj", LLMC_MODULE_LINEAR, 3, -1, 0,
                                nullptr};
  const llmc_module_list modules{sizeof(llmc_module_list), 1, &module};
  auto status = instance->compress(layer, modules);
  EXPECT_FALSE(status.has_value());
  return status ? std::string() : status.error().message;
}

// compressed-tensors 0.19 removed actorder "group" and its weight_g_idx: the ABI 1.2 slot stays, withdrawn.
TEST(HostApi, WithdrawnQuantWeightOrderedAnswersUnsupported) {
  const llmc_host_api& api = host_api();
  llmc_status* status = api.quant_weight_ordered(nullptr, "model.layers.0.mlp.up_proj", nullptr, nullptr);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(api.status_code(status), LLMC_ERROR_UNSUPPORTED);
  EXPECT_THAT(std::string(api.status_message(status)), HasSubstr("compressed-tensors 0.19 no longer loads"));
  api.status_release(status);
}

TEST(PluginInstance, ErrorStatusFromCompressNamesModifierFileCallbackAndLayer) {
  EXPECT_THAT(compress_error("broken_failing_compress"),
              AllOf(HasSubstr("modifier 1 (broken_failing_compress)"), HasSubstr("broken_failing_compress.so"),
                    HasSubstr("compress on model.layers.3"), HasSubstr("cholesky failed on purpose"),
                    HasSubstr("numerical error")));
}

TEST(PluginInstance, ExceptionThrownAcrossTheAbiIsCaught) {
  EXPECT_THAT(compress_error("broken_throwing_compress"),
              AllOf(HasSubstr("broken_throwing_compress.so"), HasSubstr("compress"),
                    HasSubstr("threw a C++ exception across the C ABI"), HasSubstr("thrown on purpose")));
}

TEST(PluginInstance, MissingCallbacksAreNoOps) {
  auto instance = make_instance("broken_failing_compress");
  ASSERT_TRUE(instance);
  EXPECT_FALSE(instance->has_calibrate());
  const llmc_module_list none{sizeof(llmc_module_list), 0, nullptr};
  EXPECT_TRUE(instance->initialize(none).has_value());
  EXPECT_TRUE(instance->finalize().has_value());
}

}  // namespace
}  // namespace llmc::plugin
