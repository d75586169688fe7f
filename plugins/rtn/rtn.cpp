// rtn: round-to-nearest quantization, LLM Compressor's QuantizationModifier without calibration data.
//
// For every module of the modifier with a weight scheme (from `scheme`, explicit `weights` or
// [[modifier.group]] tables), the host observes the current weight, computes its quantization
// parameters, and writes the weight quantized and packed in the scheme's compressed-tensors format.
// Recipe keys besides the host's: `weight_observer` overrides the schemes' weight observer
// ("memoryless_minmax", "minmax", "static_minmax" or "mse"; for weights the reference treats the
// first three alike and runs "mse" memoryless). As the reference's, it rewrites the schemes, so the
// checkpoint's quantization_config records it. An imatrix_mse weight observer needs calibration data,
// which the host decides from the recipe's schemes before this plugin runs: it goes in the scheme's
// weights (`observer = "imatrix_mse"`), not in this key.
#include <llmc/plugin.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

namespace {

namespace sdk = llmc::sdk;

constexpr llmc_option_spec options[] = {
    sdk::string_option("weight_observer", R"("")", "overrides the weight observer of every scheme (e.g. \"mse\")"),
};

class Rtn {
 public:
  explicit Rtn(sdk::Context& ctx) : ctx_(ctx), observer_(ctx.option<std::string>("weight_observer")) {
    if (observer_ == "imatrix_mse")
      ctx.option_error("weight_observer", "imatrix_mse needs calibration data, which rtn gets when a scheme asks for "
                                          "it: set observer = \"imatrix_mse\" in the scheme's weights instead");
    else if (!observer_.empty() && observer_ != "memoryless_minmax" && observer_ != "minmax" &&
             observer_ != "static_minmax" && observer_ != "mse" && observer_ != "memoryless_mse")
      ctx.option_error("weight_observer", "expected memoryless_minmax, minmax, static_minmax or mse, got \"" +
                                              observer_ + "\"");
  }

  void initialize(const sdk::ModuleList& modules) {
    if (observer_.empty()) return;
    std::set<std::int32_t> groups;
    for (const sdk::Module module : modules) {
      if (module.group_index() >= 0 && quantizes_weights(module) && groups.insert(module.group_index()).second)
        ctx_.set_weight_arg(module.group_index(), "observer", "\"" + observer_ + "\"");
    }
  }

  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    for (const sdk::Module module : modules) {
      if (module.scheme_json()) layer.quant_weight(module.name());
    }
  }

 private:
  static bool quantizes_weights(const sdk::Module& module) {
    if (!module.scheme_json()) return false;
    const auto scheme = nlohmann::json::parse(*module.scheme_json(), nullptr, /*allow_exceptions=*/false);
    return scheme.is_object() && scheme.contains("weights") && scheme["weights"].is_object();
  }

  sdk::Context& ctx_;
  std::string observer_;
};

}  // namespace

LLMC_CPP_PLUGIN(Rtn, rtn, "1.0.0", "round-to-nearest weight quantization (QuantizationModifier without data)",
                LLMC_CAP_QUANTIZES, options)
