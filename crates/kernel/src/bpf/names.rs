//! The names of the programs and maps in the compiled BPF objects, read from the objects
//! by crates/kernel/build.rs (`$OUT_DIR/bpf_names.rs`): one module per object with its
//! `PROGRAMS` and `MAPS`, and `map::V_*`, a constant per map. A program or map renamed in
//! C renames (or removes) the constant here, so Rust code that names it stops building
//! instead of failing at load time.

#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/bpf_names.rs"));

#[cfg(test)]
mod tests {
    #[test]
    fn the_objects_name_what_the_loaders_attach() {
        assert!(super::net::PROGRAMS.contains(&"varmor_connect4"));
        assert_eq!(super::unix::PROGRAMS.len(), 2);
        assert!(super::pinmaps::PROGRAMS.is_empty());
        assert!(super::pinmaps::MAPS.contains(&super::map::V_NS));
    }
}
