// rtn: round-to-nearest quantization, LLM Compressor's QuantizationModifier without calibration data.
//
// For every module of the modifier with a weight scheme (from `scheme`, explicit `weights` or
// [[modifier.group]] tables), the host observes the current weight, computes its quantization
// parameters, and writes the weight quantized and packed in the scheme's compressed-tensors format.
// Recipe keys besides the host's: `weight_observer` overrides the schemes' weight observer
// ("memoryless_minmax", "minmax", "static_minmax" or "mse"; for weights the reference treats the
// first three alike and runs "mse" memoryless).
#include <llmc/plugin.hpp>

#include <string>

namespace {

namespace sdk = llmc::sdk;

constexpr llmc_option_spec options[] = {
    sdk::string_option("weight_observer", R"("")", "overrides the weight observer of every scheme (e.g. \"mse\")"),
};

class Rtn {
 public:
  explicit Rtn(sdk::Context& ctx) : observer_(ctx.option<std::string>("weight_observer")) {
    if (!observer_.empty() && observer_ != "memoryless_minmax" && observer_ != "minmax" &&
        observer_ != "static_minmax" && observer_ != "mse" && observer_ != "memoryless_mse")
      ctx.option_error("weight_observer", "expected memoryless_minmax, minmax, static_minmax or mse, got \"" +
                                              observer_ + "\"");
  }

  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    for (const sdk::Module module : modules) {
      if (module.scheme_json()) layer.quant_weight(module.name(), observer_);
    }
  }

 private:
  std::string observer_;
};

}  // namespace

LLMC_CPP_PLUGIN(Rtn, rtn, "1.0.0", "round-to-nearest weight quantization (QuantizationModifier without data)",
                LLMC_CAP_QUANTIZES, options)
