// The JSON Schema subset validator: each keyword accepts and refuses, the
// first violation names the instance pointer, and bad schemas never crash.
#include <tokenrail/json/schema.hpp>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <string>

namespace bj = boost::json;
using tokenrail::json::check_schema;
using tokenrail::json::schema_violation;
using tokenrail::json::validate;

namespace {

std::optional<schema_violation> run(const char* schema, const char* instance) {
  return validate(bj::parse(schema), bj::parse(instance));
}

bool ok(const char* schema, const char* instance) { return !run(schema, instance).has_value(); }

std::string ptr(const char* schema, const char* instance) {
  auto v = run(schema, instance);
  REQUIRE(v.has_value());
  return v->pointer;
}

std::string sptr(const char* schema, const char* instance) {
  auto v = run(schema, instance);
  REQUIRE(v.has_value());
  return v->schema_pointer;
}

}  // namespace

TEST_CASE("type") {
  CHECK(ok(R"({"type":"string"})", R"("x")"));
  CHECK_FALSE(ok(R"({"type":"string"})", "1"));
  CHECK(ok(R"({"type":"number"})", "1.5"));
  CHECK(ok(R"({"type":"number"})", "1"));
  CHECK(ok(R"({"type":"integer"})", "1"));
  CHECK(ok(R"({"type":"integer"})", "1.0"));
  CHECK(ok(R"({"type":"integer"})", "18446744073709551615"));
  CHECK_FALSE(ok(R"({"type":"integer"})", "1.5"));
  CHECK(ok(R"({"type":"boolean"})", "false"));
  CHECK_FALSE(ok(R"({"type":"boolean"})", "0"));
  CHECK(ok(R"({"type":"null"})", "null"));
  CHECK(ok(R"({"type":"object"})", "{}"));
  CHECK_FALSE(ok(R"({"type":"object"})", "[]"));
  CHECK(ok(R"({"type":"array"})", "[]"));
  CHECK(ok(R"({"type":["string","null"]})", "null"));
  CHECK_FALSE(ok(R"({"type":["string","null"]})", "3"));
  const auto v = run(R"({"type":"string"})", "1");
  CHECK(v->pointer == "");
  CHECK(v->schema_pointer == "/type");
  CHECK(v->expected == "a string, not integer");
}

TEST_CASE("boolean schemas and empty schema") {
  CHECK(ok("true", R"({"a":1})"));
  CHECK_FALSE(ok("false", "1"));
  CHECK(ok("{}", "[1,2]"));
}

TEST_CASE("properties, required, additionalProperties with pointers") {
  const char* schema = R"({
    "type":"object",
    "required":["name"],
    "properties":{"name":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}},
                  "a/b":{"type":"integer"}},
    "additionalProperties":false})";
  CHECK(ok(schema, R"({"name":"x","tags":["a","b"]})"));
  CHECK(ptr(schema, R"({"tags":[]})") == "/name");
  CHECK(sptr(schema, R"({"tags":[]})") == "/required");
  CHECK(ptr(schema, R"({"name":"x","tags":["a",2]})") == "/tags/1");
  CHECK(sptr(schema, R"({"name":"x","tags":["a",2]})") == "/properties/tags/items/type");
  CHECK(ptr(schema, R"({"name":"x","a/b":"no"})") == "/a~1b");
  CHECK(sptr(schema, R"({"name":"x","a/b":"no"})") == "/properties/a~1b/type");
  CHECK(ptr(schema, R"({"name":"x","extra":1})") == "/extra");
  CHECK(sptr(schema, R"({"name":"x","extra":1})") == "/additionalProperties");
  // additionalProperties as a schema.
  const char* typed = R"({"properties":{"a":{}},"additionalProperties":{"type":"number"}})";
  CHECK(ok(typed, R"({"a":"x","b":2})"));
  CHECK(ptr(typed, R"({"a":"x","b":"2"})") == "/b");
  CHECK(sptr(typed, R"({"a":"x","b":"2"})") == "/additionalProperties/type");
}

TEST_CASE("first violation in document order") {
  const char* schema = R"({"properties":{"a":{"type":"string"},"b":{"type":"string"}}})";
  CHECK(ptr(schema, R"({"b":1,"a":2})") == "/b");
  CHECK(ptr(schema, R"({"a":2,"b":1})") == "/a");
  CHECK(ptr(R"({"items":{"type":"integer"}})", R"([1,2,"x",true])") == "/2");
}

TEST_CASE("arrays: minItems, maxItems, uniqueItems") {
  CHECK(ok(R"({"minItems":1,"maxItems":2})", "[1]"));
  CHECK(sptr(R"({"minItems":1})", "[]") == "/minItems");
  CHECK(sptr(R"({"maxItems":2})", "[1,2,3]") == "/maxItems");
  CHECK(ok(R"({"uniqueItems":true})", R"([1,"1",[1],{"a":1},{"a":2}])"));
  CHECK(ptr(R"({"uniqueItems":true})", "[1,2,1.0]") == "/2");
  CHECK(ptr(R"({"uniqueItems":true})", R"([{"a":1,"b":2},{"b":2,"a":1}])") == "/1");
  CHECK(ok(R"({"uniqueItems":false})", "[1,1]"));
}

TEST_CASE("enum and const use JSON equality") {
  CHECK(ok(R"({"enum":["a",1,null]})", "1.0"));
  CHECK(ok(R"({"enum":[{"x":[1,2]}]})", R"({"x":[1,2]})"));
  CHECK_FALSE(ok(R"({"enum":[{"x":[1,2]}]})", R"({"x":[2,1]})"));
  CHECK(sptr(R"({"enum":["a","b"]})", R"("c")") == "/enum");
  CHECK(ok(R"({"const":{"a":1,"b":[true]}})", R"({"b":[true],"a":1})"));
  CHECK_FALSE(ok(R"({"const":0})", "false"));
}

TEST_CASE("strings: lengths in code points, pattern") {
  CHECK(ok(R"({"maxLength":2})", R"("\u00e9\ud83d\ude00")"));  // 2 code points, 6 bytes
  CHECK_FALSE(ok(R"({"maxLength":1})", R"("\u00e9\ud83d\ude00")"));
  CHECK(sptr(R"({"minLength":3})", R"("ab")") == "/minLength");
  CHECK(ok(R"({"pattern":"^[a-z]+$"})", R"("abc")"));
  CHECK_FALSE(ok(R"({"pattern":"^[a-z]+$"})", R"("abC")"));
  CHECK(ok(R"({"pattern":"b"})", R"("abc")"));  // unanchored search
  // A bad pattern is a violation, not a crash.
  const auto v = run(R"({"pattern":"(unclosed"})", R"("x")");
  REQUIRE(v.has_value());
  CHECK(v->schema_pointer == "/pattern");
  // A huge string is refused for a pattern rather than overflowing the stack.
  const std::string huge = "\"" + std::string(1u << 20, 'a') + "\"";
  CHECK_FALSE(ok(R"({"pattern":"^(a|b)*$"})", huge.c_str()));
  const std::string fine = "\"" + std::string(tokenrail::json::max_pattern_subject, 'a') + "\"";
  CHECK(ok(R"({"pattern":"^(a|b)*$"})", fine.c_str()));
  // Non-string instances ignore string keywords.
  CHECK(ok(R"({"minLength":3,"pattern":"x"})", "12"));
}

TEST_CASE("numbers: bounds, exact for large integers") {
  CHECK(ok(R"({"minimum":1,"maximum":3})", "1"));
  CHECK(ok(R"({"minimum":1,"maximum":3})", "3.0"));
  CHECK(sptr(R"({"minimum":1})", "0.5") == "/minimum");
  CHECK(sptr(R"({"maximum":3})", "3.5") == "/maximum");
  CHECK(sptr(R"({"exclusiveMinimum":1})", "1") == "/exclusiveMinimum");
  CHECK(sptr(R"({"exclusiveMaximum":1})", "1.0") == "/exclusiveMaximum");
  CHECK(ok(R"({"exclusiveMaximum":1})", "0.999"));
  CHECK_FALSE(ok(R"({"maximum":9007199254740992})", "9007199254740993"));
  CHECK(ok(R"({"minimum":-1})", "18446744073709551615"));
  CHECK_FALSE(ok(R"({"maximum":-1})", "18446744073709551615"));
  CHECK(ok(R"({"minimum":0})", R"("strings ignore numeric bounds")"));
}

TEST_CASE("combinators") {
  const char* one = R"({"oneOf":[{"type":"integer"},{"type":"number","minimum":10}]})";
  CHECK(ok(one, "3"));
  CHECK(ok(one, "10.5"));
  CHECK(sptr(one, "12") == "/oneOf");       // matches both
  CHECK(sptr(one, R"("x")") == "/oneOf");   // matches none
  const char* any = R"({"anyOf":[{"type":"string"},{"type":"null"}]})";
  CHECK(ok(any, "null"));
  CHECK(sptr(any, "1") == "/anyOf");
  const char* all = R"({"allOf":[{"type":"object"},{"required":["a"]}]})";
  CHECK(ok(all, R"({"a":1})"));
  CHECK(sptr(all, "{}") == "/allOf/1/required");
  CHECK(ptr(all, "{}") == "/a");
  CHECK(ok(R"({"not":{"type":"string"}})", "1"));
  CHECK(sptr(R"({"not":{"type":"string"}})", R"("s")") == "/not");
  // A `not` schema's description says what is wanted instead.
  const char* either = R"({"not":{"description":"a or b","allOf":[{"not":{"required":["a"]}},{"not":{"required":["b"]}}]}})";
  CHECK(ok(either, R"({"a":1})"));
  CHECK(ok(either, R"({"b":1})"));
  auto v = run(either, "{}");
  REQUIRE(v.has_value());
  CHECK(v->expected == "a or b");
  CHECK(run(R"({"not":{"type":"string"}})", R"("s")")->expected.find("not") != std::string::npos);
}

TEST_CASE("$ref to $defs and definitions, recursive schemas, cycles") {
  const char* tree = R"({
    "$defs":{"node":{"type":"object","required":["v"],
      "properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},
      "additionalProperties":false}},
    "$ref":"#/$defs/node"})";
  CHECK(ok(tree, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4}]}]})"));
  const auto v = run(tree, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":"x"}]}]})");
  REQUIRE(v.has_value());
  CHECK(v->pointer == "/kids/1/kids/0/v");
  CHECK(v->schema_pointer == "/$defs/node/properties/v/type");
  CHECK(ok(R"({"definitions":{"s":{"type":"string"}},"items":{"$ref":"#/definitions/s"}})", R"(["a"])"));
  CHECK_FALSE(ok(R"({"definitions":{"s":{"type":"string"}},"items":{"$ref":"#/definitions/s"}})", "[1]"));
  // A $ref cycle that never consumes the instance stops at the depth limit.
  const auto cyc = run(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})", "1");
  REQUIRE(cyc.has_value());
  CHECK(cyc->expected.find("$ref") != std::string::npos);
  CHECK(run(R"({"$ref":"#"})", "1").has_value());
  // A dangling ref is a violation.
  CHECK(sptr(R"({"$ref":"#/$defs/missing"})", "1") == "/$ref");
  CHECK(run(R"({"$ref":"http://example.com/s.json"})", "1").has_value());
}

TEST_CASE("check_schema reports malformed schemas with their pointer") {
  CHECK_FALSE(check_schema(bj::parse(R"({"type":"object","properties":{"a":{"type":["string","null"]}}})")).has_value());
  CHECK_FALSE(check_schema(bj::parse("true")).has_value());
  CHECK_FALSE(check_schema(bj::parse(R"({"$defs":{"n":{"items":{"$ref":"#/$defs/n"}}},"$ref":"#/$defs/n"})")).has_value());
  struct bad_case {
    const char* schema;
    const char* starts;
  };
  const bad_case cases[] = {
      {"1", "/:"},
      {R"({"type":"str"})", "/type:"},
      {R"({"type":[]})", "/type:"},
      {R"({"type":5})", "/type:"},
      {R"({"properties":{"a":{"type":"nope"}}})", "/properties/a/type:"},
      {R"({"properties":[]})", "/properties:"},
      {R"({"required":"a"})", "/required:"},
      {R"({"required":[1]})", "/required:"},
      {R"({"items":[{}]})", "/items:"},
      {R"({"items":{"minItems":-1}})", "/items/minItems:"},
      {R"({"maxLength":1.5})", "/maxLength:"},
      {R"({"uniqueItems":"yes"})", "/uniqueItems:"},
      {R"({"enum":"a"})", "/enum:"},
      {R"({"pattern":"[a-"})", "/pattern:"},
      {R"({"pattern":3})", "/pattern:"},
      {R"({"minimum":"1"})", "/minimum:"},
      {R"({"oneOf":[]})", "/oneOf:"},
      {R"({"anyOf":[{},3]})", "/anyOf/1:"},
      {R"({"not":"x"})", "/not:"},
      {R"({"$ref":"#/$defs/none"})", "/$ref:"},
      {R"({"$ref":7})", "/$ref:"},
      {R"({"$defs":{"x":1}})", "/$defs/x:"},
      {R"({"additionalProperties":"no"})", "/additionalProperties:"},
  };
  for (const auto& c : cases) {
    INFO(c.schema);
    const auto r = check_schema(bj::parse(c.schema));
    REQUIRE(r.has_value());
    CHECK(r->rfind(c.starts, 0) == 0);
  }
}

TEST_CASE("a malformed schema never crashes validate") {
  const char* schemas[] = {"1", "null", R"({"type":7})", R"({"properties":3})", R"({"items":[1]})",
                           R"({"required":"x"})", R"({"enum":5})", R"({"oneOf":{}})", R"({"minItems":"a"})",
                           R"({"pattern":"("})", R"({"$ref":5})", R"({"minimum":"x"})", R"({"not":[]})"};
  const char* instances[] = {"null", "1", R"("s")", "[1,2]", R"({"a":1})"};
  for (const char* s : schemas)
    for (const char* i : instances) (void)validate(bj::parse(s), bj::parse(i));
  SUCCEED();
}
