// The JSON Schema subset validator; see include/tokenrail/json/schema.hpp.
#include <tokenrail/json/schema.hpp>

#include <tokenrail/json/canonical.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <cmath>
#include <cstdint>
#include <list>
#include <memory>
#include <regex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace tokenrail::json {
namespace {

namespace bj = boost::json;


// ---- small helpers ----------------------------------------------------------

void append_token(std::string& ptr, std::string_view key) {
  ptr.push_back('/');
  for (char c : key) {
    if (c == '~') ptr += "~0";
    else if (c == '/') ptr += "~1";
    else ptr.push_back(c);
  }
}

void append_index(std::string& ptr, std::size_t i) {
  ptr.push_back('/');
  ptr += std::to_string(i);
}

std::size_t code_points(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

bool is_integral(const bj::value& v) noexcept {
  if (v.is_int64() || v.is_uint64()) return true;
  if (v.is_double()) {
    const double d = v.get_double();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

// Three-way numeric comparison, exact when both are integers.
int compare_numbers(const bj::value& a, const bj::value& b) noexcept {
  if (a.is_int64() && b.is_int64()) return a.get_int64() < b.get_int64() ? -1 : a.get_int64() > b.get_int64();
  if (a.is_uint64() && b.is_uint64())
    return a.get_uint64() < b.get_uint64() ? -1 : a.get_uint64() > b.get_uint64();
  if (a.is_int64() && b.is_uint64()) return a.get_int64() < 0 ? -1 : compare_numbers(bj::value(static_cast<std::uint64_t>(a.get_int64())), b);
  if (a.is_uint64() && b.is_int64()) return -compare_numbers(b, a);
  const double x = a.to_number<double>(), y = b.to_number<double>();
  return x < y ? -1 : x > y;
}

// JSON equality as JSON Schema means it: 1 equals 1.0; member order does not matter.
bool json_equal(const bj::value& a, const bj::value& b) {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case bj::kind::array: {
      const auto &x = a.get_array(), &y = b.get_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!json_equal(x[i], y[i])) return false;
      return true;
    }
    case bj::kind::object: {
      const auto &x = a.get_object(), &y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& kv : x) {
        const auto* other = y.if_contains(kv.key());
        if (!other || !json_equal(kv.value(), *other)) return false;
      }
      return true;
    }
    default: return a == b;
  }
}

std::string describe(const bj::value& v) {
  std::string s = bj::serialize(v);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string_view kind_name(const bj::value& v) noexcept {
  switch (v.kind()) {
    case bj::kind::null: return "null";
    case bj::kind::bool_: return "boolean";
    case bj::kind::int64:
    case bj::kind::uint64: return "integer";
    case bj::kind::double_: return "number";
    case bj::kind::string: return "string";
    case bj::kind::array: return "array";
    case bj::kind::object: return "object";
  }
  return "value";
}

bool is_type_name(std::string_view t) noexcept {
  return t == "string" || t == "number" || t == "integer" || t == "boolean" || t == "object" || t == "array" ||
         t == "null";
}

bool has_type(const bj::value& v, std::string_view t) noexcept {
  if (t == "string") return v.is_string();
  if (t == "number") return v.is_number();
  if (t == "integer") return is_integral(v);
  if (t == "boolean") return v.is_bool();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "null") return v.is_null();
  return false;
}

// Compiled patterns, per thread (std::regex objects are not shared between
// threads), bounded so that hostile schemas cannot grow it without limit.
const std::regex* compiled_pattern(const std::string& pattern) {
  struct cache {
    std::unordered_map<std::string, std::unique_ptr<std::regex>> map;
    std::list<std::string> order;
  };
  thread_local cache c;
  if (auto it = c.map.find(pattern); it != c.map.end()) return it->second.get();
  std::unique_ptr<std::regex> re;
  try {
    re = std::make_unique<std::regex>(pattern, std::regex::ECMAScript);
  } catch (const std::exception&) {
    return nullptr;
  }
  if (c.order.size() >= 128) {
    c.map.erase(c.order.front());
    c.order.pop_front();
  }
  c.order.push_back(pattern);
  return c.map.emplace(pattern, std::move(re)).first->second.get();
}

// Resolves "#", "#/a/b" (RFC 6901 fragment) inside root; nullptr if it does not.
const bj::value* resolve_ref(const bj::value& root, std::string_view ref, std::string* ptr_out) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  ref.remove_prefix(1);
  if (ptr_out) *ptr_out = std::string(ref);
  const bj::value* at = &root;
  while (!ref.empty()) {
    if (ref[0] != '/') return nullptr;
    ref.remove_prefix(1);
    const auto slash = ref.find('/');
    const std::string_view raw = ref.substr(0, slash);
    ref = slash == std::string_view::npos ? std::string_view() : ref.substr(slash);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token.push_back(raw[i + 1] == '0' ? '~' : '/');
        ++i;
      } else {
        token.push_back(raw[i]);
      }
    }
    if (const auto* o = at->if_object()) {
      at = o->if_contains(token);
    } else if (const auto* a = at->if_array()) {
      std::size_t idx = 0;
      if (token.empty() || token.size() > 9) return nullptr;
      for (char c : token) {
        if (c < '0' || c > '9') return nullptr;
        idx = idx * 10 + static_cast<std::size_t>(c - '0');
      }
      at = idx < a->size() ? &(*a)[idx] : nullptr;
    } else {
      return nullptr;
    }
    if (!at) return nullptr;
  }
  return at;
}

// ---- validation -------------------------------------------------------------

class validator {
 public:
  explicit validator(const bj::value& root) : root_(root) {}

  std::optional<schema_violation> run(const bj::value& instance) {
    std::string sp, ip;
    return check(root_, sp, instance, ip);
  }

 private:
  const bj::value& root_;
  int ref_depth_ = 0;

  static std::optional<schema_violation> violation(const std::string& ip, const std::string& sp,
                                                   std::string_view keyword, std::string expected) {
    std::string at = sp;
    if (!keyword.empty()) append_token(at, keyword);
    return schema_violation{ip, std::move(at), std::move(expected)};
  }

  // Validates without keeping the violation (for anyOf/oneOf/not).
  bool conforms(const bj::value& schema, const std::string& sp, const bj::value& inst, const std::string& ip) {
    std::string s = sp, i = ip;
    return !check(schema, s, inst, i).has_value();
  }

  std::optional<schema_violation> check(const bj::value& schema, std::string& sp, const bj::value& inst,
                                        std::string& ip) {
    if (schema.is_bool()) {
      if (schema.get_bool()) return std::nullopt;
      return violation(ip, sp, {}, "nothing (the schema is false)");
    }
    const auto* s = schema.if_object();
    if (!s) return violation(ip, sp, {}, "a valid schema here (an object or a boolean)");

    if (const auto* ref = s->if_contains("$ref")) {
      if (auto v = check_ref(*ref, sp, inst, ip)) return v;
    }
    if (const auto* t = s->if_contains("type")) {
      if (auto v = check_type(*t, sp, inst, ip)) return v;
    }
    if (const auto* e = s->if_contains("enum")) {
      bool found = false;
      if (const auto* arr = e->if_array())
        for (const auto& option : *arr)
          if (json_equal(option, inst)) { found = true; break; }
      if (!found) return violation(ip, sp, "enum", "one of " + describe(*e));
    }
    if (const auto* c = s->if_contains("const")) {
      if (!json_equal(*c, inst)) return violation(ip, sp, "const", "the value " + describe(*c));
    }
    if (inst.is_number()) {
      if (auto v = check_number(*s, sp, inst, ip)) return v;
    } else if (const auto* str = inst.if_string()) {
      if (auto v = check_string(*s, sp, *str, ip)) return v;
    } else if (const auto* arr = inst.if_array()) {
      if (auto v = check_array(*s, sp, *arr, ip)) return v;
    } else if (const auto* obj = inst.if_object()) {
      if (auto v = check_object(*s, sp, *obj, ip)) return v;
    }
    return check_combinators(*s, sp, inst, ip);
  }

  std::optional<schema_violation> check_ref(const bj::value& ref, std::string& sp, const bj::value& inst,
                                            std::string& ip) {
    const auto* text = ref.if_string();
    std::string target_ptr;
    const bj::value* target = text ? resolve_ref(root_, *text, &target_ptr) : nullptr;
    if (!target) return violation(ip, sp, "$ref", "a $ref that resolves inside this schema");
    if (ref_depth_ >= max_ref_depth)
      return violation(ip, sp, "$ref", "a schema whose $ref chain ends (nested deeper than " +
                                           std::to_string(max_ref_depth) + ")");
    ++ref_depth_;
    std::string saved = std::move(sp);
    sp = std::move(target_ptr);
    auto v = check(*target, sp, inst, ip);
    sp = std::move(saved);
    --ref_depth_;
    return v;
  }

  std::optional<schema_violation> check_type(const bj::value& t, const std::string& sp, const bj::value& inst,
                                             const std::string& ip) {
    if (const auto* one = t.if_string()) {
      if (has_type(inst, *one)) return std::nullopt;
      return violation(ip, sp, "type", std::string(is_type_name(*one) ? "" : "a known type, not ") + "a" +
                                           (one->empty() || std::string_view("aeiou").find((*one)[0]) ==
                                                                std::string_view::npos ? " " : "n ") +
                                           std::string(*one) + ", not " + std::string(kind_name(inst)));
    }
    std::string names;
    if (const auto* arr = t.if_array()) {
      for (const auto& n : *arr) {
        if (const auto* name = n.if_string()) {
          if (has_type(inst, *name)) return std::nullopt;
          if (!names.empty()) names += " or ";
          names += *name;
        }
      }
    }
    return violation(ip, sp, "type", "one of the types " + (names.empty() ? "(none)" : names) + ", not " +
                                         std::string(kind_name(inst)));
  }

  std::optional<schema_violation> check_number(const bj::object& s, const std::string& sp, const bj::value& inst,
                                               const std::string& ip) {
    struct bound {
      const char* keyword;
      bool ok_if_less;  // inst < limit is fine
      bool equal_ok;
      const char* words;
    };
    static constexpr bound bounds[] = {{"minimum", false, true, "at least "},
                                       {"maximum", true, true, "at most "},
                                       {"exclusiveMinimum", false, false, "greater than "},
                                       {"exclusiveMaximum", true, false, "less than "}};
    for (const auto& b : bounds) {
      const auto* limit = s.if_contains(b.keyword);
      if (!limit || !limit->is_number()) continue;
      const int c = compare_numbers(inst, *limit);
      const bool ok = c == 0 ? b.equal_ok : (c < 0) == b.ok_if_less;
      if (!ok) return violation(ip, sp, b.keyword, std::string("a number ") + b.words + describe(*limit));
    }
    return std::nullopt;
  }

  static std::optional<std::size_t> count_of(const bj::object& s, std::string_view keyword) {
    const auto* v = s.if_contains(keyword);
    if (!v) return std::nullopt;
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::size_t>(v->get_int64());
    if (v->is_uint64()) return static_cast<std::size_t>(v->get_uint64());
    if (v->is_double() && is_integral(*v) && v->get_double() >= 0) return static_cast<std::size_t>(v->get_double());
    return std::nullopt;
  }

  std::optional<schema_violation> check_string(const bj::object& s, const std::string& sp, const bj::string& str,
                                               const std::string& ip) {
    const auto min = count_of(s, "minLength"), max = count_of(s, "maxLength");
    if (min || max) {
      const std::size_t n = code_points(str);
      if (min && n < *min) return violation(ip, sp, "minLength", "a string of at least " + std::to_string(*min) + " characters");
      if (max && n > *max) return violation(ip, sp, "maxLength", "a string of at most " + std::to_string(*max) + " characters");
    }
    if (const auto* p = s.if_contains("pattern")) {
      const auto* pattern = p->if_string();
      const std::regex* re = pattern ? compiled_pattern(std::string(*pattern)) : nullptr;
      if (!re) return violation(ip, sp, "pattern", "a valid ECMAScript regular expression in the schema");
      if (str.size() > max_pattern_subject)
        return violation(ip, sp, "pattern", "a string of at most " + std::to_string(max_pattern_subject) +
                                                " bytes matching " + std::string(*pattern));
      bool matched = false;
      try {
        matched = std::regex_search(str.begin(), str.end(), *re);
      } catch (const std::exception&) {
        return violation(ip, sp, "pattern", "a string the pattern can be matched against (too complex)");
      }
      if (!matched) return violation(ip, sp, "pattern", "a string matching " + std::string(*pattern));
    }
    return std::nullopt;
  }

  std::optional<schema_violation> check_array(const bj::object& s, std::string& sp, const bj::array& arr,
                                              std::string& ip) {
    if (const auto min = count_of(s, "minItems"); min && arr.size() < *min)
      return violation(ip, sp, "minItems", "an array of at least " + std::to_string(*min) + " items");
    if (const auto max = count_of(s, "maxItems"); max && arr.size() > *max)
      return violation(ip, sp, "maxItems", "an array of at most " + std::to_string(*max) + " items");
    if (const auto* u = s.if_contains("uniqueItems"); u && u->is_bool() && u->get_bool()) {
      // Canonical forms make 1 and 1.0, and reordered objects, collide as
      // JSON Schema equality says; n log n instead of n² comparisons.
      std::unordered_set<std::string> seen;
      for (std::size_t i = 0; i < arr.size(); ++i) {
        std::string key;
        try {
          key = canonicalize(arr[i]);
        } catch (const std::exception&) {
          key = bj::serialize(arr[i]);
        }
        if (!seen.insert(std::move(key)).second) {
          std::string at = ip;
          append_index(at, i);
          return violation(at, sp, "uniqueItems", "items that are all different (this one repeats an earlier one)");
        }
      }
    }
    if (const auto* items = s.if_contains("items")) {
      const std::size_t sp_len = sp.size(), ip_len = ip.size();
      sp += "/items";
      for (std::size_t i = 0; i < arr.size(); ++i) {
        append_index(ip, i);
        auto v = check(*items, sp, arr[i], ip);
        ip.resize(ip_len);
        if (v) {
          sp.resize(sp_len);
          return v;
        }
      }
      sp.resize(sp_len);
    }
    return std::nullopt;
  }

  std::optional<schema_violation> check_object(const bj::object& s, std::string& sp, const bj::object& obj,
                                               std::string& ip) {
    if (const auto* req = s.if_contains("required"); req && req->is_array()) {
      for (const auto& name : req->get_array()) {
        const auto* n = name.if_string();
        if (n && !obj.contains(*n)) {
          std::string at = ip;
          append_token(at, *n);
          return violation(at, sp, "required", "the required field \"" + std::string(*n) + "\"");
        }
      }
    }
    const auto* props_v = s.if_contains("properties");
    const auto* props = props_v ? props_v->if_object() : nullptr;
    const auto* additional = s.if_contains("additionalProperties");
    const std::size_t sp_len = sp.size(), ip_len = ip.size();
    for (const auto& kv : obj) {
      const bj::value* sub = props ? props->if_contains(kv.key()) : nullptr;
      append_token(ip, kv.key());
      std::optional<schema_violation> v;
      if (sub) {
        sp += "/properties";
        append_token(sp, kv.key());
        v = check(*sub, sp, kv.value(), ip);
      } else if (additional) {
        if (additional->is_bool() && !additional->get_bool()) {
          v = violation(ip, sp, "additionalProperties", "no field \"" + std::string(kv.key()) + "\" (not allowed here)");
        } else {
          sp += "/additionalProperties";
          v = check(*additional, sp, kv.value(), ip);
        }
      }
      sp.resize(sp_len);
      ip.resize(ip_len);
      if (v) return v;
    }
    return std::nullopt;
  }

  std::optional<schema_violation> check_combinators(const bj::object& s, std::string& sp, const bj::value& inst,
                                                    std::string& ip) {
    const std::size_t sp_len = sp.size();
    if (const auto* all = s.if_contains("allOf"); all && all->is_array()) {
      const auto& arr = all->get_array();
      for (std::size_t i = 0; i < arr.size(); ++i) {
        sp += "/allOf";
        append_index(sp, i);
        auto v = check(arr[i], sp, inst, ip);
        sp.resize(sp_len);
        if (v) return v;
      }
    }
    if (const auto* any = s.if_contains("anyOf"); any && any->is_array()) {
      const auto& arr = any->get_array();
      bool ok = false;
      for (std::size_t i = 0; i < arr.size() && !ok; ++i) {
        std::string sub = sp + "/anyOf/" + std::to_string(i);
        ok = conforms(arr[i], sub, inst, ip);
      }
      if (!ok) return violation(ip, sp, "anyOf", "a value matching at least one of the anyOf schemas");
    }
    if (const auto* one = s.if_contains("oneOf"); one && one->is_array()) {
      const auto& arr = one->get_array();
      std::size_t matches = 0;
      for (std::size_t i = 0; i < arr.size() && matches < 2; ++i) {
        std::string sub = sp + "/oneOf/" + std::to_string(i);
        if (conforms(arr[i], sub, inst, ip)) ++matches;
      }
      if (matches != 1)
        return violation(ip, sp, "oneOf",
                         matches == 0 ? "a value matching exactly one of the oneOf schemas (it matches none)"
                                      : "a value matching exactly one of the oneOf schemas (it matches several)");
    }
    if (const auto* n = s.if_contains("not")) {
      // A `not` schema's description, when it has one, says what is wanted
      // instead ("a stateToken or a checkpointToken"): the one readable
      // message a negation can give.
      if (conforms(*n, sp + "/not", inst, ip)) {
        const auto* d = n->is_object() ? n->get_object().if_contains("description") : nullptr;
        return violation(ip, sp, "not",
                         d && d->is_string() ? std::string(d->get_string()) : "a value the \"not\" schema refuses");
      }
    }
    return std::nullopt;
  }
};

// ---- schema checking --------------------------------------------------------

class schema_checker {
 public:
  explicit schema_checker(const bj::value& root) : root_(root) {}

  std::optional<std::string> run() {
    std::string sp;
    return check(root_, sp, 0);
  }

 private:
  const bj::value& root_;

  static std::optional<std::string> bad(const std::string& sp, std::string_view keyword, std::string_view what) {
    std::string at = sp;
    if (!keyword.empty()) append_token(at, keyword);
    std::string out = at.empty() ? "/" : at;
    out += ": ";
    out += what;
    return out;
  }

  static bool non_negative_int(const bj::value& v) {
    return (v.is_int64() && v.get_int64() >= 0) || v.is_uint64() || (v.is_double() && is_integral(v) && v.get_double() >= 0);
  }

  std::optional<std::string> check(const bj::value& schema, std::string& sp, int depth) {
    if (schema.is_bool()) return std::nullopt;
    const auto* s = schema.if_object();
    if (!s) return bad(sp, {}, "a schema must be an object or a boolean");
    if (depth > 256) return bad(sp, {}, "the schema nests too deeply");
    const std::size_t sp_len = sp.size();
    auto sub = [&](const bj::value& v, std::string_view kw, std::optional<std::size_t> index,
                   std::optional<std::string_view> key) {
      append_token(sp, kw);
      if (index) append_index(sp, *index);
      if (key) append_token(sp, *key);
      auto r = check(v, sp, depth + 1);
      sp.resize(sp_len);
      return r;
    };
    for (const auto& kv : *s) {
      const std::string_view kw = kv.key();
      const bj::value& v = kv.value();
      if (kw == "type") {
        auto ok_name = [](const bj::value& n) { return n.is_string() && is_type_name(n.get_string()); };
        if (v.is_string()) {
          if (!ok_name(v)) return bad(sp, kw, "an unknown type name: " + describe(v));
        } else if (const auto* arr = v.if_array()) {
          if (arr->empty()) return bad(sp, kw, "a type array must not be empty");
          for (const auto& n : *arr)
            if (!ok_name(n)) return bad(sp, kw, "an unknown type name: " + describe(n));
        } else {
          return bad(sp, kw, "must be a type name or an array of type names");
        }
      } else if (kw == "properties" || kw == "$defs" || kw == "definitions") {
        const auto* o = v.if_object();
        if (!o) return bad(sp, kw, "must be an object of schemas");
        for (const auto& p : *o)
          if (auto r = sub(p.value(), kw, std::nullopt, std::string_view(p.key()))) return r;
      } else if (kw == "required") {
        const auto* arr = v.if_array();
        if (!arr) return bad(sp, kw, "must be an array of field names");
        for (const auto& n : *arr)
          if (!n.is_string()) return bad(sp, kw, "must be an array of field names (strings)");
      } else if (kw == "additionalProperties" || kw == "items" || kw == "not") {
        if (v.is_array()) return bad(sp, kw, "must be one schema (the array form is not supported)");
        if (auto r = sub(v, kw, std::nullopt, std::nullopt)) return r;
      } else if (kw == "minItems" || kw == "maxItems" || kw == "minLength" || kw == "maxLength") {
        if (!non_negative_int(v)) return bad(sp, kw, "must be a non-negative integer");
      } else if (kw == "uniqueItems") {
        if (!v.is_bool()) return bad(sp, kw, "must be true or false");
      } else if (kw == "enum") {
        if (!v.is_array()) return bad(sp, kw, "must be an array of values");
      } else if (kw == "pattern") {
        if (!v.is_string()) return bad(sp, kw, "must be a string (an ECMAScript regular expression)");
        if (!compiled_pattern(std::string(v.get_string())))
          return bad(sp, kw, "is not a valid ECMAScript regular expression: " + describe(v));
      } else if (kw == "minimum" || kw == "maximum" || kw == "exclusiveMinimum" || kw == "exclusiveMaximum") {
        if (!v.is_number()) return bad(sp, kw, "must be a number");
      } else if (kw == "allOf" || kw == "anyOf" || kw == "oneOf") {
        const auto* arr = v.if_array();
        if (!arr || arr->empty()) return bad(sp, kw, "must be a non-empty array of schemas");
        for (std::size_t i = 0; i < arr->size(); ++i)
          if (auto r = sub((*arr)[i], kw, i, std::nullopt)) return r;
      } else if (kw == "$ref") {
        const auto* text = v.if_string();
        if (!text) return bad(sp, kw, "must be a string");
        const bj::value* target = resolve_ref(root_, *text, nullptr);
        if (!target) return bad(sp, kw, "does not resolve inside this schema: " + describe(v));
        if (!target->is_object() && !target->is_bool()) return bad(sp, kw, "names something that is not a schema");
      }
    }
    return std::nullopt;
  }
};

}  // namespace

std::optional<schema_violation> validate(const bj::value& schema, const bj::value& instance) {
  try {
    return validator(schema).run(instance);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    // Nothing above should throw; if it does, refusing is the safe answer.
    return schema_violation{"", "", std::string("a value the validator can check (") + e.what() + ")"};
  }
}

std::optional<std::string> check_schema(const bj::value& schema) {
  try {
    return schema_checker(schema).run();
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return std::string("/: the schema cannot be checked: ") + e.what();
  }
}

}  // namespace tokenrail::json
