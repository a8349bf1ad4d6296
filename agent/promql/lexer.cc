// The PromQL lexer; see lexer.h. Messages follow Prometheus's lex.go.
#include "lexer.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace flowdb::promql::internal {
namespace {

constexpr std::array<std::string_view, 10> kAggregators = {
    "sum", "avg", "count", "min", "max", "stddev", "topk", "bottomk", "quantile", "count_values"};
// Aggregators Prometheus has that FlowDB does not evaluate (still keywords).
constexpr std::array<std::string_view, 4> kOtherAggregators = {"group", "stdvar", "limitk",
                                                               "limit_ratio"};
constexpr std::array<std::string_view, 15> kKeywords = {
    "and",      "or",         "unless",      "atan2", "offset", "by",  "without", "on",
    "ignoring", "group_left", "group_right", "bool",  "start",  "end", "step"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return 1;
  std::size_t n = b >= 0xF0 && b < 0xF5 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// Go's %q of a rune: 'x', or '\n' style escapes.
std::string quote_char(std::string_view s, std::size_t i) {
  if (i >= s.size()) return "EOF";
  char c = s[i];
  if (c == '\n') return "'\\n'";
  if (c == '\t') return "'\\t'";
  if (c == '\'') return "'\\''";
  std::size_t n = std::max<std::size_t>(utf8_len(s, i), 1);
  return "'" + std::string(s.substr(i, n)) + "'";
}

// Go's %#U of an ASCII rune: U+0063 'c'.
std::string unicode_char(char c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned char>(c));
  return std::string(buf) + " '" + std::string(1, c) + "'";
}

int digit_val(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 16;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_aggregator(std::string_view word) {
  std::string w = lower(word);
  return std::find(kAggregators.begin(), kAggregators.end(), w) != kAggregators.end() ||
         std::find(kOtherAggregators.begin(), kOtherAggregators.end(), w) !=
             kOtherAggregators.end();
}

bool is_keyword(std::string_view word) {
  std::string w = lower(word);
  return is_aggregator(w) || std::find(kKeywords.begin(), kKeywords.end(), w) != kKeywords.end();
}

std::string describe(const Token& t) {
  std::string text(t.text);
  switch (t.kind) {
    case Tok::kEOF:
      return "end of input";
    case Tok::kIdentifier: {
      std::string w = lower(text);
      if (w == "and" || w == "or" || w == "unless" || w == "atan2") return "<op:" + text + ">";
      if (is_aggregator(w)) return "<aggr:" + text + ">";
      if (is_keyword(w)) return "<" + text + ">";
      return "identifier \"" + text + "\"";
    }
    case Tok::kNumber:
      return "number \"" + text + "\"";
    case Tok::kDuration:
      return "duration \"" + text + "\"";
    case Tok::kString:
      return "string \"" + std::string(text.size() > 10 ? text.substr(0, 10) + "..." : text) + "\"";
    case Tok::kOp:
      return "<op:" + text + ">";
    default:
      return "\"" + text + "\"";
  }
}

void Lexer::fail(std::size_t pos, std::string message) const {
  throw SyntaxError{pos, std::move(message)};
}

bool Lexer::accept(std::string_view set) {
  if (!at_end() && set.find(in_[pos_]) != std::string_view::npos) {
    ++pos_;
    return true;
  }
  return false;
}

Token Lexer::make(Tok kind, std::size_t start) {
  Token t;
  t.kind = kind;
  t.pos = start;
  t.text = in_.substr(start, pos_ - start);
  return t;
}

Token Lexer::next() {
  if (brace_open_) return lex_inside_braces();
  if (bracket_open_) return lex_inside_brackets();
  return lex_statement();
}

Token Lexer::lex_statement() {
  for (;;) {
    while (!at_end() && is_space(peek())) ++pos_;
    if (peek() != '#') break;
    while (!at_end() && peek() != '\n') ++pos_;
  }
  std::size_t start = pos_;
  if (at_end()) {
    if (paren_depth_ > 0) fail(pos_, "unclosed left parenthesis");
    return make(Tok::kEOF, start);
  }
  char c = peek();
  switch (c) {
    case ',':
      ++pos_;
      return make(Tok::kComma, start);
    case '(':
      ++pos_;
      ++paren_depth_;
      return make(Tok::kLeftParen, start);
    case ')':
      ++pos_;
      if (--paren_depth_ < 0) fail(start, "unexpected right parenthesis ')'");
      return make(Tok::kRightParen, start);
    case '{':
      ++pos_;
      brace_open_ = true;
      return make(Tok::kLeftBrace, start);
    case '[':
      ++pos_;
      bracket_open_ = true;
      return make(Tok::kLeftBracket, start);
    case '"':
    case '\'':
    case '`':
      return lex_string();
    default:
      break;
  }
  if (is_digit(c) || (c == '.' && is_digit(peek(1)))) return lex_number_or_duration();
  if (is_alpha(c) || c == ':') return lex_identifier(false);
  if (std::string_view("+-*/%^=!<>@").find(c) != std::string_view::npos) return lex_operator();
  fail(start, "unexpected character: " + quote_char(in_, start));
}

Token Lexer::lex_operator() {
  std::size_t start = pos_;
  char c = in_[pos_++];
  if (c == '=') {
    if (accept("=")) return make(Tok::kOp, start);
    if (peek() == '~') fail(pos_, "unexpected character after '=': '~'");
    return make(Tok::kAssign, start);
  }
  if (c == '!') {
    if (accept("=")) return make(Tok::kOp, start);
    fail(pos_, "unexpected character after '!': " + quote_char(in_, pos_));
  }
  if (c == '<' || c == '>') accept("=");
  return make(Tok::kOp, start);
}

Token Lexer::lex_inside_braces() {
  while (!at_end() && is_space(peek())) ++pos_;
  std::size_t start = pos_;
  if (at_end()) fail(pos_, "unexpected end of input inside braces");
  char c = peek();
  if (is_alpha(c)) return lex_identifier(true);
  switch (c) {
    case ',':
      ++pos_;
      return make(Tok::kComma, start);
    case '"':
    case '\'':
    case '`':
      return lex_string();
    case '}':
      ++pos_;
      brace_open_ = false;
      return make(Tok::kRightBrace, start);
    case '{':
      fail(start, "unexpected left brace '{'");
    case '=':
      ++pos_;
      if (accept("~")) return make(Tok::kOp, start);
      return make(Tok::kAssign, start);
    case '!':
      ++pos_;
      if (accept("~") || accept("=")) return make(Tok::kOp, start);
      fail(pos_, "unexpected character after '!' inside braces: " + quote_char(in_, pos_));
    default:
      fail(start, "unexpected character inside braces: " + quote_char(in_, start));
  }
}

Token Lexer::lex_inside_brackets() {
  while (!at_end() && is_space(peek())) ++pos_;
  std::size_t start = pos_;
  if (at_end()) fail(pos_, "unexpected end of input inside brackets");
  char c = peek();
  if (c == ']') {
    ++pos_;
    bracket_open_ = false;
    return make(Tok::kRightBracket, start);
  }
  if (c == ':') {
    ++pos_;
    return make(Tok::kColon, start);
  }
  if (is_digit(c) || (c == '.' && is_digit(peek(1)))) return lex_number_or_duration();
  if (c == '-' || c == '+') {
    ++pos_;
    return make(Tok::kOp, start);
  }
  fail(start, "unexpected character inside brackets: " + quote_char(in_, start));
}

// Prometheus's scanNumber (without the series-description forms).
bool Lexer::scan_number() {
  std::string_view digits = "0123456789";
  if (accept("0") && accept("xX")) digits = "0123456789abcdefABCDEF";
  while (accept(digits)) {
  }
  if (digits.size() == 10 && accept(".")) {
    while (accept(digits)) {
    }
  }
  if (digits.size() == 10 && accept("eE")) {
    accept("+-");
    while (accept("0123456789")) {
    }
  }
  return !is_alnum(peek()) && peek() != '.';
}

// Prometheus's acceptRemainingDuration: a unit, then more number-unit pairs.
bool Lexer::accept_remaining_duration() {
  if (!accept("smhdwy")) return false;
  accept("s");  // ms
  while (accept("0123456789")) {
    while (accept("0123456789")) {
    }
    if (!accept("smhdw")) return false;
    accept("s");
  }
  bool ok = !is_alnum(peek());
  if (!ok) ++pos_;
  return ok;
}

Token Lexer::lex_number_or_duration() {
  std::size_t start = pos_;
  if (scan_number()) return make(Tok::kNumber, start);
  if (accept_remaining_duration()) return make(Tok::kDuration, start);
  if (!at_end() && peek() == '.') ++pos_;
  fail(start,
       "bad number or duration syntax: \"" + std::string(in_.substr(start, pos_ - start)) + "\"");
}

Token Lexer::lex_identifier(bool label_only) {
  std::size_t start = pos_;
  bool colon = false;
  while (!at_end() && (is_alnum(peek()) || (!label_only && peek() == ':'))) {
    colon = colon || peek() == ':';
    ++pos_;
  }
  Token t = make(Tok::kIdentifier, start);
  t.has_colon = colon;
  std::string w = lower(t.text);
  if (!label_only && (w == "inf" || w == "nan")) t.kind = Tok::kNumber;
  return t;
}

Token Lexer::lex_string() {
  std::size_t start = pos_;
  char quote = in_[pos_++];
  std::string value;
  for (;;) {
    if (at_end())
      fail(start, quote == '`' ? "unterminated raw string" : "unterminated quoted string");
    char c = in_[pos_];
    if (c == quote) {
      ++pos_;
      break;
    }
    if (c == '\n' && quote != '`') fail(start, "unterminated quoted string");
    if (c == '\\' && quote != '`') {
      ++pos_;
      lex_escape(quote, value);
      continue;
    }
    std::size_t n = utf8_len(in_, pos_);
    if (n == 0) fail(pos_, "invalid UTF-8 rune");
    value.append(in_.substr(pos_, n));
    pos_ += n;
  }
  Token t = make(Tok::kString, start);
  t.value = std::move(value);
  return t;
}

// Go's escapes: \a \b \f \n \r \t \v \\ \<quote> \ooo \xhh \uhhhh \Uhhhhhhhh.
void Lexer::lex_escape(char quote, std::string& out) {
  if (at_end()) fail(pos_, "escape sequence not terminated");
  char c = in_[pos_++];
  static constexpr std::string_view kSimple = "abfnrtv\\";
  static constexpr std::string_view kValues = "\a\b\f\n\r\t\v\\";
  if (auto i = kSimple.find(c); i != std::string_view::npos) {
    out += kValues[i];
    return;
  }
  if (c == quote) {
    out += c;
    return;
  }
  int n = 0;
  std::uint32_t base = 16, max = 0x10FFFF;
  if (c >= '0' && c <= '7') {
    n = 3, base = 8, max = 255;
    --pos_;
  } else if (c == 'x') {
    n = 2, max = 255;
  } else if (c == 'u') {
    n = 4;
  } else if (c == 'U') {
    n = 8;
  } else {
    fail(pos_ - 1, "unknown escape sequence " + unicode_char(c));
  }
  std::uint32_t x = 0;
  for (int k = 0; k < n; ++k) {
    if (at_end()) fail(pos_, "escape sequence not terminated");
    char d = in_[pos_];
    if (static_cast<std::uint32_t>(digit_val(d)) >= base) {
      fail(pos_, "illegal character " + unicode_char(d) + " in escape sequence");
    }
    x = x * base + static_cast<std::uint32_t>(digit_val(d));
    ++pos_;
  }
  if (x > max || (x >= 0xD800 && x < 0xE000)) {
    fail(pos_, "escape sequence is an invalid Unicode code point");
  }
  if (c == 'x' || base == 8) {
    out += static_cast<char>(x);  // a byte, as in Go
  } else {
    append_utf8(out, x);
  }
}

}  // namespace flowdb::promql::internal
