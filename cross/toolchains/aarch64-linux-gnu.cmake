# CMake toolchain file: FlowDB for 64-bit ARM Linux (Debian arm64, aarch64-linux-gnu).
#
# Compiler: Debian's crossbuild-essential-arm64 (aarch64-linux-gnu-gcc/g++ 12).
# Sysroot:  -DFLOWDB_SYSROOT=<dir> (cache), else $ENV{FLOWDB_SYSROOT}, else
#           <repo>/build/sysroot-arm64 — create it with `cross/make-sysroot.sh arm64`.
# Tests:    run through `qemu-aarch64 -L <sysroot>` (CMAKE_CROSSCOMPILING_EMULATOR),
#           so ctest / catch_discover_tests work unchanged.
# See cross/README.md.
set(FLOWDB_CROSS_TRIPLET aarch64-linux-gnu)
set(FLOWDB_CROSS_DEB_ARCH arm64)
set(FLOWDB_CROSS_QEMU qemu-aarch64)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include("${CMAKE_CURRENT_LIST_DIR}/flowdb-cross-common.cmake")
