// core/data/jinja_parser.cpp
#include "data/jinja_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <stdexcept>

namespace llmc::data::jinja {
namespace {

class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class Node>
ExprPtr make_expr(SourcePos pos, Node node) {
  return std::make_unique<Expr>(Expr{pos, std::move(node)});
}

template <class Node>
StmtPtr make_stmt(SourcePos pos, Node node) {
  return std::make_unique<Stmt>(Stmt{pos, std::move(node)});
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  Body parse_template() { return parse_body({}, ""); }

 private:
  // ---- token access ----
  const Token& current() const { return tokens_[index_]; }
  const Token& peek(size_t ahead) const { return tokens_[std::min(index_ + ahead, tokens_.size() - 1)]; }
  const Token& advance() { return tokens_[index_ < tokens_.size() - 1 ? index_++ : index_]; }
  bool at_name(std::string_view word) const { return current().kind == TokenKind::kName && current().text == word; }
  bool at_operator(std::string_view op) const { return current().kind == TokenKind::kOperator && current().text == op; }
  bool skip_name(std::string_view word) {
    if (!at_name(word)) return false;
    advance();
    return true;
  }
  bool skip_operator(std::string_view op) {
    if (!at_operator(op)) return false;
    advance();
    return true;
  }

  [[noreturn]] void fail(SourcePos pos, std::string_view what) const {
    throw ParseError(fmt::format("{}:{}: {}", pos.line, pos.column, what));
  }

  std::string describe(const Token& token) const {
    switch (token.kind) {
      case TokenKind::kEnd: return "end of template";
      case TokenKind::kBlockEnd: return "end of statement block '%}'";
      case TokenKind::kVariableEnd: return "end of print statement '}}'";
      case TokenKind::kString: return "string literal";
      case TokenKind::kText: return "template text";
      default: return fmt::format("'{}'", token.text);
    }
  }

  void expect_operator(std::string_view op) {
    if (!skip_operator(op)) fail(current().pos, fmt::format("expected '{}', got {}", op, describe(current())));
  }
  void expect_name(std::string_view word) {
    if (!skip_name(word)) fail(current().pos, fmt::format("expected '{}', got {}", word, describe(current())));
  }
  std::string expect_identifier(std::string_view what) {
    if (current().kind != TokenKind::kName)
      fail(current().pos, fmt::format("expected {}, got {}", what, describe(current())));
    return advance().text;
  }
  void expect_block_end() {
    if (current().kind != TokenKind::kBlockEnd) {
      fail(current().pos, fmt::format("expected end of statement block '%}}', got {}", describe(current())));
    }
    advance();
  }

  // ---- statements ----

  // Parses until a '{% <one of end_tags> %}' (left unconsumed) or the end of the template.
  Body parse_body(std::initializer_list<std::string_view> end_tags, std::string_view block, SourcePos opened = {}) {
    Body body;
    while (true) {
      const Token& token = current();
      switch (token.kind) {
        case TokenKind::kText:
          body.push_back(make_stmt(token.pos, TextStmt{token.text}));
          advance();
          break;
        case TokenKind::kVariableBegin: {
          advance();
          ExprPtr value = parse_tuple();
          if (current().kind != TokenKind::kVariableEnd) {
            fail(current().pos, fmt::format("expected end of print statement '}}}}', got {}", describe(current())));
          }
          advance();
          body.push_back(make_stmt(token.pos, OutputStmt{std::move(value)}));
          break;
        }
        case TokenKind::kBlockBegin: {
          const Token& name = peek(1);
          if (name.kind == TokenKind::kName &&
              std::find(end_tags.begin(), end_tags.end(), name.text) != end_tags.end()) {
            return body;
          }
          if (end_tags.size() > 0 && name.kind == TokenKind::kName && is_closer(name.text)) {
            fail(name.pos, fmt::format("unexpected '{}': the '{}' block opened at {}:{} is not closed (expected '{}')",
                                       name.text, block, opened.line, opened.column, *(end_tags.end() - 1)));
          }
          body.push_back(parse_statement());
          break;
        }
        case TokenKind::kEnd:
          if (end_tags.size() > 0) {
            fail(token.pos, fmt::format("unexpected end of template: the '{}' block opened at {}:{} is not closed "
                                        "(expected '{}')",
                                        block, opened.line, opened.column, *(end_tags.end() - 1)));
          }
          return body;
        default: fail(token.pos, fmt::format("unexpected {}", describe(token)));
      }
    }
  }

  StmtPtr parse_statement() {
    const SourcePos pos = advance().pos;  // '{%'
    if (current().kind != TokenKind::kName)
      fail(current().pos, fmt::format("expected a tag name, got {}", describe(current())));
    const std::string tag = advance().text;
    if (tag == "if") return parse_if(pos);
    if (tag == "for") return parse_for(pos);
    if (tag == "set") return parse_set(pos);
    if (tag == "macro") return parse_macro(pos);
    if (tag == "break" || tag == "continue") {
      expect_block_end();
      return tag == "break" ? make_stmt(pos, BreakStmt{}) : make_stmt(pos, ContinueStmt{});
    }
    if (tag == "generation") {
      expect_block_end();
      GenerationStmt generation{parse_body({"endgeneration"}, tag, pos)};
      close_block("endgeneration");
      return make_stmt(pos, std::move(generation));
    }
    if (is_closer(tag)) {
      fail(pos, fmt::format("unexpected '{}': no open block it closes", tag));
    }
    fail(pos, fmt::format("unknown tag '{}'", tag));
  }

  // A tag that continues or ends a block.
  static bool is_closer(std::string_view tag) {
    static constexpr std::string_view kClosers[] = {"endif",  "elif",     "else",         "endfor",
                                                    "endset", "endmacro", "endgeneration"};
    return std::find(std::begin(kClosers), std::end(kClosers), tag) != std::end(kClosers);
  }

  // Consumes '{% <end_tag> %}'.
  void close_block(std::string_view end_tag) {
    advance();  // '{%'
    expect_name(end_tag);
    expect_block_end();
  }

  StmtPtr parse_if(SourcePos pos) {
    IfStmt statement;
    ExprPtr condition = parse_expression();
    expect_block_end();
    while (true) {
      Body body = parse_body({"elif", "else", "endif"}, "if", pos);
      statement.branches.emplace_back(std::move(condition), std::move(body));
      advance();  // '{%'
      const std::string tag = advance().text;
      if (tag == "elif") {
        condition = parse_expression();
        expect_block_end();
        continue;
      }
      expect_block_end();
      if (tag == "else") {
        statement.otherwise = parse_body({"endif"}, "if", pos);
        close_block("endif");
      }
      return make_stmt(pos, std::move(statement));
    }
  }

  std::vector<std::string> parse_targets() {
    const bool parenthesized = skip_operator("(");
    std::vector<std::string> targets{expect_identifier("a variable name")};
    while (skip_operator(",")) {
      if (current().kind != TokenKind::kName || at_name("in")) break;
      targets.push_back(expect_identifier("a variable name"));
    }
    if (parenthesized) expect_operator(")");
    return targets;
  }

  StmtPtr parse_for(SourcePos pos) {
    ForStmt statement;
    statement.targets = parse_targets();
    expect_name("in");
    statement.iterable = parse_tuple(/*with_condexpr=*/false);
    if (skip_name("if")) statement.filter = parse_expression();
    if (at_name("recursive")) fail(current().pos, "recursive for loops are not supported");
    expect_block_end();
    statement.body = parse_body({"else", "endfor"}, "for", pos);
    advance();  // '{%'
    if (advance().text == "else") {
      expect_block_end();
      statement.otherwise = parse_body({"endfor"}, "for", pos);
      close_block("endfor");
    } else {
      expect_block_end();
    }
    return make_stmt(pos, std::move(statement));
  }

  StmtPtr parse_set(SourcePos pos) {
    SetStmt statement;
    statement.targets.push_back(expect_identifier("a variable name"));
    if (skip_operator(".")) {
      statement.attribute = expect_identifier("an attribute name");
    } else {
      while (skip_operator(",")) statement.targets.push_back(expect_identifier("a variable name"));
    }
    if (skip_operator("=")) {
      statement.value = parse_tuple();
      expect_block_end();
      return make_stmt(pos, std::move(statement));
    }
    if (statement.targets.size() > 1 || !statement.attribute.empty()) {
      fail(current().pos, "a block set assigns a single variable name");
    }
    expect_block_end();
    statement.body = parse_body({"endset"}, "set", pos);
    close_block("endset");
    return make_stmt(pos, std::move(statement));
  }

  StmtPtr parse_macro(SourcePos pos) {
    MacroStmt statement;
    statement.name = expect_identifier("a macro name");
    expect_operator("(");
    while (!skip_operator(")")) {
      if (!statement.parameters.empty()) expect_operator(",");
      if (skip_operator(")")) break;
      std::string parameter = expect_identifier("a parameter name");
      ExprPtr default_value = skip_operator("=") ? parse_expression() : nullptr;
      statement.parameters.emplace_back(std::move(parameter), std::move(default_value));
    }
    expect_block_end();
    statement.body = std::make_shared<Body>(parse_body({"endmacro"}, "macro", pos));
    close_block("endmacro");
    return make_stmt(pos, std::move(statement));
  }

  // ---- expressions (Jinja2's precedence, loosest first) ----

  // a, b, c (a tuple when there is a comma), as in {{ }} and set values.
  ExprPtr parse_tuple(bool with_condexpr = true) {
    const SourcePos pos = current().pos;
    ExprPtr first = with_condexpr ? parse_expression() : parse_or();
    if (!at_operator(",")) return first;
    ListExpr tuple;
    tuple.items.push_back(std::move(first));
    while (skip_operator(",")) {
      if (at_end_of_expression()) break;
      tuple.items.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    return make_expr(pos, std::move(tuple));
  }

  bool at_end_of_expression() const {
    return current().kind == TokenKind::kVariableEnd || current().kind == TokenKind::kBlockEnd || at_operator(")") ||
           at_operator("]") || at_operator("}");
  }

  ExprPtr parse_expression() {
    ExprPtr expr = parse_or();
    while (at_name("if")) {
      const SourcePos pos = advance().pos;
      ExprPtr condition = parse_or();
      ExprPtr otherwise = skip_name("else") ? parse_expression() : nullptr;
      expr = make_expr(pos, Conditional{std::move(condition), std::move(expr), std::move(otherwise)});
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      const SourcePos pos = advance().pos;
      left = make_expr(pos, Binary{"or", std::move(left), parse_and()});
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      const SourcePos pos = advance().pos;
      left = make_expr(pos, Binary{"and", std::move(left), parse_not()});
    }
    return left;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      const SourcePos pos = advance().pos;
      return make_expr(pos, Unary{"not", parse_not()});
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const SourcePos pos = current().pos;
    Compare compare{parse_math1(), {}};
    while (true) {
      std::string op;
      if (current().kind == TokenKind::kOperator &&
          (current().text == "==" || current().text == "!=" || current().text == "<" || current().text == "<=" ||
           current().text == ">" || current().text == ">=")) {
        op = advance().text;
      } else if (skip_name("in")) {
        op = "in";
      } else if (at_name("not") && peek(1).kind == TokenKind::kName && peek(1).text == "in") {
        advance();
        advance();
        op = "not in";
      } else {
        break;
      }
      compare.rest.emplace_back(std::move(op), parse_math1());
    }
    if (compare.rest.empty()) return std::move(compare.first);
    return make_expr(pos, std::move(compare));
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (at_operator("+") || at_operator("-")) {
      const Token& op = advance();
      left = make_expr(op.pos, Binary{op.text, std::move(left), parse_concat()});
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (at_operator("~")) {
      const SourcePos pos = advance().pos;
      left = make_expr(pos, Binary{"~", std::move(left), parse_math2()});
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (at_operator("*") || at_operator("/") || at_operator("//") || at_operator("%")) {
      const Token& op = advance();
      left = make_expr(op.pos, Binary{op.text, std::move(left), parse_pow()});
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (at_operator("**")) {
      const SourcePos pos = advance().pos;
      left = make_expr(pos, Binary{"**", std::move(left), parse_unary(true)});
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr expr;
    if (at_operator("-") || at_operator("+")) {
      const Token& op = advance();
      expr = make_expr(op.pos, Unary{op.text, parse_unary(false)});
    } else {
      expr = parse_postfix(parse_primary());
    }
    return with_filter ? parse_filters_and_tests(std::move(expr)) : std::move(expr);
  }

  ExprPtr parse_primary() {
    const Token& token = current();
    switch (token.kind) {
      case TokenKind::kName: {
        advance();
        if (token.text == "true" || token.text == "True") return make_expr(token.pos, Literal{true});
        if (token.text == "false" || token.text == "False") return make_expr(token.pos, Literal{false});
        if (token.text == "none" || token.text == "None") return make_expr(token.pos, Literal{None{}});
        return make_expr(token.pos, Name{token.text});
      }
      case TokenKind::kString: {
        std::string text;
        while (current().kind == TokenKind::kString) text += advance().text;  // adjacent literals concatenate
        return make_expr(token.pos, Literal{std::move(text)});
      }
      case TokenKind::kInteger: advance(); return make_expr(token.pos, Literal{number_literal<int64_t>(token)});
      case TokenKind::kFloat: advance(); return make_expr(token.pos, Literal{number_literal<double>(token)});
      case TokenKind::kOperator:
        if (token.text == "(") return parse_parenthesized();
        if (token.text == "[") return parse_list();
        if (token.text == "{") return parse_dict();
        break;
      default: break;
    }
    fail(token.pos, fmt::format("expected an expression, got {}", describe(token)));
  }

  template <class Number>
  Number number_literal(const Token& token) const {
    Number number{};
    const auto [end, error] = std::from_chars(token.text.data(), token.text.data() + token.text.size(), number);
    if (error != std::errc{}) fail(token.pos, fmt::format("number literal {} is out of range", token.text));
    return number;
  }

  ExprPtr parse_parenthesized() {
    const SourcePos pos = advance().pos;
    if (skip_operator(")")) return make_expr(pos, ListExpr{});
    ExprPtr first = parse_expression();
    if (skip_operator(")")) return first;
    ListExpr tuple;
    tuple.items.push_back(std::move(first));
    while (skip_operator(",")) {
      if (at_operator(")")) break;
      tuple.items.push_back(parse_expression());
    }
    expect_operator(")");
    return make_expr(pos, std::move(tuple));
  }

  ExprPtr parse_list() {
    const SourcePos pos = advance().pos;
    ListExpr list;
    while (!skip_operator("]")) {
      if (!list.items.empty()) expect_operator(",");
      if (skip_operator("]")) break;
      list.items.push_back(parse_expression());
    }
    return make_expr(pos, std::move(list));
  }

  ExprPtr parse_dict() {
    const SourcePos pos = advance().pos;
    DictExpr dict;
    while (!skip_operator("}")) {
      if (!dict.items.empty()) expect_operator(",");
      if (skip_operator("}")) break;
      ExprPtr key = parse_expression();
      expect_operator(":");
      dict.items.emplace_back(std::move(key), parse_expression());
    }
    return make_expr(pos, std::move(dict));
  }

  ExprPtr parse_postfix(ExprPtr expr) {
    while (true) {
      const SourcePos pos = current().pos;
      if (skip_operator(".")) {
        if (current().kind == TokenKind::kInteger) {
          const int64_t index = number_literal<int64_t>(advance());
          expr = make_expr(pos, Subscript{std::move(expr), make_expr(pos, Literal{index})});
        } else {
          expr = make_expr(pos, Attribute{std::move(expr), expect_identifier("an attribute name")});
        }
      } else if (at_operator("[")) {
        expr = parse_subscript(std::move(expr));
      } else if (at_operator("(")) {
        const SourcePos callee = expr->pos;  // errors of a call point at what is called
        expr = make_expr(callee, Call{std::move(expr), parse_call_arguments()});
      } else {
        return expr;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object) {
    const SourcePos pos = advance().pos;  // '['
    ExprPtr parts[3];
    int part = 0;
    bool is_slice = false;
    while (!at_operator("]")) {
      if (skip_operator(":")) {
        is_slice = true;
        if (++part > 2) fail(current().pos, "a slice has at most three parts");
        continue;
      }
      if (parts[part]) fail(current().pos, fmt::format("expected ':' or ']', got {}", describe(current())));
      parts[part] = parse_expression();
    }
    advance();  // ']'
    if (!is_slice) {
      if (!parts[0]) fail(pos, "empty subscript");
      return make_expr(pos, Subscript{std::move(object), std::move(parts[0])});
    }
    return make_expr(pos, Slice{std::move(object), std::move(parts[0]), std::move(parts[1]), std::move(parts[2])});
  }

  Arguments parse_call_arguments() {
    expect_operator("(");
    Arguments args;
    bool first = true;
    while (!skip_operator(")")) {
      if (!first) expect_operator(",");
      first = false;
      if (skip_operator(")")) break;
      if (current().kind == TokenKind::kName && peek(1).kind == TokenKind::kOperator && peek(1).text == "=") {
        std::string name = advance().text;
        advance();  // '='
        args.keyword.emplace_back(std::move(name), parse_expression());
      } else {
        if (!args.keyword.empty()) fail(current().pos, "positional argument follows keyword argument");
        args.positional.push_back(parse_expression());
      }
    }
    return args;
  }

  ExprPtr parse_filters_and_tests(ExprPtr expr) {
    while (true) {
      const SourcePos pos = current().pos;
      if (skip_operator("|")) {
        std::string name = expect_identifier("a filter name");
        Arguments args = at_operator("(") ? parse_call_arguments() : Arguments{};
        expr = make_expr(pos, Filter{std::move(expr), std::move(name), std::move(args)});
      } else if (skip_name("is")) {
        const bool negated = skip_name("not");
        std::string name = expect_identifier("a test name");
        Arguments args;
        if (at_operator("(")) {
          args = parse_call_arguments();
        } else if (starts_test_argument()) {
          args.positional.push_back(parse_postfix(parse_primary()));
        }
        expr = make_expr(pos, Test{std::move(expr), std::move(name), std::move(args), negated});
      } else if (at_operator("(")) {
        const SourcePos callee = expr->pos;
        expr = make_expr(callee, Call{std::move(expr), parse_call_arguments()});
      } else {
        return expr;
      }
    }
  }

  // `x is divisibleby 3`: a test may take one argument without parentheses.
  bool starts_test_argument() const {
    const Token& token = current();
    if (token.kind == TokenKind::kName) return !(at_name("else") || at_name("or") || at_name("and"));
    return token.kind == TokenKind::kString || token.kind == TokenKind::kInteger || token.kind == TokenKind::kFloat ||
           at_operator("[") || at_operator("{");
  }

  const std::vector<Token>& tokens_;
  size_t index_ = 0;
};

}  // namespace

Expected<Body> parse(const std::vector<Token>& tokens) {
  try {
    return Parser(tokens).parse_template();
  } catch (const ParseError& error) {
    return Error{error.what()};
  }
}

}  // namespace llmc::data::jinja
