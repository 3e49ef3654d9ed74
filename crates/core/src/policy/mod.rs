//! IAM policy documents: decoding and the questions rules ask of them.

pub mod document;
mod error;
pub mod evaluate;
mod notes;
pub mod passrole;
mod plain;
pub mod probe;
mod read;
pub mod trust;
pub mod value;
pub mod wildcard;

pub use document::{Condition, Effect, Polarity, PolicyDocument, Principals, Statement};
pub use error::PolicyError;
pub use passrole::{
    pass_role_grants, pass_role_grants_with, KnownService, PassRoleGrant, Reach, RoleScope,
    ServiceReach,
};
pub use trust::{trusted_principals, PrincipalKind, TrustedPrincipal};
