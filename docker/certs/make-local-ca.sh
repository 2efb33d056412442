#!/bin/sh
# Makes a local certificate authority and a server certificate signed by it, for local use only
# (a laptop, a test Swarm, the loopback stack test). Never for production: see docs/deploy.md for
# real certificates.
#
#   docker/certs/make-local-ca.sh [OUT_DIR] [NAME ...]
#
# OUT_DIR  where to write (default docker/certs/out/, which is kept out of images and git)
# NAME     extra DNS names or IP addresses for the server certificate; localhost, 127.0.0.1 and ::1
#          are always included
#
# Writes ca.crt, ca.key (kept and reused when present, so a CA you trusted stays trusted),
# server.crt (the server certificate followed by the CA, for nginx's ssl_certificate) and server.key.
# Trust ca.crt in your browser or pass it to clients (curl --cacert OUT_DIR/ca.crt ...).
set -eu

out=${1:-$(dirname "$0")/out}
[ $# -gt 0 ] && shift
mkdir -p "$out"
umask 077

if [ ! -s "$out/ca.key" ] || [ ! -s "$out/ca.crt" ]; then
  openssl req -x509 -new -nodes -sha256 -days 825 \
    -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$out/ca.key" -out "$out/ca.crt" \
    -subj "/O=BookStore local development/CN=BookStore local CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
fi

san="DNS:localhost,IP:127.0.0.1,IP:::1"
first=localhost
for name in "$@"; do
  case "$name" in
    *[!0-9.]*) case "$name" in *:*) san="$san,IP:$name" ;; *) san="$san,DNS:$name"; [ "$first" = localhost ] && first=$name ;; esac ;;
    *) san="$san,IP:$name" ;;
  esac
done

ext=$(mktemp)
csr=$(mktemp)
trap 'rm -f "$ext" "$csr"' EXIT
cat >"$ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF

openssl req -new -nodes -sha256 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout "$out/server.key" -out "$csr" -subj "/CN=$first" 2>/dev/null
openssl x509 -req -sha256 -days 365 -in "$csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -extfile "$ext" -out "$out/server.leaf.crt" 2>/dev/null
cat "$out/server.leaf.crt" "$out/ca.crt" >"$out/server.crt"
rm -f "$out/server.leaf.crt"
chmod 600 "$out/ca.key" "$out/server.key"
chmod 644 "$out/ca.crt" "$out/server.crt"

echo "make-local-ca: wrote $out/server.crt and $out/server.key for $san (CA: $out/ca.crt)"
