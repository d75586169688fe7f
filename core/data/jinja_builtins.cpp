// core/data/jinja_builtins.cpp
#include "data/jinja_builtins.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <functional>
#include <map>

#include "data/jinja_text.h"

namespace llmc::data::jinja {
namespace {

constexpr int64_t kMaxRange = 100000;  // Jinja2's sandbox limit on range()

// ---- argument access ----

const Value* argument(const CallArgs& args, size_t index, std::string_view name) { return args.get(index, name); }

bool present(const Value* value) { return value != nullptr && !value->is_none(); }

std::string string_argument(const CallArgs& args, size_t index, std::string_view name, std::string_view fallback) {
  const Value* value = argument(args, index, name);
  if (value == nullptr) return std::string(fallback);
  return value->str();
}

std::optional<std::string> optional_string(const CallArgs& args, size_t index, std::string_view name) {
  const Value* value = argument(args, index, name);
  if (!present(value)) return std::nullopt;
  if (!value->is_string())
    throw ValueError(fmt::format("argument '{}' must be a string, got {}", name, value->type_name()));
  return value->string();
}

int64_t int_argument(const CallArgs& args, size_t index, std::string_view name, int64_t fallback) {
  const Value* value = argument(args, index, name);
  if (!present(value)) return fallback;
  if (!value->is_int() && !value->is_bool()) {
    throw ValueError(fmt::format("argument '{}' must be an integer, got {}", name, value->type_name()));
  }
  return value->is_bool() ? value->boolean() : value->integer();
}

bool bool_argument(const CallArgs& args, size_t index, std::string_view name, bool fallback) {
  const Value* value = argument(args, index, name);
  return value == nullptr ? fallback : value->truthy();
}

// The arguments after the first `skip` positional ones (select('equalto', 3): the test's own arguments).
CallArgs remaining_arguments(const CallArgs& args, size_t skip) {
  CallArgs rest;
  if (args.positional.size() > skip)
    rest.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(skip), args.positional.end());
  return rest;
}

// Jinja's attribute lookup for filters that take `attribute=` ("a.b" walks nested dicts).
Value attribute_of(const Value& item, std::string_view path) {
  Value current = item;
  for (const std::string& part : split(path, std::string("."), -1)) {
    if (!current.is_dict()) return Undefined{fmt::format("'{}' has no attribute '{}'", current.type_name(), part)};
    const Value* found = current.dict().find(part);
    if (found == nullptr) return Undefined{fmt::format("'dict object' has no attribute '{}'", part)};
    current = *found;
  }
  return current;
}

// ---- filters ----

using FilterFunction = std::function<Value(const Value&, const CallArgs&)>;

Value filter_tojson(const Value& operand, const CallArgs& args) {
  JsonFormat format;
  format.ensure_ascii = bool_argument(args, 0, "ensure_ascii", false);
  if (const Value* indent = argument(args, 1, "indent"); present(indent)) {
    if (indent->is_int()) {
      format.indent = static_cast<int>(indent->integer());
    } else {
      throw ValueError("tojson: indent must be an integer");
    }
  }
  if (const Value* separators = argument(args, 2, "separators"); present(separators)) {
    if (!separators->is_list() || separators->list().size() != 2 || !separators->list()[0].is_string() ||
        !separators->list()[1].is_string()) {
      throw ValueError("tojson: separators must be a pair of strings");
    }
    format.separators = std::make_pair(separators->list()[0].string(), separators->list()[1].string());
  }
  format.sort_keys = bool_argument(args, 3, "sort_keys", false);
  return to_json(operand, format);
}

Value filter_join(const Value& operand, const CallArgs& args) {
  const std::string separator = string_argument(args, 0, "d", "");
  const std::optional<std::string> attribute = optional_string(args, 1, "attribute");
  std::string out;
  bool first = true;
  for (const Value& item : operand.iterate()) {
    if (!first) out += separator;
    first = false;
    out += (attribute ? attribute_of(item, *attribute) : item).str();
  }
  return out;
}

Value filter_replace(const Value& operand, const CallArgs& args) {
  const std::string text = operand.str();
  const std::string old_text = string_argument(args, 0, "old", "");
  const std::string new_text = string_argument(args, 1, "new", "");
  int64_t count = int_argument(args, 2, "count", -1);
  if (old_text.empty()) {
    // Python inserts `new` around every code point.
    std::string out;
    const std::u32string code_points = decode_utf8(text);
    for (char32_t c : code_points) {
      if (count-- != 0) out += new_text;
      out += encode_utf8(std::u32string(1, c));
    }
    if (count != 0) out += new_text;
    return out;
  }
  std::string out;
  size_t start = 0;
  while (count != 0) {
    const size_t found = text.find(old_text, start);
    if (found == std::string::npos) break;
    out += text.substr(start, found - start) + new_text;
    start = found + old_text.size();
    --count;
  }
  return out + text.substr(start);
}

Value filter_first(const Value& operand, const CallArgs&) {
  const List items = operand.iterate();
  if (items.empty()) return Undefined{"No first item, sequence was empty."};
  return items.front();
}

Value filter_last(const Value& operand, const CallArgs&) {
  const List items = operand.iterate();
  if (items.empty()) return Undefined{"No last item, sequence was empty."};
  return items.back();
}

Value filter_items(const Value& operand, const CallArgs&) {
  if (operand.is_undefined()) return List{};
  if (!operand.is_dict()) throw ValueError("Can only get item pairs from a mapping.");
  List pairs;
  for (const auto& [key, item] : operand.dict().entries) pairs.emplace_back(List{Value(key), item});
  return pairs;
}

Value filter_int(const Value& operand, const CallArgs& args) {
  const int64_t fallback = int_argument(args, 0, "default", 0);
  if (operand.is_int()) return operand;
  if (operand.is_bool()) return int64_t{operand.boolean()};
  if (operand.is_float()) return static_cast<int64_t>(std::trunc(operand.number()));
  if (!operand.is_string()) return fallback;
  const std::string text = strip(operand.string(), std::nullopt, StripSide::kBoth);
  int64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error == std::errc{} && end == text.data() + text.size()) return number;
  double real = 0;
  const auto [real_end, real_error] = std::from_chars(text.data(), text.data() + text.size(), real);
  if (real_error == std::errc{} && real_end == text.data() + text.size()) return static_cast<int64_t>(real);
  return fallback;
}

Value filter_float(const Value& operand, const CallArgs& args) {
  const Value* fallback = argument(args, 0, "default");
  if (operand.is_number()) return operand.number();
  if (operand.is_string()) {
    const std::string text = strip(operand.string(), std::nullopt, StripSide::kBoth);
    double real = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), real);
    if (error == std::errc{} && end == text.data() + text.size()) return real;
  }
  return fallback != nullptr ? *fallback : Value(0.0);
}

Value filter_reverse(const Value& operand, const CallArgs&) {
  if (operand.is_string()) {
    std::u32string code_points = decode_utf8(operand.string());
    std::reverse(code_points.begin(), code_points.end());
    return encode_utf8(code_points);
  }
  List items = operand.iterate();
  std::reverse(items.begin(), items.end());
  return items;
}

Value filter_sort(const Value& operand, const CallArgs& args) {
  const bool reverse = bool_argument(args, 0, "reverse", false);
  const bool case_sensitive = bool_argument(args, 1, "case_sensitive", false);
  const std::optional<std::string> attribute = optional_string(args, 2, "attribute");
  List items = operand.iterate();
  auto key = [&](const Value& item) {
    Value value = attribute ? attribute_of(item, *attribute) : item;
    return !case_sensitive && value.is_string() ? Value(to_lower(value.string())) : value;
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return reverse ? less_than(key(b), key(a)) : less_than(key(a), key(b));
  });
  return items;
}

Value filter_indent(const Value& operand, const CallArgs& args) {
  const Value* width_value = argument(args, 0, "width");
  const std::string indentation = width_value != nullptr && width_value->is_string()
                                      ? width_value->string()
                                      : std::string(static_cast<size_t>(int_argument(args, 0, "width", 4)), ' ');
  const bool first = bool_argument(args, 1, "first", false);
  const bool blank = bool_argument(args, 2, "blank", false);
  std::vector<std::string> lines = split(operand.str() + "\n", std::string("\n"), -1);
  lines.pop_back();  // str.splitlines() drops the text after the last newline, which is empty here
  std::string out = lines.front();
  for (size_t i = 1; i < lines.size(); ++i) {
    out += "\n" + ((blank || !lines[i].empty()) ? indentation + lines[i] : lines[i]);
  }
  return first ? indentation + out : out;
}

Value select_items(const Value& operand, const CallArgs& args, bool by_attribute, bool keep_matches) {
  const List items = operand.iterate();
  std::optional<std::string> attribute;
  size_t test_index = 0;
  if (by_attribute) {
    attribute = optional_string(args, 0, "attribute");
    if (!attribute) throw ValueError("selectattr/rejectattr need an attribute name");
    test_index = 1;
  }
  const std::optional<std::string> test = optional_string(args, test_index, "test");
  const CallArgs test_args = remaining_arguments(args, test_index + 1);
  List selected;
  for (const Value& item : items) {
    const Value subject = attribute ? attribute_of(item, *attribute) : item;
    const bool matches = test ? apply_test(*test, subject, test_args) : subject.truthy();
    if (matches == keep_matches) selected.push_back(item);
  }
  return selected;
}

Value filter_map(const Value& operand, const CallArgs& args) {
  List mapped;
  const size_t keyword_only = args.positional.size();  // attribute= and default= are never positional
  if (const Value* attribute = argument(args, keyword_only, "attribute"); attribute != nullptr) {
    const Value* fallback = argument(args, keyword_only, "default");
    for (const Value& item : operand.iterate()) {
      Value value = attribute_of(item, attribute->str());
      mapped.push_back(value.is_undefined() && fallback != nullptr ? *fallback : value);
    }
    return mapped;
  }
  const std::optional<std::string> filter = optional_string(args, 0, "filter");
  if (!filter) throw ValueError("map needs a filter name or attribute=");
  const CallArgs filter_args = remaining_arguments(args, 1);
  for (const Value& item : operand.iterate()) mapped.push_back(apply_filter(*filter, item, filter_args));
  return mapped;
}

const std::map<std::string, FilterFunction, std::less<>>& filters() {
  static const std::map<std::string, FilterFunction, std::less<>> table = {
      {"abs",
       [](const Value& v, const CallArgs&) -> Value {
         if (v.is_int()) return std::abs(v.integer());
         if (v.is_number()) return std::fabs(v.number());
         throw ValueError(fmt::format("bad operand type for abs(): '{}'", v.type_name()));
       }},
      {"capitalize", [](const Value& v, const CallArgs&) -> Value { return capitalize(v.str()); }},
      {"count", [](const Value& v, const CallArgs&) -> Value { return static_cast<int64_t>(v.length()); }},
      {"d",
       [](const Value& v, const CallArgs& a) -> Value {
         const Value* fallback = argument(a, 0, "default_value");
         const bool boolean = bool_argument(a, 1, "boolean", false);
         if (v.is_undefined() || (boolean && !v.truthy())) return fallback != nullptr ? *fallback : Value("");
         return v;
       }},
      {"first", filter_first},
      {"float", filter_float},
      {"indent", filter_indent},
      {"int", filter_int},
      {"items", filter_items},
      {"join", filter_join},
      {"last", filter_last},
      {"length", [](const Value& v, const CallArgs&) -> Value { return static_cast<int64_t>(v.length()); }},
      {"list", [](const Value& v, const CallArgs&) -> Value { return v.iterate(); }},
      {"lower", [](const Value& v, const CallArgs&) -> Value { return to_lower(v.str()); }},
      {"map", filter_map},
      {"reject", [](const Value& v, const CallArgs& a) { return select_items(v, a, false, false); }},
      {"rejectattr", [](const Value& v, const CallArgs& a) { return select_items(v, a, true, false); }},
      {"replace", filter_replace},
      {"reverse", filter_reverse},
      {"safe", [](const Value& v, const CallArgs&) { return v; }},
      {"select", [](const Value& v, const CallArgs& a) { return select_items(v, a, false, true); }},
      {"selectattr", [](const Value& v, const CallArgs& a) { return select_items(v, a, true, true); }},
      {"sort", filter_sort},
      {"string", [](const Value& v, const CallArgs&) -> Value { return v.str(); }},
      {"title", [](const Value& v, const CallArgs&) -> Value { return to_title(v.str()); }},
      {"tojson", filter_tojson},
      {"trim",
       [](const Value& v, const CallArgs& a) -> Value {
         return strip(v.str(), optional_string(a, 0, "chars"), StripSide::kBoth);
       }},
      {"upper", [](const Value& v, const CallArgs&) -> Value { return to_upper(v.str()); }},
  };
  return table;
}

// ---- tests ----

using TestFunction = std::function<bool(const Value&, const CallArgs&)>;

const Value& required(const CallArgs& args, std::string_view test) {
  const Value* value = argument(args, 0, "other");
  if (value == nullptr) throw ValueError(fmt::format("test '{}' needs an argument", test));
  return *value;
}

bool is_lower_text(const Value& v) { return v.is_string() && to_lower(v.string()) == v.string(); }
bool is_upper_text(const Value& v) { return v.is_string() && to_upper(v.string()) == v.string(); }

const std::map<std::string, TestFunction, std::less<>>& tests() {
  static const std::map<std::string, TestFunction, std::less<>> table = {
      {"boolean", [](const Value& v, const CallArgs&) { return v.is_bool(); }},
      {"callable", [](const Value& v, const CallArgs&) { return v.is_function(); }},
      {"defined", [](const Value& v, const CallArgs&) { return !v.is_undefined(); }},
      {"divisibleby",
       [](const Value& v, const CallArgs& a) {
         const int64_t divisor = int_argument(a, 0, "num", 0);
         if (divisor == 0) throw ValueError("integer modulo by zero");
         return v.is_int() && v.integer() % divisor == 0;
       }},
      {"eq", [](const Value& v, const CallArgs& a) { return equals(v, required(a, "eq")); }},
      {"even", [](const Value& v, const CallArgs&) { return v.is_int() && v.integer() % 2 == 0; }},
      {"false", [](const Value& v, const CallArgs&) { return v.is_bool() && !v.boolean(); }},
      {"float", [](const Value& v, const CallArgs&) { return v.is_float(); }},
      {"ge", [](const Value& v, const CallArgs& a) { return !less_than(v, required(a, "ge")); }},
      {"gt", [](const Value& v, const CallArgs& a) { return less_than(required(a, "gt"), v); }},
      {"in", [](const Value& v, const CallArgs& a) { return contains(required(a, "in"), v); }},
      {"integer", [](const Value& v, const CallArgs&) { return v.is_int(); }},
      {"iterable",
       [](const Value& v, const CallArgs&) { return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict(); }},
      {"le", [](const Value& v, const CallArgs& a) { return !less_than(required(a, "le"), v); }},
      {"lower", [](const Value& v, const CallArgs&) { return is_lower_text(v); }},
      {"lt", [](const Value& v, const CallArgs& a) { return less_than(v, required(a, "lt")); }},
      {"mapping", [](const Value& v, const CallArgs&) { return v.is_dict(); }},
      {"ne", [](const Value& v, const CallArgs& a) { return !equals(v, required(a, "ne")); }},
      {"none", [](const Value& v, const CallArgs&) { return v.is_none(); }},
      {"number", [](const Value& v, const CallArgs&) { return v.is_number(); }},
      {"odd", [](const Value& v, const CallArgs&) { return v.is_int() && v.integer() % 2 != 0; }},
      {"sameas",
       [](const Value& v, const CallArgs& a) {
         const Value& other = required(a, "sameas");
         if (v.is_list() && other.is_list()) return &v.list() == &other.list();
         if (v.is_dict() && other.is_dict()) return &v.dict() == &other.dict();
         return v.type_name() == other.type_name() && equals(v, other);
       }},
      {"sequence",
       [](const Value& v, const CallArgs&) { return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict(); }},
      {"string", [](const Value& v, const CallArgs&) { return v.is_string(); }},
      {"true", [](const Value& v, const CallArgs&) { return v.is_bool() && v.boolean(); }},
      {"undefined", [](const Value& v, const CallArgs&) { return v.is_undefined(); }},
      {"upper", [](const Value& v, const CallArgs&) { return is_upper_text(v); }},
  };
  return table;
}

// The names Jinja2 registers twice.
std::string_view canonical_test(std::string_view name) {
  if (name == "==" || name == "equalto") return "eq";
  if (name == "!=") return "ne";
  if (name == "<" || name == "lessthan") return "lt";
  if (name == "<=") return "le";
  if (name == ">" || name == "greaterthan") return "gt";
  if (name == ">=") return "ge";
  return name;
}

// ---- methods ----

bool has_affix(const std::string& text, const Value& affix, bool prefix) {
  auto matches = [&](const Value& candidate) {
    if (!candidate.is_string()) throw ValueError("startswith/endswith take a string or a tuple of strings");
    const std::string& s = candidate.string();
    if (s.size() > text.size()) return false;
    return prefix ? text.compare(0, s.size(), s) == 0 : text.compare(text.size() - s.size(), s.size(), s) == 0;
  };
  if (affix.is_list()) return std::any_of(affix.list().begin(), affix.list().end(), matches);
  return matches(affix);
}

std::optional<Value> string_method(const std::string& text, std::string_view name) {
  auto strip_method = [text](StripSide side) -> Value {
    return Function(
        [text, side](const CallArgs& a) -> Value { return strip(text, optional_string(a, 0, "chars"), side); });
  };
  if (name == "strip") return strip_method(StripSide::kBoth);
  if (name == "lstrip") return strip_method(StripSide::kLeft);
  if (name == "rstrip") return strip_method(StripSide::kRight);
  if (name == "startswith" || name == "endswith") {
    const bool prefix = name == "startswith";
    return Value(Function([text, prefix](const CallArgs& a) -> Value {
      const Value* affix = argument(a, 0, prefix ? "prefix" : "suffix");
      if (affix == nullptr) throw ValueError("startswith/endswith need an argument");
      return has_affix(text, *affix, prefix);
    }));
  }
  if (name == "split") {
    return Value(Function([text](const CallArgs& a) -> Value {
      const std::optional<std::string> sep = optional_string(a, 0, "sep");
      if (sep && sep->empty()) throw ValueError("empty separator");
      List parts;
      for (std::string& part : split(text, sep, int_argument(a, 1, "maxsplit", -1)))
        parts.emplace_back(std::move(part));
      return parts;
    }));
  }
  if (name == "upper") return Value(Function([text](const CallArgs&) -> Value { return to_upper(text); }));
  if (name == "lower") return Value(Function([text](const CallArgs&) -> Value { return to_lower(text); }));
  if (name == "title") return Value(Function([text](const CallArgs&) -> Value { return to_title(text); }));
  if (name == "capitalize") return Value(Function([text](const CallArgs&) -> Value { return capitalize(text); }));
  if (name == "replace") {
    return Value(Function([text](const CallArgs& a) -> Value { return filter_replace(Value(text), a); }));
  }
  if (name == "find") {
    return Value(Function([text](const CallArgs& a) -> Value {
      const size_t found = text.find(string_argument(a, 0, "sub", ""));
      if (found == std::string::npos) return int64_t{-1};
      return static_cast<int64_t>(decode_utf8(std::string_view(text).substr(0, found)).size());
    }));
  }
  if (name == "join") {
    return Value(Function([text](const CallArgs& a) -> Value {
      const Value* items = argument(a, 0, "iterable");
      if (items == nullptr) throw ValueError("join needs an iterable");
      std::string out;
      bool first = true;
      for (const Value& item : items->iterate()) {
        if (!item.is_string())
          throw ValueError(fmt::format("sequence item: expected str instance, {} found", item.type_name()));
        out += (first ? "" : text) + item.string();
        first = false;
      }
      return out;
    }));
  }
  return std::nullopt;
}

std::optional<Value> dict_method(const Value& object, std::string_view name) {
  if (name == "items") return Value(Function([object](const CallArgs&) { return filter_items(object, {}); }));
  if (name == "keys") return Value(Function([object](const CallArgs&) -> Value { return object.iterate(); }));
  if (name == "values") {
    return Value(Function([object](const CallArgs&) -> Value {
      List values;
      for (const auto& entry : object.dict().entries) values.push_back(entry.second);
      return values;
    }));
  }
  if (name == "get") {
    return Value(Function([object](const CallArgs& a) -> Value {
      const Value* key = argument(a, 0, "key");
      const Value* fallback = argument(a, 1, "default");
      if (key != nullptr && key->is_string()) {
        if (const Value* found = object.dict().find(key->string())) return *found;
      }
      return fallback != nullptr ? *fallback : Value(None{});
    }));
  }
  return std::nullopt;
}

// ---- global functions ----

Value raise_exception(const CallArgs& args) { throw ValueError(string_argument(args, 0, "message", "")); }

Value strftime_now(const CallArgs& args) {
  const std::string format = string_argument(args, 0, "format", "");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::string buffer(256 + format.size() * 8, '\0');
  const size_t written = std::strftime(buffer.data(), buffer.size(), format.c_str(), &local);
  buffer.resize(written);
  return buffer;
}

Dict dict_of_arguments(const CallArgs& args) {
  Dict attributes;
  for (const Value& initial : args.positional) {
    if (!initial.is_dict()) throw ValueError("namespace() takes a dict or keyword arguments");
    for (const auto& [key, value] : initial.dict().entries) attributes.set(key, value);
  }
  for (const auto& [key, value] : args.keyword) attributes.set(key, value);
  return attributes;
}

Value make_namespace(const CallArgs& args) {
  Dict attributes = dict_of_arguments(args);
  attributes.is_namespace = true;
  return attributes;
}

Value make_range(const CallArgs& args) {
  if (args.positional.empty() || args.positional.size() > 3) throw ValueError("range() takes 1 to 3 arguments");
  int64_t start = 0;
  int64_t stop = 0;
  int64_t step = 1;
  if (args.positional.size() == 1) {
    stop = int_argument(args, 0, "stop", 0);
  } else {
    start = int_argument(args, 0, "start", 0);
    stop = int_argument(args, 1, "stop", 0);
    step = int_argument(args, 2, "step", 1);
  }
  if (step == 0) throw ValueError("range() arg 3 must not be zero");
  List numbers;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(numbers.size()) >= kMaxRange) throw ValueError("range too big");
    numbers.emplace_back(i);
  }
  return numbers;
}

}  // namespace

bool contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string()) {
      throw ValueError(fmt::format("'in <string>' requires string as left operand, not {}", item.type_name()));
    }
    return container.string().find(item.string()) != std::string::npos;
  }
  if (container.is_dict()) return item.is_string() && container.dict().find(item.string()) != nullptr;
  for (const Value& element : container.iterate()) {
    if (equals(element, item)) return true;
  }
  return false;
}

Value apply_filter(std::string_view name, const Value& operand, const CallArgs& args) {
  const std::string_view canonical = name == "default" ? "d" : name;
  const auto& table = filters();
  const auto found = table.find(canonical);
  if (found == table.end()) throw ValueError(fmt::format("no filter named '{}'", name));
  return found->second(operand, args);
}

bool apply_test(std::string_view name, const Value& operand, const CallArgs& args) {
  const auto& table = tests();
  const auto found = table.find(canonical_test(name));
  if (found == table.end()) throw ValueError(fmt::format("no test named '{}'", name));
  return found->second(operand, args);
}

std::optional<Value> bound_method(const Value& object, std::string_view name) {
  if (object.is_string()) return string_method(object.string(), name);
  if (object.is_dict() && !object.dict().is_namespace) return dict_method(object, name);
  return std::nullopt;
}

std::vector<std::pair<std::string, Value>> global_functions() {
  return {
      {"raise_exception", Value(Function(raise_exception))},
      {"strftime_now", Value(Function(strftime_now))},
      {"namespace", Value(Function(make_namespace))},
      {"range", Value(Function(make_range))},
      {"dict", Value(Function([](const CallArgs& args) -> Value { return dict_of_arguments(args); }))},
  };
}

}  // namespace llmc::data::jinja
