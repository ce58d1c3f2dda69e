# tests/image/lib.sh: running programs inside the image deploy/image.sh makes
# (build/image), as a container runtime would but without one: the image
# unpacked by umoci, then chroot as the user, with the environment and the
# working directory its config names, in a mount namespace of its own where
# the root is read-only (as deploy/runtime.plumb's Deployment mounts it)
# and /proc, /dev and the given mounts are the only other file systems.
# The network is the machine's: 127.0.0.1 inside is the test cluster's.
# Needs root (umoci unpack keeps the files' owners; chroot, mount).
# Sourced; sets nothing until called.

# image_unpack DIR: unpacks build/image/oci at its one tag into DIR (a
# runtime bundle: DIR/rootfs, DIR/config.json), building the image first
# when there is none.
image_unpack() {
  [ -f build/image/oci/index.json ] || sh deploy/image.sh >/dev/null || return 1
  tag=$(sed -n 's/.*"org.opencontainers.image.ref.name":"\([^"]*\)".*/\1/p' build/image/oci/index.json)
  umoci unpack --image "build/image/oci:$tag" "$1" >/dev/null
}

# image_process BUNDLE FIELD: the user ("UID:GID"), cwd, args or env (one a
# line) of the process the image's config starts.
image_process() {
  python3 -c 'import json, sys
p = json.load(open(sys.argv[1] + "/config.json"))["process"]
f = sys.argv[2]
if f == "user": print("%d:%d" % (p["user"]["uid"], p["user"]["gid"]))
elif f == "cwd": print(p["cwd"])
else: print("\n".join(p[f]))' "$1" "$2"
}

# image_path BUNDLE PATH: where PATH of the image is in BUNDLE/rootfs, its
# symbolic links followed inside it (/var/run is a link to /run: followed
# here, it would lead out to this machine's /run).
image_path() {
  python3 -c 'import os, sys
root, todo, done, hops = sys.argv[1] + "/rootfs", sys.argv[2].strip("/").split("/"), [], 0
while todo:
    part = todo.pop(0)
    if part in ("", "."): continue
    if part == "..": done = done[:-1]; continue
    here = os.path.join(root, *done, part)
    if os.path.islink(here) and hops < 40:
        hops += 1
        link = os.readlink(here)
        if link.startswith("/"): done = []
        todo = link.strip("/").split("/") + todo
    else:
        done.append(part)
print(os.path.join(root, *done))' "$1" "$2"
}

# image_exec BUNDLE COMMAND...: COMMAND in the image, as its user, with its
# environment and the variables of IMAGE_ENV ("NAME=VALUE ..."), and the
# mounts of IMAGE_MOUNTS ("SOURCE:TARGET ..." bound read-only;
# "tmpfs:TARGET" an empty directory of the user's, as an emptyDir). With
# IMAGE_PIDFILE set, the process id of COMMAND is written there: the same
# through the execs that lead to it, so that a signal reaches it.
image_exec() {
  bundle=$1; shift
  user=$(image_process "$bundle" user) cwd=$(image_process "$bundle" cwd)
  env=$(image_process "$bundle" env | tr '\n' ' ')
  mounts=""
  for m in ${IMAGE_MOUNTS:-}; do
    to=$(image_path "$bundle" "${m#*:}")
    mkdir -p "$to"
    mounts="$mounts ${m%%:*}:$to"
  done
  unshare --mount --propagation private sh -c '
    set -e
    r=$1 user=$2 cwd=$3 env=$4 mounts=$5; shift 5
    mount --bind "$r" "$r"
    mount -t proc proc "$r/proc"
    mount --rbind /dev "$r/dev"
    for m in $mounts; do
      case $m in
        tmpfs:*) mount -t tmpfs -o "mode=0755,uid=${user%:*},gid=${user#*:}" tmpfs "${m#*:}" ;;
        *) mount --bind "${m%%:*}" "${m#*:}" && mount -o remount,bind,ro "${m#*:}" ;;
      esac
    done
    mount -o remount,bind,ro "$r"
    [ -z "${IMAGE_PIDFILE:-}" ] || echo $$ >"$IMAGE_PIDFILE"
    exec chroot --userspec="$user" "$r" /usr/bin/env -i $env ${IMAGE_ENV:-} sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
  ' sh "$bundle/rootfs" "$user" "$cwd" "$env" "$mounts" "$@"
}

# image_run BUNDLE ARGS...: the image's entrypoint with ARGS, as a
# container's args are given.
image_run() {
  bundle=$1; shift
  set -- "$bundle" $(image_process "$bundle" args) "$@"
  image_exec "$@"
}
