//! Claims in (JSON → CEL values, with the shape bounds checked on the way), results out
//! (CEL values → JSON), and evaluation errors as text safe to show the client: type and
//! function names, never a claim's value.

use std::collections::{HashMap, HashSet};

use cel::common::ast::{EntryExpr, Expr, LiteralValue};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::Val;
use cel::objects::Key;
use cel::{ExecutionError, IdedExpr, Value};
use serde_json::Value as Json;

use super::limits::{CHARGE_ITERATIONS, MAX_CLAIMS_DEPTH, MAX_CLAIMS_LIST, MAX_ITERATIONS};

/// A claim as a CEL value, built directly in the interpreter's own representation, or why
/// its shape is refused. `depth` is that of `json` (the claims object is 1, its members 2;
/// lists and objects count, scalars don't). Recursion is bounded by [`MAX_CLAIMS_DEPTH`].
pub fn claim_to_val(json: Json, depth: usize) -> Result<Box<dyn Val>, String> {
    if depth > MAX_CLAIMS_DEPTH && (json.is_array() || json.is_object()) {
        return Err(format!(
            "the token's claims nest more than {MAX_CLAIMS_DEPTH} levels deep"
        ));
    }
    Ok(match json {
        Json::Null => Box::new(CelNull),
        Json::Bool(b) => Box::new(CelBool::from(b)),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Box::new(CelInt::from(i)),
            (None, Some(u)) => Box::new(CelUInt::from(u)),
            _ => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        Json::String(s) => Box::new(CelString::from(s)),
        Json::Array(items) => {
            if items.len() > MAX_CLAIMS_LIST {
                return Err(format!(
                    "a list in the token's claims has more than {MAX_CLAIMS_LIST} elements"
                ));
            }
            let list = items
                .into_iter()
                .map(|item| claim_to_val(item, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Box::new(CelList::from(list))
        }
        Json::Object(members) => claims_to_val(members, depth)?,
    })
}

/// An object of claims (`depth` as for [`claim_to_val`]) as a CEL map.
pub fn claims_to_val(
    members: impl IntoIterator<Item = (String, Json)>,
    depth: usize,
) -> Result<Box<dyn Val>, String> {
    let members = members.into_iter();
    let mut map = HashMap::with_capacity(members.size_hint().0);
    for (name, value) in members {
        map.insert(CelMapKey::from(name), claim_to_val(value, depth + 1)?);
    }
    Ok(Box::new(CelMap::from(map)))
}

/// The length of `json` serialized, without keeping the bytes.
pub fn json_len(json: &Json) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, json) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// A result as JSON, or why it has none. Results are built from the claims and the
/// expression's literals, both depth-bounded, so the recursion is too.
pub fn cel_to_json(value: &Value) -> Result<Json, String> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::UInt(u) => Json::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .ok_or("gave a number JSON cannot hold (NaN or infinite)")?,
        Value::String(s) => Json::String(s.as_str().to_owned()),
        Value::List(items) => Json::Array(items.iter().map(cel_to_json).collect::<Result<_, _>>()?),
        Value::Map(map) => {
            let mut object = serde_json::Map::new();
            for (key, value) in map.map.iter() {
                let Key::String(name) = key else {
                    return Err("gave a map with a key that is not a string".into());
                };
                object.insert(name.as_str().to_owned(), cel_to_json(value)?);
            }
            Json::Object(object)
        }
        other => return Err(format!("gave {}, which JSON cannot hold", type_name(other))),
    })
}

/// The CEL type of a value, for messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an int",
        Value::UInt(_) => "a uint",
        Value::Float(_) => "a double",
        Value::String(_) => "a string",
        Value::Bytes(_) => "bytes",
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Function(..) => "a function",
        _ => "a value of another type",
    }
}

/// An evaluation error as text for the client. Names in `written` (the fields, string
/// literals and identifiers of the expression: what the administrator wrote) may be quoted;
/// anything else might be a claim's value and is not.
pub fn describe_error(error: &ExecutionError, written: &HashSet<String>) -> String {
    match error {
        ExecutionError::NoSuchKey(key) if written.contains(key.as_str()) => {
            format!("no such key '{key}'")
        }
        ExecutionError::NoSuchKey(_) => "no such key".into(),
        ExecutionError::UndeclaredReference(name) if written.contains(name.as_str()) => {
            format!("undeclared reference to '{name}'")
        }
        ExecutionError::UndeclaredReference(_) => "undeclared reference".into(),
        // Function names (from the expression or the standard library) and type names only.
        ExecutionError::NoSuchOverload(overload) => overload.to_string(),
        ExecutionError::UnexpectedType { got, want } => {
            format!("unexpected type: got {got}, want {want}")
        }
        ExecutionError::InvalidArgumentCount { expected, actual } => {
            format!("expected {expected} arguments, got {actual}")
        }
        ExecutionError::FunctionError { function, .. } if function == CHARGE_ITERATIONS => {
            format!("the comprehensions iterate over more than {MAX_ITERATIONS} elements")
        }
        ExecutionError::FunctionError { function, .. } if written.contains(function) => {
            format!("function '{function}' failed")
        }
        ExecutionError::DivisionByZero(_) => "division by zero".into(),
        ExecutionError::RemainderByZero(_) => "remainder by zero".into(),
        ExecutionError::Overflow(operator, ..) => format!("overflow in '{operator}'"),
        ExecutionError::IndexOutOfBounds(_) => "index out of bounds".into(),
        ExecutionError::ValuesNotComparable(..) => "values that cannot be compared".into(),
        ExecutionError::UnsupportedBinaryOperator(operator, ..) => {
            format!("operator '{operator}' does not apply to these types")
        }
        ExecutionError::DuplicateKey(_) => "a map literal repeats a key".into(),
        _ => "evaluation failed".into(),
    }
}

/// The names and string literals `expr` writes: what [`describe_error`] may quote.
pub fn collect_written(expr: &IdedExpr, out: &mut HashSet<String>) {
    match &expr.expr {
        Expr::Ident(name) => {
            out.insert(name.clone());
        }
        Expr::Select(select) => {
            out.insert(select.field.clone());
            collect_written(&select.operand, out);
        }
        Expr::Literal(LiteralValue::String(s)) => {
            out.insert(s.inner().to_owned());
        }
        Expr::Call(call) => {
            out.insert(call.func_name.clone());
            call.target.iter().for_each(|t| collect_written(t, out));
            call.args.iter().for_each(|a| collect_written(a, out));
        }
        Expr::List(list) => list.elements.iter().for_each(|e| collect_written(e, out)),
        Expr::Map(cel::common::ast::MapExpr { entries })
        | Expr::Struct(cel::common::ast::StructExpr { entries, .. }) => {
            for entry in entries {
                match &entry.expr {
                    EntryExpr::MapEntry(m) => {
                        collect_written(&m.key, out);
                        collect_written(&m.value, out);
                    }
                    EntryExpr::StructField(f) => collect_written(&f.value, out),
                }
            }
        }
        Expr::Comprehension(c) => {
            for e in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                collect_written(e, out);
            }
        }
        Expr::Literal(_) | Expr::Unspecified => {}
    }
}
