#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <thread>
TEST_CASE("threads run under qemu") {
  int x = 0;
  std::thread([&] { x = 7; }).join();
  REQUIRE(x == 7);
}
TEST_CASE("pointer size") { REQUIRE((sizeof(void*) == 8 || sizeof(void*) == 4)); }
