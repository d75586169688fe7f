// calibration_recorder: a test plugin (C++ wrapper) that records what a calibrated run hands it, one JSON line
// per call, appended to `log_file`:
//   {"event":"calibrate","layer_index":0,"batch":3,"sequences":1,
//    "items":[{"module":"...","tokens":64,"features":256,"input_group":0,"has_output":false}, ...]}
//   {"event":"compress","layer_index":0,"mappings":[{"smooth":"...","balance":["..."],"parent":"..."}],
//    "forward":[{"module":"...","shape":[64,256],"max_abs_diff":0.0}]}
// input_group numbers the distinct input memories of a batch (modules reading one tensor share a group).
// In compress it runs every mapping's parent and each balance Linear on batch 0 with module_forward, and
// compares a balance Linear's output with x W^T computed here from the cached input it was calibrated on
// (max_abs_diff; a Linear only). With `scale_weights`, compress multiplies every module's weight by 2
// before those forwards, so the outputs show whether the host runs the edited weights. It declares
// LLMC_CAP_NEEDS_OUTPUTS, so every item should have an output. Keys: log_file (required), mapping_algorithm
// ("awq"), scale_weights (false).
#include <llmc/plugin.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

namespace sdk = llmc::sdk;

constexpr llmc_option_spec options[] = {
    sdk::string_option("log_file", sdk::required, "file the JSON lines are appended to"),
    sdk::string_option("mapping_algorithm", R"("awq")", "which mappings compress asks for: awq or smoothquant"),
    sdk::bool_option("scale_weights", "false", "compress doubles every module's weight before running forwards"),
};

std::string quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// The values of a compact float32 or bfloat16 CPU tensor as floats (through the host's conversion).
std::vector<float> as_floats(sdk::Context& ctx, const sdk::TensorView& view) {
  const sdk::OwnedTensor copy = ctx.convert(view, sdk::float32);
  const auto values = copy.view().values<float>();
  return {values.begin(), values.end()};
}

class CalibrationRecorder {
 public:
  explicit CalibrationRecorder(sdk::Context& ctx)
      : ctx_(ctx),
        log_file_(ctx.option<std::string>("log_file")),
        algorithm_(ctx.option<std::string>("mapping_algorithm")),
        scale_weights_(ctx.option<bool>("scale_weights")) {}

  void calibrate(sdk::Layer& layer, const sdk::CalibrationBatch& batch) {
    std::map<const void*, int> groups;
    std::string items;
    for (const sdk::Activation activation : batch) {
      const auto input = activation.input();
      const int group = groups.try_emplace(input.data_ptr(), static_cast<int>(groups.size())).first->second;
      items += std::string(items.empty() ? "" : ",") + "{\"module\":" + quote(activation.module()) +
               ",\"tokens\":" + std::to_string(input.shape()[0]) + ",\"features\":" + std::to_string(input.shape()[1]) +
               ",\"input_group\":" + std::to_string(group) +
               ",\"has_output\":" + (activation.output() ? "true" : "false") + "}";
      if (batch.index() == 0) first_inputs_[std::string(activation.module())] = as_floats(ctx_, input);
    }
    record("{\"event\":\"calibrate\",\"layer_index\":" + std::to_string(layer.index()) + ",\"batch\":" +
           std::to_string(batch.index()) + ",\"sequences\":" + std::to_string(batch.sequences()) + ",\"items\":[" +
           items + "]}");
  }

  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    if (scale_weights_)
      for (const sdk::Module module : modules) {
        const sdk::TensorView weight = layer.tensor(module.name(), "weight", sdk::Access::write);
        sdk::OwnedTensor doubled = ctx_.convert(weight, sdk::float32);
        for (float& value : doubled.view().values<float>()) value *= 2.0f;
        ctx_.copy(doubled.view(), weight);
      }
    std::string mappings, forwards;
    for (const sdk::Mapping& mapping : layer.mappings(algorithm_)) {
      std::string balance;
      for (const auto& name : mapping.balance) balance += std::string(balance.empty() ? "" : ",") + quote(name);
      mappings += std::string(mappings.empty() ? "" : ",") + "{\"smooth\":" + quote(mapping.smooth) + ",\"balance\":[" +
                  balance + "],\"parent\":" + quote(mapping.parent) + "}";
      forwards += std::string(forwards.empty() ? "" : ",") + forward_record(layer, mapping.parent);
      for (const auto& name : mapping.balance) forwards += "," + forward_record(layer, name);
    }
    record("{\"event\":\"compress\",\"layer_index\":" + std::to_string(layer.index()) + ",\"mappings\":[" + mappings +
           "],\"forward\":[" + forwards + "]}");
    first_inputs_.clear();
  }

 private:
  // Runs `module` on batch 0; for a Linear whose input was recorded, the largest |output - x W^T|.
  std::string forward_record(sdk::Layer& layer, const std::string& module) {
    const sdk::OwnedTensor output = layer.forward(module, 0);
    const auto shape = output.view().shape();
    std::string line = "{\"module\":" + quote(module) + ",\"shape\":[" + std::to_string(shape[0]) + "," +
                       std::to_string(shape[1]) + "]";
    if (const auto input = first_inputs_.find(module); input != first_inputs_.end()) {
      const std::vector<float> y = as_floats(ctx_, output.view());
      const std::vector<float> w = as_floats(ctx_, layer.tensor(module, "weight"));
      const int64_t tokens = shape[0], out = shape[1], in = static_cast<int64_t>(w.size()) / out;
      double worst = 0;
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t o = 0; o < out; ++o) {
          double sum = 0;
          for (int64_t i = 0; i < in; ++i) sum += double(input->second[t * in + i]) * w[o * in + i];
          worst = std::max(worst, std::abs(sum - y[t * out + o]) / std::max(1.0, std::abs(sum)));
        }
      line += ",\"max_rel_diff\":" + std::to_string(worst);
    }
    return line + "}";
  }

  void record(const std::string& line) const {
    std::ofstream out(log_file_, std::ios::app);
    out << line << '\n';
    if (!out) throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, "calibration_recorder: cannot append to " + log_file_);
  }

  sdk::Context& ctx_;
  std::string log_file_;
  std::string algorithm_;
  bool scale_weights_;
  std::map<std::string, std::vector<float>> first_inputs_;  // module -> batch 0's input
};

}  // namespace

LLMC_CPP_PLUGIN(CalibrationRecorder, calibration_recorder, "1.0.0",
                "test plugin: records calibrate/compress calls, mappings and module forwards",
                LLMC_CAP_EDITS_WEIGHTS | LLMC_CAP_NEEDS_OUTPUTS | LLMC_CAP_RUNS_MODULES, options)
