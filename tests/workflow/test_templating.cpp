// {{a.b.c}} templating (D2): context and loop variables, unset markers,
// non-path expressions verbatim, values of every type.
#include "workflow_test_support.hpp"

#include "workflow/templating.hpp"

using namespace wf_test;

TEST_CASE("templating resolves paths from context and loop variables") {
  auto ctx = obj(R"({"user":{"name":"Ada","langs":["c","ml"]},"n":3,"ok":true,"nothing":null,"obj":{"a":1}})");
  scope s;
  s.context = &ctx;
  s.vars.emplace_back("file", json::value("main.cpp"));
  CHECK(render_template("Hello {{user.name}}!", s) == "Hello Ada!");
  CHECK(render_template("{{ user.langs.1 }}", s) == "ml");
  CHECK(render_template("{{n}} files, ok={{ok}}, none={{nothing}}", s) == "3 files, ok=true, none=null");
  CHECK(render_template("obj={{obj}}", s) == R"(obj={"a":1})");
  CHECK(render_template("review {{file}}", s) == "review main.cpp");
  CHECK(render_template("{{user.age}} / {{missing}}", s) == "[unset: user.age] / [unset: missing]");
}

TEST_CASE("numbers render as JavaScript prints them, in strings and in objects") {
  // boost::json::serialize would write 1.5E0 and 1.1143938825400413E4.
  auto ctx = obj(R"({"score":1.5,"ratio":11143.938825400413,"tiny":1e-7,"big":1e21,"m":{"x":0.25}})");
  scope s;
  s.context = &ctx;
  CHECK(render_template("{{score}} {{ratio}}", s) == "1.5 11143.938825400413");
  CHECK(render_template("{{tiny}} {{big}}", s) == "1e-7 1e+21");
  CHECK(render_template("{{m}}", s) == R"({"x":0.25})");
}

TEST_CASE("non-path expressions and broken braces stay verbatim") {
  json::object ctx{{"a", 1}};
  scope s;
  s.context = &ctx;
  CHECK(render_template("{{ a + 1 }}", s) == "{{ a + 1 }}");
  CHECK(render_template("{{}}", s) == "{{}}");
  CHECK(render_template("{{a", s) == "{{a");
  CHECK(render_template("a}}b{{", s) == "a}}b{{");
  CHECK(render_template("{single} and {{a}}", s) == "{single} and 1");
  CHECK(render_template("", s).empty());
  CHECK(render_template("{{{a}}}", s) == "{{{a}}}");   // "{a" is not a path
}

TEST_CASE("templating big text is linear and exact") {
  json::object ctx{{"x", "y"}};
  scope s;
  s.context = &ctx;
  std::string big;
  for (int i = 0; i < 100000; ++i) big += "{{x}}.";
  const std::string out = render_template(big, s);
  CHECK(out.size() == 200000);
  CHECK(out.substr(0, 6) == "y.y.y.");
}

TEST_CASE("render_json templates strings inside values, keys untouched") {
  json::object ctx{{"who", "ops"}};
  scope s;
  s.context = &ctx;
  auto v = parse_json(R"({"{{who}}":"{{who}}","list":["{{who}}",1,null]})");
  REQUIRE(v.has_value());
  CHECK(json::serialize(render_json(*v, s)) == R"({"{{who}}":"ops","list":["ops",1,null]})");
}
