#!/bin/bash
# A Debian rootfs made once by debootstrap and cached, from the mirror the
# host's apt uses (sourced, bash).  Shared by the tests' containers
# (tests/nspawn.sh) and `make image` (packaging/image/build-image.sh).
#
#   rootfs_mirror [SUITE]                   the Debian mirror to use
#   rootfs_debootstrap DIR SUITE PACKAGES   DIR holds `debootstrap
#                                           --variant=minbase
#                                           --include=PACKAGES SUITE`,
#                                           built once, then reused
#
# Neither installs anything on the host: debootstrap must be there.

# rootfs_mirror [SUITE]: prints the Debian mirror the host's apt uses for
# SUITE's main archive (default bookworm; one-line .list and deb822
# .sources formats), or deb.debian.org.  SENTRIX_MIRROR, or the tests'
# SENTRIX_TEST_MIRROR, overrides it.
rootfs_mirror() {
	local suite=${1:-bookworm} f m=
	m=${SENTRIX_MIRROR:-${SENTRIX_TEST_MIRROR:-}}
	if [ -n "$m" ]; then
		echo "$m"
		return
	fi
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		case $f in
		*.sources)
			# Paragraphs: Types, URIs, Suites; the first deb one with the
			# plain suite wins.
			m=$(awk -v suite="$suite" '
				function flush() { if (deb && has && uri != "" && !found) { print uri; found = 1 } deb = has = 0; uri = "" }
				/^[ \t]*$/ { flush(); next }
				/^[ \t]*#/ { next }
				tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
				tolower($1) == "uris:" { uri = $2 }
				tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
				tolower($1) == "enabled:" && tolower($2) == "no" { deb = 0 }
				END { flush() }' "$f")
			;;
		*)
			m=$(awk -v suite="$suite" '
				$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
					if ($(i + 1) == suite) { print $i; exit } }' "$f")
			;;
		esac
		[ -n "$m" ] && break
	done
	echo "${m:-http://deb.debian.org/debian}"
}

# rootfs_debootstrap DIR SUITE PACKAGES: makes sure DIR holds a complete
# minbase rootfs of SUITE with PACKAGES (comma-separated) and their
# dependencies.  DIR.stamp says "building" while DIR is being (re)built and
# the debootstrap command once it is complete; another stamp means build
# again (into DIR.new, renamed into place).  A non-empty DIR without a stamp
# was not made here and is never replaced.  Serialized with flock on
# DIR.lock.  Returns non-zero, with debootstrap's log tail on stderr, when
# it cannot.
rootfs_debootstrap() {
	local dir=$1 suite=$2 packages=$3 mirror want log rc
	command -v debootstrap >/dev/null || { echo "debootstrap is not installed (Debian package debootstrap)" >&2; return 1; }
	mkdir -p "$(dirname "$dir")" || return 1
	mirror=$(rootfs_mirror "$suite")
	want="debootstrap --variant=minbase --include=$packages $suite"
	(
		flock 9
		if [ -x "$dir/usr/lib/systemd/systemd" ] && [ "$(cat "$dir.stamp" 2>/dev/null)" = "$want" ]; then
			exit 0
		fi
		if [ ! -e "$dir.stamp" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
			echo "$dir exists but was not made by rootfs_debootstrap (no $dir.stamp); not touching it" >&2
			exit 1
		fi
		echo "# building the $suite rootfs in $dir from $mirror (debootstrap, a minute or more)" >&2
		echo building >"$dir.stamp" || exit 1
		rm -rf "$dir.new"
		log=$(mktemp /tmp/sx-debootstrap.XXXXXX)
		debootstrap --variant=minbase --include="$packages" "$suite" "$dir.new" "$mirror" >"$log" 2>&1
		rc=$?
		if [ $rc != 0 ]; then
			tail -5 "$log" | sed 's/^/    | /' >&2
			rm -rf "$dir.new" "$log"
			exit $rc
		fi
		rm -f "$log"
		rm -rf "$dir" && mv "$dir.new" "$dir" && echo "$want" >"$dir.stamp"
	) 9>"$dir.lock"
}
