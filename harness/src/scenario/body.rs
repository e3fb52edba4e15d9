//! A case body: the tree the scenario file wrote (base and axis fragments
//! merged) and the area's typed body, read from it once.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_yaml_ng::Value;

type Typed = Arc<dyn Any + Send + Sync>;

/// A case body. The tree is what scenario files, reports and remedies write
/// and patch; the typed body is what the area runs, parsed by the area the
/// first time it is asked for ([`Body::typed`]) and shared by every clone of
/// the case from then on, so a case is parsed once however often it is
/// checked, selected for a release or run. Editing the tree drops the typed
/// body, so it can never disagree with the tree.
#[derive(Clone, Default)]
pub struct Body {
    tree: Value,
    typed: Arc<OnceLock<Typed>>,
}

/// Why [`Body::typed`] gave no body.
#[derive(Debug)]
pub enum BodyError<E> {
    /// The parse failed.
    Parse(E),
    /// The body was parsed as another type (another area's) before.
    OtherType,
}

impl Body {
    /// A body from its merged tree.
    pub fn new(tree: Value) -> Self {
        Self {
            tree,
            typed: Arc::default(),
        }
    }

    /// The merged tree.
    pub fn tree(&self) -> &Value {
        &self.tree
    }

    /// Changes the tree (a remedy's patch, a retarget to containers); the
    /// typed body is read again on next use.
    pub fn edit<R>(&mut self, change: impl FnOnce(&mut Value) -> R) -> R {
        self.typed = Arc::default();
        change(&mut self.tree)
    }

    /// The typed body: `parse` runs the first time only.
    pub fn typed<T: Any + Send + Sync, E>(
        &self,
        parse: impl FnOnce() -> Result<T, E>,
    ) -> Result<&T, BodyError<E>> {
        if self.typed.get().is_none() {
            let parsed: Typed = Arc::new(parse().map_err(BodyError::Parse)?);
            // Another thread may have set it meanwhile: the same tree, the
            // same body; keep the first.
            let _ = self.typed.set(parsed);
        }
        self.typed
            .get()
            .and_then(|typed| typed.downcast_ref::<T>())
            .ok_or(BodyError::OtherType)
    }

    /// True once the typed body has been read.
    pub fn is_parsed(&self) -> bool {
        self.typed.get().is_some()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.tree.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_parsed_once_for_every_clone_and_again_after_an_edit() {
        let body = Body::new(Value::from(7));
        let parses = std::cell::Cell::new(0);
        let parse = || {
            parses.set(parses.get() + 1);
            Ok::<_, ()>(body.tree().as_u64().unwrap_or_default())
        };
        let copy = body.clone();
        assert_eq!(body.typed(parse).ok(), Some(&7));
        assert_eq!(body.typed(parse).ok(), Some(&7));
        assert_eq!(copy.typed(|| Err::<u64, ()>(())).ok(), Some(&7));
        assert_eq!(parses.get(), 1);
        assert!(matches!(
            copy.typed::<String, ()>(|| Ok(String::new())),
            Err(BodyError::OtherType)
        ));
        let mut edited = copy.clone();
        edited.edit(|tree| *tree = Value::from(8));
        assert!(!edited.is_parsed());
        assert_eq!(edited.typed(|| Ok::<_, ()>(8u64)).ok(), Some(&8));
        assert_eq!(body.typed(|| Err::<u64, ()>(())).ok(), Some(&7));
    }
}
