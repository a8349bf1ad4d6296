#include "jsondb/key_codec.h"

#include <cmath>
#include <cstring>

#include "flowdb/error.h"
#include "flowdb/jsondb_types.h"

namespace flowdb::jsondb {
namespace detail {
namespace {

constexpr char kTagNumber = 0x10;
constexpr char kTagString = 0x30;
constexpr char kTagArray = 0x50;

[[noreturn]] void bad_key(const char* why) { throw Error(Errc::DataError, why); }
[[noreturn]] void corrupt() { throw Error(Errc::Corruption, "jsondb: malformed encoded key"); }

bool number_of(const value& v, double* d) {
  switch (v.kind()) {
    case boost::json::kind::int64:
      *d = static_cast<double>(v.get_int64());
      return true;
    case boost::json::kind::uint64:
      *d = static_cast<double>(v.get_uint64());
      return true;
    case boost::json::kind::double_:
      *d = v.get_double();
      return true;
    default:
      return false;
  }
}

// Decodes UTF-8 (WTF-8: lone surrogates allowed, paired ones must use the
// 4-byte form) into code units; returns false on malformed input.
template <class F>
bool for_each_utf16(std::string_view s, F&& emit) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  bool prev_high = false;  // previous unit was a lone high surrogate (3-byte form)
  while (p < end) {
    uint32_t c = *p;
    int n;
    uint32_t min;
    if (c < 0x80) {
      n = 0;
      min = 0;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      c &= 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      c &= 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      c &= 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF) return false;
    p += n + 1;
    if (c >= 0x10000) {
      c -= 0x10000;
      emit(static_cast<uint16_t>(0xD800 + (c >> 10)));
      emit(static_cast<uint16_t>(0xDC00 + (c & 0x3FF)));
      prev_high = false;
      continue;
    }
    if (c >= 0xDC00 && c <= 0xDFFF && prev_high) return false;  // CESU pair: not injective
    prev_high = c >= 0xD800 && c <= 0xDBFF;
    emit(static_cast<uint16_t>(c));
  }
  return true;
}

void append_utf8(uint32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

void encode_number(double d, std::string* out) {
  if (d == 0) d = 0;  // -0 -> +0
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  bits = (bits & (uint64_t{1} << 63)) ? ~bits : bits | (uint64_t{1} << 63);
  out->push_back(kTagNumber);
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(bits >> (8 * i)));
}

bool valid_key(const value& v, int depth) {
  if (depth > 1000) return false;
  double d;
  if (number_of(v, &d)) return !std::isnan(d);
  if (v.is_string()) return for_each_utf16(v.get_string(), [](uint16_t) {});
  if (v.is_array()) {
    for (const auto& e : v.get_array()) {
      if (!valid_key(e, depth + 1)) return false;
    }
    return true;
  }
  return false;
}

void encode(const value& v, std::string* out, int depth) {
  if (depth > 1000) bad_key("key nested too deeply");
  double d;
  if (number_of(v, &d)) {
    if (std::isnan(d)) bad_key("NaN is not a valid key");
    encode_number(d, out);
  } else if (v.is_string()) {
    out->push_back(kTagString);
    bool ok = for_each_utf16(v.get_string(), [out](uint16_t u) {
      const char hi = static_cast<char>(u >> 8), lo = static_cast<char>(u & 0xFF);
      out->push_back(hi);
      if (hi == 0) out->push_back(static_cast<char>(0xFF));
      out->push_back(lo);
      if (lo == 0) out->push_back(static_cast<char>(0xFF));
    });
    if (!ok) bad_key("key string is not valid UTF-8");
    out->push_back(0);
    out->push_back(1);
  } else if (v.is_array()) {
    out->push_back(kTagArray);
    for (const auto& e : v.get_array()) encode(e, out, depth + 1);
    out->push_back(0);
  } else {
    bad_key("not a valid key (null, boolean or object)");
  }
}

value number_value(double d) {
  if (d == 0) return value(int64_t{0});
  if (std::trunc(d) == d && std::fabs(d) <= 9007199254740992.0) {
    return value(static_cast<int64_t>(d));
  }
  return value(d);
}

value decode(std::string_view* in, int depth) {
  if (in->empty() || depth > 1000) corrupt();
  const char tag = (*in)[0];
  in->remove_prefix(1);
  if (tag == kTagNumber) {
    if (in->size() < 8) corrupt();
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>((*in)[i]);
    in->remove_prefix(8);
    bits = (bits & (uint64_t{1} << 63)) ? bits & ~(uint64_t{1} << 63) : ~bits;
    double d;
    std::memcpy(&d, &bits, 8);
    return number_value(d);
  }
  if (tag == kTagString) {
    std::string s;
    auto byte = [in]() -> unsigned char {
      if (in->empty()) corrupt();
      unsigned char b = static_cast<unsigned char>((*in)[0]);
      in->remove_prefix(1);
      return b;
    };
    uint32_t pending_high = 0;
    while (true) {
      unsigned char hi = byte();
      if (hi == 0) {
        unsigned char e = byte();
        if (e == 1) break;
        if (e != 0xFF) corrupt();
      }
      unsigned char lo = byte();
      if (lo == 0 && byte() != 0xFF) corrupt();
      uint32_t u = (uint32_t{hi} << 8) | lo;
      if (pending_high) {
        if (u >= 0xDC00 && u <= 0xDFFF) {
          append_utf8(0x10000 + ((pending_high - 0xD800) << 10) + (u - 0xDC00), &s);
          pending_high = 0;
          continue;
        }
        append_utf8(pending_high, &s);
        pending_high = 0;
      }
      if (u >= 0xD800 && u <= 0xDBFF) {
        pending_high = u;
      } else {
        append_utf8(u, &s);
      }
    }
    if (pending_high) append_utf8(pending_high, &s);
    return value(std::move(s));
  }
  if (tag == kTagArray) {
    boost::json::array a;
    while (true) {
      if (in->empty()) corrupt();
      if ((*in)[0] == 0) {
        in->remove_prefix(1);
        break;
      }
      a.push_back(decode(in, depth + 1));
    }
    return value(std::move(a));
  }
  corrupt();
}

}  // namespace

void encode_key(const value& key, std::string* out) { encode(key, out, 0); }

std::string encode_key(const value& key) {
  std::string s;
  encode(key, &s, 0);
  return s;
}

value decode_key(std::string_view* in) { return decode(in, 0); }

value normalize_key(const value& key) {
  std::string e = encode_key(key);
  std::string_view in(e);
  return decode_key(&in);
}

size_t utf16_length(std::string_view utf8) {
  size_t n = 0;
  for_each_utf16(utf8, [&n](uint16_t) { ++n; });
  return n;
}

}  // namespace detail

bool is_valid_key(const value& v) noexcept { return detail::valid_key(v, 0); }

int compare_keys(const value& a, const value& b) {
  std::string ea = detail::encode_key(a), eb = detail::encode_key(b);
  int c = ea.compare(eb);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

}  // namespace flowdb::jsondb
