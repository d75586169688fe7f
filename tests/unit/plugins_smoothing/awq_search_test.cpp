// tests/unit/plugins_smoothing/awq_search_test.cpp - the awq plugin's math (plugins/awq/awq_search.h) against
// LLM Compressor's AWQModifier run on the same modules and batches (make_smoothing_cases.py): a norm before an
// MLP's gate/up (parent the MLP, replicated here with the same ATen ops) and an up Linear before down (parent
// down), in bfloat16 and float32, with int group/channel/tensor, NVFP4 (fused gate/up global scale) and FP8
// block schemes, duo scaling on, off and both. The test's fake-quantization is the host's (llmc_quant:
// memoryless min-max qparams, tensor_group siblings sharing their global scale), as layer.fake_quantize_weight.
// Tolerance: none. x_mean, w_mean, candidate scales, the fold and every grid loss are the same ATen ops in the
// same dtypes on the same inputs as the reference (same LibTorch binary), so they agree bit for bit; the best
// grid index must be the same.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "awq/awq_search.h"
#include "plugins_smoothing/smoothing_cases.h"
#include "quant/observer.h"
#include "quant/quantize.h"
#include "recipe/quant_args.h"

namespace llmc::awq {
namespace {

using smoothing_test::byte_difference;
using smoothing_test::reference;

#define EXPECT_SAME(actual, name) EXPECT_EQ(byte_difference((actual), reference(name)), "") << (name)

DuoScaling duo_of(const std::string& text) {
  if (text == "true") return DuoScaling::on;
  if (text == "both") return DuoScaling::both;
  return DuoScaling::off;
}

WeightGroups groups_of(const recipe::QuantArgs& args) {
  switch (*args.strategy) {
    case recipe::Strategy::tensor: return {WeightGroups::Kind::tensor};
    case recipe::Strategy::channel: return {WeightGroups::Kind::channel};
    case recipe::Strategy::block:
      return {WeightGroups::Kind::block, 0, (*args.block_structure)[0], (*args.block_structure)[1]};
    default: return {WeightGroups::Kind::group, *args.group_size};
  }
}

// One reference case's modules, with weights the test may edit.
struct Modules {
  std::string case_name;
  bool mlp = false;
  std::map<std::string, at::Tensor> weights;  // by module name; "<module>.bias" for biases

  at::Tensor& at(const std::string& name) { return weights.at(name); }

  std::vector<std::string> balance_names() const {
    return mlp ? std::vector<std::string>{"gate_proj", "up_proj"} : std::vector<std::string>{"down_proj"};
  }
  std::vector<at::Tensor> balance() {
    std::vector<at::Tensor> tensors;
    for (const auto& name : balance_names()) tensors.push_back(at(name));
    return tensors;
  }
  std::string smooth_name() const { return mlp ? "norm" : "up_proj"; }

  // The parent's forward: LlamaMLP (down(silu(gate(x)) * up(x))) or down_proj alone.
  at::Tensor forward(const at::Tensor& x) {
    if (!mlp) return at::linear(x, at("down_proj"));
    return at::linear(at::silu(at::linear(x, at("gate_proj"))) * at::linear(x, at("up_proj")), at("down_proj"));
  }
};

Modules load_modules(const nlohmann::json& item) {
  Modules modules{item["name"], item["parent"] == "mlp", {}};
  const std::vector<std::string> names = modules.mlp ? std::vector<std::string>{"norm", "gate_proj", "up_proj", "down_proj"}
                                                     : std::vector<std::string>{"up_proj", "down_proj"};
  for (const auto& name : names) {
    modules.weights[name] = reference(modules.case_name + "." + name + ".weight").clone();
    if (smoothing_test::has_reference(modules.case_name + "." + name + ".bias"))
      modules.weights[name + ".bias"] = reference(modules.case_name + "." + name + ".bias").clone();
  }
  return modules;
}

recipe::QuantArgs weight_args(const nlohmann::json& item) {
  auto args = recipe::quant_args_from_json(item["args"]);
  EXPECT_TRUE(args) << (args ? "" : args.error().message);
  if (!args) return {};
  args->observer = "memoryless_minmax";  // what the grid search observes with, as the host does
  return *args;
}

TEST(AwqGrid, MatchesTheReferenceGrids) {
  const auto on = grid_points(DuoScaling::on, 20);
  ASSERT_EQ(on.size(), 20u);
  EXPECT_EQ(on[0].ratio, 0.0);
  EXPECT_FALSE(on[0].duo);
  EXPECT_EQ(on[1].ratio, 0.0);
  EXPECT_TRUE(on[1].duo);
  EXPECT_EQ(on[19].ratio, 1.0);
  EXPECT_EQ(on[10].ratio, 9.0 / 18.0);
  const auto off = grid_points(DuoScaling::off, 5);
  ASSERT_EQ(off.size(), 5u);
  EXPECT_EQ(off[1].ratio, 0.25);
  EXPECT_FALSE(off[4].duo);
  const auto both = grid_points(DuoScaling::both, 9);  // int(9 / 2) = 4 ratios, each off then on
  ASSERT_EQ(both.size(), 8u);
  EXPECT_EQ(both[2].ratio, 1.0 / 3.0);
  EXPECT_FALSE(both[2].duo);
  EXPECT_TRUE(both[3].duo);
  EXPECT_THROW(grid_points(DuoScaling::on, 2), std::invalid_argument);
  EXPECT_THROW(grid_points(DuoScaling::both, 3), std::invalid_argument);
}

TEST(AwqSearch, MatchesTheReferenceModifier) {
  for (const auto& item : smoothing_test::cases_of("awq")) {
    const std::string name = item["name"];
    SCOPED_TRACE(name);
    Modules modules = load_modules(item);
    const recipe::QuantArgs args = weight_args(item);
    const DuoScaling duo = duo_of(item["duo_scaling"]);

    std::vector<at::Tensor> inputs;
    ActivationMean mean;
    for (int b = 0; b < item["batches"].get<int>(); ++b) {
      inputs.push_back(reference(name + ".input" + std::to_string(b)));
      mean.add(inputs.back());
    }
    EXPECT_SAME(mean.mean(), name + ".x_mean");

    std::vector<at::Tensor> balance = modules.balance();
    const std::vector<WeightGroups> groups(balance.size(), groups_of(args));
    const at::Tensor w_mean = weight_mean(balance, groups);
    EXPECT_SAME(w_mean, name + ".w_mean");

    std::vector<at::Tensor> outputs;
    for (const auto& x : inputs) outputs.push_back(modules.forward(x));
    const SearchCallbacks callbacks{
        [&](std::size_t batch) { return modules.forward(inputs[batch]); },
        [&](std::size_t index, const at::Tensor& out) {
          std::optional<at::Tensor> global;
          if (args.strategy == recipe::Strategy::tensor_group) {
            auto fused = quant::compute_fused_global_scale(balance, args);
            ASSERT_TRUE(fused) << fused.error().message;
            global = *fused;
          }
          auto qparams = quant::compute_weight_qparams(balance[index], args, global);
          ASSERT_TRUE(qparams) << qparams.error().message;
          auto fake = quant::fake_quantize(balance[index], *qparams, args);
          ASSERT_TRUE(fake) << fake.error().message;
          out.copy_(*fake);
        }};
    const auto grid = grid_points(duo, item["n_grid"].get<std::int64_t>());
    const SearchResult result =
        search_scales(balance, mean.mean(), duo == DuoScaling::off ? at::Tensor() : w_mean, grid, outputs, callbacks);

    const at::Tensor& losses = reference(name + ".losses");
    ASSERT_EQ(result.losses.size(), static_cast<std::size_t>(losses.numel()));
    for (std::size_t g = 0; g < result.losses.size(); ++g)
      EXPECT_EQ(result.losses[g], losses[static_cast<int64_t>(g)].item<double>()) << "grid point " << g;
    EXPECT_EQ(result.best, item["best"].get<std::size_t>());
    EXPECT_SAME(result.scales, name + ".scales");
    for (std::size_t i = 0; i < balance.size(); ++i)  // the search leaves the original weights
      EXPECT_SAME(balance[i], name + "." + modules.balance_names()[i] + ".weight");

    const std::string smooth = modules.smooth_name();
    std::optional<at::Tensor> bias;
    if (modules.weights.contains(smooth + ".bias")) bias = modules.at(smooth + ".bias");
    fold_scales(result.scales, balance, modules.at(smooth), bias);
    for (const auto& [module, tensor] : modules.weights) {
      const bool is_bias = module.ends_with(".bias");
      const std::string base = is_bias ? module.substr(0, module.size() - 5) : module;
      EXPECT_SAME(tensor, name + ".final." + base + (is_bias ? ".bias" : ".weight"));
    }
  }
}

TEST(AwqSearch, RestoresTheWeightsAndFailsWithoutAFiniteLoss) {
  at::Tensor weight = at::randn({4, 8}, at::kBFloat16);
  const at::Tensor original = weight.clone();
  const std::vector<at::Tensor> balance{weight};
  const at::Tensor x = at::randn({3, 8}, at::kBFloat16);
  const std::vector<at::Tensor> reference{at::linear(x, original)};
  const SearchCallbacks callbacks{
      [&](std::size_t) { return at::full({3, 4}, NAN, at::kBFloat16); },
      [&](std::size_t, const at::Tensor& out) { out.copy_(weight); }};
  const auto grid = grid_points(DuoScaling::off, 4);
  EXPECT_THROW(search_scales(balance, x.abs().to(at::kFloat).mean(0), at::Tensor(), grid, reference, callbacks),
               std::runtime_error);
  EXPECT_TRUE(at::equal(weight, original));
}

TEST(AwqSearch, TheFirstOfEqualLossesWins) {
  at::Tensor weight = at::randn({4, 8}, at::kFloat);
  const std::vector<at::Tensor> balance{weight};
  const at::Tensor x = at::randn({3, 8}, at::kFloat);
  const std::vector<at::Tensor> reference{at::zeros({3, 4}, at::kFloat)};
  const SearchCallbacks callbacks{[&](std::size_t) { return at::ones({3, 4}, at::kFloat); },  // loss 1 everywhere
                                  [&](std::size_t, const at::Tensor& out) { out.copy_(weight); }};
  const auto grid = grid_points(DuoScaling::off, 5);
  const SearchResult result = search_scales(balance, x.abs().mean(0), at::Tensor(), grid, reference, callbacks);
  EXPECT_EQ(result.best, 0u);
  EXPECT_EQ(result.losses, std::vector<double>(5, 1.0));
}

}  // namespace
}  // namespace llmc::awq
