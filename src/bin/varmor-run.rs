//! varmor-run: the user's launcher (see src/launcher/).
fn main() {}
