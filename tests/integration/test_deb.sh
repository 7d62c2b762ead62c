# The package and its deployment, for real: `make deb`'s script builds the
# .deb (lintian must find no error), debootstrap makes a fresh Debian 12
# target (minbase plus what a VM has: systemd, python3 for ansible, iproute2)
# from this machine's apt mirror, and deploy/ansible/site.yml deploys into it
# through ansible's chroot connection, as agent, server (monitor) and
# controller at once. The target lives in a network namespace of its own (its
# own eth0, a veth to a second namespace for the controller), so the source
# address aliases the playbook adds land there and not on this machine.
#   pass 1 (tags: package): apt installs the .deb with its dependencies from
#     the mirror (outside the namespace: the mirror is on this machine's network)
#   pass 2 (everything, in the namespace): the package again (must be
#     unchanged), kernel settings, limits, key, agent, monitor, controller
#   pass 3 (the same): must change nothing
# Then: the files, the units enabled (systemctl --root) and verified
# (systemd-analyze verify), the aliases on the namespace's eth0, and the
# installed agent started with its unit's ExecStartPre/ExecStart lines and the
# written configuration (systemd is not PID 1 here) joins the installed
# controller in the other namespace with the shared key: 40 connections from
# the 4 alias addresses to the installed refpush, exact delivery. sysctl -p is
# not applied (pushstorm_sysctl_apply=false): fs.file-max and fs.nr_open are
# not per namespace and would change this machine; the file is checked
# instead. The debootstrap result is cached as a tarball in build/deb-target/
# (each run unpacks a fresh copy). No mounts outlive the commands that made
# them (each is inside a private mount namespace); namespaces, processes (by
# PID) and the target are removed on exit.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot, ip netns)"
need_cmd unshare
for c in dpkg-buildpackage dh lintian ansible-playbook debootstrap; do need_dep "$c"; done
ip netns add "psdeb$$probe" 2>/dev/null || skip "cannot create network namespaces"
ip netns del "psdeb$$probe"
mkdir "$T/proc-probe"
unshare -m --propagation private mount -t proc proc "$T/proc-probe" 2>/dev/null ||
  skip "cannot mount /proc in a private mount namespace (the target's /proc)"
ok_step() { echo "step: $1 ($(( $(date +%s) - STEP0 ))s)"; STEP0=$(date +%s); }
STEP0=$(date +%s)

SUF=$(( $$ % 100000 ))
VM=ps${SUF}vm CN=ps${SUF}ctl
R=$T/root
deb_cleanup() {
  set +e
  cleanup_pids
  for ns in "$VM" "$CN"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  # nothing is mounted on the target (private mount namespaces), but never
  # remove a tree something is mounted on
  if grep -q " $R[/ ]" /proc/mounts; then
    echo "deb test: mounts left on $R:" >&2; grep " $R[/ ]" /proc/mounts >&2
    KEEP_TMP=1
  fi
  cleanup
}
cleanup_pids() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
  PIDS=()
}
trap deb_cleanup EXIT

# 1. The package.
"$ROOT/scripts/deb.sh" >"$T/deb.out" 2>&1 || { cat "$T/deb.out"; fail "make deb failed"; }
tail -3 "$T/deb.out"
DEB=$(ls "$ROOT"/build/deb/pushstorm_*_amd64.deb)
grep -E "^[EW]:" "$ROOT/build/deb/lintian.txt" && fail "lintian errors or warnings (docs/deploy.md lists none)"
DEPS=$(dpkg-deb -f "$DEB" Depends)
for d in libwebsockets-evlib-uv libwebsockets17 libnng1 libuv1 libsqlite3-0 libcurl4 libyaml-0-2; do
  grep -q "\b$d\b" <<<"$DEPS" || fail "the package does not depend on $d: $DEPS"
done
ok_step "package built, lintian clean"

# 2. The target: a pristine debootstrap, cached.
MIRROR=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null |
  awk '$2 == "bookworm" {print $1; exit}')
MIRROR=${MIRROR%/}
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
INCLUDE=systemd,python3,python3-apt,iproute2
CACHE=$ROOT/build/deb-target
BASE=$CACHE/bookworm-minbase-$(printf %s "$MIRROR $INCLUDE" | md5sum | cut -c1-8).tar
if [ ! -f "$BASE" ]; then
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --include="$INCLUDE" bookworm "$T/boot" "$MIRROR" >"$T/debootstrap.log" 2>&1 ||
    { tail -20 "$T/debootstrap.log"; fail "debootstrap from $MIRROR failed"; }
  tar -C "$T/boot" -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
  rm -rf "$T/boot"
  ok_step "debootstrap bookworm minbase+$INCLUDE from $MIRROR"
fi
mkdir "$R"
tar -C "$R" -xf "$BASE"
echo vm1 >"$R/etc/hostname"
ok_step "fresh target unpacked from $(basename "$BASE")"

# The two ways into the target: on this machine's network (pass 1), and in the
# VM namespace (pass 2 and everything after); each with its own /proc in a
# private mount namespace that ends with the command. SYSTEMD_OFFLINE: no
# systemd runs there, so systemctl (and ansible's systemd module) only edit
# unit state (enable) and skip daemon-reload, start and restart.
cat >"$T/enter-host" <<SH
#!/bin/sh
export SYSTEMD_OFFLINE=1
exec unshare -m --propagation private sh -c 'mount -t proc proc "\$0/proc" && exec chroot "\$0" "\$@"' "\$@"
SH
cat >"$T/enter-vm" <<SH
#!/bin/sh
export SYSTEMD_OFFLINE=1
exec ip netns exec $VM sh -c 'mount -t proc proc "\$0/proc" && exec chroot "\$0" "\$@"' "\$@"
SH
chmod +x "$T/enter-host" "$T/enter-vm"
vm() { "$T/enter-vm" "$R" "$@"; }

# 3. The network: VM (eth0 NET.2) and controller (eth0 NET.1), one veth apart.
for _ in $(seq 20); do
  NET=10.$((200 + RANDOM % 50)).$((RANDOM % 250))
  ip -4 route | grep -q "^$NET\." || break
done
ip netns add "$VM"; ip netns add "$CN"
ip link add eth0 netns "$VM" type veth peer name eth0 netns "$CN"
ip -n "$VM" addr add "$NET.2/24" dev eth0; ip -n "$CN" addr add "$NET.1/24" dev eth0
for ns in "$VM" "$CN"; do ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up; done

# 4. The inventory and what it points at.
( umask 077; head -c 32 /dev/urandom | base64 >"$T/pushstorm.key" )
WSP=8080 CTL=7700
cat >"$T/nightly.yaml" <<YAML
name: nightly
targets:
  - {ws: "ws://$NET.1:$WSP/ws?uid={conn}", push: "http://$NET.1:$WSP/push?uid={conn}"}
connections: {total: 40}
phases:
  - ramp: {to: 40, rate: 200/s}
  - hold: 1s
  - push: {mode: unicast, count: 20, rate: 100/s, grace: 2s}
thresholds:
  connect_success: ">= 100%"
  push_lost: "== 0"
YAML
cat >"$T/inventory.yml" <<YAML
all:
  vars:
    ansible_connection: community.general.chroot
    ansible_chroot_exe: $T/enter-vm
    ansible_python_interpreter: /usr/bin/python3
    pushstorm_deb: $DEB
    pushstorm_controller: tcp://$NET.1:$CTL
    pushstorm_key_src: $T/pushstorm.key
    pushstorm_sysctl_apply: false
    pushstorm_start: true
  children:
    pushstorm_agents:
      hosts:
        $R:
          pushstorm_agent_name: vm1
          pushstorm_source_dev: eth0
          pushstorm_source_prefix: 24
          pushstorm_source_ip_first: $NET.101
          pushstorm_source_ip_count: 4
          pushstorm_allow_targets: $NET.0/24
    pushstorm_servers:
      hosts:
        $R:
          pushstorm_monitor_process: refpush
    pushstorm_controller:
      hosts:
        $R:
          pushstorm_nightly_plan_src: $T/nightly.yaml
          pushstorm_nightly_listen: tcp://$NET.1:$CTL
          pushstorm_nightly_calendar: "*-*-* 03:15:00"
YAML
PLAYBOOK=$ROOT/deploy/ansible/site.yml
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCAL_TEMP=$T/ansible-tmp ANSIBLE_HOME=$T/ansible-home

# 5. Pass 1: the package from the mirror. Pass 2: everything, in the namespace.
ansible-playbook -i "$T/inventory.yml" "$PLAYBOOK" --tags package -e "ansible_chroot_exe=$T/enter-host" \
  >"$T/pass1.log" 2>&1 || { cat "$T/pass1.log"; fail "playbook pass 1 (package) failed"; }
grep -A1 'PLAY RECAP' "$T/pass1.log" | tail -1
ok_step "playbook pass 1: package installed with its dependencies"
ansible-playbook -i "$T/inventory.yml" "$PLAYBOOK" >"$T/pass2.log" 2>&1 ||
  { cat "$T/pass2.log"; fail "playbook pass 2 failed"; }
grep -A1 'PLAY RECAP' "$T/pass2.log" | tail -1
grep -A1 'TASK \[pushstorm : package installed\]' "$T/pass2.log" | grep -q '^ok:' ||
  fail "pass 2 changed the installed package: $(grep -A1 'TASK \[pushstorm : package installed\]' "$T/pass2.log")"
ok_step "playbook pass 2: everything (package unchanged)"
# A deployment is rerun after every change of the inventory: a third pass
# over a deployed host must change nothing.
ansible-playbook -i "$T/inventory.yml" "$PLAYBOOK" >"$T/pass3.log" 2>&1 ||
  { cat "$T/pass3.log"; fail "playbook pass 3 failed"; }
grep -A1 'PLAY RECAP' "$T/pass3.log" | tail -1 | grep -q ' changed=0 ' ||
  { grep -B3 '^changed:' "$T/pass3.log"; fail "pass 3 changed a deployed host: $(grep -A1 'PLAY RECAP' "$T/pass3.log" | tail -1)"; }
ok_step "playbook pass 3: nothing changed"

# 6. What it set up.
expect_eq "package installed" "install ok installed $(dpkg-deb -f "$DEB" Version)" \
  "$(vm dpkg-query -W -f='${Status} ${Version}' pushstorm)"
for b in pushstorm pushstorm-agent refpush; do
  vm "/usr/bin/$b" --version | grep -q "^$b " || fail "/usr/bin/$b --version in the target"
  [ -f "$R/usr/share/man/man1/$b.1.gz" ] || fail "no man page for $b"
done
for u in pushstorm-agent.service pushstorm-monitor.service pushstorm-nightly.service pushstorm-nightly.timer; do
  [ -f "$R/lib/systemd/system/$u" ] || fail "no unit $u"
done
expect_eq "units enabled" "enabled enabled enabled" "$(systemctl --root="$R" is-enabled \
  pushstorm-agent.service pushstorm-monitor.service pushstorm-nightly.timer | tr '\n' ' ' | sed 's/ $//')"
# --man=no: the target has no man-db (the pages are checked above)
vm systemd-analyze verify --man=no pushstorm-agent.service pushstorm-monitor.service pushstorm-nightly.service \
  pushstorm-nightly.timer >"$T/verify.log" 2>&1 || { cat "$T/verify.log"; fail "systemd-analyze verify"; }
[ -s "$T/verify.log" ] && { cat "$T/verify.log"; fail "systemd-analyze verify has complaints"; }
cmp -s "$R/usr/share/pushstorm/90-pushstorm.conf" "$R/etc/sysctl.d/90-pushstorm.conf" || fail "sysctl file"
cmp -s "$R/usr/share/pushstorm/limits.conf" "$R/etc/security/limits.d/90-pushstorm.conf" || fail "limits file"
# every key would apply at boot (systemd-sysctl): each exists in this kernel
while read -r key _; do
  [ -e "/proc/sys/${key//.//}" ] || fail "sysctl key $key does not exist in this kernel"
done < <(grep -E '^[a-z]' "$R/etc/sysctl.d/90-pushstorm.conf")
grep -q 'nofile *1048576' "$R/etc/security/limits.d/90-pushstorm.conf" || fail "limits content"
expect_eq "agent key" "root root 600" "$(stat -c '%U %G %a' "$R/etc/pushstorm/agent.key")"
expect_eq "controller key" "pushstorm pushstorm 600" "$(vm stat -c '%U %G %a' /etc/pushstorm/controller.key)"
cmp -s "$T/pushstorm.key" "$R/etc/pushstorm/agent.key" || fail "agent key content"
expect_eq "nightly user" "/var/lib/pushstorm" "$(vm getent passwd pushstorm | cut -d: -f6)"
expect_eq "agent settings" "PUSHSTORM_CONTROLLER=tcp://$NET.1:$CTL|PUSHSTORM_AGENT_ARGS=\"--name vm1 --source-ips $NET.101,$NET.102,$NET.103,$NET.104 --allow-targets $NET.0/24\"" \
  "$(grep -v '^#' "$R/etc/default/pushstorm-agent" | paste -sd'|')"
expect_eq "monitor settings" "PUSHSTORM_CONTROLLER=tcp://$NET.1:$CTL|PUSHSTORM_PROCESS=refpush" \
  "$(grep -v '^#' "$R/etc/default/pushstorm-monitor" | paste -sd'|')"
grep -q -- '--auth-key /etc/pushstorm/controller.key' "$R/etc/default/pushstorm-nightly" || fail "nightly key"
grep -qx 'OnCalendar=\*-\*-\* 03:15:00' "$R/etc/systemd/system/pushstorm-nightly.timer.d/pushstorm.conf" ||
  fail "timer OnCalendar drop-in"
expect_eq "aliases on the VM's eth0" "$NET.2/24 $NET.101/24 $NET.102/24 $NET.103/24 $NET.104/24" \
  "$(ip -n "$VM" -o -4 addr show dev eth0 | awk '{print $4}' | sort -t. -k4n | tr '\n' ' ' | sed 's/ $//')"
ip -4 -o addr | grep -q " $NET\.10[1-4]/" && fail "an alias leaked onto this machine"
ok_step "files, units, keys, aliases checked"

# 7. A joined agent: the unit's lines as systemd would run them. Credentials:
# a copy of the key owned by the service's (dynamic) user, mode 0400, in %d.
unit_lines() { # unit_lines KEY: KEY= lines of the agent unit and its drop-in, in order
  cat "$R/lib/systemd/system/pushstorm-agent.service" "$R/etc/systemd/system/pushstorm-agent.service.d/pushstorm.conf" |
    sed -n "s/^$1=//p"
}
DUID=61999
CRED=/run/credentials/pushstorm-agent.service
mkdir -p "$R$CRED"
cred=$(unit_lines LoadCredential)
expect_eq "agent credential" "auth-key:/etc/pushstorm/agent.key" "$cred"
install -m 0400 -o "$DUID" -g "$DUID" "$R${cred#auth-key:}" "$R$CRED/auth-key"
ENVS=$(unit_lines Environment | sed "s|%d|$CRED|g" | sed 's/^/export /')
START=$(unit_lines ExecStart | sed "s|%d|$CRED|g")
grep -q '^/usr/bin/pushstorm-agent ' <<<"$START" || fail "ExecStart: $START"
while read -r pre; do
  vm sh -c "${pre#+}" || fail "ExecStartPre failed: $pre"
done < <(unit_lines ExecStartPre)
expect_eq "ExecStartPre lines" 4 "$(unit_lines ExecStartPre | grep -c 'ip addr replace')"

# The controller side, installed programs too, in the controller namespace:
# refpush, and pushstorm as the nightly unit's user with its key.
DB=$R/var/lib/pushstorm/test.db
mkdir -p "$R/var/lib/pushstorm"; vm chown pushstorm:pushstorm /var/lib/pushstorm
ctl() { ip netns exec "$CN" sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$R" "$@"; }
start_listening RP "$T/refpush.log" ctl /usr/bin/refpush --bind "$NET.1" --port "$WSP" --quiet
ctl setpriv --reuid pushstorm --regid pushstorm --init-groups /usr/bin/pushstorm run /etc/pushstorm/nightly.yaml \
  --db /var/lib/pushstorm/test.db --listen "tcp://$NET.1:$CTL" --auth-key /etc/pushstorm/controller.key \
  >"$T/run.out" 2>&1 &
CP=$!; PIDS+=("$CP")
# Environment= first, then the EnvironmentFile overrides it (systemd's order);
# LimitNOFILE as systemd sets it before dropping to the service's user.
# (a container may forbid raising the hard limit: then the agent runs with
# this shell's, and says so in its first line).
NOFILE=$(unit_lines LimitNOFILE)
LIMIT=(prlimit --nofile="$NOFILE:$NOFILE")
if ! vm "${LIMIT[@]}" true 2>/dev/null; then
  echo "note: this machine does not allow LimitNOFILE=$NOFILE (hard limit $(ulimit -Hn)); the agent runs with $(ulimit -Hn)"
  NOFILE=$(ulimit -Hn); LIMIT=()
fi
vm "${LIMIT[@]}" setpriv --reuid "$DUID" --regid "$DUID" --clear-groups sh -c \
  "$ENVS; set -a; . /etc/default/pushstorm-agent; set +a; exec $START" >"$T/agent.log" 2>&1 &
AP=$!; PIDS+=("$AP")
for _ in $(seq 300); do grep -q "phase 2/3: hold" "$T/run.out" && break; kill -0 "$CP" 2>/dev/null || break; sleep 0.1; done
ip netns exec "$CN" ss -Htn state established "sport = :$WSP" | awk '{print $4}' | sed 's/:[0-9]*$//' |
  sort | uniq -c | awk '{print $2, $1}' | tr '\n' ' ' >"$T/peers"
wait_rc "$CP"; cat "$T/run.out"
[ "$RC" -eq 0 ] || { cat "$T/agent.log"; fail "the run exited $RC"; }
kill -0 "$AP" 2>/dev/null || { cat "$T/agent.log"; fail "the agent (no --once, as in its unit) did not stay up"; }
grep -q "vm1, .* fd limit $NOFILE, controller tcp://$NET.1:$CTL" "$T/agent.log" ||
  fail "the agent did not start with its unit's settings: $(head -1 "$T/agent.log")"
expect_eq "server's peers during the hold (the 4 aliases, 10 each)" \
  "$NET.101 10 $NET.102 10 $NET.103 10 $NET.104 10 " "$(cat "$T/peers")"
grep -q "not authenticated" "$T/run.out" && fail "the run was not authenticated"
last_run
expect_eq "the agent that joined" "vm1 40" "$(q "SELECT name || ' ' || conn_count FROM agents WHERE run_id=$RUN")"
expect_exact_delivery 20 40 0
ok_step "installed agent joined the installed controller with the key"
echo "deb test passed"
