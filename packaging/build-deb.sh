#!/bin/sh
# Builds the Debian package out of tree (`make deb`):
#
#   packaging/build-deb.sh BUILD VERSION
#
# copies the source tree (what git sees: tracked and untracked files, not
# the ignored ones; all of it outside git) to BUILD/deb/sentrix-VERSION,
# makes packaging/debian/ its debian/, runs `dpkg-buildpackage -b -us -uc`
# there and copies the package to BUILD/sentrix_VERSION_ARCH.deb.  The
# checkout is never written to; BUILD/deb keeps the build, its log
# (build.log) and the debug symbols package.
set -eu

build=${1:?usage: build-deb.sh BUILD VERSION}
version=${2:?usage: build-deb.sh BUILD VERSION}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

for t in dpkg-buildpackage dpkg-parsechangelog dh; do
	command -v $t >/dev/null 2>&1 || {
		echo "make deb: $t is missing; install dpkg-dev and debhelper (packaging/install-deps.sh)" >&2
		exit 1
	}
done
deb_version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
if [ "$deb_version" != "$version" ]; then
	echo "make deb: packaging/debian/changelog is at $deb_version but the Makefile's VERSION is $version;" >&2
	echo "add a changelog entry (dch -c packaging/debian/changelog -v $version)" >&2
	exit 1
fi
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
mkdir -p "$build"
build=$(cd "$build" && pwd)
src=$build/deb/sentrix-$version
rm -rf "$build/deb"
mkdir -p "$src"

# The tree, without the build directory (BUILD may lie inside it).
case $build/ in
"$top"/*) skip=${build#"$top"/} ;;
*) skip= ;;
esac
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		tr '\0' '\n' | sort -u |
		while IFS= read -r f; do
			if [ -n "$skip" ]; then
				case $f in "$skip"/*) continue ;; esac
			fi
			# tracked but deleted in the work tree
			[ -e "$f" ] || [ -L "$f" ] || continue
			printf '%s\n' "$f"
		done >"$build/deb/files"
	tar -cf - --no-recursion -T "$build/deb/files" | tar -xf - -C "$src"
else
	tar -cf - --exclude=./.git ${skip:+--exclude=./$skip} . | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -a packaging/debian "$src/debian"

# Nothing of the caller's make reaches the package build (variables given
# to `make deb` travel in MAKEFLAGS; BUILD in the environment would make
# debian/rules' clean remove the caller's build directory).
for v in MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES BUILD PREFIX BINDIR SBINDIR DATADIR DOCDIR \
	MANDIR UNITDIR SYSUSERSDIR TMPFILESDIR COMPLETIONDIR DESTDIR SANITIZE CC CFLAGS CPPFLAGS LDFLAGS; do
	unset $v
done
echo "make deb: dpkg-buildpackage -b in $src (log: $build/deb/build.log)"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -Jauto) >"$build/deb/build.log" 2>&1; then
	tail -40 "$build/deb/build.log" >&2
	echo "make deb: dpkg-buildpackage failed; the whole log is $build/deb/build.log" >&2
	exit 1
fi
deb=sentrix_${version}_$arch.deb
cp "$build/deb/$deb" "$build/$deb"
echo "make deb: $build/$deb"
