# bash completion for carve - install as
# /usr/share/bash-completion/completions/carve (the Debian package does).
#
# Completes options, verbs, each verb's key= names, field names for
# param-name= and params=, and UUIDs from the live lists (through carved,
# or in-process as carve itself would go) for uuid=, vm-uuid=,
# gpu-group-uuid=, vgpu-type-uuid= and pgpu-uuid=.  What carve knows of its
# verbs comes from carve itself (carve __complete; src/cli/complete.h), so
# this file never lists a verb.
#
# Works with or without the bash-completion package: it reads the line
# itself, so '=' in COMP_WORDBREAKS (bash's default) does not split a
# key=value word under it.

_carve_complete()
{
	local line=${COMP_LINE:0:COMP_POINT}
	local cur=${line##*[[:space:]]}
	local -a words
	read -ra words <<<"${line:0:${#line}-${#cur}}"
	local carve=${words[0]:-carve} verb="" i w skip=0
	local -a opts=()
	# The options carve's own options take a value of; they and the
	# connection options go with every call this script makes.
	for ((i = 1; i < ${#words[@]}; i++)); do
		w=${words[i]}
		if ((skip)); then
			opts+=("$w")
			skip=0
			continue
		fi
		case $w in
		--socket | --db | --sysfs-root | --host-profile | --sim-state | --hostname | --server | -s | --cacert | --pin | --token-file)
			opts+=("$w")
			skip=1
			;;
		--local | --insecure | --no-discover) opts+=("$w") ;;
		--*=*) opts+=("$w") ;;
		-*) ;;
		*)
			verb=$w
			break
			;;
		esac
	done
	if ((skip)); then # the value of an option: files
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	local -a cand
	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			cand=(--local --socket --server --token-file --cacert --pin --insecure --batch --db --sysfs-root
				--host-profile --sim-state --hostname --no-discover --json --minimal --help --version)
		else
			cand=($("$carve" __complete verbs 2>/dev/null))
		fi
		COMPREPLY=($(compgen -W "${cand[*]}" -- "$cur"))
		return
	fi
	if [[ $cur != *=* ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json --minimal" -- "$cur"))
			return
		fi
		cand=($("$carve" __complete keys "$verb" 2>/dev/null))
		COMPREPLY=($(compgen -S = -W "${cand[*]}" -- "$cur"))
		compopt -o nospace 2>/dev/null
		return
	fi
	local key=${cur%%=*} val=${cur#*=} cls=""
	case $key in
	param-name) cand=($("$carve" __complete fields "$verb" 2>/dev/null)) ;;
	params)
		# a comma-separated list: complete its last name
		local done=""
		[[ $val == *,* ]] && done=${val%,*},
		val=${val##*,}
		cand=($("$carve" __complete fields "$verb" 2>/dev/null))
		cand=("${cand[@]/#/$done}")
		val=$done$val
		;;
	uuid) cls=$("$carve" __complete class "$verb" 2>/dev/null) ;;
	vm-uuid) cls=vm ;;
	gpu-group-uuid) cls=gpu-group ;;
	vgpu-type-uuid) cls=vgpu-type ;;
	pgpu-uuid) cls=pgpu ;;
	*) cand=() ;;
	esac
	if [[ -n $cls ]]; then
		local list
		list=$("$carve" "${opts[@]}" "$cls-list" --minimal 2>/dev/null)
		cand=(${list//,/ })
	fi
	COMPREPLY=($(compgen -W "${cand[*]}" -- "$val"))
	# Where '=' breaks words (bash's default), readline replaces only what
	# follows it; otherwise the whole key=value word.
	if [[ $COMP_WORDBREAKS != *=* ]]; then
		COMPREPLY=("${COMPREPLY[@]/#/$key=}")
	fi
}
complete -F _carve_complete carve
