// JsonDB key codec: decode_key on stored bytes; a decoded valid key must
// encode to a form that decodes back to the same encoding.
#include <string>

#include "fuzz_util.h"
#include "jsondb/key_codec.h"

using namespace flowdb;
using namespace flowdb::jsondb::detail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz::expect_corruption_only([&] {
    while (!in.empty()) {
      const size_t before = in.size();
      const value k = decode_key(&in);
      if (in.size() >= before) fuzz::fail("decode_key consumed nothing");
      std::string enc;
      try {
        encode_key(k, &enc);
      } catch (const Error& e) {
        if (e.code() != Errc::DataError) throw;
        continue;  // e.g. a NaN number: decodable, but not a valid key
      }
      std::string_view again = enc;
      if (encode_key(decode_key(&again)) != enc || !again.empty()) {
        fuzz::fail("key encoding does not round-trip");
      }
    }
  });
  return 0;
}
