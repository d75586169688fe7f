// The test plugins of tests/plugins/ as built, against the fake host: the recorder's log and edits,
// and that each broken plugin is broken in exactly its intended way (the host's loader tests rely
// on it).
#include <llmc/plugin.h>

#include <dlfcn.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sdk/fake_host.h"

namespace {

// A dlopen'ed test plugin, closed at the end of the scope.
class Library {
 public:
  explicit Library(const std::string& stem)
      : handle_(dlopen((std::string(LLMC_TEST_PLUGIN_DIR) + "/" + stem + ".so").c_str(), RTLD_NOW | RTLD_LOCAL)) {}
  Library(const Library&) = delete;
  ~Library() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  void* handle() const { return handle_; }
  llmc_plugin_entry_fn entry() const {
    return reinterpret_cast<llmc_plugin_entry_fn>(dlsym(handle_, LLMC_PLUGIN_ENTRY_SYMBOL));
  }

 private:
  void* handle_;
};

std::vector<std::string> lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class SdkTestPlugins : public ::testing::Test {
 protected:
  void SetUp() override {
    fake::live_statuses = 0;
    std::filesystem::remove(log_file);
  }
  void TearDown() override {
    std::filesystem::remove(log_file);
    EXPECT_EQ(fake::live_statuses, 0) << "a status leaked";
    EXPECT_EQ(ctx.live_tensors, 0) << "a tensor leaked";
  }

  // Loads the recorder and creates an instance with these option values; returns create's status.
  llmc_status* create_recorder(const std::string& fail_in, bool edit, bool set_tensor) {
    const llmc_plugin_entry_fn entry = recorder.entry();
    if (entry == nullptr || entry(&api, &descriptor) != LLMC_OK) throw std::runtime_error("recorder did not load");
    ctx.options = {{"log_file", log_file.string()}, {"fail_in", fail_in}, {"edit", edit}, {"set_tensor", set_tensor},
                   {"tag", std::string("t")}};
    return descriptor->create(&api, &ctx, &self);
  }

  std::pair<std::int32_t, std::string> take(llmc_status* status) { return fake::take(api, status); }

  llmc_host_api api = fake::make_api();
  llmc_host_ctx ctx;
  llmc_layer layer;
  Library recorder{"recorder"};
  const llmc_plugin_descriptor* descriptor = nullptr;
  void* self = nullptr;
  std::filesystem::path log_file = std::filesystem::temp_directory_path() /
                                   ("llmc_recorder_" + std::to_string(getpid()) + ".jsonl");
};

}  // namespace

TEST_F(SdkTestPlugins, RecorderLogsEveryLifecycleCall) {
  ASSERT_EQ(create_recorder("", false, false), nullptr);
  EXPECT_STREQ(descriptor->name, "recorder");
  EXPECT_EQ(descriptor->capabilities, LLMC_CAP_QUANTIZES | LLMC_CAP_EDITS_WEIGHTS);
  EXPECT_EQ(descriptor->calibrate, nullptr);
  ASSERT_EQ(descriptor->option_count, 5u);
  EXPECT_EQ(descriptor->options[0].default_value, nullptr);  // log_file is required

  fake::Modules modules({{"model.layers.1.self_attn.q_proj", LLMC_MODULE_LINEAR},
                         {"model.layers.1.input_layernorm", LLMC_MODULE_NORM}},
                        1);
  modules.items[0].group_index = 0;
  modules.items[0].scheme_json = R"({"weights":{"num_bits":4}})";
  layer.index = 1;
  layer.name = "model.layers.1";
  ASSERT_EQ(descriptor->initialize(self, &modules.list), nullptr);
  ASSERT_EQ(descriptor->compress(self, &layer, &modules.list), nullptr);
  ASSERT_EQ(descriptor->finalize(self), nullptr);
  descriptor->destroy(self);

  const std::string create = R"({"tag":"t","event":"create","options":{"log_file":")" + log_file.string() +
                             R"(","fail_in":"","edit":false,"set_tensor":false}})";
  EXPECT_EQ(lines(log_file),
            (std::vector<std::string>{
                create,
                R"({"tag":"t","event":"initialize","modules":[{"name":"model.layers.1.self_attn.q_proj","kind":"linear",)"
                R"("layer_index":1,"group_index":0,"scheme_json":"{\"weights\":{\"num_bits\":4}}"},)"
                R"({"name":"model.layers.1.input_layernorm","kind":"norm","layer_index":1,"group_index":-1,)"
                R"("scheme_json":null}]})",
                R"({"tag":"t","event":"compress","layer_index":1,"layer_name":"model.layers.1","modules":)"
                R"(["model.layers.1.self_attn.q_proj","model.layers.1.input_layernorm"]})",
                R"({"tag":"t","event":"finalize"})", R"({"tag":"t","event":"destroy"})"}));
}

TEST_F(SdkTestPlugins, RecorderEditsWeightsAndSetsMarkers) {
  ASSERT_EQ(create_recorder("", true, true), nullptr);
  layer.index = 3;
  layer.tensors["p.weight"] = fake::bf16_tensor({2, 2}, {0.5f, -1, 2, 0});
  const fake::Modules modules({{"p", LLMC_MODULE_LINEAR}}, 3);
  ASSERT_EQ(descriptor->compress(self, &layer, &modules.list), nullptr);
  descriptor->destroy(self);
  EXPECT_EQ(fake::values(layer.tensors["p.weight"]), (std::vector<float>{1.5f, 0, 3, 1}));
  ASSERT_EQ(layer.tensors.count("p.recorder_marker"), 1u);
  EXPECT_EQ(layer.tensors["p.recorder_marker"].shape, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(fake::values(layer.tensors["p.recorder_marker"]), (std::vector<float>{3}));
}

class SdkRecorderFailIn : public SdkTestPlugins, public ::testing::WithParamInterface<const char*> {};

TEST_P(SdkRecorderFailIn, FailsOnRequestAfterRecording) {
  const std::string callback = GetParam();
  const std::string expected = "recorder: requested failure in " + callback;
  llmc_status* status = create_recorder(callback, false, false);
  if (callback != "create") {
    ASSERT_EQ(status, nullptr);
    const fake::Modules modules({{"p", LLMC_MODULE_LINEAR}});
    if (callback == "initialize") status = descriptor->initialize(self, &modules.list);
    if (callback == "compress") status = descriptor->compress(self, &layer, &modules.list);
    if (callback == "finalize") status = descriptor->finalize(self);
    descriptor->destroy(self);
  }
  const auto [code, message] = take(status);
  EXPECT_EQ(code, LLMC_ERROR_INTERNAL);
  EXPECT_EQ(message, expected);
  const std::vector<std::string> log = lines(log_file);
  ASSERT_FALSE(log.empty());
  const std::string recorded = callback == "create" ? log.back() : log[log.size() - 2];  // before destroy
  EXPECT_NE(recorded.find("\"event\":\"" + callback + "\""), std::string::npos) << recorded;
}

INSTANTIATE_TEST_SUITE_P(All, SdkRecorderFailIn, ::testing::Values("create", "initialize", "compress", "finalize"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

TEST_F(SdkTestPlugins, RecorderRejectsAnUnknownFailIn) {
  const auto [code, message] = take(create_recorder("destroy", false, false));
  EXPECT_EQ(code, LLMC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(message,
            R"(recipe.toml:3:1: fail_in: expected one of create, initialize, compress, finalize, got "destroy")");
}

TEST_F(SdkTestPlugins, BrokenPluginsAreBrokenAsIntended) {
  EXPECT_EQ(Library("broken_no_entry").entry(), nullptr);
  EXPECT_NE(Library("broken_no_entry").handle(), nullptr);
  EXPECT_EQ(Library("broken_not_a_library").handle(), nullptr);

  const llmc_plugin_descriptor* d = nullptr;
  const Library major("broken_abi_major");
  ASSERT_EQ(major.entry()(&api, &d), LLMC_OK);
  EXPECT_EQ(d->abi_major, LLMC_ABI_MAJOR + 1);
  EXPECT_STREQ(d->name, "broken_abi_major");

  const Library minor("broken_abi_minor");
  ASSERT_EQ(minor.entry()(&api, &d), LLMC_OK);
  EXPECT_EQ(d->abi_major, LLMC_ABI_MAJOR);
  EXPECT_EQ(d->abi_minor, LLMC_ABI_MINOR + 1);
  EXPECT_STREQ(d->name, "broken_abi_minor");

  const Library refuses("broken_entry_refuses");
  d = nullptr;
  EXPECT_EQ(refuses.entry()(&api, &d), LLMC_ERROR_ABI_MISMATCH);
  ASSERT_NE(d, nullptr);  // for the host's message
  EXPECT_EQ(d->abi_minor, LLMC_ABI_MINOR + 1);

  const Library null_create("broken_null_create");
  ASSERT_EQ(null_create.entry()(&api, &d), LLMC_OK);
  EXPECT_STREQ(d->name, "broken_null_create");
  EXPECT_EQ(d->create, nullptr);

  const fake::Modules modules({{"p", LLMC_MODULE_LINEAR}});
  const Library failing("broken_failing_compress");
  ASSERT_EQ(failing.entry()(&api, &d), LLMC_OK);
  EXPECT_STREQ(d->name, "broken_failing_compress");
  void* instance = nullptr;
  ASSERT_EQ(d->create(&api, &ctx, &instance), nullptr);
  const auto [code, message] = take(d->compress(instance, &layer, &modules.list));
  EXPECT_EQ(code, LLMC_ERROR_NUMERICAL);
  EXPECT_EQ(message, "cholesky failed on purpose");
  d->destroy(instance);

  const Library throwing("broken_throwing_compress");
  ASSERT_EQ(throwing.entry()(&api, &d), LLMC_OK);
  EXPECT_STREQ(d->name, "broken_throwing_compress");
  ASSERT_EQ(d->create(&api, &ctx, &instance), nullptr);
  try {
    d->compress(instance, &layer, &modules.list);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "thrown on purpose");
  }
  d->destroy(instance);
}
