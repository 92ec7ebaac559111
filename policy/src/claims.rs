//! The claims an issuer's expressions read, and those claims as the CEL variable `claims`.
//!
//! An identity provider's token carries a dozen claims or more and a policy reads a few.
//! Converting every claim into CEL values was most of a policy's cost (BENCHMARKS.md), so
//! when every use of `claims` in the expressions names its claim (`claims.ref`,
//! `has(claims.email)`, `claims["repository_owner"]`), only those claims are read and
//! converted; the others are skipped by the JSON parser. Any other use (`size(claims)`,
//! `claims[claims.key]`, `claims` itself) converts them all. The shape bounds (nesting, list
//! length) apply to what is converted.

use std::collections::BTreeSet;
use std::fmt;

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr, LiteralValue};
use cel::common::value::Val;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value as Json;

use super::values::claims_to_val;

/// The name of the variable that holds the token's claims.
const CLAIMS: &str = "claims";

const NOT_AN_OBJECT: &str = "the token's claims are not a JSON object";

/// Which claims the expressions of one policy read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimsRead {
    /// Only these (a claim that is absent stays absent).
    Named(BTreeSet<String>),
    /// Every claim.
    All,
}

impl ClaimsRead {
    /// What `expressions` read of `claims`.
    pub fn of<'a>(expressions: impl IntoIterator<Item = &'a IdedExpr>) -> ClaimsRead {
        let mut names = BTreeSet::new();
        for expr in expressions {
            if !named_reads(expr, &mut names) {
                return ClaimsRead::All;
            }
        }
        ClaimsRead::Named(names)
    }

    /// The claims of `claims_json` these expressions read, as the CEL map to bind to `claims`.
    pub fn to_cel(&self, claims_json: &[u8]) -> Result<Box<dyn Val>, String> {
        let members = match self {
            ClaimsRead::All => match serde_json::from_slice::<Json>(claims_json) {
                Ok(Json::Object(members)) => members.into_iter().collect(),
                _ => return Err(NOT_AN_OBJECT.into()),
            },
            ClaimsRead::Named(names) => {
                let mut parser = serde_json::Deserializer::from_slice(claims_json);
                Named(names)
                    .deserialize(&mut parser)
                    .and_then(|members| parser.end().map(|()| members))
                    .map_err(|_| NOT_AN_OBJECT.to_owned())?
            }
        };
        // The claims object is the first level.
        claims_to_val(members, 1)
    }
}

/// Whether every use of `claims` in `expr` names its claim; the names go into `names`.
fn named_reads(expr: &IdedExpr, names: &mut BTreeSet<String>) -> bool {
    let is_claims = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(name) if name == CLAIMS);
    match &expr.expr {
        // `claims.name` and `has(claims.name)`.
        Expr::Select(select) if is_claims(&select.operand) => {
            names.insert(select.field.clone());
            true
        }
        // `claims["name"]`.
        Expr::Call(call) if call.func_name == "_[_]" && call.target.is_none() => {
            match (call.args.first(), call.args.get(1)) {
                (Some(operand), Some(index)) if is_claims(operand) => match &index.expr {
                    Expr::Literal(LiteralValue::String(name)) => {
                        names.insert(name.inner().to_owned());
                        true
                    }
                    _ => false,
                },
                _ => call.args.iter().all(|a| named_reads(a, names)),
            }
        }
        // Any other mention of the variable (`.claims`, the absolute name, included).
        Expr::Ident(name) => name.trim_start_matches('.') != CLAIMS,
        Expr::Select(select) => named_reads(&select.operand, names),
        Expr::Call(call) => {
            call.target.iter().all(|t| named_reads(t, names))
                && call.args.iter().all(|a| named_reads(a, names))
        }
        Expr::List(list) => list.elements.iter().all(|e| named_reads(e, names)),
        Expr::Map(cel::common::ast::MapExpr { entries })
        | Expr::Struct(cel::common::ast::StructExpr { entries, .. }) => {
            entries.iter().all(|entry| match &entry.expr {
                EntryExpr::MapEntry(m) => {
                    named_reads(&m.key, names) && named_reads(&m.value, names)
                }
                EntryExpr::StructField(f) => named_reads(&f.value, names),
            })
        }
        Expr::Comprehension(c) => [
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ]
        .into_iter()
        .all(|e| named_reads(e, names)),
        Expr::Literal(_) | Expr::Unspecified => true,
    }
}

/// Reads a JSON object, keeping the members named in the set (the last of a repeated name)
/// and skipping the others without building them.
struct Named<'n>(&'n BTreeSet<String>);

impl<'de> DeserializeSeed<'de> for Named<'_> {
    type Value = Vec<(String, Json)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Named<'_> {
    type Value = Vec<(String, Json)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::with_capacity(self.0.len());
        while let Some(name) = map.next_key_seed(NameIn(self.0))? {
            match name {
                Some(name) => {
                    let value = map.next_value()?;
                    members.retain(|(kept, _)| kept != name);
                    members.push((name.clone(), value));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(members)
    }
}

/// A member name, looked up in the set without being copied.
struct NameIn<'n>(&'n BTreeSet<String>);

impl<'de, 'n> DeserializeSeed<'de> for NameIn<'n> {
    type Value = Option<&'n String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, 'n> Visitor<'de> for NameIn<'n> {
    type Value = Option<&'n String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.get(name))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{github_claims, policy};
    use super::*;

    fn reads(expression: &str) -> ClaimsRead {
        let p = policy(Some(expression), None, &[]);
        p.reads.clone()
    }

    fn named(names: &[&str]) -> ClaimsRead {
        ClaimsRead::Named(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn named_uses_of_claims_read_only_those_claims() {
        assert_eq!(
            reads(r#"claims.ref == "x" && has(claims.email)"#),
            named(&["email", "ref"])
        );
        assert_eq!(
            reads(r#"claims["repository_owner"] == claims.a.b"#),
            named(&["a", "repository_owner"])
        );
        assert_eq!(
            reads(r#"claims.groups.exists(g, g == claims.team)"#),
            named(&["groups", "team"])
        );
        assert_eq!(reads("true"), named(&[]));
        // A comprehension variable named like the claims is still read through `claims`.
        assert_eq!(reads("[1].exists(claims, claims == 1)"), ClaimsRead::All);
    }

    #[test]
    fn any_other_use_of_claims_reads_them_all() {
        for expression in [
            "size(claims) > 1",
            "claims[claims.key] == 1",
            r#"claims == {"a": 1}"#,
            r#""ref" in claims"#,
            "claims.exists(k, k == 'ref')",
            ".claims.ref == 'x'",
            r#"claims["re" + "f"] == "x""#,
        ] {
            assert_eq!(reads(expression), ClaimsRead::All, "{expression}");
        }
    }

    /// Reading only the named claims decides exactly as converting them all does.
    #[test]
    fn named_reads_decide_as_reading_all_claims() {
        let claims = github_claims();
        for (condition, subject, mapping) in [
            (
                r#"claims.repository_owner == "acme""#,
                r#""gh|" + claims.sub"#,
                "claims.groups",
            ),
            (
                r#"claims["ref"].endsWith("main")"#,
                "claims.ref",
                r#"has(claims.email) ? claims.email : null"#,
            ),
            (
                "claims.run_number > 40",
                "claims.missing",
                "claims.run_number",
            ),
            ("has(claims.nothing)", "claims.sub", "claims.sub"),
            (
                "claims.groups.size() == 3",
                "claims.sub",
                "claims.secret + 1",
            ),
        ] {
            let mut p = policy(Some(condition), Some(subject), &[("m", mapping)]);
            assert!(matches!(p.reads, ClaimsRead::Named(_)), "{condition}");
            let named = p.evaluate(&claims, "s");
            p.reads = ClaimsRead::All;
            assert_eq!(
                named,
                p.evaluate(&claims, "s"),
                "{condition} / {subject} / {mapping}"
            );
        }
    }
}
