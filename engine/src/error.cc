#include "flowdb/error.h"

namespace flowdb {

std::string_view errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::Io:
      return "Io";
    case Errc::Corruption:
      return "Corruption";
    case Errc::InvalidArgument:
      return "InvalidArgument";
    case Errc::NotFound:
      return "NotFound";
    case Errc::Closed:
      return "Closed";
    case Errc::Busy:
      return "Busy";
    case Errc::NoSpace:
      return "NoSpace";
    case Errc::DataError:
      return "DataError";
    case Errc::ConstraintError:
      return "ConstraintError";
    case Errc::ReadOnlyError:
      return "ReadOnlyError";
    case Errc::NotFoundError:
      return "NotFoundError";
    case Errc::InvalidAccessError:
      return "InvalidAccessError";
    case Errc::InvalidStateError:
      return "InvalidStateError";
    case Errc::TransactionInactiveError:
      return "TransactionInactiveError";
    case Errc::SyntaxError:
      return "SyntaxError";
    case Errc::Conflict:
      return "Conflict";
  }
  // Only reachable through a cast of an out-of-range integer.
  return "Unknown";
}

// what() is exactly the caller's message: callers already put the context
// (file, offset, operation) in it, and the code is available via code().
Error::Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}

}  // namespace flowdb
