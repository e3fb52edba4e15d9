//! The children of this process that may still run: registered when
//! spawned, forgotten once waited for, killed and reaped on an interrupt.

/// Child processes of this process that may still run: registered when
/// spawned, forgotten once waited for. Dropping a tokio `Child` with
/// `kill_on_drop` only *sends* SIGKILL; [`kill_all_children`] also waits, so an
/// interrupted run can promise that nothing of it survives.
static CHILDREN: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Remembers a spawned child until [`forget_child`].
pub fn register_child(pid: Option<u32>) {
    if let (Some(pid), Ok(mut children)) = (pid, CHILDREN.lock()) {
        children.push(pid);
    }
}

/// Forgets a child that has been waited for.
pub fn forget_child(pid: Option<u32>) {
    if let (Some(pid), Ok(mut children)) = (pid, CHILDREN.lock()) {
        children.retain(|p| *p != pid);
    }
}

/// Kills every registered child and waits until each is gone (a child tokio
/// already reaped makes waitpid fail with ECHILD, which is fine).
pub fn kill_all_children() {
    let pids: Vec<u32> = CHILDREN
        .lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default();
    for pid in pids {
        // SAFETY: kill(2) and waitpid(2) on a pid this process spawned.
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(pid as i32, &mut status, 0);
        }
    }
}
