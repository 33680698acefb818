#!/bin/bash
# The documentation: the man pages (man/*.scd) and the bash completion
# (packaging/completion/sentrix) against the programs.
#
#  - every option each command's --help shows has its item (a line an
#    indented description follows) in that command's part of its man page, and every option the parsers' tables
#    accept (setup_opts, the gateway's and logs' tables) is in the page;
#  - every command has its part in sentrix(8) and is in the completion;
#  - the pages have the usual sections, no text line of their source starts
#    with a dot (scdoc drops the line's first word), nothing of @VERSION@ or
#    the directories is left unsubstituted, and their cross references
#    name pages that exist;
#  - `make install DESTDIR=` installs the pages and the completion where
#    man(1) and bash-completion find them, and `make uninstall` removes them;
#  - the completion script loads and completes commands, options, instance
#    names (an instance this test sets up), the policy templates, provider
#    and variable names, and knows every option each --help shows.
# (Rendering without groff warnings is a static check: tests/run-all.sh.)
source "$(dirname "$0")/../lib.sh"

NAME=sxt74
TMP=$(mktemp -d /tmp/sxt-docs.XXXXXX)
trap 'cleanup_instance $NAME; rm -rf "$TMP"' EXIT
cleanup_instance $NAME
MAN=$TOP/man
COMPLETION=$TOP/packaging/completion/sentrix

if ! command -v scdoc >/dev/null; then
	skip "scdoc is not installed (packaging/install-deps.sh): the man pages are not built"
	summary
	exit 0
fi
make -s -C "$TOP" BUILD="$BUILD" man >"$TMP/make.log" 2>&1 || not_ok "make man: $(tail -3 "$TMP/make.log")"

# section FILE HEADING-PREFIX: the source lines of the part whose heading
# ("# X" or "## X") starts with HEADING-PREFIX, up to the next heading of
# the same or a higher level.
section() {
	awk -v want="$2" '
		/^#+ / {
			level = index($0, " ") - 1
			if (inside && level <= depth) exit
			if (!inside && index(substr($0, level + 2), want) == 1) { inside = 1; depth = level; next }
		}
		inside' "$1"
}

# help_options ARGV...: the options a --help shows on its usage and option
# lines (not those its prose mentions), one per line, without -h/--help.
help_options() {
	"$@" --help 2>&1 | awk '
		/^Usage:/ { usage = 1 }
		/^$/ { usage = 0 }
		usage || /^[ \t]+-/ { print }' |
		grep -oE '(^|[][ ,|])--?[a-z][a-z-]*' | grep -oE -- '--?[a-z][a-z-]*' |
		grep -vxE -- '-h|--help' | sort -u
}

# table_options FILE ARRAY: the long options in a C getopt table.
table_options() {
	sed -n "/$2\[\] = {/,/{0}/p" "$1" | grep -oE '\{"[a-z-]+"' | tr -d '{"' | sed 's/^/--/' |
		grep -vx -- --help | sort -u
}

CURRENT="man pages"
# command; man page; heading of its part; how to ask for its --help
while IFS=';' read -r cmd page heading argv; do
	[ -n "$cmd" ] || continue
	part=$(section "$MAN/$page" "$heading")
	if [ -z "$part" ]; then
		not_ok "$cmd: no part \"$heading\" in $page"
		continue
	fi
	# The item lines: those an indented description follows.
	items=$(awk 'prev != "" && /^\t/ && prev !~ /^\t/ { print prev } { prev = $0 }' <<<"$part")
	missing=""
	# shellcheck disable=SC2086
	for opt in $(help_options $argv); do
		grep -qF -- "*$opt*" <<<"$items" || missing="$missing $opt"
	done
	if [ -z "$missing" ]; then
		ok "$cmd: every option of its --help has its item in $page, \"$heading\""
	else
		not_ok "$cmd: $page, \"$heading\", has no item for$missing"
	fi
done <<EOF
sentrix;sentrix.8.scd;OPTIONS;$SENTRIX
sandbox setup;sentrix.8.scd;sentrix sandbox setup [OPTIONS];$SETUP setup
sandbox status;sentrix.8.scd;sentrix sandbox status;$SETUP status
sandbox list;sentrix.8.scd;sentrix sandbox list;$SETUP list
sandbox up;sentrix.8.scd;sentrix sandbox up|down;$SETUP up
sandbox down;sentrix.8.scd;sentrix sandbox up|down;$SETUP down
sandbox exec;sentrix.8.scd;sentrix sandbox exec [;$SETUP exec
sandbox run;sentrix.8.scd;sentrix sandbox run;$SETUP run
sandbox start;sentrix.8.scd;sentrix sandbox start|;$SETUP start
sandbox stop;sentrix.8.scd;sentrix sandbox start|;$SETUP stop
sandbox restart;sentrix.8.scd;sentrix sandbox start|;$SETUP restart
sandbox enable;sentrix.8.scd;sentrix sandbox start|;$SETUP enable
sandbox disable-boot;sentrix.8.scd;sentrix sandbox start|;$SETUP disable-boot
sandbox journal;sentrix.8.scd;sentrix sandbox journal;$SETUP journal
sandbox gc;sentrix.8.scd;sentrix sandbox gc;$SETUP gc
provider set;sentrix.8.scd;sentrix provider set;$SETUP provider set
provider list;sentrix.8.scd;sentrix provider list;$SETUP provider list
provider remove;sentrix.8.scd;sentrix provider remove;$SETUP provider remove
secrets set;sentrix.8.scd;sentrix secrets set|;$SETUP secrets set
secrets list;sentrix.8.scd;sentrix secrets set|;$SETUP secrets list
secrets remove;sentrix.8.scd;sentrix secrets set|;$SETUP secrets remove
policy check;sentrix.8.scd;sentrix policy check;$SENTRIX policy check
logs;sentrix.8.scd;sentrix logs;$SENTRIX logs
flags;sentrix.8.scd;sentrix flags;$SENTRIX flags
police cases;sentrix.8.scd;sentrix police cases;$SENTRIX police cases
police show;sentrix.8.scd;sentrix police cases;$SENTRIX police show
police investigate;sentrix.8.scd;sentrix police cases;$SENTRIX police investigate
patrol status;sentrix.8.scd;sentrix patrol status;$SENTRIX patrol status
patrol rescan;sentrix.8.scd;sentrix patrol status;$SENTRIX patrol rescan
gateway;sentrix-gateway.8.scd;OPTIONS;$BUILD/sentrix-gateway
EOF

# Everything the parsers accept, whether or not a --help shows it.
for spec in "src/setup/options.c setup_opts sentrix.8.scd" "src/gateway/main.c opts sentrix-gateway.8.scd" \
	"src/cli/logs.c logs_opts sentrix.8.scd"; do
	read -r src table page <<<"$spec"
	missing=""
	for opt in $(table_options "$TOP/$src" "$table"); do
		grep -qF -- "*$opt*" "$MAN/$page" || missing="$missing $opt"
	done
	check_eq "every option in $src's table is in $page" "" "${missing# }"
done
check "sentrix-gateway(8) describes -n, the short --name" grep -qF -- '*-n*, *--name*' "$MAN/sentrix-gateway.8.scd"

# Every command sentrix-setup knows has its part in sentrix(8) and is in
# sentrix-setup(8)'s synopsis.
for cmd in $(sed -n '/} commands\[\] = {/,/^};/p' "$TOP/src/setup/options.c" | grep -oE '\{"[a-z-]+"' | tr -d '{"'); do
	grep -qE "^## sentrix sandbox ([a-z|-]*\|)?$cmd[ |]" "$MAN/sentrix.8.scd" || grep -qE "^## sentrix sandbox $cmd$" "$MAN/sentrix.8.scd" ||
		not_ok "sentrix(8) has no part for sentrix sandbox $cmd"
	grep -qF "*$cmd*" <(section "$MAN/sentrix-setup.8.scd" SYNOPSIS) || not_ok "sentrix-setup(8)'s synopsis lacks $cmd"
done
ok "every sentrix-setup command has its part in sentrix(8) and is in sentrix-setup(8)'s synopsis"

for scd in "$MAN"/*.scd; do
	p=$(basename "$scd" .scd)
	# Outside ``` blocks, scdoc drops the dot of a line starting with
	# ".x" (".bashrc" becomes "bashrc"), and "\.x" reaches roff as a
	# request: the word vanishes.  ("..." is safe.)
	bad=$(awk '/^\t*```/ { lit = !lit; next } !lit && /^[ \t]*\\?\.[^. ]/ { print FILENAME ":" NR ": " $0 }' "$scd")
	check_eq "$p: no text line of its source starts with a dot" "" "$bad"
	text=$(MANWIDTH=80 man --nj --nh -l "$BUILD/man/$p" 2>/dev/null | col -b)
	want="NAME SYNOPSIS DESCRIPTION FILES EXAMPLES SEE_ALSO"
	case $p in *.8) want="NAME SYNOPSIS DESCRIPTION OPTIONS EXIT_STATUS ENVIRONMENT FILES EXAMPLES SEE_ALSO" ;; esac
	missing=""
	for s in $want; do grep -qx "${s//_/ }" <<<"$text" || missing="$missing ${s//_/ }"; done
	check_eq "$p: has the sections ${want//_/-}" "" "${missing# }"
	check_eq "$p: no @VERSION@, @datadir@ or @unitdir@ left" "" "$(grep -oE '@(VERSION|datadir|unitdir)@' "$BUILD/man/$p" | sort -u | tr '\n' ' ')"
	check "$p: names version $(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")" grep -q "sentrix $(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")" "$BUILD/man/$p"
	refs=$(grep -oE 'sentrix[a-z.-]*\([0-9]\)' <<<"$text" | sort -u)
	missing=""
	for r in $refs; do
		f=${r%(*}.${r#*(}
		[ -e "$BUILD/man/${f%)}" ] || missing="$missing $r"
	done
	check_eq "$p: its references to sentrix pages name pages that exist" "" "${missing# }"
done

CURRENT="install"
inst=$TMP/inst
make -s -C "$TOP" BUILD="$BUILD" DESTDIR="$inst" install >"$TMP/install.log" 2>&1 ||
	not_ok "make install DESTDIR=...: $(tail -3 "$TMP/install.log")"
mandir=$inst/usr/local/share/man
for pg in "8 sentrix" "8 sentrix-setup" "8 sentrix-gateway" "5 sentrix.policy"; do
	read -r sec pname <<<"$pg"
	check_eq "man -w $sec $pname finds the installed page" "$mandir/man$sec/$pname.$sec" \
		"$(man -M "$mandir" -w "$sec" "$pname" 2>&1)"
done
check "man -M ... sentrix renders the installed page" bash -c "MANWIDTH=80 man -M '$mandir' sentrix 2>/dev/null | grep -q 'SANDBOX COMMANDS'"
compdir=$inst/usr/local/share/bash-completion/completions
check "the completion is installed as .../bash-completion/completions/sentrix" test -s "$compdir/sentrix"
check "sentrix-setup and sentrix-gateway find it under their own names" \
	test "$(readlink "$compdir/sentrix-setup")/$(readlink "$compdir/sentrix-gateway")" = sentrix/sentrix
make -s -C "$TOP" BUILD="$BUILD" DESTDIR="$inst" uninstall >/dev/null 2>&1
check_eq "make uninstall DESTDIR=... removes the pages and the completion" "" \
	"$(find "$mandir" "$compdir" \( -type f -o -type l \) 2>/dev/null)"

CURRENT="completion"
check "bash -n packaging/completion/sentrix" bash -n "$COMPLETION"
check_eq "it registers a function for each program" "_sentrix _sentrix_setup _sentrix_gateway" \
	"$(bash --norc --noprofile -c "source '$COMPLETION'; for p in sentrix sentrix-setup sentrix-gateway; do complete -p \$p; done" |
		sed 's/.* -F \([^ ]*\) .*/\1/' | tr '\n' ' ' | sed 's/ $//')"

# comp WORD...: what the completion offers for the command line WORD...,
# the last word being the one under the cursor; sorted, one line.
comp() {
	bash --norc --noprofile -c '
		source "$0"
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		f=$(complete -p "${1##*/}" | sed "s/.* -F \([^ ]*\) .*/\1/")
		"$f"
		printf "%s\n" "${COMPREPLY[@]}" | sort -u | tr "\n" " " | sed "s/ $//"' "$COMPLETION" "$@"
}
check_eq "sentrix sand<TAB>" "sandbox" "$(comp sentrix sand)"
check_eq "sentrix sandbox st<TAB>" "start status stop" "$(comp sentrix sandbox st)"
check_eq "sentrix sandbox setup --po<TAB>" "--policy" "$(comp sentrix sandbox setup --po)"
check_eq "sentrix sandbox setup --policy <TAB> (in an empty directory)" "default permissive strict" \
	"$(cd "$TMP" && mkdir -p empty && cd empty && comp sentrix sandbox setup --policy '')"
check_eq "sentrix sandbox setup --policy p<TAB> also offers directories" "permissive polp" \
	"$(cd "$TMP" && mkdir -p pol/polp && cd pol && comp sentrix sandbox setup --policy p)"
check_eq "sentrix provider <TAB>" "list remove set" "$(comp sentrix provider '')"
check_eq "sentrix-setup provider l<TAB>" "list" "$(comp sentrix-setup provider l)"
check_eq "sentrix-setup --no-g<TAB> (setup's options without a command)" "--no-guardrail" "$(comp sentrix-setup --no-g)"
check_eq "sentrix-gateway --he<TAB>" "--health --help" "$(comp sentrix-gateway --he)"
check_eq "sentrix sandbox journal -<TAB>" "--follow --help --lines --name -f -n" "$(comp sentrix sandbox journal -)"
check_eq "sentrix sandbox setup --dns <TAB>" "filtered host none" "$(comp sentrix sandbox setup --dns '')"
check_eq "sentrix sandbox exec -- ech<TAB> completes a command" "echo" "$(comp sentrix sandbox exec --name x -- ech)"

# The options each --help shows are the options the completion offers.
while IFS='|' read -r key argv; do
	# shellcheck disable=SC2086
	want=$(help_options $argv | tr '\n' ' ' | sed 's/ $//')
	got=$(bash --norc --noprofile -c 'source "$0"; _sentrix_options "$1"' "$COMPLETION" "$key" | tr ' ' '\n' |
		grep -vxE -- '-h|--help' | grep . | sort -u | tr '\n' ' ' | sed 's/ $//')
	check_eq "the completion offers $key's options" "$want" "$got"
done <<EOF
sandbox setup|$SETUP setup
sandbox status|$SETUP status
sandbox list|$SETUP list
sandbox up|$SETUP up
sandbox exec|$SETUP exec
sandbox run|$SETUP run
sandbox start|$SETUP start
sandbox journal|$SETUP journal
sandbox gc|$SETUP gc
provider set|$SETUP provider set
provider list|$SETUP provider list
provider remove|$SETUP provider remove
secrets set|$SETUP secrets set
secrets list|$SETUP secrets list
secrets remove|$SETUP secrets remove
policy check|$SENTRIX policy check
logs|$SENTRIX logs
gateway|$BUILD/sentrix-gateway
EOF

# Instance, provider and variable names, from an instance of the test's.
if sx_setup --name $NAME --policy strict >"$TMP/setup.log" 2>&1 &&
	"$SETUP" provider set --name $NAME sxtprov --api openai-completions \
		--base-url https://203.0.113.1/v1 --model m1 >>"$TMP/setup.log" 2>&1; then
	got=$(comp sentrix sandbox status --name '')
	check "sentrix sandbox status --name <TAB> offers $NAME" grep -qw $NAME <<<"$got"
	check_eq "sentrix sandbox status --name $NAME<TAB>" "$NAME" "$(comp sentrix sandbox status --name $NAME)"
	got=$(comp sentrix logs --name = "${NAME%?}")
	check "sentrix logs --name=${NAME%?}<TAB> offers $NAME, and only names starting so" \
		bash -c "grep -qw $NAME <<<'$got' && ! tr ' ' '\n' <<<'$got' | grep -v '^${NAME%?}'"
	check_eq "sentrix provider remove --name $NAME <TAB> (as root)" "sxtprov" \
		"$(PATH=$BUILD:$PATH comp sentrix provider remove --name $NAME '')"
	check_eq "sentrix secrets set --name $NAME <TAB> (the provider's key variable)" "SXTPROV_API_KEY" \
		"$(PATH=$BUILD:$PATH comp sentrix secrets set --name $NAME '')"
	check_eq "the same as a user who cannot read them: nothing, at once" "" \
		"$(PATH=$BUILD:$PATH setpriv --reuid nobody --regid nogroup --clear-groups bash --norc --noprofile -c \
			'source "$0"; COMP_WORDS=(sentrix provider remove --name "$1" ""); COMP_CWORD=5; _sentrix; echo "${COMPREPLY[*]}"' \
			"$COMPLETION" $NAME)"
else
	not_ok "setup of $NAME for the completion: $(tail -3 "$TMP/setup.log")"
fi
summary
