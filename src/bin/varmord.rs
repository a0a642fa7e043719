//! varmord: the root helper (see src/daemon/).
fn main() {
    std::process::exit(1);
}
