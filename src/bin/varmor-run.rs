//! varmor-run: the launcher (being assembled).
fn main() {}
