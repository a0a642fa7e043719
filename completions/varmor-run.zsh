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
'-p+[Confine CMD with this profile (a name from the profile directories, or a path). With --desktop install\: the profile the application starts under; with --learn\: a profile to start from]:NAME|PATH:_default' \
'--profile=[Confine CMD with this profile (a name from the profile directories, or a path). With --desktop install\: the profile the application starts under; with --learn\: a profile to start from]:NAME|PATH:_default' \
'(-p --profile)--check=[Validate a profile and print its compiled rules; exit 0 when it is valid]:NAME|PATH:_default' \
'(-p --profile)--shell-init=[Print shell functions that run each profile'\''s \`wraps\:\` commands confined, for this shell (e.g. \`eval "\$(varmor-run --shell-init bash)"\`)]:SHELL:(bash zsh fish)' \
'*--desktop=[Manage per-user .desktop overrides that start APP confined\: \`install APP\`, \`remove APP\`, \`list\`. The profile is --profile, else one named like APP, else one whose \`wraps\:\` lists APP]:ACTION:_default' \
'--learn=[Run CMD with every access audited and every name it resolves recorded, nothing denied (on top of --profile, if given), and write a profile draft of what it did to OUT\: the peers it reached by name become allow entries for those names]:OUT.yaml:_files' \
'--socket=[varmord'\''s socket]:PATH:_files' \
'--seccomp=[Also apply this Docker/OCI seccomp JSON profile]:FILE:_files' \
'--format=[Output format for --check, --list and --ps]:FORMAT:(text json)' \
'(-p --profile)--list[List every profile found, where it came from, and its description]' \
'(-p --profile)--ps[List your live sandboxes (root\: everyone'\''s)\: pid, profile, backend, uptime, denials]' \
'--allow-partial[Run even where the backend cannot enforce every rule; print what is not enforced]' \
'--complain[Log what the profile would deny, deny nothing]' \
'-q[No denial lines on this terminal (they still go to varmord'\''s log)]' \
'--quiet[No denial lines on this terminal (they still go to varmord'\''s log)]' \
'--keep-fds[Pass descriptors above 2 on to CMD. By default they are closed at exec\: a file or directory opened outside the sandbox is not checked by its rules]' \
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
