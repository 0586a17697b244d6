#!/usr/bin/env bash
# Creates a self-signed TLS certificate for local use, once.
#   scripts/cert.sh DIR    → DIR/cert.pem, DIR/key.pem (kept when both already exist)
# Subject localhost, SANs DNS:localhost, IP:127.0.0.1, IP:::1; valid 825 days.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir="${1:?usage: cert.sh DIR}"
mkdir -p "$dir"
if [[ -s "$dir/cert.pem" && -s "$dir/key.pem" ]]; then
    exit 0
fi
umask 077
tmp="$(mktemp -d "$dir/.new.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 825 \
    -subj "/CN=localhost/O=Marketlens local" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 \
    || die "openssl could not create the certificate in $dir"
chmod 600 "$tmp/key.pem"; chmod 644 "$tmp/cert.pem"
mv "$tmp/key.pem" "$dir/key.pem"; mv "$tmp/cert.pem" "$dir/cert.pem"
log "created a self-signed certificate for localhost in $dir"
