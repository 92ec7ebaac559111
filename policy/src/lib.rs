//! A trusted issuer's policy: the `condition` a subject token must meet, the `subject`
//! expression that shapes the issued `sub`, and the `claim_mappings` that add claims, all in
//! CEL (the Common Expression Language, <https://github.com/google/cel-spec>) over `claims`,
//! the verified subject token's claims (CONTRACT.md, "Trusted issuer: conditions, subject and
//! claim mapping").
//!
//! Expressions are compiled when an administrator saves them and again when the token function
//! loads the record, so a record written by anything else meets the same bounds. Every bound
//! and the measurements behind it are in [`limits`]: length and nesting are checked on the
//! text before the parser sees it, the parser runs on a thread of its own with a large stack,
//! the parsed tree's depth is bounded so that evaluation is safe on the caller's thread, and
//! comprehensions share an iteration budget per evaluation.

mod claims;
pub mod limits;
mod values;

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use cel::common::types::DYN_TYPE;
use cel::common::value::CowVal;
use cel::parser::{ParseErrors, PrattParser};
use cel::{Context, Env, ExecutionError, IdedExpr, Value};
use serde_json::Value as Json;

use claims::ClaimsRead;

use limits::{
    CHARGE_ITERATIONS, MAX_CLAIM_NAME_CHARS, MAX_COMPREHENSION_NESTING, MAX_ITERATIONS,
    MAX_MAPPED_CLAIM_BYTES, MAX_MAPPINGS, MAX_NESTING, MAX_SUBJECT_BYTES, MAX_TREE_DEPTH,
};

/// Claims the service sets itself: a mapping may not name them (contract).
pub const RESERVED_CLAIMS: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "scope",
    "act",
    "may_act",
    "cnf",
    "idp",
];

/// Stack of the thread that parses: far beyond what the bounds let the parser use (~1 MiB
/// at worst in a debug build), so that even an input the scan misjudged cannot overflow it.
/// Only touched pages are backed by memory.
const COMPILE_STACK_BYTES: usize = 16 << 20;

/// The compiled condition, subject and claim mappings of one trusted issuer.
#[derive(Debug)]
pub struct IssuerPolicy {
    condition: Option<Compiled>,
    subject: Option<Compiled>,
    claim_mappings: Vec<(String, Compiled)>,
    /// The claims the expressions read: only those are converted for an evaluation.
    reads: ClaimsRead,
}

#[derive(Debug)]
struct Compiled {
    expr: IdedExpr,
    /// Identifiers, fields, function names and string literals of the expression: the text
    /// an error message may quote (see [`values::describe_error`]).
    written: HashSet<String>,
}

/// What an accepted token becomes: the issued `sub` and the mapped claims (a `null` result
/// omitted).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub sub: String,
    pub claims: serde_json::Map<String, Json>,
}

/// Which step refused and why (text safe to show the client: never echo claim values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub step: PolicyStep,
    pub detail: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step.as_str(), self.detail)
    }
}

impl std::error::Error for Refusal {}

/// The steps of [`IssuerPolicy::evaluate`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyStep {
    Condition,
    Subject,
    ClaimMappings,
}

impl PolicyStep {
    /// The admin field the step comes from, and the name of its explain check.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStep::Condition => "condition",
            PolicyStep::Subject => "subject",
            PolicyStep::ClaimMappings => "claim_mappings",
        }
    }
}

/// A save-time error: the field (`condition`, `subject`, `claim_mappings.NAME`) and a message
/// with the position (line:column) when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub field: String,
    pub message: String,
}

impl PolicyError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> PolicyError {
        PolicyError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for PolicyError {}

impl IssuerPolicy {
    /// Compiles the expressions of `settings` (length and nesting checked before parsing, then
    /// syntax, then the parsed tree's depth and comprehension nesting). Errors name the field;
    /// the first error found is reported.
    pub fn compile(
        condition: Option<&str>,
        subject: Option<&str>,
        claim_mappings: &BTreeMap<String, String>,
    ) -> Result<IssuerPolicy, PolicyError> {
        if claim_mappings.len() > MAX_MAPPINGS {
            return Err(PolicyError::new(
                "claim_mappings",
                format!("may hold at most {MAX_MAPPINGS} mappings"),
            ));
        }
        let mut sources: Vec<(String, &str)> = Vec::with_capacity(claim_mappings.len() + 2);
        sources.extend(condition.map(|c| ("condition".to_owned(), c)));
        sources.extend(subject.map(|s| ("subject".to_owned(), s)));
        for (name, source) in claim_mappings {
            check_claim_name(name)?;
            sources.push((format!("claim_mappings.{name}"), source));
        }
        for (field, source) in &sources {
            limits::check_source(source).map_err(|message| PolicyError::new(field, message))?;
        }
        let Some((first_field, _)) = sources.first() else {
            return Ok(IssuerPolicy {
                condition: None,
                subject: None,
                claim_mappings: Vec::new(),
                reads: ClaimsRead::Named(Default::default()),
            });
        };
        let compiled = on_compile_thread(first_field, || {
            sources
                .iter()
                .map(|(field, source)| {
                    compile_one(source).map_err(|message| PolicyError::new(field, message))
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        let reads = ClaimsRead::of(compiled.iter().map(|c| &c.expr));
        let mut compiled = compiled.into_iter();
        let mut next = || compiled.next().expect("one compiled expression per source");
        Ok(IssuerPolicy {
            condition: condition.map(|_| next()),
            subject: subject.map(|_| next()),
            claim_mappings: claim_mappings.keys().map(|n| (n.clone(), next())).collect(),
            reads,
        })
    }

    /// True when the issuer has no condition, no subject expression and no mappings (the fast
    /// path: nothing to evaluate).
    pub fn is_empty(&self) -> bool {
        self.condition.is_none() && self.subject.is_none() && self.claim_mappings.is_empty()
    }

    /// Runs condition, then subject, then claim mappings over the verified claims (a JSON
    /// object, as bytes), with the token's own `sub` as the default subject. Claims that are not
    /// an object, and claims the expressions read of a shape the bounds refuse (nested too
    /// deep, a list too long), are refused at the policy's first step. Runs on the caller's thread: [`limits::MAX_TREE_DEPTH`] bounds its
    /// stack and [`limits::MAX_ITERATIONS`] its time.
    pub fn evaluate(&self, claims_json: &[u8], sub: &str) -> Result<Decision, Refusal> {
        if self.is_empty() {
            return Ok(Decision {
                sub: sub.to_owned(),
                claims: serde_json::Map::new(),
            });
        }
        let first = if self.condition.is_some() {
            PolicyStep::Condition
        } else if self.subject.is_some() {
            PolicyStep::Subject
        } else {
            PolicyStep::ClaimMappings
        };
        let refuse = |step, detail: String| Refusal { step, detail };
        let claims = self
            .reads
            .to_cel(claims_json)
            .map_err(|why| refuse(first, why))?;
        let mut context = Context::with_env(Arc::clone(env()));
        context.add_variable_as_val("claims", claims);
        ITERATIONS_LEFT.set(MAX_ITERATIONS);

        if let Some(condition) = &self.condition {
            match condition.run(&context) {
                Ok(Value::Bool(true)) => {}
                Ok(Value::Bool(false)) => {
                    return Err(refuse(
                        PolicyStep::Condition,
                        "the condition is false".into(),
                    ));
                }
                Ok(other) => {
                    let got = values::type_name(&other);
                    let detail = format!("the condition gave {got}, not a bool");
                    return Err(refuse(PolicyStep::Condition, detail));
                }
                Err(why) => {
                    let detail = format!("the condition failed: {why}");
                    return Err(refuse(PolicyStep::Condition, detail));
                }
            }
        }

        let sub = match &self.subject {
            None => sub.to_owned(),
            Some(subject) => match subject.run(&context) {
                Ok(Value::String(s)) if !s.is_empty() && s.len() <= MAX_SUBJECT_BYTES => {
                    s.as_str().to_owned()
                }
                result => return Err(refuse(PolicyStep::Subject, subject_refusal(result))),
            },
        };

        let mut claims = serde_json::Map::new();
        for (name, mapping) in &self.claim_mappings {
            let step = PolicyStep::ClaimMappings;
            let value = mapping
                .run(&context)
                .map_err(|why| refuse(step, format!("claim_mappings.{name} failed: {why}")))?;
            if let Value::Null = value {
                continue;
            }
            let json = values::cel_to_json(&value)
                .map_err(|why| refuse(step, format!("claim_mappings.{name} {why}")))?;
            if values::json_len(&json) > MAX_MAPPED_CLAIM_BYTES {
                let detail = format!(
                    "claim_mappings.{name} gave more than {MAX_MAPPED_CLAIM_BYTES} bytes of JSON"
                );
                return Err(refuse(step, detail));
            }
            claims.insert(name.clone(), json);
        }
        Ok(Decision { sub, claims })
    }
}

fn subject_refusal(result: Result<Value, String>) -> String {
    match result {
        Ok(Value::String(s)) if s.is_empty() => {
            "the subject expression gave an empty string".into()
        }
        Ok(Value::String(_)) => {
            format!("the subject expression gave a string longer than {MAX_SUBJECT_BYTES} bytes")
        }
        Ok(other) => format!(
            "the subject expression gave {}, not a string",
            values::type_name(&other)
        ),
        Err(why) => format!("the subject expression failed: {why}"),
    }
}

impl Compiled {
    fn run(&self, context: &Context) -> Result<Value, String> {
        Value::resolve(&self.expr, context).map_err(|e| values::describe_error(&e, &self.written))
    }
}

// The lead's token pipeline shares a policy between requests.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<IssuerPolicy>();
};

/// A claim name: 1-64 characters, a letter or `_` first, then letters, digits and `_ - . : /`
/// (so namespaced names such as `https://example.com/roles` fit); not one the service sets.
fn check_claim_name(name: &str) -> Result<(), PolicyError> {
    let mut chars = name.chars();
    let well_formed = name.chars().count() <= MAX_CLAIM_NAME_CHARS
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c));
    if !well_formed {
        // The administrator's own input, quoted when short enough to help.
        let shown = if name.chars().count() <= 2 * MAX_CLAIM_NAME_CHARS {
            format!("{name:?}")
        } else {
            "a name".to_owned()
        };
        return Err(PolicyError::new(
            "claim_mappings",
            format!(
                "{shown} is not a claim name: 1-{MAX_CLAIM_NAME_CHARS} characters, a letter \
                 or _ first, then letters, digits and _ - . : /"
            ),
        ));
    }
    if RESERVED_CLAIMS.contains(&name) {
        return Err(PolicyError::new(
            format!("claim_mappings.{name}"),
            "is a claim the service sets itself and cannot be mapped",
        ));
    }
    Ok(())
}

/// Runs `work` on a thread with [`COMPILE_STACK_BYTES`] of stack and waits for it.
fn on_compile_thread<T: Send>(
    field: &str,
    work: impl FnOnce() -> Result<T, PolicyError> + Send,
) -> Result<T, PolicyError> {
    let failed = || PolicyError::new(field, "could not be compiled (no thread to compile on)");
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("policy-compile".into())
            .stack_size(COMPILE_STACK_BYTES)
            .spawn_scoped(scope, work)
            .map_err(|_| failed())?
            .join()
            .map_err(|_| failed())?
    })
}

/// Parses one expression and checks the parsed tree. Runs on the compile thread.
fn compile_one(source: &str) -> Result<Compiled, String> {
    let mut expr = PrattParser::new()
        .max_recursion_depth(MAX_NESTING as u16)
        .parse(source)
        .map_err(parse_message)?;
    let mut next_id = limits::max_id(&expr);
    limits::meter_comprehensions(&mut expr, &mut next_id);
    let shape = limits::tree_shape(&expr);
    if shape.depth > MAX_TREE_DEPTH {
        return Err(format!(
            "is {} levels deep once parsed; at most {MAX_TREE_DEPTH} are allowed (long chains \
             of + or comparisons count one level each)",
            shape.depth
        ));
    }
    if shape.comprehension_nesting > MAX_COMPREHENSION_NESTING {
        return Err(format!(
            "nests comprehensions (all, exists, exists_one, map, filter) {} deep; at most \
             {MAX_COMPREHENSION_NESTING} are allowed",
            shape.comprehension_nesting
        ));
    }
    let mut written = HashSet::new();
    values::collect_written(&expr, &mut written);
    Ok(Compiled { expr, written })
}

/// The parser's first error as `syntax error at LINE:COLUMN: …` (1-based).
fn parse_message(errors: ParseErrors) -> String {
    let Some(first) = errors.errors.first() else {
        return "syntax error".into();
    };
    if first.msg.starts_with("Recursion limit") {
        // Its position is a pair of offsets, not a line and column: the scan's message instead.
        return format!("nests more than {MAX_NESTING} levels deep");
    }
    let (line, column) = first.pos;
    let message = first
        .msg
        .strip_prefix("Syntax error: ")
        .unwrap_or(&first.msg);
    format!("syntax error at {line}:{column}: {message}")
}

/// The standard library without the `optional` one (its syntax is off in the parser, and
/// optional values have no JSON form), plus the iteration meter; built once. The macros are
/// the parser's, not the environment's.
fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::default().with_optional_support(false).with_stdlib();
        env.add_overload(
            CHARGE_ITERATIONS,
            "charge_iterations_dyn",
            vec![DYN_TYPE],
            charge_iterations,
        )
        .expect("a fresh name");
        Arc::new(env)
    })
}

thread_local! {
    /// What is left of [`MAX_ITERATIONS`] in the evaluation running on this thread (evaluation
    /// is synchronous, so one at a time per thread).
    static ITERATIONS_LEFT: Cell<i64> = const { Cell::new(0) };
}

/// Charges a comprehension's range to the evaluation's budget and passes it through.
fn charge_iterations<'b, 'v>(
    mut args: Vec<CowVal<'b, 'v>>,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let range = args
        .pop()
        .ok_or_else(ExecutionError::missing_argument_or_target)?;
    let size = range.as_sizer().map_or(0, |s| *s.size().inner());
    let left = ITERATIONS_LEFT.get().saturating_sub(size);
    ITERATIONS_LEFT.set(left);
    if left < 0 {
        return Err(ExecutionError::function_error(
            CHARGE_ITERATIONS,
            "iteration budget exhausted",
        ));
    }
    Ok(range)
}

#[cfg(test)]
mod tests;
