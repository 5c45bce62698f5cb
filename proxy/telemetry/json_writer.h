#pragma once
// string_view members for rapidjson's Writer, which takes pointer and length
// (and asserts on a null pointer, which an empty string_view may carry). The
// log and the operator commands build their JSON with these.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string_view>

namespace sy::json {

//! A Writer over an in-memory buffer: the operator commands' reports.
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

template <class W>
void string(W& w, std::string_view s) {
  w.String(s.empty() ? "" : s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

template <class W>
void key(W& w, std::string_view k) {
  w.Key(k.empty() ? "" : k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

template <class W>
void member(W& w, std::string_view k, std::string_view value) {
  key(w, k);
  string(w, value);
}

template <class W>
void member(W& w, std::string_view k, uint64_t value) {
  key(w, k);
  w.Uint64(value);
}

}  // namespace sy::json
