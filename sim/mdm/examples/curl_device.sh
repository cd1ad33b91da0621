#!/usr/bin/env bash
# A device from outside attestlab enrolling in `attestlab mdm serve`, with nothing but curl
# and plistutil (libplist-utils): what a real device, or your own device simulator, sends.
#
#   attestlab mdm serve --listen 127.0.0.1:8443 --data-dir /tmp/mdm \
#       --acme-directory https://acme.example/acme/directory &
#   sim/mdm/examples/curl_device.sh https://127.0.0.1:8443/mdm /tmp/mdm/tls/cert.pem
#
# Steps (Apple's MDM protocol, plist bodies over HTTPS):
#   1. GET  /mdm/enroll    the enrollment profile; its MDM payload names the Topic,
#                          CheckInURL (/mdm/checkin) and ServerURL (/mdm/connect)
#   2. PUT  /mdm/checkin   Authenticate (UDID, serial, OS), then TokenUpdate (push token)
#   3. PUT  /mdm/connect   Status Idle: the server answers with the next queued command
#                          (InstallProfile with the ACME payload, then DeviceInformation
#                          asking for DevicePropertiesAttestation)
#   4. PUT  /mdm/connect   Status Acknowledged (or Error) with the CommandUUID: the next one
#   5. GET  /mdm/devices   what the MDM knows (JSON); PUT /mdm/checkin CheckOut leaves
# Exits non-zero when any answer is not what the protocol says.
set -euo pipefail
base=${1:?usage: curl_device.sh MDM_URL CA_CERT_PEM [UDID]}
cacert=${2:?usage: curl_device.sh MDM_URL CA_CERT_PEM [UDID]}
udid=${3:-00008110-000A1B2C3D4E5F61}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
checkin_type="Content-Type: application/x-apple-aspen-mdm-checkin"
command_type="Content-Type: application/x-apple-aspen-mdm"

# A plist document around the dict body given on stdin.
plist() {
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0"><dict>\n'
  cat
  printf '</dict></plist>\n'
}
# PUT a plist body (stdin) to PATH with a content type; the answer goes to FILE.
put() {  # path content-type file
  curl -sS --fail --cacert "$cacert" -X PUT -H "$2" --data-binary @- -o "$3" "$base$1"
}
# The string value of KEY in an XML plist file (first occurrence).
value_of() {  # file key
  grep -A1 "<key>$2</key>" "$1" | sed -n 's:.*<string>\(.*\)</string>.*:\1:p' | head -1
}

# 1. The enrollment profile (it may be signed or binary: plistutil reads both forms).
curl -sS --fail --cacert "$cacert" -o "$work/enroll.mobileconfig" "$base/enroll"
plistutil -i "$work/enroll.mobileconfig" -o "$work/enroll.xml" -f xml
topic=$(value_of "$work/enroll.xml" Topic)
[ -n "$topic" ] || { echo "no Topic in the enrollment profile" >&2; exit 1; }
echo "enrollment profile: Topic $topic"

# 2. Authenticate, then TokenUpdate.
plist <<PLIST | put /checkin "$checkin_type" "$work/auth.out"
<key>MessageType</key><string>Authenticate</string>
<key>Topic</key><string>$topic</string>
<key>UDID</key><string>$udid</string>
<key>SerialNumber</key><string>P7XJ3K2LQX</string>
<key>OSVersion</key><string>17.5</string>
<key>BuildVersion</key><string>21F79</string>
<key>ProductName</key><string>iPhone15,2</string>
PLIST
plist <<PLIST | put /checkin "$checkin_type" "$work/token.out"
<key>MessageType</key><string>TokenUpdate</string>
<key>Topic</key><string>$topic</string>
<key>UDID</key><string>$udid</string>
<key>Token</key><data>$(head -c 32 /dev/urandom | base64 -w0)</data>
<key>PushMagic</key><string>curl-device</string>
PLIST
echo "checked in: Authenticate, TokenUpdate"

# 3./4. Idle, then acknowledge each command until the queue is empty (an empty answer).
status=Idle
uuid=""
for _ in 1 2 3 4 5 6 7 8; do
  { printf '<key>UDID</key><string>%s</string>\n<key>Status</key><string>%s</string>\n' "$udid" "$status"
    [ -z "$uuid" ] || printf '<key>CommandUUID</key><string>%s</string>\n' "$uuid"
  } | plist | put /connect "$command_type" "$work/command.plist"
  [ -s "$work/command.plist" ] || { echo "command queue empty"; break; }
  plistutil -i "$work/command.plist" -o "$work/command.xml" -f xml
  uuid=$(value_of "$work/command.xml" CommandUUID)
  echo "command: $(value_of "$work/command.xml" RequestType) ($uuid)"
  status=Acknowledged
done

# 5. What the MDM recorded, then leave.
curl -sS --fail --cacert "$cacert" "$base/devices/$udid" -o "$work/device.json"
grep -q "\"udid\": *\"$udid\"" "$work/device.json" || { echo "the MDM does not list $udid" >&2; exit 1; }
echo "the MDM lists the device: $(head -c 160 "$work/device.json")"
plist <<PLIST | put /checkin "$checkin_type" "$work/checkout.out"
<key>MessageType</key><string>CheckOut</string>
<key>Topic</key><string>$topic</string>
<key>UDID</key><string>$udid</string>
PLIST
echo "checked out"
