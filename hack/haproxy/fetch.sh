#!/usr/bin/env bash
# Installs one HAProxy line (2.6, 3.0, 3.2 or 3.4) from Debian's archive under
# .cache/haproxy/VERSION/ and prints the path of its binary.
#
# Lines newer than bookworm's need a newer glibc than this machine's, so the
# package and the libraries it needs are extracted into one root and the
# binary is patched to load that root's loader and libraries (patchelf
# --force-rpath: with a plain RUNPATH, liblua's libm would resolve to the
# system's older glibc). A wrapper that runs the loader explicitly is not
# enough: on reload the master re-executes /proc/self/exe without it.
#
# apt-get runs with a private sources list, lists and cache under the
# version's directory; the system's apt configuration is not touched.
# Idempotent: a binary already installed for the newest offered package is
# reused. Environment: DEBIAN_MIRROR (default: the system's first Debian URI,
# else http://deb.debian.org/debian), HAPROXY_CACHE (default .cache/haproxy).
set -euo pipefail

line="${1:-}"
case "$line" in
  2.6) suites=(bookworm bookworm-updates bookworm-security) ;;
  3.0) suites=(trixie trixie-updates trixie-security) ;;
  3.2) suites=(unstable) ;;
  3.4) suites=(experimental unstable) ;;
  *) echo "usage: $0 2.6|3.0|3.2|3.4" >&2; exit 2 ;;
esac
# Libraries come from the first suite that has them, in this order; the
# experimental suite holds few of them, unstable holds the rest.
lib_suites=("${suites[@]}")

root_dir="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${HAPROXY_CACHE:-$root_dir/.cache/haproxy}"
dir="$cache/$line"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
log="$dir/fetch.log"
: >"$log"

say() { echo "fetch.sh $line: $*" >&2; }
fail() { say "$*"; [ -s "$log" ] && tail -n 20 "$log" >&2; exit 1; }

need_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || fail "$1 is missing; install package $2 (needs root)"
  say "installing $2"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >>"$log" 2>&1 ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >>"$log" 2>&1; } ||
    fail "could not install $2"
}
need_cmd patchelf patchelf
need_cmd dpkg-deb dpkg

mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(grep -hE '^[[:space:]]*(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list.d/*.list 2>/dev/null | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)"
  mirror="${mirror%/}"
  [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
fi

apt_dir="$dir/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dir/debs"
sources="$apt_dir/sources.list"
: >"$sources"
for s in "${suites[@]}"; do
  uri="$mirror"
  # Security updates live in their own archive beside the mirror's.
  case "$s" in *-security) uri="${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}" ;; esac
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $s main" >>"$sources"
done
apt_opts=(-o "Dir::Etc::SourceList=$sources" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o Dir::State::Status=/dev/null -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1
  -o Acquire::Retries=3 -o APT::Sandbox::User=root)

say "reading ${suites[*]} from $mirror"
apt-get "${apt_opts[@]}" -qq update >>"$log" 2>&1 || fail "apt-get update failed for ${suites[*]} at $mirror"
# apt-get update succeeds with warnings when a suite cannot be read.
for s in "${suites[@]}"; do
  ls "$apt_dir/lists/"*"_dists_${s}_main_binary-amd64_Packages"* >/dev/null 2>&1 ||
    fail "could not read suite $s from $mirror"
done

# The newest haproxy of the line in any of the suites (versions compared by dpkg).
best=""
while read -r version; do
  v="${version#*:}"
  case "$v" in "$line".*) ;; *) continue ;; esac
  if [ -z "$best" ] || dpkg --compare-versions "$version" gt "$best"; then best="$version"; fi
done < <(apt-cache "${apt_opts[@]}" madison haproxy 2>>"$log" | awk -F'|' '{gsub(/ /, "", $2); print $2}')
[ -n "$best" ] || fail "no haproxy $line.x is offered in ${suites[*]} at $mirror (offered: $(apt-cache "${apt_opts[@]}" madison haproxy 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); printf "%s ", $2}'))"

stamp="$dir/installed"
binary="$dir/haproxy"
if [ -x "$binary" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$best" ] && "$binary" -v >/dev/null 2>&1; then
  echo "$binary"
  exit 0
fi
say "installing haproxy $best"

# haproxy and the shared libraries it (and they) load.
libs=(libc6 libssl3t64 libssl3 liblua5.4-0 liblua5.3-0 libpcre2-8-0 libjemalloc2 libcrypt1
  libopentracing-c-wrapper0t64 libopentracing-c-wrapper0 libopentracing1 libstdc++6 libgcc-s1
  libzstd1 zlib1g libsystemd0 libcap2 liblzma5 libgcrypt20 libgpg-error0 liblz4-1)
rm -rf "$dir/debs" && mkdir -p "$dir/debs"
(cd "$dir/debs" && apt-get "${apt_opts[@]}" -qq download "haproxy=$best" >>"$log" 2>&1) ||
  fail "could not download haproxy=$best"
for lib in "${libs[@]}"; do
  for s in "${lib_suites[@]}"; do
    if (cd "$dir/debs" && apt-get "${apt_opts[@]}" -qq download "$lib/$s" >>"$log" 2>&1); then break; fi
  done
done

root="$dir/root"
rm -rf "$root" && mkdir -p "$root"
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
libdir="$root/usr/lib/x86_64-linux-gnu"
mkdir -p "$libdir"
# Before the /usr merge (bookworm) libraries and the loader live under
# /lib; gather them into the one library dir.
if [ -d "$root/lib/x86_64-linux-gnu" ]; then cp -a "$root/lib/x86_64-linux-gnu/." "$libdir/"; fi
[ -x "$root/usr/sbin/haproxy" ] || fail "the haproxy package holds no usr/sbin/haproxy"
[ -e "$libdir/ld-linux-x86-64.so.2" ] || fail "no loader in the extracted libc6"

cp "$root/usr/sbin/haproxy" "$binary.new"
patchelf --set-interpreter "$libdir/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$libdir" "$binary.new" ||
  fail "patchelf failed"
# Every library the binary needs must resolve inside the root.
missing="$("$libdir/ld-linux-x86-64.so.2" --library-path "$libdir" --list "$binary.new" 2>&1 | grep 'not found' || true)"
[ -z "$missing" ] || fail "libraries missing from the root: $missing"
out="$("$binary.new" -v 2>&1)" || fail "the patched binary does not run: $out"
case "$out" in *"version $line."*) ;; *) fail "the patched binary reports: $out" ;; esac
mv -f "$binary.new" "$binary"
echo "$best" >"$stamp"
rm -rf "$dir/debs"
say "$(echo "$out" | head -n1)"
echo "$binary"
