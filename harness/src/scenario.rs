//! Scenarios as data: YAML files under `scenarios/<area>/`, each a matrix of
//! axes expanded into [`Case`]s with stable ids and expected outcomes.
//!
//! A file has a `base` case body, `axes` whose values are fragments of a case
//! body deep-merged over it in axis order, `exclude` rules removing
//! combinations, and `expect` rules (first match wins) giving each expanded
//! case its expected outcome. `cases` adds single cases by hand. Unknown keys
//! are errors, everywhere; the area checks the merged body with its own schema.

mod body;
mod expand;
mod schema;

pub use body::{Body, BodyError};
pub use expand::{deep_merge, load_file, load_paths, load_str, Alternative, Case, Expectation};
pub use schema::{OneOrMany, Rule, ScenarioFile, SingleCase};
