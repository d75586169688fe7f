// core/data/jinja_renderer.cpp
#include "data/jinja_renderer.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <unordered_map>

#include "data/jinja_builtins.h"
#include "data/jinja_text.h"

namespace llmc::data::jinja {
namespace {

class RenderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Flow { kNormal, kBreak, kContinue };

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

using Scope = std::unordered_map<std::string, Value>;

int64_t as_int(const Value& v) { return v.is_bool() ? int64_t{v.boolean()} : v.integer(); }
bool is_integral(const Value& v) { return v.is_int() || v.is_bool(); }

std::string unsupported(std::string_view op, const Value& a, const Value& b) {
  return fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
}

Value repeat(const Value& sequence, int64_t times) {
  if (sequence.is_string()) {
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += sequence.string();
    return out;
  }
  List out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), sequence.list().begin(), sequence.list().end());
  return out;
}

// Python's arithmetic operators.
Value arithmetic(std::string_view op, const Value& a, const Value& b) {
  a.require_defined();
  b.require_defined();
  if (op == "+") {
    if (a.is_string() && b.is_string()) return a.string() + b.string();
    if (a.is_list() && b.is_list()) {
      List joined = a.list();
      joined.insert(joined.end(), b.list().begin(), b.list().end());
      return joined;
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && is_integral(b)) return repeat(a, as_int(b));
    if (is_integral(a) && (b.is_string() || b.is_list())) return repeat(b, as_int(a));
  }
  if (!a.is_number() || !b.is_number()) throw ValueError(unsupported(op, a, b));
  const bool integers = is_integral(a) && is_integral(b);
  if (op == "/") {
    if (b.number() == 0) throw ValueError("division by zero");
    return a.number() / b.number();
  }
  if (integers) {
    const int64_t x = as_int(a);
    const int64_t y = as_int(b);
    if (op == "+") return x + y;
    if (op == "-") return x - y;
    if (op == "*") return x * y;
    if ((op == "//" || op == "%") && y == 0) throw ValueError("integer division or modulo by zero");
    const int64_t floor_quotient = x / y - ((x % y != 0) && ((x < 0) != (y < 0)) ? 1 : 0);
    if (op == "//") return floor_quotient;
    if (op == "%") return x - floor_quotient * y;
    if (op == "**") {
      if (y < 0) return std::pow(static_cast<double>(x), static_cast<double>(y));
      int64_t result = 1;
      for (int64_t i = 0; i < y; ++i) result *= x;
      return result;
    }
  }
  const double x = a.number();
  const double y = b.number();
  if (op == "+") return x + y;
  if (op == "-") return x - y;
  if (op == "*") return x * y;
  if ((op == "//" || op == "%") && y == 0) throw ValueError("float division or modulo by zero");
  if (op == "//") return std::floor(x / y);
  if (op == "%") {
    const double r = std::fmod(x, y);
    return r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
  }
  if (op == "**") return std::pow(x, y);
  throw ValueError(unsupported(op, a, b));
}

bool compare(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return equals(a, b);
  if (op == "!=") return !equals(a, b);
  if (op == "<") return less_than(a, b);
  if (op == ">") return less_than(b, a);
  if (op == "<=") return less_than(a, b) || equals(a, b);
  if (op == ">=") return less_than(b, a) || equals(a, b);
  if (op == "in") return contains(b, a);
  return !contains(b, a);  // not in
}

// `object.name` (Jinja2 tries the Python attribute, then the item).
Value get_attribute(const Value& object, const std::string& name) {
  object.require_defined();
  if (std::optional<Value> method = bound_method(object, name)) return *method;
  if (object.is_dict()) {
    if (const Value* found = object.dict().find(name)) return *found;
    return Undefined{fmt::format("'dict object' has no attribute '{}'", name)};
  }
  return Undefined{fmt::format("'{}' has no attribute '{}'", object.is_none() ? "None" : object.type_name(), name)};
}

// `object[index]` (Jinja2 tries the item, then the attribute).
Value get_item(const Value& object, const Value& index) {
  object.require_defined();
  if (object.is_dict()) {
    if (index.is_string()) {
      if (const Value* found = object.dict().find(index.string())) return *found;
      if (std::optional<Value> method = bound_method(object, index.string())) return *method;
    }
    return Undefined{fmt::format("'dict object' has no attribute {}", index.repr())};
  }
  if ((object.is_list() || object.is_string()) && is_integral(index)) {
    const int64_t size = static_cast<int64_t>(object.is_list() ? object.list().size() : object.length());
    int64_t i = as_int(index);
    if (i < 0) i += size;
    if (i < 0 || i >= size)
      return Undefined{fmt::format("'{} object' has no element {}", object.type_name(), as_int(index))};
    if (object.is_list()) return object.list()[static_cast<size_t>(i)];
    return encode_utf8(std::u32string(1, decode_utf8(object.string())[static_cast<size_t>(i)]));
  }
  if (index.is_string()) {
    if (std::optional<Value> method = bound_method(object, index.string())) return *method;
  }
  return Undefined{
      fmt::format("'{}' has no attribute {}", object.is_none() ? "None" : object.type_name(), index.repr())};
}

Value slice(const Value& object, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) {
  object.require_defined();
  if (step == 0) throw ValueError("slice step cannot be zero");
  if (object.is_string()) {
    const std::u32string code_points = decode_utf8(object.string());
    std::u32string out;
    for (size_t i : slice_indices(code_points.size(), start, stop, step)) out += code_points[i];
    return encode_utf8(out);
  }
  if (!object.is_list()) throw ValueError(fmt::format("'{}' object is not subscriptable", object.type_name()));
  List out;
  for (size_t i : slice_indices(object.list().size(), start, stop, step)) out.push_back(object.list()[i]);
  return out;
}

class Renderer {
 public:
  explicit Renderer(std::vector<std::pair<std::string, Value>> variables) {
    scopes_.emplace_back();
    for (auto& [name, value] : global_functions()) scopes_.back()[name] = std::move(value);
    for (auto& [name, value] : variables) scopes_.back()[name] = std::move(value);
  }

  std::string run(const Body& body) {
    execute(body);
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(SourcePos pos, std::string_view what) const {
    throw RenderError(fmt::format("{}:{}: {}", pos.line, pos.column, what));
  }

  // Runs `action`, turning the ValueError of a builtin or operator into an error at `pos`.
  template <class Action>
  auto at(SourcePos pos, Action&& action) -> decltype(action()) {
    try {
      return action();
    } catch (const ValueError& error) {
      fail(pos, error.what());
    }
  }

  // ---- scopes ----

  const Value* find(const std::string& name) const {
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
      if (auto found = scope->find(name); found != scope->end()) return &found->second;
    }
    return nullptr;
  }

  void assign(const std::string& name, Value value) { scopes_.back()[name] = std::move(value); }

  void assign_targets(SourcePos pos, const std::vector<std::string>& targets, const Value& value) {
    if (targets.size() == 1) {
      assign(targets[0], value);
      return;
    }
    const List items = at(pos, [&] { return value.iterate(); });
    if (items.size() != targets.size()) {
      fail(pos, fmt::format("cannot unpack {} values into {} names", items.size(), targets.size()));
    }
    for (size_t i = 0; i < targets.size(); ++i) assign(targets[i], items[i]);
  }

  // ---- statements ----

  Flow execute(const Body& body) {
    for (const StmtPtr& statement : body) {
      const Flow flow = execute(*statement);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow execute(const Stmt& statement) {
    return std::visit(Overloaded{
                          [&](const TextStmt& text) {
                            out_ += text.text;
                            return Flow::kNormal;
                          },
                          [&](const OutputStmt& output) {
                            const Value value = evaluate(*output.value);
                            out_ += value.str();
                            return Flow::kNormal;
                          },
                          [&](const IfStmt& branch) { return execute_if(branch); },
                          [&](const ForStmt& loop) { return execute_for(statement.pos, loop); },
                          [&](const SetStmt& set) {
                            execute_set(statement.pos, set);
                            return Flow::kNormal;
                          },
                          [&](const MacroStmt& macro) {
                            define_macro(macro);
                            return Flow::kNormal;
                          },
                          [&](const BreakStmt&) {
                            if (loop_depth_ == 0) fail(statement.pos, "'break' outside a for loop");
                            return Flow::kBreak;
                          },
                          [&](const ContinueStmt&) {
                            if (loop_depth_ == 0) fail(statement.pos, "'continue' outside a for loop");
                            return Flow::kContinue;
                          },
                          [&](const GenerationStmt& generation) { return execute(generation.body); },
                      },
                      statement.node);
  }

  Flow execute_if(const IfStmt& branch) {
    for (const auto& [condition, body] : branch.branches) {
      if (evaluate(*condition).truthy()) return execute(body);
    }
    return execute(branch.otherwise);
  }

  Flow execute_for(SourcePos pos, const ForStmt& loop) {
    const Value iterable = evaluate(*loop.iterable);
    List items = at(loop.iterable->pos, [&] { return iterable.iterate(); });
    if (loop.filter) {
      List kept;
      for (const Value& item : items) {
        scopes_.emplace_back();
        assign_targets(pos, loop.targets, item);
        const bool keep = evaluate(*loop.filter).truthy();
        scopes_.pop_back();
        if (keep) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return execute(loop.otherwise);
    ++loop_depth_;
    const auto length = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < length; ++i) {
      scopes_.emplace_back();
      assign_targets(pos, loop.targets, items[static_cast<size_t>(i)]);
      assign("loop", loop_object(items, i));
      const Flow flow = execute(loop.body);
      scopes_.pop_back();
      if (flow == Flow::kBreak) break;
    }
    --loop_depth_;
    return Flow::kNormal;
  }

  static Value loop_object(const List& items, int64_t i) {
    const auto length = static_cast<int64_t>(items.size());
    Dict loop;
    loop.set("index", i + 1);
    loop.set("index0", i);
    loop.set("revindex", length - i);
    loop.set("revindex0", length - i - 1);
    loop.set("first", i == 0);
    loop.set("last", i == length - 1);
    loop.set("length", length);
    loop.set("depth", 1);
    loop.set("depth0", 0);
    loop.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value(Undefined{"there is no previous item"}));
    loop.set("nextitem",
             i + 1 < length ? items[static_cast<size_t>(i + 1)] : Value(Undefined{"there is no next item"}));
    loop.set("cycle", Function([i](const CallArgs& args) -> Value {
               if (args.positional.empty()) throw ValueError("no items for cycling given");
               return args.positional[static_cast<size_t>(i) % args.positional.size()];
             }));
    return loop;
  }

  void execute_set(SourcePos pos, const SetStmt& set) {
    Value value;
    if (set.value) {
      value = evaluate(*set.value);
    } else {
      std::string saved = std::move(out_);
      out_.clear();
      execute(set.body);
      value = std::move(out_);
      out_ = std::move(saved);
    }
    if (set.attribute.empty()) {
      assign_targets(pos, set.targets, value);
      return;
    }
    const Value* object = find(set.targets[0]);
    if (object == nullptr || !object->is_dict() || !object->dict().is_namespace) {
      fail(pos, fmt::format("cannot assign attribute on non-namespace object '{}'", set.targets[0]));
    }
    object->dict().set(set.attribute, std::move(value));
  }

  // A macro is a function that renders its body in a scope of the template's globals and its arguments.
  void define_macro(const MacroStmt& macro) {
    const MacroStmt* definition = &macro;
    assign(macro.name, Function([this, definition](const CallArgs& args) -> Value {
             Scope arguments;
             for (size_t i = 0; i < definition->parameters.size(); ++i) {
               const auto& [name, default_value] = definition->parameters[i];
               if (const Value* given = args.get(i, name)) {
                 arguments[name] = *given;
               } else if (default_value) {
                 arguments[name] = evaluate(*default_value);
               } else {
                 arguments[name] = Undefined{fmt::format("'{}' is undefined", name)};
               }
             }
             if (args.positional.size() > definition->parameters.size()) {
               throw ValueError(fmt::format("macro '{}' takes not more than {} argument(s)", definition->name,
                                            definition->parameters.size()));
             }
             std::vector<Scope> saved_scopes{scopes_.front(), std::move(arguments)};
             std::swap(saved_scopes, scopes_);
             std::string saved_out = std::move(out_);
             out_.clear();
             const int saved_depth = loop_depth_;
             loop_depth_ = 0;
             execute(*definition->body);
             loop_depth_ = saved_depth;
             std::string rendered = std::move(out_);
             out_ = std::move(saved_out);
             std::swap(saved_scopes, scopes_);
             return rendered;
           }));
  }

  // ---- expressions ----

  CallArgs evaluate_arguments(const Arguments& arguments) {
    CallArgs args;
    for (const ExprPtr& arg : arguments.positional) args.positional.push_back(evaluate(*arg));
    for (const auto& [name, arg] : arguments.keyword) args.keyword.emplace_back(name, evaluate(*arg));
    return args;
  }

  std::optional<int64_t> slice_bound(const ExprPtr& expr) {
    if (!expr) return std::nullopt;
    const Value value = evaluate(*expr);
    if (value.is_none()) return std::nullopt;
    if (!is_integral(value)) fail(expr->pos, "slice indices must be integers or None");
    return as_int(value);
  }

  Value evaluate(const Expr& expr) {
    return std::visit(
        Overloaded{
            [&](const Literal& literal) { return literal.value; },
            [&](const Name& name) -> Value {
              if (const Value* found = find(name.name)) return *found;
              return Undefined{fmt::format("'{}' is undefined", name.name)};
            },
            [&](const ListExpr& list) -> Value {
              List items;
              for (const ExprPtr& item : list.items) items.push_back(evaluate(*item));
              return items;
            },
            [&](const DictExpr& dict) -> Value {
              Dict entries;
              for (const auto& [key_expr, value_expr] : dict.items) {
                const Value key = evaluate(*key_expr);
                if (!key.is_string())
                  fail(key_expr->pos, fmt::format("dict keys must be strings, got {}", key.type_name()));
                entries.set(key.string(), evaluate(*value_expr));
              }
              return entries;
            },
            [&](const Attribute& attribute) {
              const Value object = evaluate(*attribute.object);
              return at(expr.pos, [&] { return get_attribute(object, attribute.name); });
            },
            [&](const Subscript& subscript) {
              const Value object = evaluate(*subscript.object);
              const Value index = evaluate(*subscript.index);
              return at(expr.pos, [&] { return get_item(object, index); });
            },
            [&](const Slice& range) {
              const Value object = evaluate(*range.object);
              const std::optional<int64_t> start = slice_bound(range.start);
              const std::optional<int64_t> stop = slice_bound(range.stop);
              const int64_t step = slice_bound(range.step).value_or(1);
              return at(expr.pos, [&] { return slice(object, start, stop, step); });
            },
            [&](const Call& call) {
              const Value callee = evaluate(*call.callee);
              const CallArgs args = evaluate_arguments(call.args);
              return at(expr.pos, [&] {
                callee.require_defined();
                if (!callee.is_function())
                  throw ValueError(fmt::format("'{}' object is not callable", callee.type_name()));
                return callee.function()(args);
              });
            },
            [&](const Filter& filter) {
              const Value operand = evaluate(*filter.operand);
              const CallArgs args = evaluate_arguments(filter.args);
              return at(expr.pos, [&] { return apply_filter(filter.name, operand, args); });
            },
            [&](const Test& test) -> Value {
              const Value operand = evaluate(*test.operand);
              const CallArgs args = evaluate_arguments(test.args);
              return at(expr.pos, [&] { return apply_test(test.name, operand, args) != test.negated; });
            },
            [&](const Unary& unary) -> Value {
              const Value operand = evaluate(*unary.operand);
              if (unary.op == "not") return !operand.truthy();
              return at(expr.pos, [&]() -> Value {
                operand.require_defined();
                if (!operand.is_number()) {
                  throw ValueError(fmt::format("bad operand type for unary {}: '{}'", unary.op, operand.type_name()));
                }
                if (unary.op == "+") return is_integral(operand) ? Value(as_int(operand)) : operand;
                return is_integral(operand) ? Value(-as_int(operand)) : Value(-operand.number());
              });
            },
            [&](const Binary& binary) -> Value {
              if (binary.op == "and" || binary.op == "or") {
                Value left = evaluate(*binary.left);
                if (left.truthy() == (binary.op == "or")) return left;
                return evaluate(*binary.right);
              }
              const Value left = evaluate(*binary.left);
              const Value right = evaluate(*binary.right);
              if (binary.op == "~") return left.str() + right.str();
              return at(expr.pos, [&] { return arithmetic(binary.op, left, right); });
            },
            [&](const Compare& comparison) -> Value {
              Value left = evaluate(*comparison.first);
              for (const auto& [op, right_expr] : comparison.rest) {
                Value right = evaluate(*right_expr);
                if (!at(expr.pos, [&] { return compare(op, left, right); })) return false;
                left = std::move(right);
              }
              return true;
            },
            [&](const Conditional& conditional) -> Value {
              if (evaluate(*conditional.condition).truthy()) return evaluate(*conditional.then);
              if (conditional.otherwise) return evaluate(*conditional.otherwise);
              return Undefined{
                  fmt::format("the inline if-expression at {}:{} evaluated to false and no else "
                              "section was defined",
                              expr.pos.line, expr.pos.column)};
            },
        },
        expr.node);
  }

  std::vector<Scope> scopes_;
  std::string out_;
  int loop_depth_ = 0;
};

}  // namespace

Expected<std::string> render(const Body& body, std::vector<std::pair<std::string, Value>> variables) {
  try {
    return Renderer(std::move(variables)).run(body);
  } catch (const RenderError& error) {
    return Error{error.what()};
  }
}

}  // namespace llmc::data::jinja
