// ECMAScript Number.prototype.toString for finite doubles (ECMA-262
// §6.1.6.1.20), built on std::to_chars' shortest round-trip digits.
#include "json/jcs_detail.hpp"

#include <charconv>
#include <cstdlib>

namespace tokenrail::json {

void append_es_number(std::string& out, double d) {
  if (d == 0) {  // +0 and -0 both print as "0"
    out.push_back('0');
    return;
  }
  // Shortest round-trip digits in scientific form: "-d.ddde+XX".
  char sci[32];
  const auto r = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific);
  const char* p = sci;
  if (*p == '-') {
    out.push_back('-');
    ++p;
  }
  char digits[20];
  int k = 0;  // number of significant digits
  for (; p != r.ptr && *p != 'e'; ++p)
    if (*p != '.') digits[k++] = *p;
  int exp10 = 0;  // value = d.ddd × 10^exp10
  std::from_chars(p + 1 + (p[1] == '+' ? 1 : 0), r.ptr, exp10);
  // ECMAScript's n: value = 0.ddd × 10^n.
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out.append(digits, k);
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, n);
    out.push_back('.');
    out.append(digits + n, k - n);
  } else if (-6 < n && n <= 0) {
    out.append("0.");
    out.append(static_cast<std::size_t>(-n), '0');
    out.append(digits, k);
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits + 1, k - 1);
    }
    out.push_back('e');
    out.push_back(n - 1 < 0 ? '-' : '+');
    const int e = std::abs(n - 1);
    char buf[8];
    const auto er = std::to_chars(buf, buf + sizeof buf, e);
    out.append(buf, er.ptr);
  }
}

}  // namespace tokenrail::json
