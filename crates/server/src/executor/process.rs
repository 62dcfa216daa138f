//! Linux process facts used to recognise a process across a server restart: a pid alone can
//! be reused, a pid with its start time (from /proc) cannot.

use rustix::process::{Pid, Signal, kill_process_group};

/// The start time (clock ticks since boot) of a live, non-zombie process.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); starttime is field 22.
    let state = *fields.first()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether the process `pid` that started at `start` still runs.
pub(crate) fn alive(pid: u32, start: u64) -> bool {
    start_time(pid) == Some(start)
}

/// Sends a signal to a whole process group.
pub(crate) fn signal_group(pgid: u32, kill: bool) -> std::io::Result<()> {
    let Some(pid) = Pid::from_raw(pgid as i32) else {
        return Err(std::io::Error::other("invalid process group 0"));
    };
    let sig = if kill { Signal::KILL } else { Signal::TERM };
    match kill_process_group(pid, sig) {
        Ok(()) => Ok(()),
        // Already gone: nothing to stop.
        Err(e) if e == rustix::io::Errno::SRCH => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_stable_start_time() {
        let me = std::process::id();
        let t = start_time(me).expect("own /proc entry");
        assert!(alive(me, t));
        assert!(!alive(me, t + 1));
    }
}
