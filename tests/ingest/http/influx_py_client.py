"""Writes through /write with Debian's python3-influxdb (InfluxDB 1.x client).

Usage: influx_py_client.py PORT PASSWORD. Prints one line per check; exits
non-zero with the client's error when a write that must succeed fails.
"""
import sys

from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError

port, password = int(sys.argv[1]), sys.argv[2]
client = InfluxDBClient(host="127.0.0.1", port=port, username="py",
                        password=password, database="gw")
print("ping", client.ping())
# JSON points (the client turns them into line protocol), seconds precision.
assert client.write_points(
    [{"measurement": "py", "tags": {"via": "json"}, "time": 1700000000 + i,
      "fields": {"v": i * 1.5, "ok": True, "s": "str %d" % i}} for i in range(50)],
    time_precision="s")
# Line protocol as given, gzip-compressed by the client.
gz = InfluxDBClient(host="127.0.0.1", port=port, username="py",
                    password=password, database="gw", gzip=True)
assert gz.write_points(["py,via=gzip v=7i 1700000100"], protocol="line",
                       time_precision="s")
# One bad line among good ones: InfluxDB's 400 "partial write".
try:
    client.write_points(["py,via=partial v=1 1700000200", "py,via=partial v="],
                        protocol="line", time_precision="s")
    print("partial no-error")
except InfluxDBClientError as e:
    print("partial", e.code, e.content)
# A wrong password: 401.
try:
    InfluxDBClient(host="127.0.0.1", port=port, username="py", password="nope",
                   database="gw").write_points(["py,via=denied v=1 1700000300"],
                                               protocol="line", time_precision="s")
    print("denied no-error")
except InfluxDBClientError as e:
    print("denied", e.code)
print("ok")
