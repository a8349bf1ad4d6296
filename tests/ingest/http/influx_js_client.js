// Writes through /api/v2/write with the official InfluxDB 2 JavaScript client
// (vendored): token auth, gzip on. Usage: node influx_js_client.js URL TOKEN
// BUCKET N. Prints the Content-Encoding of every request it sent, then "ok";
// exits 1 with the client's error on failure.
'use strict';
const http = require('http');
const path = require('path');
const sent = [];
const request = http.request;
http.request = function (...args) {  // record what the client put on the wire
  const opts = args.find((a) => a && typeof a === 'object' && !(a instanceof URL));
  if (opts && opts.headers) sent.push(opts.headers['content-encoding'] || 'identity');
  return request.apply(this, args);
};
const {InfluxDB, Point} = require(path.join(__dirname, 'vendor', 'influxdb-client'));

const [url, token, bucket, n] = process.argv.slice(2);
const write = new InfluxDB({url, token}).getWriteApi('gateway', bucket, 's', {
  gzipThreshold: 1,  // gzip every body
  maxRetries: 0,     // an error must surface, not be retried away
  batchSize: 1000,
});
for (let i = 0; i < Number(n); i++) {
  write.writePoint(
      new Point('js').tag('via', 'node').tag('i', String(i % 10)).floatField('v', i + 0.5)
          .intField('n', i).timestamp(1700000000 + i));
}
write.close()
    .then(() => {
      console.log('encodings ' + sent.join(','));
      console.log('ok');
    })
    .catch((e) => {
      console.error('write failed: ' + e);
      process.exit(1);
    });
