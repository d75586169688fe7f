// core/data/jinja_builtins.h - Jinja2's filters, tests and global functions, the Python str/dict methods
// templates call, and transformers' additions (raise_exception, strftime_now, tojson with ensure_ascii=False).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/jinja_value.h"

namespace llmc::data::jinja {

/// `operand | name(args)`; throws ValueError (also for an unknown filter).
Value apply_filter(std::string_view name, const Value& operand, const CallArgs& args);

/// `operand is name(args)`; throws ValueError (also for an unknown test).
bool apply_test(std::string_view name, const Value& operand, const CallArgs& args);

/// Python's `item in container` (substring for strings, key for dicts); throws ValueError.
bool contains(const Value& container, const Value& item);

/// `object.name` as a bound method (str.startswith, dict.items, ...); nullopt when the type has none.
std::optional<Value> bound_method(const Value& object, std::string_view name);

/// The functions every template sees: raise_exception, strftime_now, namespace, range, dict.
std::vector<std::pair<std::string, Value>> global_functions();

}  // namespace llmc::data::jinja
