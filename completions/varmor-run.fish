complete -c varmor-run -s p -l profile -d 'Confine CMD with this profile (a name from the profile directories, or a path). With --desktop install: the profile the application starts under; with --learn: a profile to start from' -r
complete -c varmor-run -l check -d 'Validate a profile and print its compiled rules; exit 0 when it is valid' -r
complete -c varmor-run -l shell-init -d 'Print shell functions that run each profile\'s `wraps:` commands confined, for this shell (e.g. `eval "$(varmor-run --shell-init bash)"`)' -r -f -a "bash\t''
zsh\t''
fish\t''"
complete -c varmor-run -l desktop -d 'Manage per-user .desktop overrides that start APP confined: `install APP`, `remove APP`, `list`. The profile is --profile, else one named like APP, else one whose `wraps:` lists APP' -r
complete -c varmor-run -l learn -d 'Run CMD with every access audited and every name it resolves recorded, nothing denied (on top of --profile, if given), and write a profile draft of what it did to OUT: the peers it reached by name become allow entries for those names' -r -F
complete -c varmor-run -l socket -d 'varmord\'s socket' -r -F
complete -c varmor-run -l seccomp -d 'Also apply this Docker/OCI seccomp JSON profile' -r -F
complete -c varmor-run -l format -d 'Output format for --check, --list and --ps' -r -f -a "text\t''
json\t''"
complete -c varmor-run -l list -d 'List every profile found, where it came from, and its description'
complete -c varmor-run -l ps -d 'List your live sandboxes (root: everyone\'s): pid, profile, backend, uptime, denials'
complete -c varmor-run -l allow-partial -d 'Run even where the backend cannot enforce every rule; print what is not enforced'
complete -c varmor-run -l complain -d 'Log what the profile would deny, deny nothing'
complete -c varmor-run -s q -l quiet -d 'No denial lines on this terminal (they still go to varmord\'s log)'
complete -c varmor-run -l keep-fds -d 'Pass descriptors above 2 on to CMD. By default they are closed at exec: a file or directory opened outside the sandbox is not checked by its rules'
complete -c varmor-run -s h -l help -d 'Print help'
complete -c varmor-run -s V -l version -d 'Print version'
