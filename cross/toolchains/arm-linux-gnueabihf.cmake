# CMake toolchain file: FlowDB for 32-bit ARM Linux, hard-float (Debian armhf,
# arm-linux-gnueabihf; ARMv7-A + VFPv3-D16 + Thumb-2, the Debian armhf baseline).
#
# Compiler: Debian's crossbuild-essential-armhf (arm-linux-gnueabihf-gcc/g++ 12).
# Sysroot:  -DFLOWDB_SYSROOT=<dir> (cache), else $ENV{FLOWDB_SYSROOT}, else
#           <repo>/build/sysroot-armhf — create it with `cross/make-sysroot.sh armhf`.
# Tests:    run through `qemu-arm -L <sysroot>` (CMAKE_CROSSCOMPILING_EMULATOR),
#           so ctest / catch_discover_tests work unchanged.
# See cross/README.md.
set(FLOWDB_CROSS_TRIPLET arm-linux-gnueabihf)
set(FLOWDB_CROSS_DEB_ARCH armhf)
set(FLOWDB_CROSS_QEMU qemu-arm)
set(CMAKE_SYSTEM_PROCESSOR arm)
# 64-bit off_t/ino_t (LFS). Without it, readdir() fails with EOVERFLOW under qemu-user on
# a 64-bit host (the host kernel hands out 64-bit d_off/d_ino values), and on real devices
# files > 2 GiB cannot be handled. Yocto sets the same for 32-bit targets. Not added:
# -D_TIME_BITS=64, which would break the ABI of Debian 12 armhf libraries that use time_t.
set(FLOWDB_CROSS_EXTRA_FLAGS "-D_FILE_OFFSET_BITS=64")
include("${CMAKE_CURRENT_LIST_DIR}/flowdb-cross-common.cmake")
