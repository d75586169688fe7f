// core/data/jinja_value.cpp
#include "data/jinja_value.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "data/jinja_text.h"

namespace llmc::data::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [name, value] : entries) {
    if (name == key) return &value;
  }
  return nullptr;
}

Value* Dict::find(std::string_view key) { return const_cast<Value*>(static_cast<const Dict*>(this)->find(key)); }

void Dict::set(std::string key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  entries.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::get(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [key, value] : keyword) {
    if (key == name) return &value;
  }
  return nullptr;
}

Value Value::from_json(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null: return None{};
    case nlohmann::ordered_json::value_t::boolean: return json.get<bool>();
    case nlohmann::ordered_json::value_t::number_integer: return json.get<int64_t>();
    case nlohmann::ordered_json::value_t::number_unsigned: return static_cast<int64_t>(json.get<uint64_t>());
    case nlohmann::ordered_json::value_t::number_float: return json.get<double>();
    case nlohmann::ordered_json::value_t::string: return json.get<std::string>();
    case nlohmann::ordered_json::value_t::array: {
      List list;
      for (const auto& item : json) list.push_back(from_json(item));
      return list;
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict dict;
      for (const auto& [key, item] : json.items()) dict.set(key, from_json(item));
      return dict;
    }
    default: return Undefined{"value"};
  }
}

double Value::number() const {
  if (is_bool()) return boolean() ? 1.0 : 0.0;
  if (is_int()) return static_cast<double>(integer());
  return std::get<double>(storage_);
}

std::string_view Value::type_name() const {
  switch (storage_.index()) {
    case 0: return "undefined";
    case 1: return "NoneType";
    case 2: return "bool";
    case 3: return "int";
    case 4: return "float";
    case 5: return "str";
    case 6: return "list";
    case 7: return "dict";
    default: return "function";
  }
}

bool Value::truthy() const {
  if (is_undefined() || is_none()) return false;
  if (is_bool()) return boolean();
  if (is_int()) return integer() != 0;
  if (is_float()) return number() != 0.0;
  if (is_string()) return !string().empty();
  if (is_list()) return !list().empty();
  if (is_dict()) return !dict().entries.empty();
  return true;
}

std::string float_repr(double number) {
  if (std::isnan(number)) return "nan";
  if (std::isinf(number)) return number > 0 ? "inf" : "-inf";
  // The shortest round-trip digits, laid out as Python does: exponent form below 1e-4 and from 1e16.
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), number, std::chars_format::scientific);
  (void)error;
  std::string scientific(buffer, end);
  const size_t e_pos = scientific.find('e');
  const int exponent = std::stoi(scientific.substr(e_pos + 1));
  std::string mantissa = scientific.substr(0, e_pos);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string text;
  if (exponent < -4 || exponent >= 16) {
    text = digits.substr(0, 1);
    if (digits.size() > 1) text += "." + digits.substr(1);
    text += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (exponent < 0) {
    text = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    const auto int_digits = static_cast<size_t>(exponent + 1);
    if (digits.size() <= int_digits) {
      text = digits + std::string(int_digits - digits.size(), '0') + ".0";
    } else {
      text = digits.substr(0, int_digits) + "." + digits.substr(int_digits);
    }
  }
  return negative ? "-" + text : text;
}

namespace {

std::string string_repr(const std::string& text) {
  const bool has_single = text.find('\'') != std::string::npos;
  const bool has_double = text.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : text) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

std::string json_string(const std::string& text, bool ensure_ascii) {
  std::string out = "\"";
  const std::u32string code_points = ensure_ascii ? decode_utf8(text) : std::u32string{};
  auto escape = [&out](char32_t c) {
    switch (c) {
      case '"': out += "\\\""; return true;
      case '\\': out += "\\\\"; return true;
      case '\n': out += "\\n"; return true;
      case '\r': out += "\\r"; return true;
      case '\t': out += "\\t"; return true;
      case '\b': out += "\\b"; return true;
      case '\f': out += "\\f"; return true;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<uint32_t>(c));
          return true;
        }
        return false;
    }
  };
  if (ensure_ascii) {
    for (char32_t c : code_points) {
      if (escape(c)) continue;
      if (c < 0x80) {
        out += static_cast<char>(c);
      } else if (c < 0x10000) {
        out += fmt::format("\\u{:04x}", static_cast<uint32_t>(c));
      } else {
        const uint32_t v = static_cast<uint32_t>(c) - 0x10000;
        out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      }
    }
  } else {
    for (unsigned char c : text) {
      if (!escape(c)) out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void write_json(const Value& value, const JsonFormat& format, int depth, std::string& out) {
  const std::string item_separator = format.separators ? format.separators->first : (format.indent ? "," : ", ");
  const std::string key_separator = format.separators ? format.separators->second : ": ";
  auto newline = [&](int level) {
    if (format.indent) out += "\n" + std::string(static_cast<size_t>(*format.indent * level), ' ');
  };
  if (value.is_none()) {
    out += "null";
  } else if (value.is_bool()) {
    out += value.boolean() ? "true" : "false";
  } else if (value.is_int()) {
    out += std::to_string(value.integer());
  } else if (value.is_float()) {
    const double number = value.number();
    out += std::isnan(number)   ? "NaN"
           : std::isinf(number) ? (number > 0 ? "Infinity" : "-Infinity")
                                : float_repr(number);
  } else if (value.is_string()) {
    out += json_string(value.string(), format.ensure_ascii);
  } else if (value.is_list()) {
    const List& list = value.list();
    if (list.empty()) {
      out += "[]";
      return;
    }
    out += "[";
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) out += item_separator;
      newline(depth + 1);
      write_json(list[i], format, depth + 1, out);
    }
    newline(depth);
    out += "]";
  } else if (value.is_dict()) {
    std::vector<const std::pair<std::string, Value>*> entries;
    for (const auto& entry : value.dict().entries) entries.push_back(&entry);
    if (entries.empty()) {
      out += "{}";
      return;
    }
    if (format.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
    }
    out += "{";
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) out += item_separator;
      newline(depth + 1);
      out += json_string(entries[i]->first, format.ensure_ascii) + key_separator;
      write_json(entries[i]->second, format, depth + 1, out);
    }
    newline(depth);
    out += "}";
  } else if (value.is_undefined()) {
    value.require_defined();
    throw ValueError("Object of type Undefined is not JSON serializable");
  } else {
    throw ValueError(fmt::format("Object of type {} is not JSON serializable", value.type_name()));
  }
}

}  // namespace

std::string Value::str() const {
  if (is_undefined()) return "";
  if (is_none()) return "None";
  if (is_bool()) return boolean() ? "True" : "False";
  if (is_int()) return std::to_string(integer());
  if (is_float()) return float_repr(number());
  if (is_string()) return string();
  return repr();
}

std::string Value::repr() const {
  if (is_string()) return string_repr(string());
  if (is_list()) {
    std::string out = "[";
    for (size_t i = 0; i < list().size(); ++i) out += (i > 0 ? ", " : "") + list()[i].repr();
    return out + "]";
  }
  if (is_dict()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, item] : dict().entries) {
      out += (first ? "" : ", ") + string_repr(key) + ": " + item.repr();
      first = false;
    }
    return out + "}";
  }
  if (is_function()) return "<function>";
  return str();
}

List Value::iterate() const {
  if (is_undefined()) return {};
  if (is_list()) return list();
  if (is_dict()) {
    List keys;
    for (const auto& entry : dict().entries) keys.emplace_back(entry.first);
    return keys;
  }
  if (is_string()) {
    List characters;
    for (char32_t c : decode_utf8(string())) characters.emplace_back(encode_utf8(std::u32string(1, c)));
    return characters;
  }
  throw ValueError(fmt::format("'{}' object is not iterable", type_name()));
}

size_t Value::length() const {
  if (is_undefined()) return 0;
  if (is_string()) return decode_utf8(string()).size();
  if (is_list()) return list().size();
  if (is_dict()) return dict().entries.size();
  throw ValueError(fmt::format("object of type '{}' has no len()", type_name()));
}

void Value::require_defined() const {
  if (!is_undefined()) return;
  const std::string& hint = undefined().hint;
  throw ValueError(hint.empty() ? "undefined value" : hint);
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.number() == b.number();
    const int64_t x = a.is_bool() ? a.boolean() : a.integer();
    const int64_t y = b.is_bool() ? b.boolean() : b.integer();
    return x == y;
  }
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.is_none() || b.is_none()) return a.is_none() && b.is_none();
  if (a.is_string() && b.is_string()) return a.string() == b.string();
  if (a.is_list() && b.is_list()) {
    const List& x = a.list();
    const List& y = b.list();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!equals(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_dict() && b.is_dict()) {
    const Dict& x = a.dict();
    const Dict& y = b.dict();
    if (x.entries.size() != y.entries.size()) return false;
    for (const auto& [key, item] : x.entries) {
      const Value* other = y.find(key);
      if (other == nullptr || !equals(item, *other)) return false;
    }
    return true;
  }
  if (a.is_function() && b.is_function()) return &a.function() == &b.function();
  return false;
}

bool less_than(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.number() < b.number();
    const int64_t x = a.is_bool() ? a.boolean() : a.integer();
    const int64_t y = b.is_bool() ? b.boolean() : b.integer();
    return x < y;
  }
  if (a.is_string() && b.is_string()) return a.string() < b.string();  // UTF-8 bytes order as code points
  if (a.is_list() && b.is_list()) {
    const List& x = a.list();
    const List& y = b.list();
    for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
      if (!equals(x[i], y[i])) return less_than(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  a.require_defined();
  b.require_defined();
  throw ValueError(fmt::format("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name()));
}

std::string to_json(const Value& value, const JsonFormat& format) {
  std::string out;
  write_json(value, format, 0, out);
  return out;
}

}  // namespace llmc::data::jinja
