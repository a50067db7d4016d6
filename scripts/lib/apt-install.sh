# Sourced by the scripts that install test and build tooling from Debian's packages (install-toolchains.sh,
# container-setup.sh, install-test-deps.sh): one way to install what is missing, and one way to say why nothing was.

# apt_install TAG WHAT [--no-install-recommends] PKG...: installs the packages, or, without root or apt-get, says
# which are missing and that WHAT will be skipped, and returns 1 (the tests that need them then skip with a reason).
apt_install() {
  local tag=$1 what=$2 options=()
  shift 2
  [ "${1:-}" = --no-install-recommends ] && { options+=("$1"); shift; }
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$tag: not root or no apt-get; missing: $* ($what will be skipped)" >&2
    return 1
  fi
  echo "$tag: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${options[@]}" "$@" >/dev/null
}
