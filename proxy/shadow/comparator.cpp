#include "proxy/shadow/comparator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace sy::shadow {

ValueKind pg_value_kind(uint32_t oid) {
  switch (oid) {
    case 20: case 21: case 23: case 26: return ValueKind::Integer;  // int8 int2 int4 oid
    case 1700: return ValueKind::Numeric;
    case 700: case 701: return ValueKind::Float;
    case 1114: case 1184: case 1083: case 1266: return ValueKind::Timestamp;  // timestamp[tz], time[tz]
    case 16: return ValueKind::Bool;
    default: return ValueKind::Text;
  }
}

bool pg_text_depends_on_session(uint32_t oid) {
  switch (oid) {
    case 17: case 1001:    // bytea
    case 790: case 791:    // money
    case 1082: case 1182:  // date
    case 1083: case 1183:  // time
    case 1114: case 1115:  // timestamp
    case 1184: case 1185:  // timestamptz
    case 1186: case 1187:  // interval
    case 1266: case 1270:  // timetz
      return true;
    default:
      return false;
  }
}

ValueKind mysql_value_kind(uint8_t type) {
  switch (type) {
    case 1: case 2: case 3: case 8: case 9: case 13: return ValueKind::Integer;  // TINY SHORT LONG LONGLONG INT24 YEAR
    case 0: case 246: return ValueKind::Numeric;                                  // DECIMAL NEWDECIMAL
    case 4: case 5: return ValueKind::Float;                                      // FLOAT DOUBLE
    case 7: case 10: case 11: case 12: case 17: case 18: case 19: return ValueKind::Timestamp;
    default: return ValueKind::Text;
  }
}

namespace {

std::string strip_fraction_zeros(std::string s) {
  auto dot = s.find('.');
  if (dot == std::string::npos) return s;
  // The fraction ends at the first non-digit after the dot (a time zone may follow).
  size_t end = dot + 1;
  while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
  size_t last = end;
  while (last > dot + 1 && s[last - 1] == '0') --last;
  if (last == dot + 1) last = dot;  // "5.000" -> "5"
  return s.substr(0, last) + s.substr(end);
}

std::string normalise_integer(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || !end || *end) return s;  // not a plain integer: compare the text
  return std::to_string(v);
}

std::string normalise_numeric(std::string s) {
  if (s.find_first_not_of("+-0123456789.") != std::string::npos) return s;  // NaN, Infinity, exponents
  bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.erase(0, 1);
  s = strip_fraction_zeros(s);
  size_t nz = s.find_first_not_of('0');
  if (nz == std::string::npos) return "0";
  if (s[nz] == '.') --nz;
  s.erase(0, nz);
  if (s == "0") return s;
  return negative ? "-" + s : s;
}

std::string normalise_float(const std::string& s, double tolerance) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (!end || *end) return s;
  if (v == 0) return "0";  // -0 and 0
  int digits = std::clamp(static_cast<int>(std::floor(-std::log10(tolerance))), 1, 17);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string normalise_bool(const std::string& s) {
  if (s == "t" || s == "true" || s == "1" || s == "TRUE") return "t";
  if (s == "f" || s == "false" || s == "0" || s == "FALSE") return "f";
  return s;
}

const ColumnRule& rule_at(const CompareOptions& o, size_t i) {
  static const ColumnRule kDefault;
  return i < o.columns.size() ? o.columns[i] : kDefault;
}

struct Prepared {
  std::vector<Row> rows;          // normalised
  std::vector<std::string> keys;  // each row as one string, for multiset work
};

Prepared prepare(const ResultSet& r, const CompareOptions& o) {
  Prepared p;
  p.rows.reserve(r.rows.size());
  for (const auto& row : r.rows) {
    Row n(row.size());
    std::string key;
    for (size_t i = 0; i < row.size(); ++i) {
      const auto& rule = rule_at(o, i);
      if (rule.ignore) continue;
      auto kind = i < r.columns.size() ? r.columns[i].kind : ValueKind::Text;
      ValueKind k = kind;
      n[i] = normalise(row[i], k, rule);
      if (k == ValueKind::Float && n[i]) n[i] = normalise_float(*row[i], o.float_tolerance);
      // \x1e separates values, \x1f marks NULL: neither survives in a value we compare by text.
      key += n[i] ? *n[i] : std::string("\x1f");
      key += '\x1e';
    }
    p.keys.push_back(std::move(key));
    p.rows.push_back(std::move(n));
  }
  return p;
}

std::string row_key(const ResultSet& r, const CompareOptions& o, size_t row) {
  if (o.key_column && *o.key_column < r.columns.size() && row < r.rows.size()) {
    const auto& v = r.rows[row][*o.key_column];
    return r.columns[*o.key_column].name + " " + (v ? *v : "NULL");
  }
  return "row " + std::to_string(row + 1);
}

class Differ {
 public:
  Differ(const ResultSet& a, const ResultSet& b, const CompareOptions& o) : a_(a), b_(b), o_(o) {}

  Comparison run() {
    c_.rows_a = a_.rows.size();
    c_.rows_b = b_.rows.size();
    if (a_.columns.size() != b_.columns.size()) return fail("column count " + std::to_string(a_.columns.size()) + " vs " +
                                                           std::to_string(b_.columns.size()));
    for (size_t i = 0; i < a_.columns.size(); ++i)
      if (a_.columns[i].name != b_.columns[i].name)
        return fail("column " + std::to_string(i + 1) + " is " + a_.columns[i].name + " vs " + b_.columns[i].name);
    pa_ = prepare(a_, o_);
    pb_ = prepare(b_, o_);
    // Answers shorter than a known LIMIT were not cut by it.
    cut_ = o_.limited && (!o_.limit || std::max(c_.rows_a, c_.rows_b) >= *o_.limit);
    if (o_.ordered && !o_.order_keys.empty()) grouped();
    else multiset(0, pa_.rows.size(), 0, pb_.rows.size(), cut_);
    if (!c_.equal && c_.reason.empty()) c_.reason = "rows differ";
    return std::move(c_);
  }

 private:
  Comparison fail(std::string why) {
    c_.equal = false;
    c_.reason = std::move(why);
    return std::move(c_);
  }

  // Compares rows [a0, a1) of a with [b0, b1) of b as multisets; `sizes_only`
  // for the last tie group under LIMIT.
  void multiset(size_t a0, size_t a1, size_t b0, size_t b1, bool sizes_only) {
    if (sizes_only) {
      if (a1 - a0 != b1 - b0) {
        c_.equal = false;
        if (c_.reason.empty()) c_.reason = "row counts differ";
      }
      return;
    }
    std::vector<size_t> ia, ib;
    for (size_t i = a0; i < a1; ++i) ia.push_back(i);
    for (size_t i = b0; i < b1; ++i) ib.push_back(i);
    auto by_key = [](const Prepared& p) { return [&p](size_t x, size_t y) { return p.keys[x] < p.keys[y]; }; };
    std::sort(ia.begin(), ia.end(), by_key(pa_));
    std::sort(ib.begin(), ib.end(), by_key(pb_));
    std::vector<size_t> only_a, only_b;
    size_t i = 0, j = 0;
    while (i < ia.size() || j < ib.size()) {
      if (j == ib.size() || (i < ia.size() && pa_.keys[ia[i]] < pb_.keys[ib[j]])) only_a.push_back(ia[i++]);
      else if (i == ia.size() || pb_.keys[ib[j]] < pa_.keys[ia[i]]) only_b.push_back(ib[j++]);
      else ++i, ++j;
    }
    if (only_a.empty() && only_b.empty()) return;
    c_.equal = false;
    if (c_.reason.empty() && a1 - a0 != b1 - b0) c_.reason = "row counts differ";
    explain(only_a, only_b);
  }

  void grouped() {
    auto groups = [this](const Prepared& p) {
      std::vector<std::pair<size_t, size_t>> out;
      for (size_t i = 0; i < p.rows.size();) {
        size_t j = i + 1;
        while (j < p.rows.size() && same_order_key(p.rows[i], p.rows[j])) ++j;
        out.emplace_back(i, j);
        i = j;
      }
      return out;
    };
    auto ga = groups(pa_), gb = groups(pb_);
    size_t n = std::min(ga.size(), gb.size());
    for (size_t g = 0; g < n; ++g) {
      bool last = g + 1 == ga.size() && g + 1 == gb.size();
      multiset(ga[g].first, ga[g].second, gb[g].first, gb[g].second, last && cut_);
    }
    if (ga.size() != gb.size()) {
      c_.equal = false;
      if (c_.reason.empty()) c_.reason = "order or row counts differ";
      std::vector<size_t> only_a, only_b;
      for (size_t g = n; g < ga.size(); ++g)
        for (size_t r = ga[g].first; r < ga[g].second; ++r) only_a.push_back(r);
      for (size_t g = n; g < gb.size(); ++g)
        for (size_t r = gb[g].first; r < gb[g].second; ++r) only_b.push_back(r);
      explain(only_a, only_b);
    }
  }

  bool same_order_key(const Row& x, const Row& y) const {
    for (size_t k : o_.order_keys)
      if (k < x.size() && k < y.size() && x[k] != y[k]) return false;
    return true;
  }

  // Pairs the leftover rows by key column (else by position) into cell diffs.
  void explain(const std::vector<size_t>& only_a, const std::vector<size_t>& only_b) {
    std::vector<bool> used(only_b.size(), false);
    for (size_t ai : only_a) {
      if (c_.diffs.size() >= o_.max_diff_rows) return;
      std::optional<size_t> match;
      for (size_t k = 0; k < only_b.size() && !match; ++k)
        if (!used[k] && (!o_.key_column || same_key(ai, only_b[k]))) match = k;
      RowDiff d;
      d.key = row_key(a_, o_, ai);
      if (!match) {
        d.where = "only a";
      } else {
        used[*match] = true;
        d.where = "both";
        size_t bi = only_b[*match];
        for (size_t col = 0; col < a_.columns.size(); ++col) {
          if (rule_at(o_, col).ignore || pa_.rows[ai][col] == pb_.rows[bi][col]) continue;
          CellDiff cell{a_.columns[col].name, a_.rows[ai][col], b_.rows[bi][col], {}, {}};
          if (rule_at(o_, col).map) {
            cell.a_unified = pa_.rows[ai][col];
            cell.b_unified = pb_.rows[bi][col];
          }
          d.cells.push_back(std::move(cell));
        }
      }
      c_.diffs.push_back(std::move(d));
    }
    for (size_t k = 0; k < only_b.size() && c_.diffs.size() < o_.max_diff_rows; ++k)
      if (!used[k]) c_.diffs.push_back(RowDiff{row_key(b_, o_, only_b[k]), "only b", {}});
  }

  bool same_key(size_t ai, size_t bi) const {
    size_t k = *o_.key_column;
    return k < a_.columns.size() && a_.rows[ai][k] == b_.rows[bi][k];
  }

  const ResultSet& a_;
  const ResultSet& b_;
  const CompareOptions& o_;
  Prepared pa_, pb_;
  Comparison c_;
  bool cut_ = false;  //!< a LIMIT may have cut the answers
};

std::string quoted(const Value& v) { return v ? "'" + *v + "'" : "NULL"; }

}  // namespace

Value normalise(const Value& v, ValueKind kind, const ColumnRule& rule) {
  if (!v) return v;
  if (rule.map) {
    // In the unified space; an unmapped value stands for itself, marked so it
    // never equals a unified value that happens to be spelled the same.
    auto it = rule.map->find(*v);
    return it != rule.map->end() ? it->second : "\x1d" + *v;
  }
  switch (kind) {
    case ValueKind::Integer: return normalise_integer(*v);
    case ValueKind::Numeric: return normalise_numeric(*v);
    case ValueKind::Timestamp: return strip_fraction_zeros(*v);
    case ValueKind::Bool: return normalise_bool(*v);
    case ValueKind::Float:  // rounded in prepare(), which knows the tolerance
    case ValueKind::Text: return v;
  }
  return v;
}

std::string Comparison::describe(const std::string& a_name, const std::string& b_name) const {
  if (equal) return "equal";
  std::string out = reason + " (" + std::to_string(rows_a) + " vs " + std::to_string(rows_b) + " rows)";
  for (const auto& d : diffs) {
    out += "; " + d.key + ": ";
    if (d.where == "only a") {
      out += "only in the " + a_name + " answer";
      continue;
    }
    if (d.where == "only b") {
      out += "only in the " + b_name + " answer";
      continue;
    }
    for (size_t i = 0; i < d.cells.size(); ++i) {
      const auto& c = d.cells[i];
      out += (i ? ", " : "") + c.column + " " + quoted(c.a);
      if (c.a_unified) out += " → map " + (c.a_unified->rfind("\x1d", 0) == 0 ? "(unmapped)" : *c.a_unified);
      out += ", " + b_name + " " + quoted(c.b);
      if (c.b_unified && c.b_unified != c.a_unified)
        out += " (" + (c.b_unified->rfind("\x1d", 0) == 0 ? std::string("unmapped") : *c.b_unified) + ")";
    }
  }
  return out;
}

Comparison compare(const ResultSet& a, const ResultSet& b, const CompareOptions& options) {
  return Differ(a, b, options).run();
}

}  // namespace sy::shadow
