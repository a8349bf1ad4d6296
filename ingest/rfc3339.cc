#include "ingest/rfc3339.h"

#include "ingest/lp_number.h"

namespace flowdb::ingest {
namespace {

constexpr int64_t kUsPerSec = 1'000'000;
constexpr int64_t kSecPerDay = 86'400;

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return (m == 2 && is_leap(y)) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at s[*i].
bool digits(std::string_view s, size_t* i, size_t n, unsigned* out) {
  if (s.size() - *i < n) return false;
  unsigned v = 0;
  for (size_t k = 0; k < n; ++k) {
    const char c = s[*i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool expect(std::string_view s, size_t* i, char c) {
  if (*i >= s.size() || s[*i] != c) return false;
  ++*i;
  return true;
}

void append_digits(std::string* out, int64_t v, int width) {
  char buf[8];
  for (int k = width - 1; k >= 0; --k) {
    buf[k] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->append(buf, width);
}

}  // namespace

bool parse_rfc3339(std::string_view s, int64_t* out_us) {
  size_t i = 0;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, &i, 4, &year) || !expect(s, &i, '-') || !digits(s, &i, 2, &month) ||
      !expect(s, &i, '-') || !digits(s, &i, 2, &day)) {
    return false;
  }
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return false;
  ++i;
  if (!digits(s, &i, 2, &hour) || !expect(s, &i, ':') || !digits(s, &i, 2, &minute) ||
      !expect(s, &i, ':') || !digits(s, &i, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return false;
  }
  int64_t frac_us = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t start = i;
    int64_t scale = 100'000;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      frac_us += (s[i] - '0') * scale;
      scale /= 10;  // Becomes 0 after 6 digits: further digits are truncated.
    }
    if (i == start) return false;
  }
  int64_t offset_sec = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const bool neg = s[i++] == '-';
    unsigned oh = 0, om = 0;
    if (!digits(s, &i, 2, &oh) || !expect(s, &i, ':') || !digits(s, &i, 2, &om) || oh > 23 ||
        om > 59) {
      return false;
    }
    offset_sec = static_cast<int64_t>(oh) * 3600 + static_cast<int64_t>(om) * 60;
    if (neg) offset_sec = -offset_sec;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  const int64_t days = days_from_civil(year, month, day);
  const int64_t secs = days * kSecPerDay + hour * 3600 + minute * 60 + second - offset_sec;
  *out_us = secs * kUsPerSec + frac_us;  // |secs| < 2.6e11: no overflow.
  return true;
}

bool append_rfc3339(std::string* out, int64_t ts_us) {
  const int64_t secs = floor_div(ts_us, kUsPerSec);
  const int64_t frac = ts_us - secs * kUsPerSec;
  const int64_t days = floor_div(secs, kSecPerDay);
  const int64_t sod = secs - days * kSecPerDay;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  if (y < 0 || y > 9999) return false;
  append_digits(out, y, 4);
  out->push_back('-');
  append_digits(out, m, 2);
  out->push_back('-');
  append_digits(out, d, 2);
  out->push_back('T');
  append_digits(out, sod / 3600, 2);
  out->push_back(':');
  append_digits(out, sod / 60 % 60, 2);
  out->push_back(':');
  append_digits(out, sod % 60, 2);
  if (frac != 0) {
    int64_t f = frac;
    int width = 6;
    while (f % 10 == 0) {
      f /= 10;
      --width;
    }
    out->push_back('.');
    append_digits(out, f, width);
  }
  out->push_back('Z');
  return true;
}

}  // namespace flowdb::ingest
