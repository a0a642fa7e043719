//! Benchmark helper (not installed): compiles a Docker/OCI seccomp JSON file with the
//! launcher's own code and writes the raw BPF program, for `bwrap --seccomp FD` and a
//! like-for-like comparison.  Usage: seccomp_export IN.json OUT.bpf

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: seccomp_export IN.json OUT.bpf");
        std::process::exit(2)
    };
    let oci = varmor_launcher::oci::load(input.as_ref()).unwrap_or_else(|e| {
        eprintln!("seccomp_export: {e}");
        std::process::exit(1)
    });
    if let Some(w) = oci.warning(input.as_ref()) {
        eprintln!("{w}");
    }
    let filter =
        varmor_launcher::seccomp::build(oci.default, &oci.rules, false).unwrap_or_else(|e| {
            eprintln!("seccomp_export: {e}");
            std::process::exit(1)
        });
    let file = std::fs::File::create(output).unwrap_or_else(|e| {
        eprintln!("seccomp_export: {output}: {e}");
        std::process::exit(1)
    });
    if let Err(e) = filter.export_bpf(file) {
        eprintln!("seccomp_export: {e}");
        std::process::exit(1)
    }
}
