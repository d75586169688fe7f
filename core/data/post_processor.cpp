// core/data/post_processor.cpp
#include "data/post_processor.h"

#include <limits>

#include <fmt/format.h>

namespace llmc::data {
namespace {

constexpr std::string_view kSupported = "TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence";

Expected<int32_t> parse_id(const JsonNode& node) {
  auto id = node.as_int();
  if (!id) return id.error();
  if (*id < 0 || *id > std::numeric_limits<int32_t>::max()) return node.error("is not a valid id");
  return static_cast<int32_t>(*id);
}

// TemplateProcessing's `single`: pieces {"SpecialToken": {"id": name}} and one {"Sequence": {"id": "A"}}.
Expected<PostProcessor> parse_template(const JsonNode& node) {
  const JsonNode single = node["single"];
  if (!single.value().is_array()) return single.error(single.is_null() ? "is missing" : "must be an array");
  const JsonNode special_tokens = node["special_tokens"];
  PostProcessor processor;
  bool seen_sequence = false;
  for (std::size_t i = 0; i < single.size(); ++i) {
    const JsonNode piece = single.at(i);
    if (const JsonNode sequence = piece["Sequence"]; !sequence.is_null()) {
      auto id = sequence.string("id");
      if (!id) return id.error();
      if (*id != "A" || seen_sequence) return sequence["id"].error("must name sequence A, once");
      seen_sequence = true;
      continue;
    }
    const JsonNode special = piece["SpecialToken"];
    if (special.is_null()) return piece.error("must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    auto name = special.string("id");
    if (!name) return name.error();
    const JsonNode entry = special_tokens[*name];
    if (entry.is_null()) return entry.error("is missing (the template uses it)");
    const JsonNode ids = entry["ids"];
    if (!ids.value().is_array()) return ids.error("must be an array");
    for (std::size_t j = 0; j < ids.size(); ++j) {
      auto id = parse_id(ids.at(j));
      if (!id) return id.error();
      (seen_sequence ? processor.suffix : processor.prefix).push_back(*id);
    }
  }
  if (!seen_sequence) return single.error("has no {\"Sequence\": {\"id\": \"A\"}}");
  return processor;
}

// RobertaProcessing and BertProcessing: `cls` and `sep` are ["token", id].
Expected<PostProcessor> parse_cls_sep(const JsonNode& node) {
  PostProcessor processor;
  for (const char* key : {"cls", "sep"}) {
    const JsonNode pair = node[key];
    if (pair.size() != 2) return pair.error("must be [\"token\", id]");
    auto id = parse_id(pair.at(1));
    if (!id) return id.error();
    (std::string_view(key) == "cls" ? processor.prefix : processor.suffix).push_back(*id);
  }
  return processor;
}

}  // namespace

Expected<PostProcessor> PostProcessor::parse(const JsonNode& node) {
  if (node.is_null()) return PostProcessor{};
  auto type = node.type();
  if (!type) return type.error();
  if (*type == "TemplateProcessing") return parse_template(node);
  if (*type == "RobertaProcessing" || *type == "BertProcessing") return parse_cls_sep(node);
  if (*type == "ByteLevel") return PostProcessor{};  // it only adjusts offsets
  if (*type == "Sequence") {
    const JsonNode list = node["processors"];
    if (!list.value().is_array()) return list.error("must be an array");
    PostProcessor combined;
    // Each processor wraps what the previous ones made.
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto step = parse(list.at(i));
      if (!step) return step.error();
      combined.prefix.insert(combined.prefix.begin(), step->prefix.begin(), step->prefix.end());
      combined.suffix.insert(combined.suffix.end(), step->suffix.begin(), step->suffix.end());
    }
    return combined;
  }
  return node.unsupported_type(kSupported);
}

}  // namespace llmc::data
