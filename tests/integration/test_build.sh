# The Makefile's conventions: `make install` puts the programs, their man pages
# and the systemd units (with the installed bin directory in them) under
# DESTDIR/PREFIX and `make uninstall` takes exactly those away again; a package
# pkg-config cannot find stops the build with its name instead of leaving its
# flags out.
source "$(dirname "$0")/lib.sh"
need_dep help2man
M=(make --no-print-directory -C "$ROOT")
D=$T/root
"${M[@]}" install DESTDIR="$D" PREFIX=/opt/ps >"$T/install.log" 2>&1 || { cat "$T/install.log"; exit 1; }
for p in pushstorm pushstorm-agent refpush; do
  [ -x "$D/opt/ps/bin/$p" ] || { echo "FAIL: $p not installed"; exit 1; }
  m=$D/opt/ps/share/man/man1/$p.1
  grep -q '^\.TH' "$m" || { echo "FAIL: no man page $m"; exit 1; }
  # the page is made from the program's --help: every option of it is in the page
  for opt in $("$D/opt/ps/bin/$p" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "${opt//-/\\\\-}" "$m" || grep -q -- "$opt" "$m" ||
      { echo "FAIL: $p.1 lacks $opt"; exit 1; }
  done
done
grep -q '^\.SS report' "$D/opt/ps/share/man/man1/pushstorm.1" ||
  { echo "FAIL: pushstorm.1 lacks the report command"; exit 1; }
U=$D/opt/ps/lib/systemd/system
for u in pushstorm-agent.service pushstorm-monitor.service pushstorm-nightly.service \
         pushstorm-nightly.timer; do
  [ -f "$U/$u" ] || { echo "FAIL: $u not installed"; exit 1; }
  ! grep -q '@[A-Z]*@\|/usr/local' "$U/$u" || { grep -n '@\|/usr/local' "$U/$u"; exit 1; }
done
grep -q '^ExecStart=/opt/ps/bin/pushstorm-agent ' "$U/pushstorm-agent.service"
grep -q '^ExecStart=/opt/ps/bin/pushstorm run ' "$U/pushstorm-nightly.service"
echo "ok: install under DESTDIR/PREFIX: $(find "$D" -type f | wc -l) files"

"${M[@]}" uninstall DESTDIR="$D" PREFIX=/opt/ps >"$T/uninstall.log" 2>&1 || { cat "$T/uninstall.log"; exit 1; }
left=$(find "$D" -type f)
[ -z "$left" ] || { echo "FAIL: make uninstall left: $left"; exit 1; }
echo "ok: make uninstall removed every installed file"

# -n -B: the link recipe is expanded (it asks pkg-config) but nothing runs or changes
rc=0; "${M[@]}" -n -B bin/refpush REF_PKGS="libuv no-such-package-x" >"$T/pkg.log" 2>&1 || rc=$?
expect_eq "build with a missing package exit" 2 "$rc"
grep -q 'no package "no-such-package-x"' "$T/pkg.log" || { cat "$T/pkg.log"; exit 1; }
! grep -q 'no package "libuv"' "$T/pkg.log" || { cat "$T/pkg.log"; exit 1; }
echo "ok: $(grep -o 'pkg-config finds.*' "$T/pkg.log")"
