// tests/unit/model/copy_memory_test.cpp - copying a checkpoint through Checkpoint and
// SafetensorsWriter::add_from_file keeps the peak resident memory flat, whatever the checkpoint's size.
// The source is LLMC_COPY_SOURCE when set (tests/integration/test_safetensors_interop.py passes a 300 MB
// and, in the slow tier, a 2 GB llmc-synth checkpoint), else a 300 MB synthetic Llama made here.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "model/checkpoint.h"
#include "model/synthetic_llama.h"
#include "test_support.h"

namespace llmc::model {
namespace {

constexpr long kLimitKiB = 200 * 1024;

long peak_resident_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  return -1;
}

TEST(CopyMemoryTest, PeakResidentMemoryStaysFlat) {
  testing::TempDir dir("copy-memory");
  std::filesystem::path source = dir.path() / "source";
  if (const char* env = std::getenv("LLMC_COPY_SOURCE")) {
    source = env;
  } else {
    SynthOptions options;
    options.output = source;
    options.shape = LlamaShape{1024, 2816, 8, 16, 4, 32000, 2048, 10000.0, false};  // 311 MB in bf16
    const auto status = write_synthetic_llama(options);
    ASSERT_TRUE(status) << status.error().message;
  }
  const auto output = dir.path() / "copy";

  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::ofstream("/proc/self/clear_refs") << "5";  // reset VmHWM: count the copy only, not the parent's past
    const Status status = testing::copy_checkpoint(source, output, /*max_shard_size=*/1'000'000'000);
    const long peak = status ? peak_resident_kib() : -1;
    if (!status) fprintf(stderr, "%s\n", status.error().message.c_str());
    [[maybe_unused]] const auto written = ::write(pipe_fds[1], &peak, sizeof(peak));
    ::_exit(status ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  long peak = -1;
  ASSERT_EQ(::read(pipe_fds[0], &peak, sizeof(peak)), static_cast<ssize_t>(sizeof(peak)));
  ::close(pipe_fds[0]);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
  EXPECT_GT(peak, 0);
  EXPECT_LT(peak, kLimitKiB) << "peak resident memory of the copy: " << peak / 1024 << " MiB";
  RecordProperty("peak_resident_kib", std::to_string(peak));

  auto original = Checkpoint::open(source);
  auto copy = Checkpoint::open(output);
  ASSERT_TRUE(original.has_value() && copy.has_value());
  EXPECT_EQ(copy->tensor_names().size(), original->tensor_names().size());
  const std::string last = original->tensor_names().back();
  const auto a = original->find(last)->file->data(*original->find(last)->info);
  const auto b = copy->find(last)->file->data(*copy->find(last)->info);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin()));
}

}  // namespace
}  // namespace llmc::model
