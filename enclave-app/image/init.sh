#!/bin/sh
# PID 1's script inside the enclave (the image's CMD). Brings up loopback, starts the two
# socat bridges, then runs the app; if anything exits, the enclave stops serving.
#
#   KMS forwarder  127.0.0.1:443 (kms.<region>.amazonaws.com, from /etc/hosts baked at build)
#                  → vsock CID 3 (the parent) port 8000, where vsock-proxy allows that one host.
#                  TLS runs end to end from the app to KMS: the forwarder and the parent see bytes.
#   parent channel vsock port 5000 → /run/pp/enclave.sock, the app's only listener.
#
# Nothing here logs: socat runs without -v, and the console exists only in debug mode.
set -eu
ip link set lo up
mkdir -p /run/pp
socat TCP-LISTEN:443,bind=127.0.0.1,reuseaddr,fork VSOCK-CONNECT:3:8000 &
socat VSOCK-LISTEN:5000,reuseaddr,fork UNIX-CONNECT:/run/pp/enclave.sock &
exec /usr/local/bin/node --use-bundled-ca /app/enclave/main.js
