//! Step 3: no privilege left. Every capability is dropped from every set, the bounding set
//! and the ambient set included; as root the securebits are locked so uid 0 regains
//! nothing at execve; then no_new_privs.

use caps::{CapSet, Capability};

use super::error::LaunchError;

const SECBIT_NOROOT: u64 = 1 << 0;
const SECBIT_NOROOT_LOCKED: u64 = 1 << 1;
const SECBIT_NO_SETUID_FIXUP: u64 = 1 << 2;
const SECBIT_NO_SETUID_FIXUP_LOCKED: u64 = 1 << 3;
const SECBIT_KEEP_CAPS_LOCKED: u64 = 1 << 5;
const SECBIT_NO_CAP_AMBIENT_RAISE: u64 = 1 << 6;
const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: u64 = 1 << 7;

fn perr(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> LaunchError {
    LaunchError::Privileges {
        what: what.to_string(),
        source: Box::new(e),
    }
}

/// Drops everything and sets no_new_privs.
pub fn drop_all() -> Result<(), LaunchError> {
    // Securebits need CAP_SETPCAP, so they come before the bounding set is emptied.
    let bits = SECBIT_NOROOT
        | SECBIT_NOROOT_LOCKED
        | SECBIT_NO_SETUID_FIXUP
        | SECBIT_NO_SETUID_FIXUP_LOCKED
        | SECBIT_KEEP_CAPS_LOCKED
        | SECBIT_NO_CAP_AMBIENT_RAISE
        | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP).unwrap_or(false) {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits as libc::c_ulong, 0, 0, 0) } != 0 {
            return Err(perr("PR_SET_SECUREBITS", std::io::Error::last_os_error()));
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(|e| perr("clearing ambient capabilities", e))?;
    for cap in caps::all() {
        // EINVAL: a capability this kernel does not know; nothing to drop.
        if let Err(e) = caps::drop(None, CapSet::Bounding, cap) {
            if caps::read(None, CapSet::Bounding)
                .map(|b| b.contains(&cap))
                .unwrap_or(false)
            {
                return Err(perr(&format!("dropping {cap} from the bounding set"), e));
            }
        }
    }
    for set in [CapSet::Inheritable, CapSet::Effective, CapSet::Permitted] {
        caps::clear(None, set).map_err(|e| perr(&format!("clearing {set:?} capabilities"), e))?;
    }
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(perr("PR_SET_NO_NEW_PRIVS", std::io::Error::last_os_error()));
    }
    Ok(())
}
