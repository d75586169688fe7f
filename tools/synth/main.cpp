// tools/synth/main.cpp - llmc-synth: writes a synthetic Llama-shaped checkpoint with random weights.
#include <cctype>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "model/synthetic_llama.h"

namespace po = boost::program_options;

namespace {

// "5000000000", "500MB", "2GB", "64KiB" -> bytes (decimal or binary units, as transformers accepts).
std::optional<uint64_t> parse_size(std::string text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  const uint64_t number = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.empty() || unit == "B") return number;
  if (unit == "KB") return number * 1'000;
  if (unit == "MB") return number * 1'000'000;
  if (unit == "GB") return number * 1'000'000'000;
  if (unit == "KIB") return number << 10;
  if (unit == "MIB") return number << 20;
  if (unit == "GIB") return number << 30;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("llmc-synth: write a synthetic Llama checkpoint with random weights");
  options.add_options()
      ("help,h", "show this help")
      ("output,o", po::value<std::string>()->required(), "output directory")
      ("preset", po::value<std::string>()->default_value("tiny"), "tiny, smollm2-135m or llama-1b")
      ("hidden", po::value<int64_t>(), "hidden size")
      ("intermediate", po::value<int64_t>(), "MLP intermediate size")
      ("layers", po::value<int64_t>(), "decoder layers")
      ("heads", po::value<int64_t>(), "attention heads")
      ("kv-heads", po::value<int64_t>(), "key/value heads")
      ("vocab", po::value<int64_t>(), "vocabulary size")
      ("dtype", po::value<std::string>()->default_value("bf16"), "bf16, f16 or f32")
      ("tie-embeddings", po::value<bool>()->implicit_value(true), "tie lm_head to the input embedding")
      ("seed", po::value<uint64_t>()->default_value(0), "random seed")
      ("max-shard-size", po::value<std::string>()->default_value("5GB"), "largest shard (bytes, or 500MB, 2GB)")
      ("overwrite", po::bool_switch(), "replace an existing output directory");

  po::variables_map args;
  try {
    po::store(po::parse_command_line(argc, argv, options), args);
    if (args.count("help")) {
      std::cout << options << "\n";
      return 0;
    }
    po::notify(args);
  } catch (const po::error& error) {
    std::cerr << "llmc-synth: " << error.what() << "\n\n" << options << "\n";
    return 2;
  }

  llmc::model::SynthOptions synth;
  synth.output = args["output"].as<std::string>();
  const auto shape = llmc::model::preset(args["preset"].as<std::string>());
  if (!shape) {
    std::cerr << "llmc-synth: unknown --preset " << args["preset"].as<std::string>() << "\n";
    return 2;
  }
  synth.shape = *shape;
  const auto set = [&](const char* key, int64_t& field) {
    if (args.count(key)) field = args[key].as<int64_t>();
  };
  set("hidden", synth.shape.hidden);
  set("intermediate", synth.shape.intermediate);
  set("layers", synth.shape.layers);
  set("heads", synth.shape.heads);
  set("kv-heads", synth.shape.kv_heads);
  set("vocab", synth.shape.vocab);
  if (args.count("tie-embeddings")) synth.shape.tie_embeddings = args["tie-embeddings"].as<bool>();

  const std::string dtype = args["dtype"].as<std::string>();
  if (dtype == "bf16") synth.dtype = llmc::DType::BF16;
  else if (dtype == "f16") synth.dtype = llmc::DType::F16;
  else if (dtype == "f32") synth.dtype = llmc::DType::F32;
  else {
    std::cerr << "llmc-synth: --dtype must be bf16, f16 or f32, not " << dtype << "\n";
    return 2;
  }
  const auto max_shard_size = parse_size(args["max-shard-size"].as<std::string>());
  if (!max_shard_size || *max_shard_size == 0) {
    std::cerr << "llmc-synth: bad --max-shard-size " << args["max-shard-size"].as<std::string>() << "\n";
    return 2;
  }
  synth.max_shard_size = *max_shard_size;
  synth.seed = args["seed"].as<uint64_t>();
  synth.overwrite = args["overwrite"].as<bool>();

  if (const auto status = llmc::model::write_synthetic_llama(synth); !status) {
    std::cerr << "llmc-synth: " << status.error().message << "\n";
    return 1;
  }
  return 0;
}
