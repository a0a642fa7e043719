//! Escape suite, exec (issue 9): ways to run curl under `nocurl` (`**/curl` denied), each
//! one child in a sandbox, as root and as the test user, with the same trick outside as
//! control (where curl runs and prints its banner). Machinery: tests/common/escape.rs.
//!
//! Errnos: an exec refused by varmord (fanotify FAN_OPEN_EXEC_PERM answered FAN_DENY, or
//! bprm_check_security on bpf-lsm) fails execve/execveat with EPERM; the loader refused
//! its open of the binary prints "Operation not permitted" and exits 127 (no RESULT line).
//!
//! Rules follow the FILE that is run, by its names: a copy of curl under another name is
//! another file with another name and runs by design (nocurl.yaml: "Does NOT promise ...
//! A copy of curl under ANOTHER name"); that is counted as a documented limitation.

mod common;
#[path = "common/escape.rs"]
mod escape;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use escape::*;

const TESTS: usize = 2;
const CURL: &str = "/usr/bin/curl";
const LDSO: &str = "/lib64/ld-linux-x86-64.so.2";

/// A copy of `src` at `dst`, mode 0755.
fn copy_exec(src: &str, dst: &Path) {
    std::fs::copy(src, dst).unwrap();
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn curl_by_another_road() {
    let Some(mut env) = Env::start("curl_by_another_road") else {
        return;
    };
    let nocurl = common::profile("nocurl");
    let t = env.d.dir.path().to_path_buf();
    // Made outside: a symlink, a copy with the same name, a `#!/usr/bin/curl` script.
    std::os::unix::fs::symlink(CURL, t.join("fetch-link")).unwrap();
    std::fs::create_dir(t.join("bin")).unwrap();
    std::fs::set_permissions(t.join("bin"), std::fs::Permissions::from_mode(0o755)).unwrap();
    copy_exec(CURL, &t.join("bin/curl"));
    std::fs::write(t.join("curl-script"), format!("#!{CURL}\n")).unwrap();
    std::fs::set_permissions(
        t.join("curl-script"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let p = |s: &str| t.join(s).display().to_string();
    for who in Who::BOTH {
        let cases: Vec<(&str, Vec<String>, &str)> = vec![
            ("execve /usr/bin/curl", v(&["exec", CURL]), "execve"),
            ("symlink to curl", v(&["exec", &p("fetch-link")]), "execve"),
            (
                "copy with the same name",
                v(&["exec", &p("bin/curl")]),
                "execve",
            ),
            (
                "#!/usr/bin/curl script",
                v(&["exec", &p("curl-script")]),
                "execve",
            ),
            (
                "relative: execveat(dirfd of /usr/bin, \"curl\")",
                v(&["execveat_dir", "/usr/bin", "curl"]),
                "execveat",
            ),
            (
                "execveat(AT_EMPTY_PATH) on an O_RDONLY fd",
                v(&["execveat_fd", CURL]),
                "execveat",
            ),
            (
                "execveat(AT_EMPTY_PATH) on an O_PATH fd",
                v(&["execveat_opath", CURL]),
                "execveat",
            ),
            (
                "execve /proc/self/fd/N",
                v(&["exec_procfd", CURL]),
                "execve",
            ),
            (
                "execve /proc/self/root/usr/bin/curl",
                v(&["exec", "/proc/self/root/usr/bin/curl"]),
                "execve",
            ),
        ];
        for (name, mut args, stage) in cases {
            args.push("--version".into());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let a = env.attempt(name, who, &nocurl, &args).banner(CURL_RAN);
            env.check(a.expect(Expect::Errno(EPERM, stage)).line());
        }
    }
    env.finish(TESTS);
}

#[test]
fn curl_bytes_without_curl_exec() {
    let Some(mut env) = Env::start("curl_bytes_without_curl_exec") else {
        return;
    };
    let nocurl = common::profile("nocurl");
    let t = env.d.dir.path().to_path_buf();
    let ldso = Path::new(LDSO).exists();
    if ldso {
        copy_exec(LDSO, &t.join("loader"));
    }
    copy_exec(CURL, &t.join("fetch"));
    let loader = t.join("loader").display().to_string();
    let fetch = t.join("fetch").display().to_string();
    for who in Who::BOTH {
        if ldso {
            // The loader maps the binary it is asked to run: that is running curl.
            let a = env.attempt(
                "ld.so /usr/bin/curl",
                who,
                &nocurl,
                &["exec", LDSO, CURL, "--version"],
            );
            let run = env.check(a.banner(CURL_RAN).expect(Expect::NotRun).line());
            // compat refuses the loader's open of curl (EPERM); bpf-lsm its PROT_EXEC
            // mapping of it (mmap_file), which ld.so reports as a failed segment map.
            assert!(
                run.stderr.contains("Operation not permitted")
                    || run.stderr.contains("failed to map segment"),
                "ld.so: {}",
                run.stderr
            );
            // The same loader under another name still maps /usr/bin/curl itself.
            let a = env.attempt(
                "a copy of ld.so named `loader` running /usr/bin/curl",
                who,
                &nocurl,
                &["exec", &loader, CURL, "--version"],
            );
            env.check(a.banner(CURL_RAN).expect(Expect::NotRun).line());
        }
        // A program that reads curl's bytes and maps them itself, or runs them from a memfd
        // (a file on an internal mount, named `memfd:curl`), runs a copy: compat sees
        // neither mmap nor that mount (bpf-lsm's mmap_file hook sees the mapping). Written
        // down in nocurl.yaml with the other copies.
        let bytes = "nocurl.yaml: does not promise curl's bytes run from a copy, a memfd or the program's own mapping";
        let a = env.attempt(
            "mmap(PROT_EXEC) of /usr/bin/curl",
            who,
            &nocurl,
            &["mmap_exec", CURL],
        );
        // bpf-lsm refuses the mapping itself (mmap_file); compat documents it as a limit.
        let mmap = if common::backend() == "bpf-lsm" {
            Expect::Errno(libc::EPERM, "mmap")
        } else {
            Expect::Limitation(bytes)
        };
        env.check(a.expect(mmap));
        let a = env.attempt(
            "memfd named `curl` holding curl's bytes, fexecve",
            who,
            &nocurl,
            &["memfd_exec", "curl", CURL, "--version"],
        );
        env.check(a.banner(CURL_RAN).expect(Expect::Limitation(bytes)));
        // Documented limitations: another file under another name.
        let doc = "nocurl.yaml: does not promise a copy of curl under ANOTHER name";
        let a = env.attempt(
            "copy of curl named `fetch`",
            who,
            &nocurl,
            &["exec", &fetch, "--version"],
        );
        env.check(a.banner(CURL_RAN).expect(Expect::Limitation(doc)));
        let a = env.attempt(
            "memfd named `x` holding curl's bytes, fexecve",
            who,
            &nocurl,
            &["memfd_exec", "x", CURL, "--version"],
        );
        env.check(a.banner(CURL_RAN).expect(Expect::Limitation(doc)));
    }
    env.finish(TESTS);
}

fn v(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}
