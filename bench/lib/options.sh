# Sourced by the bench/*.sh scripts: their long options, each taking one value, and their
# usage, which is their header comment.
#
# take_options SCRIPT HELP_LAST_LINE OPTIONS ARG...: OPTIONS lists the script's options as
# NAME=DEFAULT words (NAME without the dashes). Each sets the shell variable of its name
# with dashes as underscores to DEFAULT, then to the value given in ARG... (--build-dir DIR:
# build_dir=DIR). Reading stops at the first word not starting with "-"; option_words is
# then the number of words read, for the caller's `shift "$option_words"`. -h/--help prints
# lines 2 to HELP_LAST_LINE of SCRIPT without their "# " and exits 0; an option not listed
# exits 2 with one line on stderr.
take_options() {
  script=$1 help_last=$2 options=$3
  shift 3
  known=" "
  for option in $options; do
    name=${option%%=*}
    eval "$(echo "$name" | tr - _)=\${option#*=}"
    known="$known$name "
  done
  option_words=0
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) sed -n "2,${help_last}p" "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
      --*)
        name=${1#--}
        case "$known" in
          *" $name "*) eval "$(echo "$name" | tr - _)=\$2" ;;
          *) echo "$(basename "$script"): unknown option $1" >&2; exit 2 ;;
        esac
        shift 2
        option_words=$((option_words + 2)) ;;
      -*) echo "$(basename "$script"): unknown option $1" >&2; exit 2 ;;
      *) break ;;
    esac
  done
}
