#!/usr/bin/env bash
# Deploy this working tree to a Raspberry Pi as a new release, or roll back.
#
#   deploy/release.sh --host USER@HOST [--keep N] [--force] [--dry-run]
#   deploy/release.sh --root DIR [--restart] [--keep N] [--force] [--dry-run]
#       (on the Pi itself: sudo deploy/release.sh --root /opt/mona-frame --restart)
#   deploy/release.sh (--host USER@HOST | --root DIR [--restart]) --rollback [--dry-run]
#   deploy/release.sh (--host USER@HOST | --root DIR) --prune [--keep N] [--dry-run]
#
# Layout on the target (ROOT is /opt/mona-frame for --host, as systemd/mona-frame.service
# expects; DIR for --root):
#   ROOT/releases/<UTC time>-<git sha>[-dirty]/   one release: the tracked files, its own
#                                                 .venv, models/*.tflite, bytecode
#   ROOT/current -> releases/<id>                 the live release (ExecStart goes through it)
#
# A deploy copies the tracked files (`git ls-files`, so no .venv, models or caches) with
# rsync, hard-linking files unchanged since the current release (--link-dest); then, on
# the target: a venv with --system-site-packages (Picamera2, libcamera and systemd-python
# come from apt), `pip install -e .` (editable: the frame finds models/ next to its code),
# the models (hard links to the current release's, then models/fetch_models.py checks
# them against the manifest and fetches only what is missing or wrong) and the bytecode.
# Only then does `current` switch, atomically (a new symlink renamed over it). With
# --host (or --restart) the service restarts and must come up, or `current` goes back
# to the release before and the new one is removed. The newest N releases are kept
# (default 5), never the one `current` names. A step that fails removes the half-built
# release and leaves `current` as it was. Releases share files through hard links:
# never edit one in place.
#
# --host runs rsync over ssh and the target's steps as `sudo -n bash` (no sudo for
# root@HOST); the target needs bash, python3, python3-venv and rsync (deploy/ansible
# installs them). Deploying the commit that already runs (clean tree) does nothing
# unless --force. Run one deploy at a time per target.
#
# Environment:
#   MONA_FRAME_SSH=CMD           ssh command for --host (default: ssh), e.g. "ssh -p 2222"
#   MONA_FRAME_REMOTE_ROOT=DIR   ROOT for --host (default /opt/mona-frame, which the unit runs)
#   MONA_FRAME_SKIP_INSTALL=1    no venv or pip install (tests; the real path is the default)
#   MONA_FRAME_NO_RESTART=1      never restart the service
#   MONA_FRAME_SYSTEMCTL=CMD     systemctl to use on the target (tests pass a fake one)
#   MONA_FRAME_VERIFY_DELAY_S=S  seconds the restarted service must stay up (default 3)
set -euo pipefail
export LC_ALL=C

SERVICE=mona-frame
REMOTE_ROOT=/opt/mona-frame
DEFAULT_KEEP=5
# `systemctl restart` of a Type=notify unit returns once the frame sends READY=1 (camera
# delivering frames); a crash just after that shows up within a few seconds.
DEFAULT_VERIFY_DELAY_S=3
# Written into a release once it is fully built; a release without it is half-built.
COMPLETE_MARKER=.mona-frame-release
RELEASE_ID_RE='^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{7,40}(-dirty)?$'
# A new release must sort after the newest one; within the same second, wait this often.
CLOCK_RETRIES=3

usage() {
    sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

die() {
    echo "release: error: $*" >&2
    exit 1
}

# --- Target side: runs on the Pi (through `ssh ... bash -s`) or on DIR for --root ---------

DRY=0

step() {
    if [[ $DRY == 1 ]]; then
        echo "release: [dry run] $*"
    else
        echo "release: $*"
    fi
}

is_release_id() {
    [[ $1 =~ $RELEASE_ID_RE ]]
}

# The release id `ROOT/current` points to, or nothing.
current_id() {
    local root=$1 link
    link=$(readlink "$root/current" 2>/dev/null) || return 0
    link=${link%/}
    echo "${link##*/}"
}

# Complete release ids, oldest first (the names sort by time).
release_ids() {
    local root=$1 dir id
    for dir in "$root"/releases/*/; do
        [[ -d $dir ]] || continue
        id=$(basename "$dir")
        if is_release_id "$id" && [[ -e $dir/$COMPLETE_MARKER ]]; then
            echo "$id"
        fi
    done
}

# Point ROOT/current at releases/ID atomically: rename(2) a new symlink over the old one.
switch_current() {
    local root=$1 id=$2 temp
    temp="$root/.current.$$"
    ln -sfn "releases/$id" "$temp"
    mv -T "$temp" "$root/current"
}

# Restart the service and check it stays up; returns non-zero if it does not.
restart_and_verify() {
    local systemctl=$1 delay=$2
    "$systemctl" restart "$SERVICE" || return 1
    sleep "$delay"
    "$systemctl" is-active --quiet "$SERVICE"
}

# prepare ROOT DRY: make ROOT/releases, drop half-built releases a killed deploy left,
# then print "current ID" and "newest ID" (ID empty if none) for the deploying side.
target_prepare() {
    local root=$1 dir id current tool
    DRY=$2
    for tool in python3 rsync; do
        command -v "$tool" >/dev/null \
            || die "the target has no $tool (apt-get install python3-venv rsync)"
    done
    [[ $DRY == 1 ]] || mkdir -p "$root/releases"
    current=$(current_id "$root")
    for dir in "$root"/releases/*/; do
        [[ -d $dir ]] || continue
        id=$(basename "$dir")
        if is_release_id "$id" && [[ ! -e $dir/$COMPLETE_MARKER && $id != "$current" ]]; then
            step "remove half-built release $id (left by an interrupted deploy)" >&2
            [[ $DRY == 1 ]] || rm -rf -- "${dir%/}"
        fi
    done
    echo "current $current"
    echo "newest $(release_ids "$root" | tail -n 1)"
}

# discard ROOT ID: remove a release whose deploy failed before it went live.
target_discard() {
    local root=$1 id=$2
    is_release_id "$id" || die "not a release id: $id"
    [[ $id != "$(current_id "$root")" ]] || die "refusing to remove the current release $id"
    rm -rf -- "${root:?}/releases/$id"
}

# prune ROOT KEEP DRY [PROTECT]: remove all but the newest KEEP releases, never the
# current one (nor PROTECT, the release about to become current in a dry run).
target_prune() {
    local root=$1 keep=$2 protect=${4-} current id count
    DRY=$3
    current=$(current_id "$root")
    local -a ids=()
    while IFS= read -r id; do
        ids+=("$id")
    done < <(release_ids "$root")
    [[ -n $protect ]] && ids+=("$protect")
    count=${#ids[@]}
    for id in "${ids[@]:0:$((count > keep ? count - keep : 0))}"; do
        [[ $id == "$current" || $id == "$protect" ]] && continue
        step "remove old release $id (keeping the newest $keep)"
        [[ $DRY == 1 ]] || rm -rf -- "${root:?}/releases/$id"
    done
}

# Python to run the release's scripts: its venv's, or the system's without one.
release_python() {
    local dir=$1
    if [[ -x $dir/.venv/bin/python ]]; then
        echo "$dir/.venv/bin/python"
    else
        command -v python3
    fi
}

# Build releases/ID (already copied): venv, pip install, models, bytecode, marker.
build_release() {
    local root=$1 id=$2 install=$3 previous=$4
    local dir="$root/releases/$id" python model linked=0
    if [[ $install == 1 ]]; then
        step "create .venv (python3 -m venv --system-site-packages)"
        [[ $DRY == 1 ]] || python3 -m venv --system-site-packages "$dir/.venv"
        step "pip install -e . (a few minutes on a Pi)"
        [[ $DRY == 1 ]] || (cd "$dir" && .venv/bin/python -m pip install -q \
            --disable-pip-version-check --no-input -e .)
    else
        step "skip venv and pip install (MONA_FRAME_SKIP_INSTALL=1)"
    fi
    if [[ -n $previous ]]; then
        for model in "$root/releases/$previous"/models/*.tflite; do
            [[ -f $model ]] || continue
            [[ $DRY == 1 ]] || ln -f "$model" "$dir/models/" || cp -p "$model" "$dir/models/"
            linked=$((linked + 1))
        done
    fi
    step "models: $linked linked from the current release; fetch_models.py checks them" \
        "and fetches the rest"
    if [[ $DRY != 1 ]]; then
        python=$(release_python "$dir")
        (cd "$dir" && "$python" models/fetch_models.py)
    fi
    step "compile bytecode (python -m compileall)"
    if [[ $DRY != 1 ]]; then
        python=$(release_python "$dir")
        "$python" -m compileall -q -j 0 -x '/\.venv/' "$dir" \
            || die "compileall failed in $id (the error is above)"
        touch "$dir/$COMPLETE_MARKER"
    fi
}

HALF_BUILT=""

# EXIT trap while a release is being built: a failure removes it.
remove_half_built() {
    local rc=$?
    if [[ $rc != 0 && -n $HALF_BUILT ]]; then
        rm -rf -- "$HALF_BUILT"
        echo "release: removed the half-built release ${HALF_BUILT##*/}; current unchanged" >&2
    fi
}

# activate ROOT ID KEEP INSTALL RESTART SYSTEMCTL VERIFY_DELAY DRY: build the copied
# release, switch current to it, restart and verify (else roll back), prune.
target_activate() {
    local root=$1 id=$2 keep=$3 install=$4 restart=$5 systemctl=$6 delay=$7
    DRY=$8
    local previous
    is_release_id "$id" || die "not a release id: $id"
    previous=$(current_id "$root")
    if [[ $DRY != 1 ]]; then
        # Until `current` switches, any failure removes the half-built release.
        HALF_BUILT="$root/releases/$id"
        trap remove_half_built EXIT
    fi
    build_release "$root" "$id" "$install" "$previous"
    step "switch current -> releases/$id"
    if [[ $DRY != 1 ]]; then
        switch_current "$root" "$id"
        trap - EXIT
    fi
    if [[ $restart == 1 ]]; then
        step "restart $SERVICE and check it stays active for ${delay}s"
        if [[ $DRY != 1 ]] && ! restart_and_verify "$systemctl" "$delay"; then
            if [[ -z $previous ]]; then
                die "$SERVICE did not come up (journalctl -u $SERVICE) and there is no earlier" \
                    "release to roll back to; current stays at $id"
            fi
            step "$SERVICE did not come up: roll back to $previous"
            switch_current "$root" "$previous"
            rm -rf -- "${root:?}/releases/$id"
            "$systemctl" restart "$SERVICE" \
                || echo "release: $SERVICE does not start on $previous either" >&2
            die "release $id failed to start (journalctl -u $SERVICE); rolled back to $previous"
        fi
        step "$SERVICE is active"
    else
        step "no service restart (--root without --restart, or MONA_FRAME_NO_RESTART=1)"
    fi
    if [[ $DRY == 1 ]]; then
        target_prune "$root" "$keep" "$DRY" "$id"
    else
        target_prune "$root" "$keep" "$DRY"
    fi
    step "done: current is $id"
}

# rollback ROOT RESTART SYSTEMCTL VERIFY_DELAY DRY: current -> the release before it.
target_rollback() {
    local root=$1 restart=$2 systemctl=$3 delay=$4
    DRY=$5
    local current previous="" id found=0
    current=$(current_id "$root")
    [[ -n $current ]] || die "$root/current does not exist: nothing to roll back"
    while IFS= read -r id; do
        if [[ $id == "$current" ]]; then
            found=1
            break
        fi
        previous=$id
    done < <(release_ids "$root")
    ((found)) || die "current points to $current, not a release in $root/releases"
    [[ -n $previous ]] || die "no release older than the current $current to roll back to"
    step "switch current -> releases/$previous (was $current)"
    [[ $DRY == 1 ]] || switch_current "$root" "$previous"
    if [[ $restart == 1 ]]; then
        step "restart $SERVICE and check it stays active for ${delay}s"
        if [[ $DRY != 1 ]] && ! restart_and_verify "$systemctl" "$delay"; then
            die "$SERVICE did not come up on $previous either (journalctl -u $SERVICE)"
        fi
    fi
    step "done: current is $previous"
}

target_main() {
    umask 022
    local action=${1-}
    shift || true
    case $action in
        prepare) target_prepare "$@" ;;
        discard) target_discard "$@" ;;
        prune) target_prune "$@" ;;
        activate) target_activate "$@" ;;
        rollback) target_rollback "$@" ;;
        *) die "unknown target action: $action" ;;
    esac
}

# --- Deploying side -------------------------------------------------------------------

HOST=""
ROOT=""

# Run a target action: through ssh on HOST, or in a local bash for --root. Either way the
# script itself is fed to `bash -s`, so both take the same path.
run_target() {
    local self
    self=${BASH_SOURCE[0]}
    if [[ -n $HOST ]]; then
        local -a ssh_cmd
        read -r -a ssh_cmd <<<"${MONA_FRAME_SSH:-ssh}"
        local sudo="sudo -n "
        [[ $HOST == root@* ]] && sudo=""
        "${ssh_cmd[@]}" "$HOST" "${sudo}bash -s -- --target $(printf '%q ' "$@")" <"$self"
    else
        bash -s -- --target "$@" <"$self"
    fi
}

# Copy the tracked files of SRC into ROOT/releases/ID, hard-linking unchanged files
# from releases/PREVIOUS.
copy_tree() {
    local src=$1 id=$2 previous=$3
    # --checksum: a file is linked when its content matches, not its size and mtime (an
    # edit within one second keeps both); the tree is small, so hashing is cheap. No
    # --times: a checkout that only touched a file must not cost a copy.
    local -a opts=(--links --perms --checksum "--chmod=u+rwX,go=rX" --from0 --files-from=-)
    local dest
    [[ -n $previous ]] && opts+=("--link-dest=$ROOT/releases/$previous")
    if [[ -n $HOST ]]; then
        opts+=(-e "${MONA_FRAME_SSH:-ssh}")
        [[ $HOST == root@* ]] || opts+=(--rsync-path="sudo -n rsync")
        dest="$HOST:$ROOT/releases/$id/"
    else
        dest="$ROOT/releases/$id/"
    fi
    # Tracked files that still exist (a file deleted but not yet committed is skipped).
    git -C "$src" ls-files -z | while IFS= read -r -d '' path; do
        if [[ -e $src/$path || -L $src/$path ]]; then
            printf '%s\0' "$path"
        fi
    done | rsync "${opts[@]}" "$src/" "$dest"
}

# Settings from the command line and the environment (main sets them).
KEEP=$DEFAULT_KEEP
FORCE=0
RESTART=0
INSTALL=1
SYSTEMCTL=systemctl
VERIFY_DELAY_S=$DEFAULT_VERIFY_DELAY_S

deploy() {
    local src sha id stamp current newest tries=0 line files
    src=$(git -C "$(dirname "${BASH_SOURCE[0]}")/.." rev-parse --show-toplevel) \
        || die "deploy/release.sh must run from a git checkout of mona-frame"
    sha=$(git -C "$src" rev-parse --short=12 HEAD)
    if [[ -n $(git -C "$src" status --porcelain --untracked-files=no) ]]; then
        sha="$sha-dirty"
    fi

    step "inspect ${HOST:-local}:$ROOT"
    while IFS= read -r line; do
        case $line in
            "current "*) current=${line#current } ;;
            "newest "*) newest=${line#newest } ;;
        esac
    done < <(run_target prepare "$ROOT" "$DRY")
    [[ -v current && -v newest ]] || die "could not inspect $ROOT on ${HOST:-this machine}"

    if [[ $FORCE == 0 && $sha != *-dirty && ${current#*-} == "$sha" ]]; then
        step "current release $current already runs $sha; nothing to deploy (--force to redo)"
        return 0
    fi
    while :; do
        stamp=$(date -u +%Y%m%dT%H%M%SZ)
        [[ -z $newest || $stamp > ${newest%%-*} ]] && break
        tries=$((tries + 1))
        ((tries <= CLOCK_RETRIES)) || die "this machine's clock ($stamp) is behind the newest" \
            "release $newest; release names must sort by time: fix the clock"
        sleep 1
    done
    id="$stamp-$sha"

    files=$(git -C "$src" ls-files | wc -l)
    step "copy $((files)) tracked files to ${HOST:-local}:$ROOT/releases/$id" \
        "(hard links to ${current:-no release} for unchanged files)"
    if [[ $DRY != 1 ]]; then
        if ! copy_tree "$src" "$id" "$current"; then
            run_target discard "$ROOT" "$id" || true
            die "copying the tree failed; removed the partial release, current unchanged"
        fi
    fi
    run_target activate "$ROOT" "$id" "$KEEP" "$INSTALL" "$RESTART" "$SYSTEMCTL" \
        "$VERIFY_DELAY_S" "$DRY" || die "deploy of $id failed; current is still ${current:-unset}"
}

main() {
    if [[ ${1-} == --target ]]; then
        shift
        target_main "$@"
        return
    fi
    local action=deploy
    while (($#)); do
        case $1 in
            --host) HOST=${2-}; shift 2 || die "--host needs USER@HOST" ;;
            --root) ROOT=${2-}; shift 2 || die "--root needs a directory" ;;
            --keep) KEEP=${2-}; shift 2 || die "--keep needs a number" ;;
            --rollback) action=rollback; shift ;;
            --prune) action=prune; shift ;;
            --force) FORCE=1; shift ;;
            --restart) RESTART=1; shift ;;
            --dry-run) DRY=1; shift ;;
            -h | --help) usage; return 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
    done
    [[ $KEEP =~ ^[1-9][0-9]*$ ]] || die "--keep must be a whole number >= 1, not '$KEEP'"
    if [[ -n $HOST && -n $ROOT ]]; then
        die "give --host or --root, not both"
    elif [[ -n $HOST ]]; then
        [[ $HOST != -* && $HOST != *[[:space:]]* ]] || die "not a USER@HOST: '$HOST'"
        ROOT=${MONA_FRAME_REMOTE_ROOT:-$REMOTE_ROOT}
        RESTART=1
    elif [[ -n $ROOT ]]; then
        [[ $ROOT == /* ]] || ROOT="$PWD/$ROOT"
        ROOT=${ROOT%/}
    else
        usage >&2
        die "give --host USER@HOST (a Pi) or --root DIR (a local directory)"
    fi
    [[ $ROOT =~ ^/[A-Za-z0-9._/-]*$ ]] || die "the root path may hold only A-Z a-z 0-9 . _ / -: $ROOT"
    [[ ${MONA_FRAME_SKIP_INSTALL:-0} == 1 ]] && INSTALL=0
    [[ ${MONA_FRAME_NO_RESTART:-0} == 1 ]] && RESTART=0
    SYSTEMCTL=${MONA_FRAME_SYSTEMCTL:-systemctl}
    [[ $SYSTEMCTL != *[[:space:]]* ]] || die "MONA_FRAME_SYSTEMCTL must be one path"
    VERIFY_DELAY_S=${MONA_FRAME_VERIFY_DELAY_S:-$DEFAULT_VERIFY_DELAY_S}
    [[ $VERIFY_DELAY_S =~ ^[0-9]+$ ]] || die "MONA_FRAME_VERIFY_DELAY_S must be whole seconds"
    case $action in
        deploy) deploy ;;
        rollback) run_target rollback "$ROOT" "$RESTART" "$SYSTEMCTL" "$VERIFY_DELAY_S" "$DRY" ;;
        prune) run_target prune "$ROOT" "$KEEP" "$DRY" ;;
    esac
}

# Everything above only defines functions: bash has read the whole script (also when it
# arrives on stdin through `bash -s`) before any command below can read stdin.
main "$@"
