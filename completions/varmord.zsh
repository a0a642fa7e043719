#compdef varmord

autoload -U is-at-least

_varmord() {
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
'--socket=[Socket to listen on (mode 0666\: any local user may confine itself)]:PATH:_files' \
'--pin-dir=[bpffs directory for pinned programs and maps (bpffs is mounted when absent)]:DIR:_files' \
'--backend=[Enforcement backend]:BACKEND:((auto\:"bpf-lsm where the kernel lets LSM programs attach, compat otherwise"
bpf-lsm\:"BPF LSM programs (the model)"
compat\:"fanotify + Landlock + cgroup BPF (kernels without a usable BPF LSM)"))' \
'--log=[Also append every denial line to this file]:FILE:_files' \
'--cgroup-root=[cgroup2 directory under which each sandbox gets its own cgroup]:DIR:_files' \
'--format=[Output format for --probe]:FORMAT:(text json)' \
'--dns-upstream=[Where sandboxes in allow-list mode (\`network_default\: deny\`) have their allowed names resolved \[default\: the first nameserver of /etc/resolv.conf, port 53\]]:ADDR:PORT:_default' \
'--dns-grace=[Seconds an answered address stays allowed after its TTL ends (connections that start just after the answer expires)]:SECONDS:_default' \
'--probe[Report what this kernel offers and which backend \`auto\` picks, then exit]' \
'--dns-local-answers[Let an allowed name'\''s answer make loopback, unspecified and link-local addresses reachable (a local mirror named in DNS). Without it such addresses in an answer are not allowed, and say so in a line\: a name'\''s owner cannot open the machine'\''s own services to the sandbox]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
}

(( $+functions[_varmord_commands] )) ||
_varmord_commands() {
    local commands; commands=()
    _describe -t commands 'varmord commands' commands "$@"
}

if [ "$funcstack[1]" = "_varmord" ]; then
    _varmord "$@"
else
    compdef _varmord varmord
fi
