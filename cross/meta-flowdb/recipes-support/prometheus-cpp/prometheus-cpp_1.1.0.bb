SUMMARY = "Prometheus client library for modern C++"
DESCRIPTION = "Metrics library (core), HTTP exposer for Prometheus scraping (pull, \
on top of civetweb) and Pushgateway client (push, on top of libcurl)."
HOMEPAGE = "https://github.com/jupp0r/prometheus-cpp"
SECTION = "libs"
LICENSE = "MIT"
# LICENSE md5 taken from another layer's recipe for this repository; not re-verified
# here (no GitHub access when this was written). If it is wrong, do_populate_lic fails
# and prints the correct value.
LIC_FILES_CHKSUM = "file://LICENSE;md5=070140aa9bfe3450ae697487bc9eb15d"

# v1.1.0. Tag commit taken from vcpkg's prometheus-cpp port ("REF c9ffcdd... # v1.1.0").
# nobranch=1: only the commit matters, not which branch it is on.
SRC_URI = "git://github.com/jupp0r/prometheus-cpp.git;protocol=https;nobranch=1"
SRCREV = "c9ffcdda9086ffd9e1283ea7a0276d831f3c8a8d"
S = "${WORKDIR}/git"

inherit cmake pkgconfig

# Built against the system civetweb/zlib/curl, not the bundled 3rdparty/ submodules
# (hence git:// and not gitsm://).
DEPENDS = "civetweb zlib curl"

# pull:        Exposer (HTTP /metrics endpoint), needs civetweb with its C++ API
#              (meta-networking's civetweb has PACKAGECONFIG "cpp" by default).
# push:        Pushgateway client, needs libcurl.
# compression: gzip-compressed /metrics responses, needs zlib.
PACKAGECONFIG ??= "pull push compression"
PACKAGECONFIG[pull] = "-DENABLE_PULL=ON,-DENABLE_PULL=OFF,civetweb"
PACKAGECONFIG[push] = "-DENABLE_PUSH=ON,-DENABLE_PUSH=OFF,curl"
PACKAGECONFIG[compression] = "-DENABLE_COMPRESSION=ON,-DENABLE_COMPRESSION=OFF,zlib"

EXTRA_OECMAKE += " \
    -DBUILD_SHARED_LIBS=ON \
    -DUSE_THIRDPARTY_LIBRARIES=OFF \
    -DENABLE_TESTING=OFF \
    -DGENERATE_PKGCONFIG=ON \
    -DRUN_IWYU=OFF \
"

# Headers, .so symlinks, CMake package config and .pc files go to -dev by default.
FILES:${PN}-dev += "${libdir}/cmake/prometheus-cpp"
