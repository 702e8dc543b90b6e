#!/bin/sh
# Builds the worker AMI's software on a fresh Amazon Linux 2023 instance (run as root by
# the AMI pipeline, e.g. EC2 Image Builder or a one-off instance followed by CreateImage):
# the Nitro CLI at the version the release pipeline pins (enclave-app/image/pins.json), the
# vsock-proxy allowlist that lets the enclave reach exactly one host (KMS in this region),
# socat for the parent side of the parent channel, and Node.js 20 for the parent proxy.
# The parent proxy bundle and the EIF are not baked in: the worker's user data fetches
# them from the release bucket, so one AMI serves every release.
#
#   usage: build-ami.sh <nitro-cli version> <region>
set -eu
NITRO_CLI_VERSION="$1"
REGION="$2"
case "$REGION" in *[!a-z0-9-]*|"") echo "bad region" >&2; exit 1 ;; esac

dnf install -y "aws-nitro-enclaves-cli-${NITRO_CLI_VERSION}" "aws-nitro-enclaves-cli-devel-${NITRO_CLI_VERSION}" socat nodejs20
dnf versionlock add aws-nitro-enclaves-cli aws-nitro-enclaves-cli-devel 2>/dev/null || true

# vsock-proxy forwards only to hosts on its allowlist: the regional KMS endpoint, nothing else.
install -d -m 0755 /etc/nitro_enclaves
cat > /etc/nitro_enclaves/vsock-proxy.yaml <<YAML
allowlist:
- {address: kms.${REGION}.amazonaws.com, port: 443}
YAML

# Enclave memory and CPUs are set per instance type by the user data (allocator.yaml),
# before nitro-enclaves-allocator starts.
systemctl enable nitro-enclaves-allocator.service

cat > /etc/systemd/system/pp-vsock-proxy.service <<UNIT
[Unit]
Description=vsock-proxy to KMS for the enclave (one host)
After=nitro-enclaves-allocator.service
[Service]
ExecStart=/usr/bin/vsock-proxy 8000 kms.${REGION}.amazonaws.com 443 --config /etc/nitro_enclaves/vsock-proxy.yaml
Restart=always
DynamicUser=yes
[Install]
WantedBy=multi-user.target
UNIT

# The parent proxy connects to 127.0.0.1:5000; this carries it to the enclave's vsock port 5000
# (the enclave runs with --enclave-cid 16).
cat > /etc/systemd/system/pp-parent-channel.service <<UNIT
[Unit]
Description=Parent channel: loopback TCP to the enclave's vsock
[Service]
ExecStart=/usr/bin/socat TCP-LISTEN:5000,bind=127.0.0.1,reuseaddr,fork VSOCK-CONNECT:16:5000
Restart=always
DynamicUser=yes
[Install]
WantedBy=multi-user.target
UNIT

systemctl enable pp-vsock-proxy.service pp-parent-channel.service
# No SSM agent, no SSH: the instance is not logged into (the launch template has no key pair).
systemctl disable --now amazon-ssm-agent.service sshd.service 2>/dev/null || true
dnf clean all
