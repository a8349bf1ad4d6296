// The PromQL lexer (internal to flowdb_promql): turns a query into tokens on
// demand, as Prometheus's promql/parser/lex.go does, including its context:
// inside {} only label names, strings, matcher operators and commas; inside
// [] durations and ':'. Errors are thrown as SyntaxError. Not thread-safe;
// the lexer borrows the query text, which must outlive it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace flowdb::promql::internal {

// A parse error being thrown to parse(), which turns it into ParseError.
struct SyntaxError {
  std::size_t pos;
  std::string message;
};

enum class Tok {
  kEOF,
  kIdentifier,  // names and keywords; `has_colon` for metric-only names
  kNumber,
  kDuration,
  kString,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kColon,
  kAssign,  // '=' (matchers)
  kOp,      // + - * / % ^ == != <= < >= > =~ !~ @
};

struct Token {
  Tok kind = Tok::kEOF;
  std::string_view text;  // as written
  std::size_t pos = 0;
  std::string value;  // kString: the unescaped value
  bool has_colon = false;
};

// Prometheus's description of a token in "unexpected X" messages:
// `identifier "foo"`, `<by>`, `<aggr:sum>`, `<op:*>`, `"("`, `end of input`.
std::string describe(const Token& t);
// Whether `word` (any case) is a PromQL keyword, aggregator or word operator.
bool is_keyword(std::string_view word);
bool is_aggregator(std::string_view word);
std::string lower(std::string_view s);

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}
  Token next();

 private:
  Token lex_statement();
  Token lex_inside_braces();
  Token lex_inside_brackets();
  Token lex_number_or_duration();
  Token lex_string();
  Token lex_identifier(bool label_only);
  Token lex_operator();
  void lex_escape(char quote, std::string& out);
  bool scan_number();
  bool accept_remaining_duration();
  Token make(Tok kind, std::size_t start);
  [[noreturn]] void fail(std::size_t pos, std::string message) const;
  bool at_end() const { return pos_ >= in_.size(); }
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < in_.size() ? in_[pos_ + ahead] : '\0';
  }
  bool accept(std::string_view set);

  std::string_view in_;
  std::size_t pos_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
};

}  // namespace flowdb::promql::internal
