// tests/unit/pipeline/plan_cost_test.cpp - the plan's formulas on given rates: a layer's forward pass and its
// scratch memory, the Hessian factorization's power law and its floor, reads in the page cache's proportion, GPTQ's Hessians
// shared by the modules reading one input, and GPTQ's compress of one module counted part by part.
#include <gtest/gtest.h>

#include "model/architecture.h"
#include "pipeline/layer_cost.h"
#include "pipeline/plugin_costs.h"

namespace llmc::pipeline {
namespace {

MachineRates rates() {
  MachineRates r;
  r.linear_flops = {{{64, 128}, 1e9}, {{128, 64}, 2e9}};
  r.attention_seconds = 1e-9;
  r.fp32_flops = 4e9;
  r.factor_columns = 64;
  r.factor_seconds = 1e-3;
  r.factor_exponent = 2;
  r.update_flops = 1e9;
  r.column_seconds = 1e-5;
  r.qparams_seconds = 1e-9;
  r.hot_read_bytes = 4e9;
  r.cold_read_bytes = 1e9;
  r.file_bytes = 100;
  r.resident_file_bytes = 75;
  return r;
}

model::Architecture architecture() {
  model::Architecture arch;
  arch.hidden_size = 64;
  arch.intermediate_size = 128;
  arch.num_heads = 4;
  arch.num_kv_heads = 2;
  return arch;
}

UnitShape mlp_layer() {
  UnitShape shape;
  shape.names = {"layers.0.mlp.gate_proj", "layers.0.mlp.up_proj", "layers.0.mlp.down_proj"};
  shape.linears = {{shape.names[0], 64, 128, 1, 16384}, {shape.names[1], 64, 128, 1, 16384},
                   {shape.names[2], 128, 64, 1, 16384}};
  return shape;
}

TEST(PlanCost, ForwardCountsLinearFlopsAtTheirRateAndAttentionPerHeadAndTokenSquared) {
  const MachineRates r = rates();
  const model::Architecture arch = architecture();
  const LayerCost layer{r, arch, {/*total=*/30, /*squares=*/500, /*longest=*/20}, 2};
  const double linears = 2 * (2 * 64 * 128 * 30 / 1e9) + 2 * 128 * 64 * 30 / 2e9;
  EXPECT_DOUBLE_EQ(layer.forward_seconds(mlp_layer()), linears + 4 * 500 * 1e-9);
}

// A pass's scratch, for the longest sample (20 tokens): bf16 attention scores and their steps, the MLP's and the
// residual's activations; widened products add float32 scores and probabilities, and a Linear's float32 weight,
// input and output.
TEST(PlanCost, ForwardScratchCountsTheWidenedProducts) {
  const MachineRates r = rates();
  const model::Architecture arch = architecture();
  const LayerCost bf16{r, arch, {30, 500, 20}, 2};
  const double squares = 4.0 * 20 * 20;
  const double base = squares * (3 * 2 + 4) + 20.0 * (3 * 128 + 4 * 64) * 2;
  EXPECT_EQ(bf16.forward_scratch(), static_cast<uint64_t>(base));
  const LayerCost widened{r, arch, {30, 500, 20}, 2, /*widened=*/true};
  EXPECT_EQ(widened.forward_scratch(), static_cast<uint64_t>(base + squares * 8 + (128.0 * 64 + 20.0 * (128 + 64)) * 4));
}

TEST(PlanCost, FactorizationFollowsThePowerLawDownToTheMatmulFloor) {
  MachineRates r = rates();
  EXPECT_DOUBLE_EQ(r.factor_seconds_for(128), 1e-3 * 4);
  r.fp32_flops = 1e6;  // now (4/3) n^3 FLOPs at the matmul rate take longer than the power law
  EXPECT_DOUBLE_EQ(r.factor_seconds_for(128), 4.0 / 3.0 * 128 * 128 * 128 / 1e6);
}

TEST(PlanCost, ReadsGoAtTheCachedAndTheDiskRatesInTheirProportion) {
  EXPECT_DOUBLE_EQ(rates().read_seconds(1000), 1000 * (0.75 / 4e9 + 0.25 / 1e9));
}

TEST(PlanCost, GptqKeepsOneHessianPerInput) {
  const MachineRates r = rates();
  const model::Architecture arch = architecture();
  const LayerCost layer{r, arch, {30, 500, 20}, 2};
  const UnitShape shape = mlp_layer();
  const ClaimedLinears all{{&shape.linears[0], &shape.linears[1], &shape.linears[2]},
                           {&shape.linears[0], &shape.linears[1], &shape.linears[2]}};
  const Cost cost = calibrate_cost("gptq", all, shape, layer);
  // gate and up read one tensor: one 64 x 64 Hessian for both, one 128 x 128 for down
  EXPECT_EQ(cost.bytes, (64 * 64 + 128 * 128) * 4u);
  EXPECT_DOUBLE_EQ(cost.seconds, 2.0 * (64 * 64 + 128 * 128) * 30 / 4e9);
}

TEST(PlanCost, GptqCompressCountsEachPartOfItsColumnLoop) {
  const MachineRates r = rates();
  recipe::Modifier modifier;
  modifier.plugin = "gptq";
  ModifierRun run;
  run.modifier = &modifier;
  const UnitShape shape = mlp_layer();
  const ClaimedLinears down{{&shape.linears[2]}, {&shape.linears[2]}};
  bool known = false;
  const Cost cost = compress_cost(run, down, shape, r, nullptr, known);
  ASSERT_TRUE(known);
  const double rows = 64, cols = 128, block = 128;
  const double expected = r.factor_seconds_for(128) + rows * cols * (block - 1) / 1e9 + 0 /* one block */ +
                          rows * cols * 1e-9 + cols * 1e-5;
  EXPECT_DOUBLE_EQ(cost.seconds, expected);
  EXPECT_EQ(cost.bytes, static_cast<uint64_t>(3 * rows * cols * 4 + 2 * cols * cols * 4));
  modifier.plugin = "somebody_elses";
  compress_cost(run, down, shape, r, nullptr, known);
  EXPECT_FALSE(known);
}

}  // namespace
}  // namespace llmc::pipeline
