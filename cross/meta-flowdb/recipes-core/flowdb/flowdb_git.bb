SUMMARY = "FlowDB IoT time-series gateway agent"
DESCRIPTION = "Embedded time-series storage engine plus the flowdb-agent daemon: MQTT \
ingest, retention, Prometheus metrics and export/remote-write for ARM gateways."
SECTION = "console/network"

LICENSE = "Apache-2.0"
# md5 of the repository's root LICENSE. The value below is the md5 of the canonical
# Apache-2.0 text (== Debian's /usr/share/common-licenses/Apache-2.0). After changing
# LICENSE run  cross/meta-flowdb/scripts/update-license-md5.sh  (or --check in CI).
FLOWDB_LICENSE_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"
LIC_FILES_CHKSUM = "file://LICENSE;md5=${FLOWDB_LICENSE_MD5}"

# Where to fetch FlowDB from. Nothing is fetched at parse time: SRCREV is pinned (no
# AUTOREV, which would make bitbake run `git ls-remote` while parsing). The default URL
# is a placeholder until the public repository URL is fixed; set it in local.conf
# together with the commit you want (README.md, "Adding the layer"):
#   FLOWDB_SRC_URI = "git://<host>/<path>/flowdb.git;protocol=https;branch=main"
#   SRCREV:pn-flowdb = "<40-hex commit>"
# To build a working tree instead, use externalsrc (README.md, "Building a local checkout").
FLOWDB_SRC_URI ?= "git://git.flowdb.invalid/flowdb.git;protocol=https;branch=main"
SRC_URI = "${FLOWDB_SRC_URI}"
# Release pin: the commit this recipe was last checked against (update per release).
# It must have every option the recipe passes (FLOWDB_WITH_SYSTEMD, the notify unit):
# an older commit ignores the -D flag and ships a Type=simple unit.
SRCREV ?= "f05ee46f0257264cc61bc5a23ae991844a45e607"
PV = "0.1.0+git"
S = "${WORKDIR}/git"

inherit cmake pkgconfig systemd useradd

# re2: PromQL regular-expression matchers (agent/promql), meta-oe.
DEPENDS = "paho-mqtt-cpp boost lz4 yaml-cpp prometheus-cpp civetweb cli11 curl zlib openssl re2"

# zstd: zstd block compression (lz4 is always built in).
# remote-write: the prometheus_remote_write export (protobuf + snappy; protoc
# runs on the build host).
# systemd-notify: Type=notify readiness and the watchdog through libsystemd;
# without it the installed unit is rewritten to Type=simple.
PACKAGECONFIG ??= "zstd remote-write systemd-notify"
PACKAGECONFIG[zstd] = "-DFLOWDB_WITH_ZSTD=ON,-DFLOWDB_WITH_ZSTD=OFF,zstd"
PACKAGECONFIG[remote-write] = "-DFLOWDB_WITH_REMOTE_WRITE=ON,-DFLOWDB_WITH_REMOTE_WRITE=OFF,protobuf protobuf-native snappy"
PACKAGECONFIG[systemd-notify] = "-DFLOWDB_WITH_SYSTEMD=ON,-DFLOWDB_WITH_SYSTEMD=OFF,systemd"

# Tests use Catch2 v2 and run at build time via catch_discover_tests(); the Yocto build
# ships the agent only (run the test suite with the cross presets + qemu instead).
EXTRA_OECMAKE += " \
    -DFLOWDB_BUILD_AGENT=ON \
    -DFLOWDB_BUILD_TESTS=OFF \
    -DFLOWDB_BUILD_BENCH=OFF \
    -DFLOWDB_BUILD_FUZZ=OFF \
    -DFLOWDB_INSTALL=ON \
    -DFLOWDB_WERROR=OFF \
"

# --- system user: flowdb:flowdb, home = data directory, no login ---
USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --user-group --home-dir ${localstatedir}/lib/flowdb \
                       --no-create-home --shell ${base_sbindir}/nologin flowdb"

# --- systemd ---
SYSTEMD_PACKAGES = "${PN}"
SYSTEMD_SERVICE:${PN} = "flowdb-agent.service"
SYSTEMD_AUTO_ENABLE:${PN} ?= "enable"

do_install:append() {
    # Unit file and default config come from the source tree's configs/ directory.
    install -d ${D}${systemd_system_unitdir}
    install -m 0644 ${S}/configs/flowdb-agent.service ${D}${systemd_system_unitdir}/flowdb-agent.service
    if ${@bb.utils.contains('PACKAGECONFIG', 'systemd-notify', 'false', 'true', d)}; then
        # Built without sd_notify: the agent never says READY=1.
        sed -i -e 's/^Type=notify$/Type=simple/' -e '/^NotifyAccess=/d' -e '/^WatchdogSec=/d' \
            ${D}${systemd_system_unitdir}/flowdb-agent.service
    fi

    # Config: readable by the agent's group only (it may hold broker credentials).
    install -d -m 0755 ${D}${sysconfdir}/flowdb
    install -m 0640 -g flowdb ${S}/configs/flowdb-agent.yaml ${D}${sysconfdir}/flowdb/flowdb-agent.yaml

    # Data directory (WAL, tables) owned by the service user.
    install -d -m 0750 -o flowdb -g flowdb ${D}${localstatedir}/lib/flowdb
}

FILES:${PN} += " \
    ${systemd_system_unitdir}/flowdb-agent.service \
    ${sysconfdir}/flowdb \
    ${localstatedir}/lib/flowdb \
"
# find_package(flowdb) export and headers for on-target/SDK consumers
FILES:${PN}-dev += "${libdir}/cmake/flowdb"

CONFFILES:${PN} = "${sysconfdir}/flowdb/flowdb-agent.yaml"
