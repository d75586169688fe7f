// recorder: a test plugin (C++ wrapper) that appends one JSON line per lifecycle call to `log_file`:
//   {"event":"create","options":{"log_file":"...","fail_in":"","edit":false,"set_tensor":false}}
//   {"event":"initialize","modules":[{"name":"...","kind":"linear","layer_index":0,"group_index":-1,
//                                     "scheme_json":null}, ...]}      (scheme_json: the string, or null)
//   {"event":"compress","layer_index":0,"layer_name":"...","modules":["...", ...]}
//   {"event":"finalize"}
//   {"event":"destroy"}
// A call is recorded before it acts, so a requested failure is recorded too. Keys:
//   fail_in     the callback (create, initialize, compress, finalize) that fails with
//               LLMC_ERROR_INTERNAL "recorder: requested failure in <callback>"
//   edit        compress adds 1.0 to every element of each module's weight (host copies to float32
//               and back), so tests can see edits reach the output
//   set_tensor  compress sets "<module>.recorder_marker" = float32 [1] holding the layer index
//   tag         a string put first in every line as "tag", to tell several modifiers apart in one log
// Capabilities: LLMC_CAP_QUANTIZES (so recipes may give it schemes, which it records) and
// LLMC_CAP_EDITS_WEIGHTS. No calibrate: a run with only the recorder is data-free.
#include <llmc/plugin.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace sdk = llmc::sdk;

constexpr llmc_option_spec options[] = {
    sdk::string_option("log_file", sdk::required, "file the JSON lines are appended to"),
    sdk::string_option("fail_in", R"("")", "callback that fails on request: create, initialize, compress, finalize"),
    sdk::bool_option("edit", "false", "compress adds 1.0 to every element of each module's weight"),
    sdk::bool_option("set_tensor", "false", "compress sets <module>.recorder_marker = float32 [1] = layer index"),
    sdk::string_option("tag", R"("")", "written into every line, to tell several modifiers apart in one log"),
};

constexpr std::array<std::string_view, 5> failable = {"", "create", "initialize", "compress", "finalize"};

// `text` as a JSON string literal.
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

const char* json_bool(bool value) { return value ? "true" : "false"; }

const char* kind_name(sdk::ModuleKind kind) {
  switch (kind) {
    case sdk::ModuleKind::linear: return "linear";
    case sdk::ModuleKind::embedding: return "embedding";
    case sdk::ModuleKind::norm: return "norm";
    case sdk::ModuleKind::other: break;
  }
  return "other";
}

class Recorder {
 public:
  explicit Recorder(sdk::Context& ctx)
      : ctx_(ctx),
        log_file_(ctx.option<std::string>("log_file")),
        fail_in_(ctx.option<std::string>("fail_in")),
        edit_(ctx.option<bool>("edit")),
        set_tensor_(ctx.option<bool>("set_tensor")),
        tag_(ctx.option<std::string>("tag")) {
    if (std::find(failable.begin(), failable.end(), fail_in_) == failable.end()) {
      ctx.option_error("fail_in", "expected one of create, initialize, compress, finalize, got " + quote(fail_in_));
    }
    record("{\"event\":\"create\",\"options\":{\"log_file\":" + quote(log_file_) + ",\"fail_in\":" + quote(fail_in_) +
           ",\"edit\":" + json_bool(edit_) + ",\"set_tensor\":" + json_bool(set_tensor_) + "}}");
    fail_if("create");
  }

  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  ~Recorder() {
    try {
      record(R"({"event":"destroy"})");
    } catch (...) {
      ctx_.log_error("recorder: cannot record destroy in " + log_file_);
    }
  }

  void initialize(const sdk::ModuleList& modules) {
    std::string line = R"({"event":"initialize","modules":[)";
    for (const sdk::Module module : modules) {
      if (line.back() == '}') line += ',';
      const std::optional<std::string_view> scheme = module.scheme_json();
      line += "{\"name\":" + quote(module.name()) + ",\"kind\":\"" + kind_name(module.kind()) +
              "\",\"layer_index\":" + std::to_string(module.layer_index()) +
              ",\"group_index\":" + std::to_string(module.group_index()) +
              ",\"scheme_json\":" + (scheme ? quote(*scheme) : "null") + "}";
    }
    record(line + "]}");
    fail_if("initialize");
  }

  void compress(sdk::Layer& layer, const sdk::ModuleList& modules) {
    std::string names;
    for (const sdk::Module module : modules) names += (names.empty() ? "" : ",") + quote(module.name());
    record("{\"event\":\"compress\",\"layer_index\":" + std::to_string(layer.index()) +
           ",\"layer_name\":" + quote(layer.name()) + ",\"modules\":[" + names + "]}");
    fail_if("compress");
    for (const sdk::Module module : modules) {
      if (edit_) add_one(layer.tensor(module.name(), "weight", sdk::Access::write));
      if (set_tensor_) {
        const sdk::OwnedTensor marker = ctx_.allocate(sdk::float32, {1});
        marker.view().values<float>()[0] = static_cast<float>(layer.index());
        layer.set_tensor(module.name(), "recorder_marker", marker.view());
      }
    }
  }

  void finalize() {
    record(R"({"event":"finalize"})");
    fail_if("finalize");
  }

 private:
  // Appends one line, tagged, to the log file (opened per line, so the log survives a crash of the host).
  void record(const std::string& line) const {
    std::ofstream out(log_file_, std::ios::app);
    out << "{\"tag\":" << quote(tag_) << ',' << line.substr(1) << '\n';
    out.close();
    if (!out) throw sdk::Error(LLMC_ERROR_INVALID_ARGUMENT, "recorder: cannot append to " + log_file_);
  }

  void fail_if(std::string_view callback) const {
    if (fail_in_ == callback) {
      throw sdk::Error(LLMC_ERROR_INTERNAL, "recorder: requested failure in " + std::string(callback));
    }
  }

  // Adds 1.0 to every element of `weight`, through a float32 copy.
  void add_one(const sdk::TensorView& weight) const {
    const sdk::OwnedTensor buffer = ctx_.convert(weight, sdk::float32);
    for (float& value : buffer.view().values<float>()) value += 1.0f;
    ctx_.copy(buffer.view(), weight);
  }

  sdk::Context& ctx_;
  std::string log_file_;
  std::string fail_in_;
  bool edit_;
  bool set_tensor_;
  std::string tag_;
};

}  // namespace

LLMC_CPP_PLUGIN(Recorder, recorder, "1.0.0", "test plugin: records every lifecycle call as JSON lines",
                LLMC_CAP_QUANTIZES | LLMC_CAP_EDITS_WEIGHTS, options)
