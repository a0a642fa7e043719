//! Benchmark (not installed): nanoseconds per in-kernel matching decision through
//! BPF_PROG_TEST_RUN with 10, 1,000 and 10,000 rules in a namespace, and a vArmor-style
//! linear scan of 64 slots built the same way. Prints one JSON object. Needs root.

fn main() {
    let mut out = serde_json::Map::new();
    for n in [10usize, 1_000, 10_000] {
        match varmor_kernel::bpf::bench_decision(n) {
            Ok(ns) => out.insert(format!("{n} rules"), ns.into()),
            Err(e) => {
                eprintln!("bpfbench: {n} rules: {e}");
                std::process::exit(1)
            }
        };
    }
    match varmor_kernel::bpf::bench_linear64() {
        Ok(ns) => out.insert("linear scan of 64 slots".into(), ns.into()),
        Err(e) => {
            eprintln!("bpfbench: linear baseline: {e}");
            std::process::exit(1)
        }
    };
    println!("{}", serde_json::Value::Object(out));
}
