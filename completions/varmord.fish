complete -c varmord -l socket -d 'Socket to listen on (mode 0666: any local user may confine itself)' -r -F
complete -c varmord -l pin-dir -d 'bpffs directory for pinned programs and maps (bpffs is mounted when absent)' -r -F
complete -c varmord -l backend -d 'Enforcement backend' -r -f -a "auto\t'bpf-lsm where the kernel lets LSM programs attach, compat otherwise'
bpf-lsm\t'BPF LSM programs (the model)'
compat\t'fanotify + Landlock + cgroup BPF (kernels without a usable BPF LSM)'"
complete -c varmord -l log -d 'Also append every denial line to this file' -r -F
complete -c varmord -l cgroup-root -d 'cgroup2 directory under which each sandbox gets its own cgroup' -r -F
complete -c varmord -l format -d 'Output format for --probe' -r -f -a "text\t''
json\t''"
complete -c varmord -l dns-upstream -d 'Where sandboxes in allow-list mode (`network_default: deny`) have their allowed names resolved [default: the first nameserver of /etc/resolv.conf, port 53]' -r
complete -c varmord -l dns-grace -d 'Seconds an answered address stays allowed after its TTL ends (connections that start just after the answer expires)' -r
complete -c varmord -l probe -d 'Report what this kernel offers and which backend `auto` picks, then exit'
complete -c varmord -l dns-local-answers -d 'Let an allowed name\'s answer make loopback, unspecified and link-local addresses reachable (a local mirror named in DNS). Without it such addresses in an answer are not allowed, and say so in a line: a name\'s owner cannot open the machine\'s own services to the sandbox'
complete -c varmord -s h -l help -d 'Print help (see more with \'--help\')'
complete -c varmord -s V -l version -d 'Print version'
