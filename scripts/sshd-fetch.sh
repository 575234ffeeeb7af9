#!/bin/sh
# Makes an OpenSSH sshd available for the SFTP tests and the simulator, WITHOUT a daemon on port 22.
#  - If /usr/sbin/sshd exists, use it.
#  - Else download Debian's openssh-server, openssh-sftp-server and libwrap0 with `apt-get download`
#    (no postinst runs, nothing is started) into .sshd/ and unpack them there with `dpkg-deb -x`.
# Prints the absolute path of the sshd binary on stdout (diagnostics go to stderr).
# Exit status: 0 when an sshd is available, 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cache="${SSHD_CACHE_DIR:-$here/.sshd}"

if [ -n "${SSHD_PATH:-}" ] && [ -x "$SSHD_PATH" ]; then
  echo "$SSHD_PATH"; exit 0
fi
if [ -x /usr/sbin/sshd ]; then
  echo /usr/sbin/sshd; exit 0
fi
if [ -x "$cache/root/usr/sbin/sshd" ]; then
  echo "$cache/root/usr/sbin/sshd"; exit 0
fi

command -v apt-get >/dev/null 2>&1 || { echo "sshd-fetch: no /usr/sbin/sshd and no apt-get" >&2; exit 1; }
command -v dpkg-deb >/dev/null 2>&1 || { echo "sshd-fetch: no dpkg-deb" >&2; exit 1; }

mkdir -p "$cache/debs" "$cache/root"
cd "$cache/debs"
# apt-get download runs as the invoking user; as root, apt's sandbox user _apt cannot write here, so allow it.
chmod 777 "$cache/debs" 2>/dev/null || true
pkgs="openssh-server openssh-sftp-server libwrap0"
if ! apt-get download $pkgs >&2; then
  echo "sshd-fetch: apt-get download failed; running apt-get update once" >&2
  apt-get update >&2 || true
  apt-get download $pkgs >&2 || { echo "sshd-fetch: could not download $pkgs" >&2; exit 1; }
fi
for deb in ./*.deb; do
  dpkg-deb -x "$deb" "$cache/root"
done
if [ -x "$cache/root/usr/sbin/sshd" ]; then
  echo "$cache/root/usr/sbin/sshd"; exit 0
fi
echo "sshd-fetch: unpacked packages but found no usr/sbin/sshd" >&2
exit 1
