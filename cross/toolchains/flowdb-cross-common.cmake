# Shared part of cross/toolchains/{aarch64-linux-gnu,arm-linux-gnueabihf}.cmake.
# Not a toolchain file on its own: the per-arch file sets FLOWDB_CROSS_TRIPLET,
# FLOWDB_CROSS_DEB_ARCH, FLOWDB_CROSS_QEMU and CMAKE_SYSTEM_PROCESSOR, then includes this.
#
# Note: CMake reads toolchain files several times (main configure and every try_compile),
# so everything here must be idempotent and must not depend on project() state.

foreach(_v FLOWDB_CROSS_TRIPLET FLOWDB_CROSS_DEB_ARCH FLOWDB_CROSS_QEMU CMAKE_SYSTEM_PROCESSOR)
  if(NOT ${_v})
    message(FATAL_ERROR "flowdb-cross-common.cmake: ${_v} not set; use one of the per-arch toolchain files")
  endif()
endforeach()

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_LIBRARY_ARCHITECTURE ${FLOWDB_CROSS_TRIPLET})

# --- compilers (Debian crossbuild-essential-*; override with -DCMAKE_<LANG>_COMPILER=...) ---
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${FLOWDB_CROSS_TRIPLET}-gcc)
endif()
if(NOT CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER ${FLOWDB_CROSS_TRIPLET}-g++)
endif()

# Per-arch preprocessor/ABI flags (e.g. LFS on armhf); initial value of CMAKE_<LANG>_FLAGS.
if(FLOWDB_CROSS_EXTRA_FLAGS)
  set(CMAKE_C_FLAGS_INIT "${FLOWDB_CROSS_EXTRA_FLAGS}")
  set(CMAKE_CXX_FLAGS_INIT "${FLOWDB_CROSS_EXTRA_FLAGS}")
endif()

# --- sysroot: cache var > environment > <repo>/build/sysroot-<debarch> ---
get_filename_component(_flowdb_repo_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(_flowdb_default_sysroot "${_flowdb_repo_root}/build/sysroot-${FLOWDB_CROSS_DEB_ARCH}")
if(NOT FLOWDB_SYSROOT)
  if(DEFINED ENV{FLOWDB_SYSROOT} AND NOT "$ENV{FLOWDB_SYSROOT}" STREQUAL "")
    set(FLOWDB_SYSROOT "$ENV{FLOWDB_SYSROOT}")
  else()
    set(FLOWDB_SYSROOT "${_flowdb_default_sysroot}")
  endif()
endif()
get_filename_component(FLOWDB_SYSROOT "${FLOWDB_SYSROOT}" ABSOLUTE)
set(FLOWDB_SYSROOT "${FLOWDB_SYSROOT}" CACHE PATH
    "Target sysroot (Debian ${FLOWDB_CROSS_DEB_ARCH}); create with cross/make-sysroot.sh ${FLOWDB_CROSS_DEB_ARCH} <dir>")
# try_compile() projects re-read this file in a fresh cache: pass the sysroot along.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FLOWDB_SYSROOT)
list(REMOVE_DUPLICATES CMAKE_TRY_COMPILE_PLATFORM_VARIABLES)

if(NOT EXISTS "${FLOWDB_SYSROOT}/usr/include/${FLOWDB_CROSS_TRIPLET}")
  message(FATAL_ERROR
    "FlowDB cross build: no ${FLOWDB_CROSS_DEB_ARCH} sysroot at '${FLOWDB_SYSROOT}'.\n"
    "Create it with:  ${_flowdb_repo_root}/cross/make-sysroot.sh ${FLOWDB_CROSS_DEB_ARCH} ${FLOWDB_SYSROOT}\n"
    "or point -DFLOWDB_SYSROOT=<dir> / $FLOWDB_SYSROOT at an existing one.")
endif()

set(CMAKE_SYSROOT "${FLOWDB_SYSROOT}")
list(APPEND CMAKE_FIND_ROOT_PATH "${FLOWDB_SYSROOT}")
list(REMOVE_DUPLICATES CMAKE_FIND_ROOT_PATH)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # build tools come from the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)    # libraries, headers and CMake packages
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)    # only from the sysroot
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Linking. Debian's cross gcc searches its own /usr/<triplet>/lib (libc6-dev-<arch>-cross)
# *before* the --sysroot dirs, so by default -lc/-lm/-lpthread would resolve to the cross
# toolchain's glibc copy and the DT_NEEDED entries of sysroot libraries to whatever comes
# first. Put the sysroot's multiarch dirs first, both as -L (explicit -l's: libc.so is a
# linker script whose absolute paths ld re-roots into the sysroot) and as -rpath-link
# (DT_NEEDED of shared libs: libcurl -> libnghttp2/libssl/..., libboost_json ->
# libboost_container). What still comes from the cross toolchain is only the compiler's
# own runtime (crt*.o, libgcc, libstdc++ link stub, C/C++ headers) — the same gcc 12.2 /
# glibc 2.36 as the sysroot; at run time everything comes from the sysroot (see below).
set(_flowdb_sysroot_link
    "-L${FLOWDB_SYSROOT}/usr/lib/${FLOWDB_CROSS_TRIPLET} -L${FLOWDB_SYSROOT}/lib/${FLOWDB_CROSS_TRIPLET} -Wl,-rpath-link,${FLOWDB_SYSROOT}/lib/${FLOWDB_CROSS_TRIPLET}:${FLOWDB_SYSROOT}/usr/lib/${FLOWDB_CROSS_TRIPLET}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_flowdb_sysroot_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_flowdb_sysroot_link}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_flowdb_sysroot_link}")

# pkg-config (host binary) must only see the sysroot's .pc files, with paths re-rooted.
# These env vars live for the configure run, which is when pkg_check_modules() runs;
# the toolchain file is re-read on every re-configure.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${FLOWDB_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${FLOWDB_SYSROOT}/usr/lib/${FLOWDB_CROSS_TRIPLET}/pkgconfig:${FLOWDB_SYSROOT}/usr/lib/pkgconfig:${FLOWDB_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Run target binaries (ctest, catch_discover_tests, try_run) under qemu-user with the
# sysroot as the ELF-interpreter/library prefix. Dynamic loader, libc and every other
# shared library then all come from the sysroot (mixing a loader from one glibc build
# with libc from another makes threaded programs hang under qemu).
if(NOT FLOWDB_QEMU)
  find_program(FLOWDB_QEMU NAMES ${FLOWDB_CROSS_QEMU} ${FLOWDB_CROSS_QEMU}-static
               DOC "qemu-user binary used as CMAKE_CROSSCOMPILING_EMULATOR")
endif()
if(FLOWDB_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${FLOWDB_QEMU};-L;${FLOWDB_SYSROOT}")
else()
  message(WARNING "${FLOWDB_CROSS_QEMU} not found (apt-get install qemu-user): "
                  "cross-built tests cannot run and catch_discover_tests() will fail")
endif()
