#[test]
fn probe() {
    let mut v: Vec<_> = std::fs::read_dir("/tmp/vp")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    for p in v {
        match varmor::profile::compile(p.to_str().unwrap()) {
            Ok(_) => println!("OK?? {}", p.display()),
            Err(e) => println!("{e}"),
        }
    }
}
