// The condition language (D2): every operator, lenient equality, and/or/not,
// dotted paths, loop-variable shadowing, unevaluable -> false + warning, and
// compile-time errors naming the pointer.
#include "workflow_test_support.hpp"

#include "workflow/conditions.hpp"

using namespace wf_test;

namespace {

bool eval(std::string_view cond, std::string_view ctx_text, std::vector<warning>* out = nullptr) {
  auto c = parse_json(cond);
  REQUIRE(c.has_value());
  std::vector<warning> check_w;
  check_condition(*c, "/c", check_w);
  auto ctx = obj(ctx_text);
  scope s;
  s.context = &ctx;
  std::vector<warning> w;
  bool r = eval_condition(*c, s, w, "/c");
  if (out) *out = w;
  return r;
}

error check_error(std::string_view cond) {
  auto c = parse_json(cond);
  REQUIRE(c.has_value());
  std::vector<warning> w;
  try {
    check_condition(*c, "/steps/0/runCondition", w);
  } catch (const failure& f) {
    return f.err();
  }
  FAIL("no error for " << cond);
  return {};
}

}  // namespace

TEST_CASE("lenient equality") {
  CHECK(eval(R"({"var":"a","equals":"prod"})", R"({"a":"  PROD\n"})"));
  CHECK(eval(R"({"var":"a","equals":3})", R"({"a":"3.0"})"));
  CHECK(eval(R"({"var":"a","equals":"3"})", R"({"a":3})"));
  CHECK(eval(R"({"var":"a","equals":true})", R"({"a":"yes"})"));
  CHECK(eval(R"({"var":"a","equals":true})", R"({"a":"1"})"));
  CHECK(eval(R"({"var":"a","equals":true})", R"({"a":1})"));
  CHECK(eval(R"({"var":"a","equals":false})", R"({"a":"No"})"));
  CHECK(eval(R"({"var":"a","equals":"true"})", R"({"a":true})"));
  CHECK_FALSE(eval(R"({"var":"a","equals":true})", R"({"a":"maybe"})"));
  CHECK_FALSE(eval(R"({"var":"a","equals":"prod"})", R"({"a":"production"})"));
  CHECK(eval(R"({"var":"a","equals":null})", R"({})"));
  CHECK_FALSE(eval(R"({"var":"a","equals":"x"})", R"({})"));
  CHECK(eval(R"({"var":"a","not_equals":"x"})", R"({})"));
  CHECK(eval(R"({"var":"a","equals":{"k":[1]}})", R"({"a":{"k":[1]}})"));
}

TEST_CASE("ordering operators compare numbers, numeric strings, and strings") {
  CHECK(eval(R"({"var":"n","gt":10})", R"({"n":"11"})"));
  CHECK_FALSE(eval(R"({"var":"n","gt":10})", R"({"n":10})"));
  CHECK(eval(R"({"var":"n","gte":10})", R"({"n":10})"));
  CHECK(eval(R"({"var":"n","lt":"2.5"})", R"({"n":2})"));
  CHECK(eval(R"({"var":"n","lte":-1})", R"({"n":-1})"));
  CHECK(eval(R"({"var":"d","lt":"2025-01-01"})", R"({"d":"2024-12-31"})"));
  std::vector<warning> w;
  CHECK_FALSE(eval(R"({"var":"n","gt":1})", R"({"n":{"x":1}})", &w));
  REQUIRE(w.size() == 1);
  CHECK(w[0].pointer == "/c/gt");
  CHECK(w[0].message.find("could not be evaluated") != std::string::npos);
  CHECK_FALSE(eval(R"({"var":"n","gt":1})", R"({})", &w));
  CHECK(w.size() == 1);
}

TEST_CASE("text and membership operators") {
  CHECK(eval(R"({"var":"s","contains":"break"})", R"({"s":"BREAKING change"})"));
  CHECK(eval(R"({"var":"s","contains":"b"})", R"({"s":["a","B"]})"));
  CHECK_FALSE(eval(R"({"var":"s","contains":"z"})", R"({"s":["a","B"]})"));
  CHECK(eval(R"({"var":"s","contains":2})", R"({"s":[1,"2"]})"));
  CHECK(eval(R"({"var":"s","startsWith":"Feat"})", R"({"s":"feat: x"})"));
  CHECK(eval(R"({"var":"s","endsWith":".CPP"})", R"({"s":"main.cpp"})"));
  CHECK_FALSE(eval(R"({"var":"s","endsWith":".h"})", R"({"s":"main.cpp"})"));
  CHECK(eval(R"({"var":"s","matches":"^v\\d+$"})", R"({"s":"v12"})"));
  CHECK(eval(R"({"var":"s","matches":"^v\\d+$"})", R"({"s":"V12"})"));   // case-insensitive, as WorkRail
  CHECK(eval(R"({"var":"s","in":["a","b"]})", R"({"s":" B "})"));
  CHECK(eval(R"({"var":"s","in":[1,2]})", R"({"s":"2"})"));
  CHECK_FALSE(eval(R"({"var":"s","in":[1,2]})", R"({})"));
  CHECK_FALSE(eval(R"({"var":"s","contains":"x"})", R"({})"));
  std::vector<warning> w;
  CHECK_FALSE(eval(R"({"var":"s","startsWith":"x"})", R"({"s":{"a":1}})", &w));
  CHECK(w.size() == 1);
}

TEST_CASE("matches is case-insensitive over the trimmed text, and escapes keep their meaning") {
  // WorkRail: new RegExp(pattern, "i").test(String(value).trim()).
  CHECK(eval(R"({"var":"s","matches":"^v\\d+$"})", R"({"s":"  V12\n"})"));
  CHECK(eval(R"({"var":"s","matches":"^[a-c]+$"})", R"({"s":"ABC"})"));
  CHECK(eval(R"({"var":"s","matches":"^APPROVED"})", R"({"s":"approved: yes"})"));
  CHECK(eval(R"({"var":"n","matches":"^4\\d$"})", R"({"n":42})"));
  // Folding is the regex engine's, not a lower-cased pattern: \D \S \W
  // stay "not a digit / space / word character".
  CHECK(eval(R"({"var":"s","matches":"^\\D+$"})", R"({"s":"ABC"})"));
  CHECK_FALSE(eval(R"({"var":"s","matches":"^\\D+$"})", R"({"s":"AB1"})"));
  CHECK_FALSE(eval(R"({"var":"s","matches":"^\\S+$"})", R"({"s":"A B"})"));
  CHECK(eval(R"({"var":"s","matches":"^\\W$"})", R"({"s":"-"})"));
  CHECK_FALSE(eval(R"({"var":"s","matches":"^\\W$"})", R"({"s":"A"})"));
}

TEST_CASE("contains, startsWith and endsWith compare trimmed, lower-case text on both sides") {
  CHECK(eval(R"({"var":"s","contains":" Break "})", R"({"s":"BREAKING change"})"));
  CHECK(eval(R"({"var":"s","startsWith":" Feat"})", R"({"s":"  feat: x"})"));
  CHECK(eval(R"({"var":"s","endsWith":".CPP  "})", R"({"s":"main.cpp\n"})"));
  CHECK_FALSE(eval(R"({"var":"s","endsWith":".h "})", R"({"s":"main.cpp"})"));
}

TEST_CASE("an empty condition {} is no condition: it holds, as in WorkRail") {
  std::vector<warning> w;
  CHECK(eval("{}", R"({})", &w));
  CHECK(w.empty());
  std::vector<warning> check_w;
  check_condition(*parse_json("{}"), "/steps/0/runCondition", check_w);
  CHECK(check_w.empty());
  // Nested, it is more likely a slip: accepted (and true), but reported.
  check_condition(*parse_json(R"({"and":[{},{"var":"x"}]})"), "/c", check_w);
  REQUIRE(check_w.size() == 1);
  CHECK(check_w[0].pointer == "/c/and/0");
  CHECK(eval(R"({"and":[{},{"var":"x"}]})", R"({"x":true})"));
  CHECK_FALSE(eval(R"({"not":{}})", R"({})"));
}

TEST_CASE("regex matching of huge input neither crashes nor hangs") {
  json::object ctx;
  ctx["s"] = std::string(2'000'000, 'a');
  auto c = parse_json(R"({"var":"s","matches":"(a|b)*c"})");
  REQUIRE(c.has_value());
  scope s;
  s.context = &ctx;
  std::vector<warning> w;
  CHECK_FALSE(eval_condition(*c, s, w, "/c"));
  CHECK(w.size() == 1);   // Boost.Regex gave up: unevaluable, reported
  auto simple = parse_json(R"({"var":"s","matches":"a$"})");
  REQUIRE(simple.has_value());
  CHECK(eval_condition(*simple, s, w, "/c"));
}

TEST_CASE("truthiness, dotted paths, array indexes, and/or/not") {
  CHECK(eval(R"({"var":"a"})", R"({"a":"x"})"));
  for (const char* falsy : {R"({"a":""})", R"({"a":"no"})", R"({"a":" FALSE "})", R"({"a":0})", R"({"a":[]})",
                            R"({"a":{}})", R"({"a":null})", R"({})"})
    CHECK_FALSE(eval(R"({"var":"a"})", falsy));
  CHECK(eval(R"({"var":"a.b.1.c","equals":5})", R"({"a":{"b":[{}, {"c":5}]}})"));
  CHECK_FALSE(eval(R"({"var":"a.b.7.c"})", R"({"a":{"b":[]}})"));
  CHECK(eval(R"({"and":[{"var":"x"},{"not":{"var":"y"}}]})", R"({"x":1})"));
  CHECK_FALSE(eval(R"({"and":[{"var":"x"},{"not":{"var":"y"}}]})", R"({"x":1,"y":1})"));
  CHECK(eval(R"({"or":[{"var":"x"},{"var":"y","equals":2}]})", R"({"y":"2"})"));
  CHECK(eval(R"({"and":[]})", R"({})"));
  CHECK_FALSE(eval(R"({"or":[]})", R"({})"));
}

TEST_CASE("a part that cannot be evaluated stays unknown inside and/or/not (Kleene logic)") {
  // n is an object: {"var":"n","gt":1} cannot be evaluated.
  const std::string_view ctx = R"({"n":{"x":1},"yes":true})";
  std::vector<warning> w;
  // Negated, it is still unknown: the whole condition counts as false.
  CHECK_FALSE(eval(R"({"not":{"var":"n","gt":1}})", ctx, &w));
  REQUIRE(w.size() == 1);
  CHECK(w[0].pointer == "/c/not/gt");
  CHECK_FALSE(eval(R"({"not":{"not":{"var":"n","gt":1}}})", ctx));
  // A part that decides the result decides it whatever the unknown part is.
  CHECK(eval(R"({"or":[{"var":"n","gt":1},{"var":"yes"}]})", ctx));
  CHECK_FALSE(eval(R"({"and":[{"var":"n","gt":1},{"var":"missing"}]})", ctx));
  CHECK(eval(R"({"not":{"and":[{"var":"n","gt":1},{"var":"missing"}]}})", ctx));
  // Otherwise the unknown carries through.
  CHECK_FALSE(eval(R"({"not":{"and":[{"var":"n","gt":1},{"var":"yes"}]}})", ctx));
  CHECK_FALSE(eval(R"({"not":{"or":[{"var":"n","gt":1},{"var":"missing"}]}})", ctx));
}

TEST_CASE("loop variables shadow the context") {
  auto c = parse_json(R"({"var":"item.name","equals":"inner"})");
  REQUIRE(c.has_value());
  auto ctx = obj(R"({"item":{"name":"outer"}})");
  scope s;
  s.context = &ctx;
  std::vector<warning> w;
  CHECK_FALSE(eval_condition(*c, s, w, ""));
  s.vars.emplace_back("item", json::object{{"name", "inner"}});
  CHECK(eval_condition(*c, s, w, ""));
}

TEST_CASE("malformed conditions are definition errors naming the pointer") {
  auto e = check_error(R"([])");   // ({} is a valid, empty condition: see above)
  CHECK(e.code == errc::WORKFLOW_INVALID);
  CHECK(e.details.at("pointer") == "/steps/0/runCondition");
  CHECK(check_error(R"("x")").details.at("pointer") == "/steps/0/runCondition");
  CHECK(check_error(R"({"var":""})").details.at("pointer") == "/steps/0/runCondition/var");
  CHECK(check_error(R"({"var":"a..b"})").details.at("pointer") == "/steps/0/runCondition/var");
  CHECK(check_error(R"({"var":"a","equals":1,"gt":2})").details.at("pointer") == "/steps/0/runCondition/gt");
  CHECK(check_error(R"({"var":"a","in":"x"})").details.at("pointer") == "/steps/0/runCondition/in");
  CHECK(check_error(R"({"var":"a","matches":"(unclosed"})").details.at("pointer") == "/steps/0/runCondition/matches");
  CHECK(check_error(R"({"and":[{"var":"a"},{"or":[{"nope":1}]}]})").details.at("pointer") ==
        "/steps/0/runCondition/and/1/or/0");
  CHECK(check_error(R"({"equals":1})").details.at("pointer") == "/steps/0/runCondition");
  CHECK(check_error(R"({"var":"a","and":[]})").details.at("pointer") == "/steps/0/runCondition");
  std::string deep = R"({"var":"x"})";
  for (int i = 0; i < 40; ++i) deep = R"({"not":)" + deep + "}";
  CHECK(check_error(deep).details.at("expected") == "conditions nested at most 32 deep");
  std::vector<warning> w;
  auto extra = parse_json(R"({"var":"a","equals":1,"comment":"why"})");
  check_condition(*extra, "/p", w);
  REQUIRE(w.size() == 1);
  CHECK(w[0].pointer == "/p/comment");
}
