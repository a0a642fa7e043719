//! varmor-gen: writes man pages and completions.
fn main() {}
