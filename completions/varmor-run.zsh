#compdef varmor-run

autoload -U is-at-least

_varmor-run() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'-p+[Confine CMD with this profile (a name from the profile directories, or a path)]:NAME|PATH:_default' \
'--profile=[Confine CMD with this profile (a name from the profile directories, or a path)]:NAME|PATH:_default' \
'--check=[Validate a profile and print its compiled rules; exit 0 when it is valid]:NAME|PATH:_default' \
'--socket=[varmord'\''s socket]:PATH:_files' \
'--seccomp=[Also apply this Docker/OCI seccomp JSON profile]:FILE:_files' \
'--format=[Output format for --check and --list]:FORMAT:(text json)' \
'--list[List every profile found, where it came from, and its description]' \
'--allow-partial[Run even where the backend cannot enforce every rule; print what is not enforced]' \
'--complain[Log what the profile would deny, deny nothing]' \
'-q[No denial lines on this terminal (they still go to varmord'\''s log)]' \
'--quiet[No denial lines on this terminal (they still go to varmord'\''s log)]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
'*::command -- The program and its arguments (after `--`):_default' \
&& ret=0
}

(( $+functions[_varmor-run_commands] )) ||
_varmor-run_commands() {
    local commands; commands=()
    _describe -t commands 'varmor-run commands' commands "$@"
}

if [ "$funcstack[1]" = "_varmor-run" ]; then
    _varmor-run "$@"
else
    compdef _varmor-run varmor-run
fi
