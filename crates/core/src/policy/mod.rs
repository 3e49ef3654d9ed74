//! IAM policy documents: decoding and the questions rules ask of them.

pub mod document;
mod error;
pub mod passrole;
pub mod trust;
pub mod wildcard;

pub use document::{Condition, Effect, Polarity, PolicyDocument, Principals, Statement};
pub use error::PolicyError;
pub use passrole::{pass_role_grants, PassRoleGrant, RoleScope};
pub use trust::{trusted_principals, PrincipalKind, TrustedPrincipal};
