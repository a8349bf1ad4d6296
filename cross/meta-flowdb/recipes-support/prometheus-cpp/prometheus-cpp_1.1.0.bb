SUMMARY = "Prometheus client library for modern C++"
DESCRIPTION = "Metrics library (core), HTTP exposer for Prometheus scraping (pull, \
on top of civetweb) and Pushgateway client (push, on top of libcurl)."
HOMEPAGE = "https://github.com/jupp0r/prometheus-cpp"
SECTION = "libs"
LICENSE = "MIT"
# md5 of LICENSE at the upstream commit below (= SRCREV, tag v1.1.0). check-consistency.sh
# requires this line and that it names SRCREV: re-verify the md5 when SRCREV changes.
# LIC_FILES_CHKSUM-commit: c9ffcdda9086ffd9e1283ea7a0276d831f3c8a8d
LIC_FILES_CHKSUM = "file://LICENSE;md5=f203962b7b283e1e356c14312b4f6211"

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
#              (libcivetweb-cpp). meta-networking's civetweb enables PACKAGECONFIG "cpp"
#              by default only from walnascar; on scarthgap set in local.conf
#                PACKAGECONFIG:append:pn-civetweb = " cpp"
#              (a bbappend here would change civetweb's signatures, which
#              yocto-check-layer rejects). do_configure stops with that hint if missing.
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

do_configure:prepend() {
    if ${@bb.utils.contains('PACKAGECONFIG', 'pull', 'true', 'false', d)} && \
       [ ! -e ${STAGING_LIBDIR}/libcivetweb-cpp.so ]; then
        bbfatal "prometheus-cpp (PACKAGECONFIG pull) needs civetweb's C++ API: add" \
                "PACKAGECONFIG:append:pn-civetweb = \" cpp\" to local.conf"
    fi
}

# Headers, .so symlinks, CMake package config and .pc files go to -dev by default.
FILES:${PN}-dev += "${libdir}/cmake/prometheus-cpp"
