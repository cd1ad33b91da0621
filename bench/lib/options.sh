# Sourced by the bench/*.sh scripts: their long options, each taking one value, and their
# usage, which is their header comment.
#
# take_option SCRIPT HELP_LAST_LINE KNOWN ARG...: reads the option ARG... starts with.
# An option of KNOWN (names without the dashes, space-separated) is assigned to the shell
# variable of its name with dashes as underscores (--build-dir DIR: build_dir=DIR), and
# option_words is set to 2. A word not starting with "-" sets option_words to 0 (the
# options have ended). -h/--help prints lines 2 to HELP_LAST_LINE of SCRIPT without their
# "# " and exits 0; any other option exits 2 with one line on stderr.
take_option() {
  script=$1 help_last=$2 known=" $3 "
  shift 3
  case "$1" in
    -h|--help) sed -n "2,${help_last}p" "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --*)
      name=${1#--}
      case "$known" in
        *" $name "*) eval "$(echo "$name" | tr - _)=\$2"; option_words=2 ;;
        *) echo "$(basename "$script"): unknown option $1" >&2; exit 2 ;;
      esac ;;
    -*) echo "$(basename "$script"): unknown option $1" >&2; exit 2 ;;
    *) option_words=0 ;;
  esac
}
