// core/data/dataset_reader.cpp
#include "data/dataset_reader.h"

#include <fmt/format.h>

#include <fstream>
#include <limits>
#include <sstream>

namespace llmc::data {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string json_type(const Json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number_float()) return "float";
  return value.type_name();
}

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos; }

Expected<std::vector<int32_t>> read_token_ids(const Json& value, const std::string& origin) {
  if (!value.is_array()) {
    return Error{fmt::format("{}: 'input_ids' must be an array of integers, got {}", origin, json_type(value))};
  }
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const Json& id = value[i];
    const bool fits = (id.is_number_unsigned() && id.get<uint64_t>() <= std::numeric_limits<int32_t>::max()) ||
                      (id.is_number_integer() && !id.is_number_unsigned() &&
                       id.get<int64_t>() >= std::numeric_limits<int32_t>::min() &&
                       id.get<int64_t>() <= std::numeric_limits<int32_t>::max());
    if (!fits) {
      return Error{fmt::format("{}: 'input_ids'[{}] must be an integer in the int32 range, got {}", origin, i,
                               id.is_number_integer() ? id.dump() : json_type(id))};
    }
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return ids;
}

Expected<DatasetRecord> read_object(const Json& object, std::string_view text_column, std::string origin) {
  if (!object.is_object()) return Error{fmt::format("{}: expected a JSON object, got {}", origin, json_type(object))};
  DatasetRecord record;
  if (const auto ids = object.find("input_ids"); ids != object.end()) {
    auto token_ids = read_token_ids(*ids, origin);
    if (!token_ids) return token_ids.error();
    record.kind = DatasetRecord::Kind::kTokenIds;
    record.token_ids = std::move(*token_ids);
  } else if (const auto text = object.find(text_column); text != object.end()) {
    if (!text->is_string()) {
      return Error{fmt::format("{}: '{}' must be a string, got {}", origin, text_column, json_type(*text))};
    }
    record.kind = DatasetRecord::Kind::kText;
    record.text = text->get<std::string>();
  } else if (const auto messages = object.find("messages"); messages != object.end()) {
    if (!messages->is_array() || messages->empty()) {
      return Error{fmt::format("{}: 'messages' must be a non-empty array of messages", origin)};
    }
    for (size_t i = 0; i < messages->size(); ++i) {
      const Json& message = (*messages)[i];
      if (!message.is_object() || !message.contains("role") || !message["role"].is_string()) {
        return Error{fmt::format("{}: 'messages'[{}] must be an object with a string 'role'", origin, i)};
      }
    }
    record.kind = DatasetRecord::Kind::kMessages;
    record.messages = *messages;
  } else {
    return Error{fmt::format("{}: the record has none of the keys 'input_ids', '{}', 'messages'", origin, text_column)};
  }
  record.origin = std::move(origin);
  return record;
}

Expected<std::vector<DatasetRecord>> read_text_file(std::istream& in, const std::string& file) {
  std::vector<DatasetRecord> records;
  std::string line;
  size_t line_number = 0;
  DatasetRecord paragraph;
  bool in_paragraph = false;
  auto finish_paragraph = [&] {
    if (in_paragraph) records.push_back(std::move(paragraph));
    paragraph = DatasetRecord{};
    in_paragraph = false;
  };
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) {
      finish_paragraph();
      continue;
    }
    if (in_paragraph) {
      paragraph.text += "\n" + line;
    } else {
      paragraph.text = line;
      paragraph.origin = fmt::format("{}:{}", file, line_number);
      in_paragraph = true;
    }
  }
  finish_paragraph();
  return records;
}

Expected<std::vector<DatasetRecord>> read_jsonl_file(std::istream& in, const std::string& file,
                                                     std::string_view text_column) {
  std::vector<DatasetRecord> records;
  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (is_blank(line)) continue;
    const std::string origin = fmt::format("{}:{}", file, line_number);
    Json object;
    try {
      object = Json::parse(line);
    } catch (const nlohmann::json::parse_error& error) {
      return Error{fmt::format("{}: not valid JSON: {}", origin, error.what())};
    }
    auto record = read_object(object, text_column, origin);
    if (!record) return record.error();
    records.push_back(std::move(*record));
  }
  return records;
}

Expected<std::vector<DatasetRecord>> read_json_file(std::istream& in, const std::string& file,
                                                    std::string_view text_column) {
  Json array;
  try {
    array = Json::parse(in);
  } catch (const nlohmann::json::parse_error& error) {
    return Error{fmt::format("{}: not valid JSON: {}", file, error.what())};
  }
  if (!array.is_array())
    return Error{fmt::format("{}: expected a JSON array of records, got {}", file, json_type(array))};
  std::vector<DatasetRecord> records;
  for (size_t i = 0; i < array.size(); ++i) {
    auto record = read_object(array[i], text_column, fmt::format("{}: record {}", file, i));
    if (!record) return record.error();
    records.push_back(std::move(*record));
  }
  return records;
}

}  // namespace

Expected<std::vector<DatasetRecord>> read_dataset(const fs::path& path, std::string_view text_column) {
  const std::string file = path.string();
  const std::string extension = path.extension().string();
  if (extension != ".txt" && extension != ".json" && extension != ".jsonl") {
    return Error{fmt::format("{}: unknown dataset format '{}' (expected .txt, .json or .jsonl)", file, extension)};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("cannot read dataset {}", file)};
  auto records = extension == ".txt"    ? read_text_file(in, file)
                 : extension == ".json" ? read_json_file(in, file, text_column)
                                        : read_jsonl_file(in, file, text_column);
  if (records && records->empty()) return Error{fmt::format("{}: the dataset has no samples", file)};
  return records;
}

}  // namespace llmc::data
