#!/bin/sh
# The sentrix image's first boot (installed as /usr/lib/sentrix-image/firstboot,
# run by sentrix-image-firstboot.service): provisions the instance that
# /etc/sentrix/image.conf describes with `sentrix sandbox setup
# --non-interactive`, which enables and starts sentrix@NAME.target, then
# writes /var/lib/sentrix-image/provisioned, whose existence keeps the unit
# from running again.  When setup fails nothing is written (setup rolls
# its own changes back), the unit fails and the next boot tries again.
#
#   firstboot                   provision (the unit)
#   firstboot --check FILE      only read FILE: exit 1, saying why, when it
#                               is not a valid configuration (make image)
#   firstboot --get KEY [FILE]  print KEY's value, or its default
#
# The format (docs/image.md): KEY=VALUE lines, blank lines and lines
# starting with # ignored, the value the rest of its line (blanks around
# it dropped, no quoting).  Keys: name, policy, setup_args.  The file is
# parsed, never sourced.
set -eu

CONF=/etc/sentrix/image.conf
STAMP=/var/lib/sentrix-image/provisioned

name=sandbox0
policy=strict
setup_args=

trim() { printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

# parse FILE: sets name, policy and setup_args; prints FILE:LINE: why and
# returns 1 at the first invalid line.
parse() {
	n=0
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=$(trim "$line")
		case $line in '' | '#'*) continue ;; esac
		case $line in
		*=*) ;;
		*)
			echo "$1:$n: not KEY=VALUE: $line" >&2
			return 1
			;;
		esac
		key=$(trim "${line%%=*}")
		value=$(trim "${line#*=}")
		case $key in
		name)
			case $value in
			'' | *[!a-z0-9-]* | ????????????*)
				echo "$1:$n: name must be 1 to 11 of [a-z0-9-]: '$value'" >&2
				return 1
				;;
			esac
			name=$value
			;;
		policy)
			case $value in
			default | strict | permissive | /*) ;;
			*)
				echo "$1:$n: policy must be default, strict, permissive or an absolute directory: '$value'" >&2
				return 1
				;;
			esac
			policy=$value
			;;
		setup_args)
			for a in $value; do
				case $a in
				--name | --name=* | --policy | --policy=*)
					echo "$1:$n: setup_args cannot hold $a: name= and policy= are keys of their own" >&2
					return 1
					;;
				--disable | --purge | --dry-run | --json | --help | -h)
					echo "$1:$n: setup_args cannot hold $a: the first boot provisions" >&2
					return 1
					;;
				esac
			done
			setup_args=$value
			;;
		*)
			echo "$1:$n: unknown key '$key' (name, policy, setup_args)" >&2
			return 1
			;;
		esac
	done <"$1"
}

set -f # setup_args is split on blanks, never globbed
case ${1:-} in
--check)
	parse "${2:?usage: firstboot --check FILE}"
	exit 0
	;;
--get)
	f=${3:-$CONF}
	[ ! -e "$f" ] || parse "$f"
	case ${2:-} in
	name) echo "$name" ;;
	policy) echo "$policy" ;;
	setup_args) echo "$setup_args" ;;
	*)
		echo "usage: firstboot --get name|policy|setup_args [FILE]" >&2
		exit 2
		;;
	esac
	exit 0
	;;
'') ;;
*)
	echo "usage: firstboot [--check FILE | --get KEY [FILE]]" >&2
	exit 2
	;;
esac

if [ ! -e "$CONF" ]; then
	echo "sentrix-image: no $CONF: provisioning $name with policy $policy"
else
	parse "$CONF"
fi
# shellcheck disable=SC2086
set -- sentrix sandbox setup --non-interactive --name "$name" --policy "$policy" $setup_args
echo "sentrix-image: first boot: $*"
"$@"
mkdir -p "${STAMP%/*}"
printf 'name=%s\npolicy=%s\nsetup_args=%s\nuptime=%s\n' "$name" "$policy" "$setup_args" \
	"$(cut -d' ' -f1 /proc/uptime)" >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
echo "sentrix-image: $name provisioned; sentrix@$name.target starts"
