// tests/unit/exec/streaming_test.cpp - the streaming driver holds one unit of weights at a time, the tap
// sees every Linear, substituted weights are used, and weight errors name the tensor.
#include <ATen/ATen.h>
#include <c10/core/Storage.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "exec/exec_test_support.h"
#include "exec/model_runner.h"
#include "model/module_map.h"

namespace llmc::exec {
namespace {

// Wraps the checkpoint's source: records which weights are alive (by their storage) whenever a new one is
// requested, and can rewrite what it returns.
class InstrumentedSource final : public WeightSource {
 public:
  explicit InstrumentedSource(std::unique_ptr<WeightSource> inner) : inner_(std::move(inner)) {}

  Expected<at::Tensor> tensor(std::string_view name) override { return track(name, inner_->tensor(name)); }
  Expected<LinearWeight> linear_weight(std::string_view module) override {
    auto linear = inner_->linear_weight(module);
    LLMC_TRY(linear);
    auto weight = track(module, std::move(linear->weight));
    LLMC_TRY(weight);
    return LinearWeight{std::move(*weight), std::move(linear->activations)};
  }

  /// The most units (a decoder layer, or -1: embedding / norm / head) holding live weights at once.
  size_t max_live_units = 0;
  std::set<int32_t> requested_units;
  std::function<void(std::string_view name, at::Tensor& value)> rewrite;

 private:
  Expected<at::Tensor> track(std::string_view name, Expected<at::Tensor> value) {
    const int32_t unit = model::layer_index_of(name);
    std::set<int32_t> live = {unit};
    for (const auto& [owner, storage] : issued_)
      if (!storage.expired()) live.insert(owner);
    max_live_units = std::max(max_live_units, live.size());
    requested_units.insert(unit);
    if (!value) return value;
    if (rewrite) rewrite(name, *value);
    issued_.emplace_back(unit, value->storage().getWeakStorageImpl());
    return value;
  }

  std::unique_ptr<WeightSource> inner_;
  std::vector<std::pair<int32_t, c10::weak_intrusive_ptr<c10::StorageImpl>>> issued_;
};

struct Opened {
  std::unique_ptr<model::Checkpoint> checkpoint;
  InstrumentedSource* source = nullptr;
  std::unique_ptr<ModelRunner> runner;
  std::map<std::string, at::Tensor> reference;
};

Opened open_case(const std::string& name) {
  Opened opened;
  const auto dir = testing::fixture_dir() / name;
  auto checkpoint = model::Checkpoint::open(dir);
  EXPECT_TRUE(checkpoint) << checkpoint.error().message;
  if (!checkpoint) return opened;
  opened.checkpoint = std::make_unique<model::Checkpoint>(std::move(*checkpoint));
  auto inner = open_weight_source(*opened.checkpoint, {});
  EXPECT_TRUE(inner) << inner.error().message;
  if (!inner) return opened;
  auto source = std::make_unique<InstrumentedSource>(std::move(*inner));
  opened.source = source.get();
  auto runner = ModelRunner::create(*opened.checkpoint, std::move(source), {});
  EXPECT_TRUE(runner) << runner.error().message;
  if (runner) opened.runner = std::move(*runner);
  opened.reference = testing::read_tensors(dir / "reference.safetensors");
  return opened;
}

std::vector<Batch> batches(const std::map<std::string, at::Tensor>& reference) {
  return {{reference.at("ids_full"), reference.at("mask_full")}, {reference.at("ids_left"), reference.at("mask_left")}};
}

TEST(Streaming, HoldsOneLayerAtATime) {
  for (const std::string name : {"llama_linear_tied_bf16", "qwen3_moe"}) {
    Opened opened = open_case(name);
    ASSERT_TRUE(opened.runner);
    size_t calls = 0;
    const Status status = opened.runner->run(batches(opened.reference), [&](size_t, const at::Tensor&) {
      ++calls;
      return Status::ok();
    });
    ASSERT_TRUE(status) << status.error().message;
    EXPECT_EQ(calls, 2u);
    EXPECT_EQ(opened.source->requested_units, (std::set<int32_t>{-1, 0, 1, 2})) << name;
    EXPECT_EQ(opened.source->max_live_units, 1u) << name << ": weights of two units were alive at once";
  }
}

TEST(Streaming, TapSeesEveryLinearInOrder) {
  Opened opened = open_case("qwen3_moe");
  ASSERT_TRUE(opened.runner);
  std::vector<std::string> seen;
  std::map<std::string, int64_t> rows;  // tokens each module saw
  StreamHooks hooks;
  hooks.tap = [&](std::string_view module, const at::Tensor& input, const at::Tensor& output) {
    seen.emplace_back(module);
    rows[std::string(module)] += input.numel() / input.size(-1);
    EXPECT_EQ(input.numel() / input.size(-1), output.numel() / output.size(-1)) << module;
  };
  const std::vector<Batch> one = {{opened.reference.at("ids_full"), opened.reference.at("mask_full")}};
  const Status status = opened.runner->run(one, [](size_t, const at::Tensor&) { return Status::ok(); }, hooks);
  ASSERT_TRUE(status) << status.error().message;
  const std::vector<std::string> first = {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
                                          "model.layers.0.self_attn.v_proj", "model.layers.0.self_attn.o_proj",
                                          "model.layers.0.mlp.gate"};
  ASSERT_GE(seen.size(), first.size());
  EXPECT_EQ(std::vector<std::string>(seen.begin(), seen.begin() + 5), first);
  auto layer0 = opened.runner->load_layer(0);
  ASSERT_TRUE(layer0) << layer0.error().message;
  EXPECT_EQ(layer0->index(), 0);
  ASSERT_EQ(layer0->linear_modules().size(), 4u + 1u + 4u * 3u);  // attention, router, 4 experts x 3
  EXPECT_EQ(std::vector<std::string>(layer0->linear_modules().begin(), layer0->linear_modules().begin() + 5), first);
  for (const auto& module : layer0->linear_modules())
    EXPECT_TRUE(rows.contains(module) || module.find(".experts.") != std::string::npos) << module << " never ran";
  const int64_t tokens = one[0].ids.numel();
  // Layer 1 is dense (mlp_only_layers); layers 0 and 2 route every token to 2 of the 4 experts.
  EXPECT_EQ(rows["model.layers.1.mlp.down_proj"], tokens);
  for (int layer : {0, 2}) {
    int64_t routed = 0;
    for (int e = 0; e < 4; ++e) {
      const std::string prefix = "model.layers." + std::to_string(layer) + ".mlp.experts." + std::to_string(e);
      EXPECT_EQ(rows[prefix + ".gate_proj"], rows[prefix + ".down_proj"]);
      routed += rows[prefix + ".gate_proj"];
    }
    EXPECT_EQ(routed, 2 * tokens) << "layer " << layer;
  }
}

TEST(Streaming, UsesSubstitutedWeights) {
  Opened opened = open_case("llama");
  ASSERT_TRUE(opened.runner);
  // With o_proj and down_proj zeroed every layer is the identity, so the logits are the head of the embeddings.
  StreamHooks hooks;
  hooks.on_layer = [](DecoderLayer& layer) {
    for (auto& [name, tensor] : layer.weights())
      if (name.ends_with("o_proj.weight") || name.ends_with("down_proj.weight")) tensor = at::zeros_like(tensor);
    return Status::ok();
  };
  const at::Tensor ids = opened.reference.at("ids_full");
  at::Tensor logits;
  const Status status = opened.runner->run(std::vector<Batch>{{ids, at::Tensor()}}, [&](size_t, const at::Tensor& value) {
    logits = value.clone();
    return Status::ok();
  }, hooks);
  ASSERT_TRUE(status) << status.error().message;
  auto embedded = opened.runner->embed(ids);
  ASSERT_TRUE(embedded) << embedded.error().message;
  auto head = opened.runner->load_head();
  ASSERT_TRUE(head) << head.error().message;
  auto expected = head->forward(*embedded);
  ASSERT_TRUE(expected) << expected.error().message;
  EXPECT_TRUE(at::allclose(logits, *expected, 0, 1e-6));
  // and the unmodified model differs from that
  EXPECT_GT((logits - opened.reference.at("logits_full")).abs().max().item<double>(), 1e-2);
}

// observe() shows the taps what forward() shows them, bit for bit, and skips only the last matmul of a dense
// layer, and only when its output is not read.
TEST(Streaming, ObserveTapsWhatForwardTapsWithoutTheLastMatmul) {
  for (const std::string name : {"llama", "qwen3_moe"}) {
    Opened opened = open_case(name);
    ASSERT_TRUE(opened.runner);
    auto context = opened.runner->context({opened.reference.at("ids_full"), opened.reference.at("mask_full")});
    ASSERT_TRUE(context) << context.error().message;
    auto embedded = opened.runner->embed(opened.reference.at("ids_full"));
    ASSERT_TRUE(embedded) << embedded.error().message;
    for (int64_t index : {0, 1}) {  // qwen3_moe: layer 1 is dense, layer 0 sparse
      auto layer = opened.runner->load_layer(index);
      ASSERT_TRUE(layer) << layer.error().message;
      using Seen = std::map<std::string, std::pair<at::Tensor, at::Tensor>>;
      auto tap_into = [](Seen& seen) {
        return LinearTap([&seen](std::string_view module, const at::Tensor& input, const at::Tensor& output) {
          seen.insert_or_assign(std::string(module), std::pair{input.clone(), output.defined() ? output.clone() : output});
        });
      };
      Seen full, observed, with_last;
      const LinearTap full_tap = tap_into(full), observed_tap = tap_into(observed), last_tap = tap_into(with_last);
      ASSERT_TRUE(layer->forward(*embedded, *context, &full_tap));
      ASSERT_TRUE(layer->observe(*embedded, *context, observed_tap, nullptr, /*last_output=*/false));
      ASSERT_TRUE(layer->observe(*embedded, *context, last_tap, nullptr, /*last_output=*/true));
      ASSERT_EQ(observed.size(), full.size()) << name << " layer " << index;
      const bool dense = layer->last_linear().find(".experts.") == std::string::npos;
      for (const auto& [module, pair] : full) {
        EXPECT_TRUE(at::equal(observed.at(module).first, pair.first)) << module;
        EXPECT_TRUE(at::equal(with_last.at(module).second, pair.second)) << module;
        const bool skipped = dense && module == layer->last_linear();
        EXPECT_EQ(observed.at(module).second.defined(), !skipped) << module;
        if (!skipped) EXPECT_TRUE(at::equal(observed.at(module).second, pair.second)) << module;
      }
    }
  }
}

TEST(Streaming, WeightErrorsNameTheTensor) {
  Opened opened = open_case("llama");
  ASSERT_TRUE(opened.runner);
  opened.source->rewrite = [](std::string_view name, at::Tensor& value) {
    if (name == "model.layers.1.self_attn.k_proj") value = value.t().contiguous();
  };
  auto layer = opened.runner->load_layer(1);
  ASSERT_FALSE(layer);
  EXPECT_EQ(layer.error().message,
            "tensor 'model.layers.1.self_attn.k_proj.weight' has shape [64, 32], the config implies [32, 64]");

  auto missing = opened.runner->weights().tensor("model.layers.9.input_layernorm.weight");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("model.layers.9.input_layernorm.weight"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("llama"), std::string::npos) << missing.error().message;

  EXPECT_FALSE(opened.runner->load_layer(2));  // the model has 2 layers
}

}  // namespace
}  // namespace llmc::exec

namespace llmc::exec {
namespace {

// Every Linear of a layer computes in the batch's matmul math: float32 gives the float32 product of the bf16
// operands rounded once to bf16, dtype gives ATen's bf16 product; eager attention's products are exec's
// matmul_in (matmul_math_test.cpp).
TEST(Streaming, EveryLinearComputesInTheBatchsMatmulMath) {
  const auto dir = testing::fixture_dir() / "llama_linear_tied_bf16";
  const auto reference = testing::read_tensors(dir / "reference_native_eager.safetensors");
  for (const MatmulMath math : {MatmulMath::dtype, MatmulMath::float32}) {
    auto runner = ModelRunner::open(dir, {.dtype = at::kBFloat16, .attention = AttentionMath::eager, .matmul = math});
    ASSERT_TRUE(runner) << runner.error().message;
    auto context = (*runner)->context({reference.at("ids"), at::Tensor()});
    ASSERT_TRUE(context) << context.error().message;
    EXPECT_EQ(context->matmul, math);
    auto hidden = (*runner)->embed(reference.at("ids"));
    ASSERT_TRUE(hidden) << hidden.error().message;
    auto layer = (*runner)->load_layer(0);
    ASSERT_TRUE(layer) << layer.error().message;
    size_t checked = 0;
    const LinearTap tap = [&](std::string_view module, const at::Tensor& x, const at::Tensor& y) {
      const at::Tensor& w = layer->weights().at(std::string(module) + ".weight");
      const at::Tensor expected = math == MatmulMath::float32
                                      ? at::linear(x.to(at::kFloat), w.to(at::kFloat)).to(at::kBFloat16)
                                      : at::linear(x, w);
      EXPECT_TRUE(at::equal(y, expected)) << module;
      ++checked;
    };
    ASSERT_TRUE(layer->forward(*hidden, *context, &tap));
    EXPECT_EQ(checked, layer->linear_modules().size());
  }
}

}  // namespace
}  // namespace llmc::exec
