complete -c varmor-run -s p -l profile -d 'Confine CMD with this profile (a name from the profile directories, or a path)' -r
complete -c varmor-run -l check -d 'Validate a profile and print its compiled rules; exit 0 when it is valid' -r
complete -c varmor-run -l socket -d 'varmord\'s socket' -r -F
complete -c varmor-run -l seccomp -d 'Also apply this Docker/OCI seccomp JSON profile' -r -F
complete -c varmor-run -l format -d 'Output format for --check and --list' -r -f -a "text\t''
json\t''"
complete -c varmor-run -l list -d 'List every profile found, where it came from, and its description'
complete -c varmor-run -l allow-partial -d 'Run even where the backend cannot enforce every rule; print what is not enforced'
complete -c varmor-run -l complain -d 'Log what the profile would deny, deny nothing'
complete -c varmor-run -s q -l quiet -d 'No denial lines on this terminal (they still go to varmord\'s log)'
complete -c varmor-run -s h -l help -d 'Print help'
complete -c varmor-run -s V -l version -d 'Print version'
