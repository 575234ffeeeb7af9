#!/bin/sh
# The compose file's `simulator` service: the package's Serviceplatform simulator (dist/simulator/cli.js, shipped in
# the packed tarball) in the same image, reachable from the replicas as https://$OS2_SIM_HOSTNAME:8443.
#
# The simulator makes its own test CA and a server certificate for localhost/127.0.0.1 only; the replicas reach it by
# its service name, so the server certificate is issued again here by the same test CA with that name added.
#
#   OS2_SIM_HOSTNAME     the name the replicas use (default simulator)
#   OS2_PACKAGE_DIR      the installed package (default: in the image's Node-RED node_modules)
#   SF2900_SIM_CERT_DIR  where the test certificates are kept (default /data/sim-certs; a volume keeps them)
#   SF2900_CONTRACT_DIR  the official SF2900 contract; requests are validated against its XSD when it is there,
#                        otherwise the simulator runs with --no-validate
#   SF2900_SIM_HOST, SF2900_SIM_PORT, SF2900_SIM_RECEIPT_URL, SF2900_SIM_RECEIPT_USER, SF2900_SIM_RECEIPT_PASSWORD,
#   SF2900_SIM_CVR       read by the simulator itself (simulator/cli.ts)
set -eu

name=${OS2_SIM_HOSTNAME:-simulator}
pkg=${OS2_PACKAGE_DIR:-/usr/src/node-red/node_modules/@os2/node-red-fordeling}
certs=${SF2900_SIM_CERT_DIR:-/data/sim-certs}
export SF2900_SIM_CERT_DIR="$certs"

[ -f "$pkg/dist/simulator/cli.js" ] || {
  echo "os2 simulator: $pkg/dist/simulator/cli.js not found (OS2_PACKAGE_DIR)" >&2
  exit 1
}
case "$name" in
  *[!A-Za-z0-9.-]* | '') echo "os2 simulator: OS2_SIM_HOSTNAME \"$name\" is not a host name" >&2; exit 1 ;;
esac

# 1. the simulator's certificates (kept while valid), made by the package's own code
node -e 'require(process.argv[1]).generateCerts(process.argv[2], { reuse: true, cvr: process.env.SF2900_SIM_CVR || undefined }).catch((e) => { console.error(`os2 simulator: ${e.message}`); process.exit(1); })' \
  "$pkg/dist/simulator/certs.js" "$certs"

# 2. the server certificate again, for the service name too (same key, same test CA)
cd "$certs"
umask 077
printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
  "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1" > server-name.ext
openssl req -new -key server.key -subj "/C=DK/O=Serviceplatform Simulator/CN=$name" -out server-name.csr 2>/dev/null
openssl x509 -req -in server-name.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -sha256 -extfile server-name.ext \
  -out server.crt 2>/dev/null
rm -f server-name.csr server-name.ext
chmod 644 server.crt ca.crt
cd - >/dev/null

# 3. the simulator, validating against the contract when it is mounted
set --
if [ -f "${SF2900_CONTRACT_DIR:-/contract}/contract/DistributionServiceMsg.xsd" ]; then
  export SF2900_CONTRACT_DIR="${SF2900_CONTRACT_DIR:-/contract}"
else
  echo "os2 simulator: no SF2900 contract at ${SF2900_CONTRACT_DIR:-/contract}: requests are not validated against the XSD"
  set -- --no-validate
fi
echo "os2 simulator: https://$name:${SF2900_SIM_PORT:-8443}, CA certificate $certs/ca.crt"
exec node "$pkg/dist/simulator/cli.js" "$@"
