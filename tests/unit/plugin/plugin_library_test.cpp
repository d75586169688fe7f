// tests/unit/plugin/plugin_library_test.cpp - loading, ABI negotiation and the deliberately broken plugins.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>

#include "plugin/plugin_library.h"
#include "plugin/plugin_search.h"

namespace llmc::plugin {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string kHostAbi = fmt::format("{}.{}", LLMC_ABI_MAJOR, LLMC_ABI_MINOR);

std::filesystem::path test_plugin(const std::string& stem) {
  return std::filesystem::path(LLMC_TEST_PLUGIN_DIR) / (stem + ".so");
}

std::string load_error(const std::string& stem) {
  auto library = PluginLibrary::load(test_plugin(stem));
  EXPECT_FALSE(library.has_value()) << stem << " loaded but should not";
  return library ? std::string() : library.error().message;
}

TEST(PluginLibrary, LoadsAWellFormedPluginAndReadsItsDescriptor) {
  auto library = PluginLibrary::load(test_plugin("recorder"));
  ASSERT_TRUE(library.has_value()) << library.error().message;
  EXPECT_EQ((*library)->name(), "recorder");
  EXPECT_EQ((*library)->abi_version(), kHostAbi);
  EXPECT_NE((*library)->descriptor().compress, nullptr);
  EXPECT_EQ((*library)->descriptor().calibrate, nullptr);
}

TEST(PluginLibrary, MissingFileIsNamed) {
  EXPECT_THAT(load_error("does_not_exist"), AllOf(HasSubstr("does_not_exist.so"), HasSubstr("no such file")));
}

TEST(PluginLibrary, NotASharedLibrary) {
  EXPECT_THAT(load_error("broken_not_a_library"),
              AllOf(HasSubstr("broken_not_a_library.so"), HasSubstr("is not a shared library")));
}

TEST(PluginLibrary, UnresolvedSymbolIsNamedByTheLoader) {
  EXPECT_THAT(load_error("broken_undefined_symbol"),
              AllOf(HasSubstr("broken_undefined_symbol.so"), HasSubstr("cannot be loaded"),
                    HasSubstr("llmc_test_symbol_nobody_defines")));
}

TEST(PluginLibrary, NoEntrySymbol) {
  EXPECT_THAT(load_error("broken_no_entry"),
              AllOf(HasSubstr("broken_no_entry.so"), HasSubstr("exports no 'llmc_plugin_entry'")));
}

TEST(PluginLibrary, MajorMismatchNamesBothVersions) {
  EXPECT_THAT(load_error("broken_abi_major"),
              AllOf(HasSubstr("broken_abi_major.so"), HasSubstr(fmt::format("ABI {}.{}", LLMC_ABI_MAJOR + 1, LLMC_ABI_MINOR)),
                    HasSubstr("ABI " + kHostAbi),
                    HasSubstr("major versions differ")));
}

TEST(PluginLibrary, NewerMinorThanHostIsRefused) {
  EXPECT_THAT(load_error("broken_abi_minor"),
              AllOf(HasSubstr("broken_abi_minor.so"), HasSubstr(fmt::format("ABI {}.{}", LLMC_ABI_MAJOR, LLMC_ABI_MINOR + 1)),
                    HasSubstr("newer than this llmc's ABI " + kHostAbi)));
}

TEST(PluginLibrary, EntryPointThatRefusesTheHost) {
  EXPECT_THAT(load_error("broken_entry_refuses"),
              AllOf(HasSubstr("broken_entry_refuses.so"), HasSubstr("refused this llmc's ABI " + kHostAbi)));
}

TEST(PluginLibrary, DescriptorWithoutCreate) {
  EXPECT_THAT(load_error("broken_null_create"),
              AllOf(HasSubstr("broken_null_create.so"), HasSubstr("create/destroy")));
}

TEST(PluginSearchPath, FirstDirectoryWinsAndMissingPluginListsTheSearch) {
  const auto dir = std::filesystem::path(LLMC_TEST_PLUGIN_DIR);
  PluginSearchPath search({"/nonexistent-llmc-dir", dir});
  auto found = search.find("recorder");
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_EQ(*found, dir / "recorder.so");
  auto missing = search.find("no_such_plugin");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message,
              AllOf(HasSubstr("plugin 'no_such_plugin' not found"), HasSubstr("/nonexistent-llmc-dir"),
                    HasSubstr(dir.string())));
}

TEST(PluginSearchPath, ListsEachStemOnce) {
  const auto dir = std::filesystem::path(LLMC_TEST_PLUGIN_DIR);
  PluginSearchPath search({dir, dir});
  const auto listed = search.list();
  std::set<std::string> stems;
  for (const auto& path : listed) EXPECT_TRUE(stems.insert(path.stem().string()).second) << path;
  EXPECT_TRUE(stems.count("recorder"));
}

TEST(Capabilities, Describes) {
  EXPECT_EQ(describe_capabilities(0), "-");
  EXPECT_EQ(describe_capabilities(LLMC_CAP_QUANTIZES | LLMC_CAP_CUDA), "quantizes,cuda");
}

}  // namespace
}  // namespace llmc::plugin
