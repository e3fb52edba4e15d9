//! A case's lane: the slot of the engine's scheduler a case holds
//! while it runs, bounding how many run at once. A case that waits for
//! something another case holds (a busy warm process, the one Kafka broker
//! of its configuration) gives its lane back while it waits ([`waiting`]),
//! so a case that can run takes it: otherwise every lane may sit waiting
//! for one busy process while the cores idle. The process layer knows only
//! this handle; the engine makes it ([`Lane::run`]).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The lane a case runs in: the engine's semaphore and the permit the case
/// holds of it.
#[derive(Clone)]
pub struct Lane {
    inner: Arc<Inner>,
}

struct Inner {
    semaphore: Arc<Semaphore>,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
}

tokio::task_local! {
    static LANE: Lane;
}

impl Lane {
    /// The lane of `permit`, taken from `semaphore`.
    pub fn new(semaphore: Arc<Semaphore>, permit: OwnedSemaphorePermit) -> Self {
        Self {
            inner: Arc::new(Inner {
                semaphore,
                permit: Mutex::new(Some(permit)),
            }),
        }
    }

    /// Runs `fut` (a case) in this lane; its permit goes back when `fut`
    /// ends (with the last clone of the lane).
    pub async fn run<F: Future>(self, fut: F) -> F::Output {
        LANE.scope(self, fut).await
    }
}

/// Runs `fut`, a wait for something another case holds, with the current
/// case's lane given back meanwhile, and takes a lane again after it (that
/// wait, as `fut`'s, comes before the case's own bounds start: callers use
/// it only where a case has not started its peer yet). Outside a lane (a
/// library caller, a test) it is `fut` alone.
pub async fn waiting<F: Future>(fut: F) -> F::Output {
    let Ok(lane) = LANE.try_with(Lane::clone) else {
        return fut.await;
    };
    let held = lane
        .inner
        .permit
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let gave_back = held.is_some();
    drop(held);
    let out = fut.await;
    if gave_back {
        if let Ok(permit) = lane.inner.semaphore.clone().acquire_owned().await {
            *lane
                .inner
                .permit
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(permit);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// One lane; the case in it waits for what a second case makes: the
    /// second runs only because the first gave the lane back while it
    /// waited, and the first takes it again after.
    #[tokio::test]
    async fn a_waiting_case_lets_another_run_in_its_lane() {
        let semaphore = Arc::new(Semaphore::new(1));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let permit = semaphore.clone().acquire_owned().await.unwrap();
            let lane = Lane::new(semaphore.clone(), permit);
            tokio::spawn(lane.run(async { waiting(rx).await.is_ok() }))
        };
        let second = {
            let semaphore = semaphore.clone();
            tokio::spawn(async move {
                let permit = semaphore.clone().acquire_owned().await.unwrap();
                Lane::new(semaphore, permit)
                    .run(async { tx.send(()).is_ok() })
                    .await
            })
        };
        let both = tokio::time::timeout(Duration::from_secs(10), async {
            (second.await.unwrap(), first.await.unwrap())
        })
        .await
        .expect("the second case ran while the first waited");
        assert_eq!(both, (true, true));
        assert_eq!(semaphore.available_permits(), 1, "every lane is back");
    }

    /// Outside a lane, `waiting` is the future alone.
    #[tokio::test]
    async fn waiting_outside_a_lane_is_the_future() {
        assert_eq!(waiting(async { 7 }).await, 7);
    }
}
