// core/data/jinja_template.cpp
#include "data/jinja_template.h"

#include "data/jinja_parser.h"
#include "data/jinja_renderer.h"

namespace llmc::data::jinja {

Expected<Template> Template::parse(std::string_view source, const LexerOptions& options) {
  auto tokens = tokenize(source, options);
  if (!tokens) return tokens.error();
  auto body = jinja::parse(*tokens);
  if (!body) return body.error();
  return Template(std::make_shared<const Body>(std::move(*body)));
}

Expected<std::string> Template::render(const nlohmann::ordered_json& variables) const {
  if (!variables.is_object()) return Error{"template variables must be a JSON object"};
  std::vector<std::pair<std::string, Value>> values;
  for (const auto& [name, value] : variables.items()) values.emplace_back(name, Value::from_json(value));
  return jinja::render(*body_, std::move(values));
}

}  // namespace llmc::data::jinja
