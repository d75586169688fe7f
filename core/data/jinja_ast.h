// core/data/jinja_ast.h - the parsed form of a Jinja template: expressions and statements.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "data/jinja_lexer.h"
#include "data/jinja_value.h"

namespace llmc::data::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// Positional and keyword arguments of a call, filter or test.
struct Arguments {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

struct Literal {
  Value value;
};
struct Name {
  std::string name;
};
/// [a, b] and tuples (a, b)
struct ListExpr {
  std::vector<ExprPtr> items;
};
struct DictExpr {
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};
/// x.name
struct Attribute {
  ExprPtr object;
  std::string name;
};
/// x[i]
struct Subscript {
  ExprPtr object;
  ExprPtr index;
};
/// x[a:b:c]; absent parts are null
struct Slice {
  ExprPtr object;
  ExprPtr start, stop, step;
};
struct Call {
  ExprPtr callee;
  Arguments args;
};
/// x | name(args)
struct Filter {
  ExprPtr operand;
  std::string name;
  Arguments args;
};
/// x is [not] name(args)
struct Test {
  ExprPtr operand;
  std::string name;
  Arguments args;
  bool negated;
};
/// not x, -x, +x
struct Unary {
  std::string op;
  ExprPtr operand;
};
/// and, or, + - * / // % **, ~
struct Binary {
  std::string op;
  ExprPtr left, right;
};
/// a < b <= c: Python's chained comparison; ops are ==, !=, <, <=, >, >=, in, not in.
struct Compare {
  ExprPtr first;
  std::vector<std::pair<std::string, ExprPtr>> rest;
};
/// then if condition else otherwise
struct Conditional {
  ExprPtr condition, then, otherwise;
};

struct Expr {
  SourcePos pos;
  std::variant<Literal, Name, ListExpr, DictExpr, Attribute, Subscript, Slice, Call, Filter, Test, Unary, Binary,
               Compare, Conditional>
      node;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct TextStmt {
  std::string text;
};
/// {{ value }}
struct OutputStmt {
  ExprPtr value;
};
struct IfStmt {
  std::vector<std::pair<ExprPtr, Body>> branches;  // if, then each elif
  Body otherwise;
};
struct ForStmt {
  std::vector<std::string> targets;  // one name, or several to unpack each item into
  ExprPtr iterable;
  ExprPtr filter;  // `for x in xs if cond`; null when absent
  Body body;
  Body otherwise;  // runs when no item was iterated
};
/// {% set name = value %}, {% set a, b = value %}, {% set ns.attr = value %}, or {% set name %}body{% endset %}.
struct SetStmt {
  std::vector<std::string> targets;
  std::string attribute;  // set targets[0].attribute
  ExprPtr value;          // null for the block form
  Body body;
};
struct MacroStmt {
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> parameters;  // default expression null when required
  std::shared_ptr<Body> body;                               // shared with the functions the macro definition creates
};
struct BreakStmt {};
struct ContinueStmt {};
/// transformers' {% generation %} block (marks assistant output for masks): renders its body.
struct GenerationStmt {
  Body body;
};

struct Stmt {
  SourcePos pos;
  std::variant<TextStmt, OutputStmt, IfStmt, ForStmt, SetStmt, MacroStmt, BreakStmt, ContinueStmt, GenerationStmt> node;
};

}  // namespace llmc::data::jinja
