#!/usr/bin/env bash
# `make deb`: builds the Debian package build/deb/pushstorm_VERSION_ARCH.deb with
# Debian's own tooling (dpkg-buildpackage, debhelper; deploy/debian/ is the
# debian/ directory) on a copy of the tree in a temporary directory, so the
# build's leftovers (debian/pushstorm/, .debhelper, the parent-directory
# outputs dpkg-buildpackage writes) stay out of the sources; only the results
# come to build/deb/ (not the copy: the Makefile includes every *.d under
# build/, and the package tree has a sysusers.d). Then lintian checks the
# result and the build fails on any lintian error.
#   scripts/deb.sh            build and check
set -euo pipefail
cd "$(dirname "$0")/.."
for c in dpkg-buildpackage dh lintian; do
  command -v "$c" >/dev/null ||
    { echo "deb: $c is not installed (make test-deps installs debhelper, dpkg-dev and lintian)" >&2; exit 1; }
done
version=$(dpkg-parsechangelog -l deploy/debian/changelog -S Version)
code=$(sed -n 's/^#define PS_VERSION_STRING *"\(.*\)"/\1/p' proto/ps_proto.h)
[ "$version" = "$code" ] || {
  echo "deb: deploy/debian/changelog is at $version but proto/ps_proto.h says $code: add a changelog entry (dch -v $code)" >&2
  exit 1
}
out=build/deb
tmp=$(mktemp -d /tmp/pushstorm-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/pushstorm-$version
rm -rf "$out"
mkdir -p "$src" "$out"
# The tree as it is (committed or not), without build products or git data.
tar -c --exclude=./build --exclude=./bin --exclude=./.git --exclude='./demo.db*' . | tar -x -C "$src"
rm -rf "$src/debian"
cp -r deploy/debian "$src/debian"
echo "deb: building pushstorm $version (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
  tail -40 "$out/build.log" >&2
  echo "deb: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
  exit 1
fi
cp "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$out"/
changes=$(ls "$out"/pushstorm_"$version"_*.changes)
echo "deb: $(ls "$out"/*.deb | tr '\n' ' ')"
# --fail-on error: warnings are listed (docs/deploy.md says why each stays), errors fail.
lintian --fail-on error --info --display-level '>=warning' "$changes" | tee "$out/lintian.txt"
echo "deb: lintian: $(grep -c '^E:' "$out/lintian.txt" || true) errors," \
  "$(grep -c '^W:' "$out/lintian.txt" || true) warnings (build/deb/lintian.txt)"
