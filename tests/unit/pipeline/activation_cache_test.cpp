// tests/unit/pipeline/activation_cache_test.cpp - ActivationCache in memory and spilled: bit-exact round trips
// over several layers, the spill file's lifetime, the budget rule and the errors naming the file.
#include "pipeline/activation_cache.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <limits>

namespace llmc::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kHidden = 24;
const std::vector<int64_t> kTokens = {5, 1, 9};

class ScratchDir {
 public:
  ScratchDir() {
    std::string name = (fs::temp_directory_path() / "llmc-activation-cache-XXXXXX").string();
    path_ = ::mkdtemp(name.data());
  }
  ~ScratchDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  size_t files() const { return std::distance(fs::directory_iterator(path_), fs::directory_iterator()); }

 private:
  fs::path path_;
};

uint64_t cache_bytes(at::ScalarType dtype) {
  uint64_t tokens = 0;
  for (int64_t t : kTokens) tokens += t;
  return tokens * kHidden * c10::elementSize(dtype);
}

// One layer's hidden states: random values, NaN and infinities included, so that only a bit-exact copy equals them.
std::vector<at::Tensor> layer_states(at::ScalarType dtype, int seed) {
  at::manual_seed(seed);
  std::vector<at::Tensor> states;
  for (int64_t tokens : kTokens) {
    at::Tensor state = at::randn({1, tokens, kHidden}).to(dtype);
    state.view(-1)[0].fill_(std::numeric_limits<float>::quiet_NaN());
    if (tokens > 1) state.view(-1)[1].fill_(-std::numeric_limits<float>::infinity());
    states.push_back(state);
  }
  return states;
}

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && a.is_contiguous() && b.is_contiguous() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) == 0;
}

// Three layers through the cache; within a layer, writing a sample's next input leaves the others' inputs intact.
void round_trip(ActivationCache& cache, at::ScalarType dtype) {
  std::vector<at::Tensor> layer = layer_states(dtype, 0);
  for (size_t b = 0; b < layer.size(); ++b) ASSERT_TRUE(cache.write(b, layer[b]));
  ASSERT_TRUE(cache.next_layer());
  for (int seed = 1; seed <= 3; ++seed) {
    const std::vector<at::Tensor> next = layer_states(dtype, seed);
    for (size_t b = 0; b < layer.size(); ++b) {
      auto input = cache.read(b);
      ASSERT_TRUE(input) << input.error().message;
      EXPECT_TRUE(same_bits(*input, layer[b])) << "layer " << seed << " sample " << b;
      ASSERT_TRUE(cache.write(b, next[b]));
      EXPECT_FALSE(cache.read(b)) << "the input was replaced";
    }
    ASSERT_TRUE(cache.next_layer());
    layer = next;
  }
}

class ActivationCacheTest : public ::testing::TestWithParam<at::ScalarType> {};

TEST_P(ActivationCacheTest, InMemoryWithoutBudgetRoundTripsAndIsCharged) {
  const ScratchDir dir;
  MemoryBudget budget;
  {
    auto cache = ActivationCache::create(kTokens, kHidden, GetParam(), budget, dir.path());
    ASSERT_TRUE(cache) << cache.error().message;
    EXPECT_EQ((*cache)->spill_file(), nullptr);
    EXPECT_EQ((*cache)->bytes(), cache_bytes(GetParam()));
    EXPECT_EQ(budget.in_use(), cache_bytes(GetParam()));
    EXPECT_NE((*cache)->summary().find("3 samples, 15 tokens"), std::string::npos) << (*cache)->summary();
    EXPECT_NE((*cache)->summary().find("in memory"), std::string::npos);
    round_trip(**cache, GetParam());
    EXPECT_EQ(dir.files(), 0u);
  }
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST_P(ActivationCacheTest, InMemoryWhenItTakesAtMostHalfTheBudget) {
  const ScratchDir dir;
  MemoryBudget budget(2 * cache_bytes(GetParam()));
  auto cache = ActivationCache::create(kTokens, kHidden, GetParam(), budget, dir.path());
  ASSERT_TRUE(cache) << cache.error().message;
  EXPECT_EQ((*cache)->spill_file(), nullptr);
}

TEST_P(ActivationCacheTest, SpilledRoundTripsAndRemovesItsFile) {
  const ScratchDir dir;
  MemoryBudget budget(2 * cache_bytes(GetParam()) - 1);
  fs::path file;
  {
    auto cache = ActivationCache::create(kTokens, kHidden, GetParam(), budget, dir.path());
    ASSERT_TRUE(cache) << cache.error().message;
    ASSERT_NE((*cache)->spill_file(), nullptr);
    file = (*cache)->spill_file()->path();
    EXPECT_EQ(file.parent_path(), dir.path());
    EXPECT_EQ(fs::file_size(file), 2 * cache_bytes(GetParam()));  // two regions, reserved up front
    EXPECT_EQ(budget.in_use(), 0u);
    EXPECT_NE((*cache)->summary().find("spilled to " + file.string()), std::string::npos) << (*cache)->summary();
    round_trip(**cache, GetParam());
    EXPECT_EQ(budget.in_use(), 0u);
  }
  EXPECT_FALSE(fs::exists(file));
  EXPECT_EQ(dir.files(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ActivationCacheTest, ::testing::Values(at::kBFloat16, at::kFloat),
                         [](const auto& info) { return std::string(c10::toString(info.param)); });

TEST(ActivationCache, BudgetRule) {
  EXPECT_TRUE(ActivationCache::fits_in_memory(uint64_t{1} << 40, 0));
  EXPECT_TRUE(ActivationCache::fits_in_memory(100, 200));
  EXPECT_FALSE(ActivationCache::fits_in_memory(101, 200));
}

TEST(ActivationCache, ABadSpillDirectoryIsNamed) {
  MemoryBudget budget(1);
  const fs::path missing = fs::temp_directory_path() / "llmc-no-such-directory" / "deeper";
  auto cache = ActivationCache::create(kTokens, kHidden, at::kFloat, budget, missing);
  ASSERT_FALSE(cache);
  EXPECT_NE(cache.error().message.find(missing.string() + ": cannot create a spill file"), std::string::npos)
      << cache.error().message;
}

TEST(ActivationCache, AShortReadNamesTheFile) {
  const ScratchDir dir;
  MemoryBudget budget(1);
  auto cache = ActivationCache::create(kTokens, kHidden, at::kFloat, budget, dir.path());
  ASSERT_TRUE(cache) << cache.error().message;
  for (size_t b = 0; b < kTokens.size(); ++b) ASSERT_TRUE((*cache)->write(b, at::zeros({1, kTokens[b], kHidden})));
  ASSERT_TRUE((*cache)->next_layer());
  fs::resize_file((*cache)->spill_file()->path(), 0);
  auto input = (*cache)->read(2);
  ASSERT_FALSE(input);
  EXPECT_NE(input.error().message.find((*cache)->spill_file()->path().string() + ": short read"), std::string::npos)
      << input.error().message;
}

TEST(ActivationCache, AFileSizeLimitFailsUpFrontNamingTheFile) {
  const ScratchDir dir;
  MemoryBudget budget(1);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto cache = ActivationCache::create(kTokens, kHidden, at::kFloat, budget, dir.path());
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, saved_handler);
  ASSERT_FALSE(cache);
  EXPECT_NE(cache.error().message.find("cannot reserve"), std::string::npos) << cache.error().message;
  EXPECT_NE(cache.error().message.find(dir.path().string() + "/.activations-"), std::string::npos)
      << cache.error().message;
  EXPECT_EQ(dir.files(), 0u);
}

TEST(ActivationCache, MisuseIsAnError) {
  MemoryBudget budget;
  auto cache = ActivationCache::create(kTokens, kHidden, at::kFloat, budget, fs::temp_directory_path());
  ASSERT_TRUE(cache);
  EXPECT_FALSE((*cache)->read(0)) << "nothing written yet";
  EXPECT_FALSE((*cache)->read(3));
  EXPECT_FALSE((*cache)->write(0, at::zeros({1, kTokens[0], kHidden}, at::kBFloat16)));
  const auto wrong_shape = (*cache)->write(0, at::zeros({1, kTokens[0] + 1, kHidden}));
  ASSERT_FALSE(wrong_shape);
  EXPECT_EQ(wrong_shape.error().message, "activation cache: sample 0 holds [1, 5, 24] Float, got [1, 6, 24] Float");
  ASSERT_TRUE((*cache)->write(0, at::zeros({1, kTokens[0], kHidden})));
  const auto incomplete = (*cache)->next_layer();
  ASSERT_FALSE(incomplete);
  EXPECT_EQ(incomplete.error().message, "activation cache: sample 1 has no input for the next layer");
}

}  // namespace
}  // namespace llmc::pipeline
