// core/data/jinja_value.h - the values a Jinja template computes with, with Python's semantics (Jinja2
// evaluates expressions as Python does): str(), repr(), truthiness, ==, <, and json.dumps for `tojson`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace llmc::data::jinja {

class Value;

/// A failure inside a filter, test, method or function; the renderer adds the template position.
class ValueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Jinja2's default Undefined: prints as "", iterates as empty, is false; using it otherwise fails with
/// "'<name>' is undefined" (or, for a missing attribute, "'<type>' has no attribute '<name>'").
struct Undefined {
  std::string hint;  // the error message when it is used: "'x' is undefined"
};
struct None {};

using List = std::vector<Value>;

/// A dict with string keys in insertion order (Python dicts keep it, and `tojson`/`items()` show it).
struct Dict {
  std::vector<std::pair<std::string, Value>> entries;
  // Made by namespace(): its attributes are its entries only (no dict methods), and `set ns.x` may assign.
  bool is_namespace = false;

  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(std::string key, Value value);
};

/// Arguments of a call: positional, then keyword.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  /// The argument at `index` or named `name`; nullptr when absent.
  const Value* get(size_t index, std::string_view name) const;
};

using Function = std::function<Value(const CallArgs&)>;

/// One value. Lists, dicts and functions are shared, as Python objects are (a namespace() assigned in a
/// loop is seen after it).
class Value {
 public:
  using Storage = std::variant<Undefined, None, bool, int64_t, double, std::string, std::shared_ptr<List>,
                               std::shared_ptr<Dict>, std::shared_ptr<Function>>;

  Value() : storage_(Undefined{}) {}
  Value(Undefined undefined) : storage_(std::move(undefined)) {}
  Value(None) : storage_(None{}) {}
  Value(bool flag) : storage_(flag) {}
  Value(int number) : storage_(int64_t{number}) {}
  Value(int64_t number) : storage_(number) {}
  Value(double number) : storage_(number) {}
  Value(std::string text) : storage_(std::move(text)) {}
  Value(const char* text) : storage_(std::string(text)) {}
  Value(List list) : storage_(std::make_shared<List>(std::move(list))) {}
  Value(Dict dict) : storage_(std::make_shared<Dict>(std::move(dict))) {}
  Value(Function function) : storage_(std::make_shared<Function>(std::move(function))) {}

  /// Converts JSON (objects keep their key order).
  static Value from_json(const nlohmann::ordered_json& json);

  bool is_undefined() const { return std::holds_alternative<Undefined>(storage_); }
  bool is_none() const { return std::holds_alternative<None>(storage_); }
  bool is_bool() const { return std::holds_alternative<bool>(storage_); }
  bool is_int() const { return std::holds_alternative<int64_t>(storage_); }
  bool is_float() const { return std::holds_alternative<double>(storage_); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return std::holds_alternative<std::string>(storage_); }
  bool is_list() const { return std::holds_alternative<std::shared_ptr<List>>(storage_); }
  bool is_dict() const { return std::holds_alternative<std::shared_ptr<Dict>>(storage_); }
  bool is_function() const { return std::holds_alternative<std::shared_ptr<Function>>(storage_); }

  const Undefined& undefined() const { return std::get<Undefined>(storage_); }
  bool boolean() const { return std::get<bool>(storage_); }
  int64_t integer() const { return std::get<int64_t>(storage_); }
  const std::string& string() const { return std::get<std::string>(storage_); }
  List& list() const { return *std::get<std::shared_ptr<List>>(storage_); }
  Dict& dict() const { return *std::get<std::shared_ptr<Dict>>(storage_); }
  const Function& function() const { return *std::get<std::shared_ptr<Function>>(storage_); }
  /// The number as a double (bool, int or float).
  double number() const;

  /// Python's type name ("str", "int", "dict", "NoneType", ...; "undefined").
  std::string_view type_name() const;
  /// Python's bool(): false for undefined, none, false, 0, 0.0, "" and empty containers.
  bool truthy() const;
  /// Python's str(): undefined prints as "".
  std::string str() const;
  /// Python's repr() (how lists and dicts print their items).
  std::string repr() const;
  /// The items `for` iterates: list items, dict keys, string characters; undefined iterates as empty.
  /// Fails for other types.
  List iterate() const;
  /// Python's len(); undefined has length 0.
  size_t length() const;
  /// Throws the undefined failure when this is undefined (operators and attributes may not use it).
  void require_defined() const;

 private:
  Storage storage_;
};

/// Python's == (1 == 1.0 == True; lists and dicts compare by content; two undefined values are equal).
bool equals(const Value& a, const Value& b);
/// Python's <, for numbers, strings and lists; throws ValueError for other pairs.
bool less_than(const Value& a, const Value& b);

/// Options of Python's json.dumps as transformers' `tojson` filter passes them (ensure_ascii=False).
struct JsonFormat {
  std::optional<int> indent;                                      // pretty-prints with this many spaces per level
  std::optional<std::pair<std::string, std::string>> separators;  // (item, key) separators
  bool sort_keys = false;
  bool ensure_ascii = false;
};
/// json.dumps(value, ...) byte for byte; throws ValueError for undefined values and functions.
std::string to_json(const Value& value, const JsonFormat& format);

/// Python's repr(float): the shortest text that reads back to the same double.
std::string float_repr(double number);

}  // namespace llmc::data::jinja
