// core/recipe/quant_args.cpp - QuantizationArgs from TOML, CT's validator (compressed-tensors 0.19
// quant_args.py), and CT's dump.
#include "recipe/quant_args.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "recipe/torch_dtype.h"

namespace llmc::recipe {
namespace {

constexpr std::array<std::string_view, 12> kArgsKeys{
    "num_bits", "type", "symmetric", "group_size", "strategy", "block_structure",
    "dynamic", "actorder", "scale_dtype", "zp_dtype", "observer", "observer_kwargs"};

constexpr std::array<std::string_view, 7> kStrategyNames{
    "tensor", "channel", "group", "block", "token", "tensor_group", "attn_head"};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::optional<Strategy> parse_strategy(std::string_view text) {
  for (size_t i = 0; i < kStrategyNames.size(); ++i) {
    if (kStrategyNames[i] == text) return static_cast<Strategy>(i);
  }
  return std::nullopt;
}

bool is_grouped(Strategy strategy) { return strategy == Strategy::group || strategy == Strategy::tensor_group; }

// One key of a QuantizationArgs table; `name` is its full recipe name ("weights.num_bits").
Status read_key(const TomlReader& reader, std::string_view key, std::string_view name, const toml::node& value,
                QuantArgs& args) {
  auto invalid = [&](std::string_view what) {
    return reader.error(reader.at(value), fmt::format("key '{}' {}", name, what));
  };
  if (key == "num_bits") {
    auto bits = reader.integer(name, value);
    LLMC_TRY(bits);
    if (*bits <= 0) return invalid(fmt::format("must be positive, got {}", *bits));
    args.num_bits = *bits;
  } else if (key == "type") {
    auto text = reader.string(name, value);
    LLMC_TRY(text);
    const std::string type = lower(*text);  // CT lower-cases it
    if (type != "int" && type != "float") {
      return invalid(fmt::format("must be \"int\" or \"float\", got \"{}\"", *text));
    }
    args.type = type == "int" ? QuantType::int_ : QuantType::float_;
  } else if (key == "symmetric") {
    auto flag = reader.boolean(name, value);
    LLMC_TRY(flag);
    args.symmetric = *flag;
  } else if (key == "group_size") {
    auto size = reader.integer(name, value);
    LLMC_TRY(size);
    if (*size < -1) {
      return invalid(fmt::format("is {}: use a positive group_size for strategy 'group' and -1 for 'channel'", *size));
    }
    args.group_size = *size;
  } else if (key == "strategy") {
    auto text = reader.string(name, value);
    LLMC_TRY(text);
    const auto strategy = parse_strategy(lower(*text));
    if (!strategy) return invalid(fmt::format("must be one of {}, got \"{}\"", join(kStrategyNames), *text));
    args.strategy = strategy;
  } else if (key == "block_structure") {
    // CT accepts [rows, cols] and, for backward compatibility, the string "ROWSxCOLS".
    std::vector<int64_t> dims;
    if (const auto* text = value.as_string()) {
      const std::string& spec = text->get();
      const size_t x = spec.find('x');
      try {
        size_t used_rows = 0, used_cols = 0;
        const std::string rows = spec.substr(0, x), cols = x == std::string::npos ? "" : spec.substr(x + 1);
        dims = {std::stoll(rows, &used_rows), std::stoll(cols, &used_cols)};
        if (used_rows != rows.size() || used_cols != cols.size()) dims.clear();
      } catch (const std::exception&) {
        dims.clear();
      }
    } else if (const auto* array = value.as_array()) {
      for (const auto& element : *array) {
        const auto* number = element.as_integer();
        if (number == nullptr) { dims.clear(); break; }
        dims.push_back(number->get());
      }
    } else {
      return reader.type_error(name, value, "an array of two integers [rows, cols]");
    }
    if (dims.size() != 2 || dims[0] <= 0 || dims[1] <= 0) {
      return invalid("must be a list of two positive integers [rows, cols]");
    }
    args.block_structure = std::array<int64_t, 2>{dims[0], dims[1]};
  } else if (key == "dynamic") {
    if (const auto* flag = value.as_boolean()) {
      args.dynamic = flag->get() ? Dynamic::on : Dynamic::off;
    } else if (const auto* text = value.as_string()) {
      if (lower(text->get()) != "local") {
        return invalid(fmt::format("must be true, false or \"local\", got \"{}\"", text->get()));
      }
      args.dynamic = Dynamic::local;
    } else {
      return reader.type_error(name, value, "a boolean or \"local\"");
    }
  } else if (key == "actorder") {
    // compressed-tensors 0.19 removed activation ordering "group" (alias "dynamic"; `true` meant it).
    if (const auto* flag = value.as_boolean()) {
      if (flag->get()) {
        return invalid("= true meant actorder \"group\", which compressed-tensors removed; use \"weight\"");
      }
      args.actorder.reset();
    } else if (const auto* text = value.as_string()) {
      const std::string& order = text->get();
      if (lower(order) == "group" || lower(order) == "dynamic") {
        return invalid(fmt::format("\"{}\" was removed from compressed-tensors; use \"weight\"", order));
      }
      if (order != "weight" && order != "static") {
        return invalid(fmt::format("must be \"weight\" (alias \"static\") or false, got \"{}\"", order));
      }
      args.actorder = order;
    } else {
      return reader.type_error(name, value, "a string or false");
    }
  } else if (key == "scale_dtype" || key == "zp_dtype") {
    auto text = reader.string(name, value);
    LLMC_TRY(text);
    const auto dtype = canonical_torch_dtype(*text);
    if (!dtype) {
      const auto names = torch_dtype_names();
      return invalid(fmt::format("names no torch dtype usable here: \"{}\"; valid: {}", *text, join(names)));
    }
    (key == "scale_dtype" ? args.scale_dtype : args.zp_dtype) = std::string(*dtype);
  } else if (key == "observer") {
    auto text = reader.string(name, value);
    LLMC_TRY(text);
    args.observer = *text;
  } else if (key == "observer_kwargs") {
    auto table = reader.table(name, value);
    LLMC_TRY(table);
    args.observer_kwargs = toml_to_json(**table);
  }
  return Status::ok();
}

}  // namespace

std::string_view to_string(QuantType type) { return type == QuantType::int_ ? "int" : "float"; }

std::string_view to_string(Strategy strategy) { return kStrategyNames[static_cast<size_t>(strategy)]; }

Expected<QuantArgs> parse_quant_args(const TomlReader& reader, std::string_view name, const toml::table& table) {
  LLMC_TRY(reader.check_keys(table, kArgsKeys, fmt::format("'{}'", name)));
  QuantArgs args;
  for (const auto& [key, value] : table) {
    LLMC_TRY(read_key(reader, key.str(), fmt::format("{}.{}", name, key.str()), value, args));
  }
  if (auto status = finalize_quant_args(args); !status) {
    return reader.error(reader.at(table), fmt::format("key '{}': {}", name, status.error().message));
  }
  return args;
}

Status finalize_quant_args(QuantArgs& args) {
  const auto& group_size = args.group_size;
  if (!args.strategy) {
    if (!group_size) {
      args.strategy = Strategy::tensor;
    } else if (*group_size > 0) {
      args.strategy = Strategy::group;
    } else if (*group_size == -1) {
      args.strategy = Strategy::channel;
    } else {
      return Error{fmt::format("invalid group_size {}: use a positive group_size for strategy 'group' and -1 for "
                               "'channel'", *group_size)};
    }
  }
  const Strategy strategy = *args.strategy;
  if (strategy == Strategy::token && args.dynamic == Dynamic::off) {
    return Error{"strategy 'token' needs dynamic = true (static token quantization does not exist)"};
  }
  if (is_grouped(strategy) && (!group_size || *group_size <= 0)) {
    return Error{fmt::format("strategy '{}' requires a positive group_size", to_string(strategy))};
  }
  if (group_size && *group_size > 0 && !is_grouped(strategy)) {
    return Error{fmt::format("group_size {} requires strategy 'group' or 'tensor_group', got '{}'", *group_size,
                             to_string(strategy))};
  }
  if (strategy == Strategy::block && !args.block_structure) return Error{"strategy 'block' requires block_structure"};
  if (strategy != Strategy::block && args.block_structure) {
    return Error{fmt::format("block_structure requires strategy 'block', got '{}'", to_string(strategy))};
  }
  if (args.dynamic != Dynamic::off) {
    if (strategy != Strategy::token && strategy != Strategy::tensor && strategy != Strategy::tensor_group &&
        strategy != Strategy::group) {
      return Error{fmt::format("dynamic quantization needs strategy token, tensor, tensor_group or group, got '{}'",
                               to_string(strategy))};
    }
    if (args.dynamic == Dynamic::local && strategy != Strategy::tensor_group) {
      return Error{fmt::format("dynamic = \"local\" needs strategy 'tensor_group', got '{}'", to_string(strategy))};
    }
  }
  // CT raises only when it must infer zp_dtype for such a width; llmc has no other float formats at all.
  if (args.type == QuantType::float_ && args.num_bits != 4 && args.num_bits != 8) {
    return Error{fmt::format("float quantization supports num_bits 4 (E2M1) and 8 (E4M3), got {}", args.num_bits)};
  }
  if (!args.zp_dtype) {
    if (args.type == QuantType::float_) {
      args.zp_dtype = "torch.float8_e4m3fn";
    } else {
      args.zp_dtype = args.num_bits <= 8 ? "torch.int8" : args.num_bits <= 16 ? "torch.int16" : "torch.int32";
    }
  }
  return Status::ok();
}

void apply_default_observer(QuantArgs& args, ArgsRole role) {
  if (args.observer || role == ArgsRole::kv_cache) return;
  if (args.dynamic == Dynamic::on) return;
  args.observer = role == ArgsRole::weights ? "memoryless_minmax" : "minmax";
}

nlohmann::json to_json(const QuantArgs& args) {
  auto optional = [](const auto& value) -> nlohmann::json {
    if (!value) return nullptr;
    return *value;
  };
  nlohmann::json out;
  out["num_bits"] = args.num_bits;
  out["type"] = to_string(args.type);
  out["symmetric"] = args.symmetric;
  out["group_size"] = optional(args.group_size);
  out["strategy"] = args.strategy ? nlohmann::json(to_string(*args.strategy)) : nlohmann::json(nullptr);
  out["block_structure"] = optional(args.block_structure);
  switch (args.dynamic) {
    case Dynamic::off: out["dynamic"] = false; break;
    case Dynamic::on: out["dynamic"] = true; break;
    case Dynamic::local: out["dynamic"] = "local"; break;
  }
  out["actorder"] = optional(args.actorder);
  out["scale_dtype"] = optional(args.scale_dtype);
  out["zp_dtype"] = args.symmetric ? nlohmann::json(nullptr) : optional(args.zp_dtype);  // CT's serializer
  out["observer"] = optional(args.observer);
  out["observer_kwargs"] = args.observer_kwargs;
  return out;
}

}  // namespace llmc::recipe

namespace llmc::recipe {
namespace {

// One key of a QuantizationArgs JSON object (compressed-tensors' field validators, as read_key does).
Status read_json_key(const std::string& key, const nlohmann::json& value, QuantArgs& args) {
  auto invalid = [&](std::string_view what) { return Error{fmt::format("key '{}' {}", key, what)}; };
  auto expect = [&](bool ok, std::string_view type) -> Status {
    if (ok) return Status::ok();
    return invalid(fmt::format("must be {}, got {}", type, value.dump()));
  };
  if (key == "num_bits") {
    LLMC_TRY(expect(value.is_number_integer() && value.get<int64_t>() > 0, "a positive integer"));
    args.num_bits = value.get<int64_t>();
  } else if (key == "type") {
    LLMC_TRY(expect(value.is_string() && (lower(value.get<std::string>()) == "int" ||
                                          lower(value.get<std::string>()) == "float"), "\"int\" or \"float\""));
    args.type = lower(value.get<std::string>()) == "int" ? QuantType::int_ : QuantType::float_;
  } else if (key == "symmetric") {
    LLMC_TRY(expect(value.is_boolean(), "a boolean"));
    args.symmetric = value.get<bool>();
  } else if (key == "group_size") {
    if (value.is_null()) { args.group_size.reset(); return Status::ok(); }
    LLMC_TRY(expect(value.is_number_integer() && value.get<int64_t>() >= -1, "null or an integer >= -1"));
    args.group_size = value.get<int64_t>();
  } else if (key == "strategy") {
    if (value.is_null()) { args.strategy.reset(); return Status::ok(); }
    const auto strategy = value.is_string() ? parse_strategy(lower(value.get<std::string>())) : std::nullopt;
    LLMC_TRY(expect(strategy.has_value(), fmt::format("null or one of {}", join(kStrategyNames))));
    args.strategy = strategy;
  } else if (key == "block_structure") {
    if (value.is_null()) { args.block_structure.reset(); return Status::ok(); }
    std::vector<int64_t> dims;
    if (value.is_string()) {
      const std::string spec = value.get<std::string>();
      const size_t x = spec.find('x');
      const std::string rows = spec.substr(0, x), cols = x == std::string::npos ? "" : spec.substr(x + 1);
      try {
        size_t used_rows = 0, used_cols = 0;
        dims = {std::stoll(rows, &used_rows), std::stoll(cols, &used_cols)};
        if (used_rows != rows.size() || used_cols != cols.size()) dims.clear();
      } catch (const std::exception&) {
        dims.clear();
      }
    } else if (value.is_array()) {
      for (const auto& element : value) {
        if (!element.is_number_integer()) { dims.clear(); break; }
        dims.push_back(element.get<int64_t>());
      }
    }
    LLMC_TRY(expect(dims.size() == 2 && dims[0] > 0 && dims[1] > 0, "a list of two positive integers [rows, cols]"));
    args.block_structure = std::array<int64_t, 2>{dims[0], dims[1]};
  } else if (key == "dynamic") {
    const bool local = value.is_string() && lower(value.get<std::string>()) == "local";
    LLMC_TRY(expect(value.is_boolean() || local, "true, false or \"local\""));
    args.dynamic = local ? Dynamic::local : value.get<bool>() ? Dynamic::on : Dynamic::off;
  } else if (key == "actorder") {
    if (value.is_null() || (value.is_boolean() && !value.get<bool>())) { args.actorder.reset(); return Status::ok(); }
    const bool ok = value.is_string() && (value.get<std::string>() == "weight" || value.get<std::string>() == "static");
    LLMC_TRY(expect(ok, "\"weight\" (alias \"static\"), false or null (compressed-tensors removed \"group\")"));
    args.actorder = value.get<std::string>();
  } else if (key == "scale_dtype" || key == "zp_dtype") {
    auto& field = key == "scale_dtype" ? args.scale_dtype : args.zp_dtype;
    if (value.is_null()) { field.reset(); return Status::ok(); }
    const auto dtype = value.is_string() ? canonical_torch_dtype(value.get<std::string>()) : std::nullopt;
    LLMC_TRY(expect(dtype.has_value(), "null or a torch dtype name"));
    field = std::string(*dtype);
  } else if (key == "observer") {
    if (value.is_null()) { args.observer.reset(); return Status::ok(); }
    LLMC_TRY(expect(value.is_string(), "null or a string"));
    args.observer = value.get<std::string>();
  } else if (key == "observer_kwargs") {
    LLMC_TRY(expect(value.is_object(), "an object"));
    args.observer_kwargs = value;
  } else {
    return Error{fmt::format("unknown key '{}'; valid: {}", key, join(kArgsKeys))};
  }
  return Status::ok();
}

}  // namespace

Expected<QuantArgs> quant_args_from_json(const nlohmann::json& json) {
  if (!json.is_object()) return Error{fmt::format("QuantizationArgs must be an object, got {}", json.dump())};
  QuantArgs args;
  for (const auto& [key, value] : json.items()) LLMC_TRY(read_json_key(key, value, args));
  LLMC_TRY(finalize_quant_args(args));
  return args;
}

}  // namespace llmc::recipe
