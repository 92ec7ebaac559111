//! infra/template.yaml against the code it deploys: each function's role grants exactly the AWS
//! actions its code calls, on this stack's resources only, and the token role writes only the
//! partitions its code writes (`dynamodb:LeadingKeys`); every variable of README's configuration
//! table is set on the function that needs it and parses as the function would parse it; the routes
//! are those README and openapi/admin.yaml document, and README's example policy for one
//! organization's administrator allows exactly that organization's routes. No AWS needed: the
//! template is parsed and the source scanned for its AWS calls and the keys it writes, so a new SDK
//! call or write without its IAM grant fails here instead of in production.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use trustgate::config::{
    self, AdminAuth, Config, Function, RotationConfig, SigningAlg, SigningMode,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

// ---------------------------------------------------------------------------------------------
// What the code calls
// ---------------------------------------------------------------------------------------------

/// The IAM action of every DynamoDB operation the code may call on its SDK client.
/// `transact_write_items` has no action of its own: IAM authorizes each of its items, see
/// [`TRANSACTION_ITEMS`]. An operation missing here fails the scan: add it, and its grant.
const DYNAMODB_OPERATIONS: &[(&str, Option<&str>)] = &[
    ("get_item", Some("dynamodb:GetItem")),
    ("put_item", Some("dynamodb:PutItem")),
    ("update_item", Some("dynamodb:UpdateItem")),
    ("delete_item", Some("dynamodb:DeleteItem")),
    ("query", Some("dynamodb:Query")),
    ("scan", Some("dynamodb:Scan")),
    ("batch_get_item", Some("dynamodb:BatchGetItem")),
    ("batch_write_item", Some("dynamodb:BatchWriteItem")),
    ("transact_get_items", Some("dynamodb:GetItem")),
    ("transact_write_items", None),
];

/// Items of a `TransactWriteItems` and the action that authorizes each
/// (DynamoDB developer guide, "Using IAM with DynamoDB transactions").
const TRANSACTION_ITEMS: &[(&str, &str)] = &[
    ("Put::builder()", "dynamodb:PutItem"),
    ("Update::builder()", "dynamodb:UpdateItem"),
    ("Delete::builder()", "dynamodb:DeleteItem"),
    ("ConditionCheck::builder()", "dynamodb:ConditionCheckItem"),
];

const KMS_OPERATIONS: &[(&str, Option<&str>)] = &[
    ("sign", Some("kms:Sign")),
    ("get_public_key", Some("kms:GetPublicKey")),
    ("describe_key", Some("kms:DescribeKey")),
    ("verify", Some("kms:Verify")),
    ("encrypt", Some("kms:Encrypt")),
    ("decrypt", Some("kms:Decrypt")),
];

/// The operations of the store's `Table` (`impl Table` in `src/aws/table.rs`, see [`store`]) and
/// the action each needs. `transact` is authorized per write, see [`TABLE_WRITES`].
const TABLE_OPERATIONS: &[(&str, Option<&str>)] = &[
    ("put", Some("dynamodb:PutItem")),
    ("get", Some("dynamodb:GetItem")),
    ("get_versioned", Some("dynamodb:GetItem")),
    ("batch_get", Some("dynamodb:BatchGetItem")),
    ("batch_get_items", Some("dynamodb:BatchGetItem")),
    ("query", Some("dynamodb:Query")),
    ("query_all", Some("dynamodb:Query")),
    ("keys", Some("dynamodb:Query")),
    ("increment", Some("dynamodb:UpdateItem")),
    ("mark", Some("dynamodb:UpdateItem")),
    ("delete", Some("dynamodb:DeleteItem")),
    ("delete_many", Some("dynamodb:BatchWriteItem")),
    ("transact", None),
    ("transact_reporting", None),
];

/// The variants of `table::Write` (one action of a transaction) and the action each needs.
const TABLE_WRITES: &[(&str, &str)] = &[
    ("Put", "dynamodb:PutItem"),
    ("Delete", "dynamodb:DeleteItem"),
    ("Check", "dynamodb:ConditionCheckItem"),
    ("Increment", "dynamodb:UpdateItem"),
];

struct Source {
    path: String,
    text: String,
}

impl Source {
    /// The code without line comments and without any whitespace, so a call chain split over
    /// lines (`self.client\n    .put_item()`) reads `self.client.put_item()`.
    fn squashed(&self) -> String {
        self.text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
            .collect()
    }

    fn mentions(&self, what: &str) -> bool {
        self.squashed().contains(what)
    }
}

fn sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<Source>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(Source {
                    path: path
                        .strip_prefix(ROOT)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                    text: std::fs::read_to_string(&path).unwrap(),
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(ROOT).join("src"), &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Every `word` in `code` that is not the tail of a longer identifier.
fn occurrences(code: &str, word: &str) -> usize {
    code.match_indices(word)
        .filter(|(at, _)| {
            !code[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .count()
}

/// The IAM actions of the SDK calls a file makes on its `client` (DynamoDB or KMS, by the
/// crate it imports). Panics on an operation this test does not know.
fn sdk_actions(source: &Source) -> BTreeSet<String> {
    let code = source.squashed();
    let table = if source.mentions("aws_sdk_kms") {
        KMS_OPERATIONS
    } else if source.mentions("aws_sdk_dynamodb") {
        DYNAMODB_OPERATIONS
    } else {
        return BTreeSet::new();
    };
    let mut actions = BTreeSet::new();
    for (at, _) in code.match_indices("client.") {
        let rest = &code[at + "client.".len()..];
        let operation: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !rest[operation.len()..].starts_with('(') {
            continue; // a field, not a call
        }
        let known = table.iter().find(|(name, _)| *name == operation);
        let Some((_, action)) = known else {
            panic!(
                "{} calls the SDK operation `{operation}`, unknown to tests/infra_template.rs: \
                 add its IAM action there and grant it in infra/template.yaml",
                source.path
            );
        };
        actions.extend(action.map(str::to_owned));
    }
    for (builder, action) in TRANSACTION_ITEMS {
        if occurrences(&code, builder) > 0 {
            actions.insert((*action).to_owned());
        }
    }
    actions
}

/// Lines of `text` between each line equal to `open` and the next line `}` after it (every such
/// block, so an `impl` split over several blocks or files is read whole).
fn block<'a>(text: &'a str, open: &str) -> Vec<&'a str> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if inside && line == "}" {
            inside = false;
        } else if inside {
            lines.push(line);
        } else if line == open {
            inside = true;
        }
    }
    lines
}

/// The files of the store: `src/aws/table.rs` (`Table` and its operations) and the modules it is
/// split into, `src/aws/table_*.rs` (items, conditions and writes, errors, the key design).
fn is_store(path: &str) -> bool {
    path == "src/aws/table.rs" || (path.starts_with("src/aws/table_") && path.ends_with(".rs"))
}

/// The store as one source: its files together, so an operation, a `Write` variant or an SDK
/// call counts wherever in the store it is.
fn store() -> Source {
    let files: Vec<Source> = sources()
        .into_iter()
        .filter(|s| is_store(&s.path))
        .collect();
    assert!(
        files.iter().any(|s| s.path == "src/aws/table.rs"),
        "src/aws/table.rs is gone: tell tests/infra_template.rs where the store is"
    );
    Source {
        path: files
            .iter()
            .map(|s| s.path.as_str())
            .collect::<Vec<_>>()
            .join(" + "),
        text: files
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Which store operations a file that implements ports on `Table` calls (`self.get(…)`,
/// `Write::Put { … }`), as IAM actions.
fn table_actions_of_port_impl(source: &Source) -> BTreeSet<String> {
    let code = source.squashed();
    let mut actions = BTreeSet::new();
    for (name, action) in TABLE_OPERATIONS {
        if code.contains(&format!("self.{name}(")) || code.contains(&format!("self.{name}::<")) {
            actions.extend(action.map(str::to_owned));
        }
    }
    for (variant, action) in TABLE_WRITES {
        if occurrences(&code, &format!("Write::{variant}")) > 0 {
            actions.insert((*action).to_owned());
        }
    }
    actions
}

/// The files of src/aws that implement the token function's ports: everything there but the
/// store itself (the table, its items, writes, errors and key design), the SDK set-up and the
/// admin store.
fn is_token_port_impl(path: &str) -> bool {
    path.starts_with("src/aws/")
        && !is_admin_code(path)
        && !is_rotation_code(path)
        && !is_store(path)
        && !["src/aws/sdk.rs", "src/aws/mod.rs"].contains(&path)
}

/// The rotate function's own code in src/aws (its writes and `Encrypt`): any file there whose
/// path names `rotation`. It also reads the key set through the token function's
/// `SigningKeyRecords` implementation.
fn is_rotation_code(path: &str) -> bool {
    path.starts_with("src/aws/") && path.contains("rotation")
}

/// The file implementing `SigningKeyRecords` on the table: read by both token and rotate.
fn is_key_set_read(source: &Source) -> bool {
    source.path.starts_with("src/aws/") && source.mentions("implSigningKeyRecordsforTable{")
}

/// Whose code a source file is. Admin code is any file whose path names `admin`.
fn is_admin_code(path: &str) -> bool {
    path.contains("admin")
}

/// The actions the `token` function's code calls: its ports on `Table` and KMS, all in
/// src/aws (the use cases and http/token.rs only see the ports). The table itself and the
/// admin store are not the token function's code.
fn token_actions() -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for source in sources().iter().filter(|s| is_token_port_impl(&s.path)) {
        actions.extend(sdk_actions(source));
        if source.mentions("forTable{") {
            actions.extend(table_actions_of_port_impl(source));
        }
    }
    actions
}

/// The actions the `rotate` function's code calls: its own files and the key set read.
fn rotate_actions() -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for source in sources()
        .iter()
        .filter(|s| is_rotation_code(&s.path) || is_key_set_read(s))
    {
        actions.extend(sdk_actions(source));
        if source.mentions("forTable{") {
            actions.extend(table_actions_of_port_impl(source));
        }
    }
    actions
}

/// The `dynamodb:LeadingKeys` patterns of every partition the rotate code writes.
fn rotation_written_partitions() -> BTreeSet<String> {
    let mut patterns = BTreeSet::new();
    for source in sources().iter().filter(|s| is_rotation_code(&s.path)) {
        patterns.extend(
            written_key_constructors(source)
                .iter()
                .map(|c| partition_pattern(c)),
        );
    }
    patterns
}

/// The actions the `admin` function's code calls. Admin is the read-write front of every
/// record kind, so it may use every operation of the `Table` API: its grant follows the store
/// (and any SDK call an admin module makes itself).
fn admin_actions() -> BTreeSet<String> {
    let mut actions: BTreeSet<String> = TABLE_OPERATIONS
        .iter()
        .filter_map(|(_, action)| action.map(str::to_owned))
        .chain(TABLE_WRITES.iter().map(|(_, action)| (*action).to_owned()))
        .collect();
    for source in sources().iter().filter(|s| is_admin_code(&s.path)) {
        actions.extend(sdk_actions(source));
    }
    actions
}

#[test]
fn the_scan_knows_every_operation_of_the_store() {
    // The store's operations and writes are read from the store's files only: one declared
    // elsewhere would escape the scan below.
    for source in sources().iter().filter(|s| !is_store(&s.path)) {
        for open in ["impl Table {", "pub enum Write {"] {
            assert!(
                !source.text.lines().any(|line| line == open),
                "{} declares `{open}` outside the store (src/aws/table.rs, src/aws/table_*.rs): \
                 move it there or widen is_store in tests/infra_template.rs",
                source.path
            );
        }
    }

    let store = store();
    let operations: BTreeSet<&str> = block(&store.text, "impl Table {")
        .iter()
        .filter_map(|line| line.strip_prefix("    pub async fn "))
        .map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap()
        })
        .collect();
    let known: BTreeSet<&str> = TABLE_OPERATIONS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        operations, known,
        "the store's Table operations changed: update TABLE_OPERATIONS and the roles"
    );

    let variants: BTreeSet<&str> = block(&store.text, "pub enum Write {")
        .iter()
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|rest| rest.split(|c: char| !c.is_alphanumeric()).next().unwrap())
        .collect();
    let known: BTreeSet<&str> = TABLE_WRITES.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        variants, known,
        "table::Write changed: update TABLE_WRITES and the roles"
    );

    // Together the store's operations need exactly the actions its SDK calls need.
    let declared: BTreeSet<String> = TABLE_OPERATIONS
        .iter()
        .filter_map(|(_, action)| action.map(str::to_owned))
        .chain(TABLE_WRITES.iter().map(|(_, a)| (*a).to_owned()))
        .collect();
    assert_eq!(sdk_actions(&store), declared);
}

#[test]
fn the_scan_sees_the_calls_the_code_makes_today() {
    // Guards the scan itself: if these disappear, the scan has gone blind, not the code.
    let token = token_actions();
    for action in [
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "kms:Sign",
        "kms:GetPublicKey",
        "kms:Decrypt",
    ] {
        assert!(
            token.contains(action),
            "token scan lost {action}: {token:?}"
        );
    }
    assert!(!token.contains("kms:Encrypt"), "only the rotation encrypts");
    let rotate = rotate_actions();
    for action in ["dynamodb:Query", "dynamodb:PutItem", "kms:Encrypt"] {
        assert!(
            rotate.contains(action),
            "rotate scan lost {action}: {rotate:?}"
        );
    }
    assert_eq!(
        rotation_written_partitions(),
        BTreeSet::from(["SIGNKEY".to_owned()])
    );
    let written = token_written_partitions();
    for pattern in ["RT#*", "RTF#*", "JTI#*", "AUTHFAIL#*"] {
        assert!(
            written.contains(pattern),
            "token scan lost the writes of {pattern}: {written:?}"
        );
    }
}

#[test]
#[should_panic(expected = "unknown to tests/infra_template.rs")]
fn the_scan_refuses_an_sdk_operation_it_does_not_know() {
    let source = Source {
        path: "src/example.rs".into(),
        text: "use aws_sdk_dynamodb::Client;\n\
               async fn f(s: &S) {\n    s.client\n        .delete_table()\n        .send()\n}\n"
            .into(),
    };
    sdk_actions(&source);
}

#[test]
fn only_known_modules_reach_aws() {
    for source in sources() {
        let reaches_aws = source.mentions("aws_sdk_") || source.mentions("table::Table");
        let allowed = source.path.starts_with("src/aws/")
            // Observes the clients' calls (an interceptor) and makes none.
            || (source.path == "src/metrics.rs" && sdk_actions(&source).is_empty())
            || source.path == "src/bin/token.rs"
            || source.path == "src/bin/rotate.rs"
            || is_admin_code(&source.path);
        assert!(
            !reaches_aws || allowed,
            "{} reaches AWS directly: say which function it belongs to in \
             tests/infra_template.rs so its calls are checked against that function's role",
            source.path
        );
        if is_admin_code(&source.path) {
            // The admin role grants kms:GetPublicKey only: the KMS adapter is wired in the
            // binary alone, and handed to explain as VerifyOnly (checked with the role below).
            for kms in ["aws_sdk_kms", "aws::kms", "KmsSigner"] {
                assert!(
                    !source.mentions(kms) || source.path == "src/bin/admin.rs",
                    "{} uses KMS, but the admin role grants only kms:GetPublicKey to the \
                     wiring in src/bin/admin.rs",
                    source.path
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Which partitions the token code writes
// ---------------------------------------------------------------------------------------------

/// Actions that change an item. The token role grants them only on the partitions its code
/// writes (`dynamodb:LeadingKeys`); in a `TransactWriteItems` IAM checks each item's action
/// and key on its own.
const WRITE_ACTIONS: &[&str] = &[
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchWriteItem",
];

/// Store operations that write one item whose key is their first argument (`&Key`).
const SINGLE_KEY_WRITES: &[&str] = &["put", "increment", "mark", "delete"];

fn is_write(action: &str) -> bool {
    WRITE_ACTIONS.contains(&action)
}

fn identifier(code: &str) -> &str {
    let end = code
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(code.len());
    &code[..end]
}

/// `code` up to the `,` or closing bracket that ends the argument or field it starts with.
fn first_item(code: &str) -> &str {
    let mut depth = 0usize;
    for (at, c) in code.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return &code[..at],
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return &code[..at],
            _ => {}
        }
    }
    code
}

/// The functions of a file, each squashed (see [`Source::squashed`]) from its `fn` line to the
/// next one, so a `let key = Key::…` is read together with the write that uses it.
fn functions(source: &Source) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in source.text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = code.strip_prefix("pub ").unwrap_or(code);
        let code = code.strip_prefix("async ").unwrap_or(code);
        if code.starts_with("fn ") && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.extend(line.chars().filter(|c| !c.is_whitespace()));
    }
    out.push(current);
    out
}

/// The `Key` constructor an expression of `function` names: `&Key::refresh_token(…)`, or a
/// variable bound once in the same function by `let key = Key::…(…)`. Panics otherwise: a key
/// this scan cannot trace would be a write it cannot check.
fn key_constructor(path: &str, function: &str, expression: &str) -> String {
    let expression = expression.trim_start_matches('&');
    if let Some(rest) = expression.strip_prefix("Key::") {
        return identifier(rest).to_owned();
    }
    let name = identifier(expression);
    if !name.is_empty() && name == expression {
        let binding = format!("let{name}=Key::");
        let bound: Vec<_> = function.match_indices(&binding).collect();
        if let [(at, _)] = bound[..] {
            return identifier(&function[at + binding.len()..]).to_owned();
        }
    }
    panic!(
        "{path} writes the key `{expression}`, which tests/infra_template.rs cannot trace to a \
         Key constructor: build it with `Key::…` in the call, or in one `let` in the same function"
    )
}

/// The `Key` constructors whose items a file writes: the first argument of each single-item
/// write (`self.put(&key, …)`) and the `key` of each `Write::…` (a transaction's actions).
fn written_key_constructors(source: &Source) -> BTreeSet<String> {
    let mut constructors = BTreeSet::new();
    for function in functions(source) {
        for operation in SINGLE_KEY_WRITES {
            let call = format!("self.{operation}(");
            for (at, _) in function.match_indices(&call) {
                let argument = first_item(&function[at + call.len()..]);
                constructors.insert(key_constructor(&source.path, &function, argument));
            }
        }
        for (variant, _) in TABLE_WRITES {
            let open = format!("Write::{variant}{{");
            for (at, _) in function.match_indices(&open) {
                let mut fields = &function[at + open.len()..];
                let mut key = None;
                while !fields.is_empty() && !fields.starts_with('}') {
                    let field = first_item(fields);
                    if field.is_empty() {
                        break;
                    }
                    match field.split_once(':') {
                        Some(("key", expression)) => key = Some(expression),
                        None if field == "key" => key = Some("key"),
                        _ => {}
                    }
                    fields = fields[field.len()..].trim_start_matches(',');
                }
                let key = key.unwrap_or_else(|| panic!("{}: a Write without key", source.path));
                constructors.insert(key_constructor(&source.path, &function, key));
            }
        }
    }
    constructors
}

/// The lines after `pub fn {function}(` in src/aws/table_keys.rs, trimmed.
fn function_lines<'k>(keys: &'k str, function: &str) -> Vec<&'k str> {
    let open = format!("pub fn {function}(");
    let start = keys
        .find(&open)
        .unwrap_or_else(|| panic!("no `{open}` in src/aws/table_keys.rs"));
    keys[start..].lines().skip(1).map(str::trim).collect()
}

/// The `dynamodb:LeadingKeys` pattern of the partition keys `Key::{constructor}` makes, read
/// from src/aws/table_keys.rs: `format!("RT#{hash}")` is `RT#*`, a constant is itself.
fn partition_pattern(constructor: &str) -> String {
    let keys = std::fs::read_to_string(format!("{ROOT}/src/aws/table_keys.rs")).unwrap();
    let pk = function_lines(&keys, constructor)
        .into_iter()
        .find_map(|line| line.strip_prefix("pk: "))
        .unwrap_or_else(|| panic!("Key::{constructor} sets no `pk:` that this test can read"));
    pattern_of_expression(&keys, pk.trim_end_matches(','))
}

/// The pattern of a partition key expression: a `format!`, a constant, or a helper function
/// of src/aws/table_keys.rs returning a `format!` (`organization_pk(org)`).
fn pattern_of_expression(keys: &str, expression: &str) -> String {
    if let Some(template) = expression.strip_prefix("format!(\"") {
        let whole = template.split('"').next().unwrap();
        let literal = whole.split('{').next().unwrap();
        assert!(
            !literal.is_empty(),
            "the partition key `{expression}` starts with a variable: no prefix to grant"
        );
        return if whole.contains('{') {
            format!("{literal}*")
        } else {
            literal.to_owned()
        };
    }
    let name = identifier(expression);
    if expression == format!("{name}.into()") {
        let declaration = format!("pub const {name}: &str = \"");
        let value = keys
            .split_once(&declaration)
            .and_then(|(_, rest)| rest.split('"').next())
            .unwrap_or_else(|| panic!("no `{declaration}` in src/aws/table_keys.rs"));
        return value.to_owned();
    }
    if expression.starts_with(&format!("{name}(")) {
        let returned = function_lines(keys, name)
            .into_iter()
            .find(|line| line.starts_with("format!("))
            .unwrap_or_else(|| panic!("{name} in src/aws/table_keys.rs returns no format!"));
        return pattern_of_expression(keys, returned);
    }
    panic!("cannot read the partition key `{expression}` of src/aws/table_keys.rs")
}

/// Every `Key` constructor of src/aws/table_keys.rs (the `pub fn`s of `impl Key`).
fn key_constructors() -> BTreeSet<String> {
    let keys = std::fs::read_to_string(format!("{ROOT}/src/aws/table_keys.rs")).unwrap();
    block(&keys, "impl Key {")
        .iter()
        .filter_map(|line| line.strip_prefix("    pub fn "))
        .map(|rest| identifier(rest).to_owned())
        .collect()
}

/// The `dynamodb:LeadingKeys` patterns of every partition the token code writes.
fn token_written_partitions() -> BTreeSet<String> {
    let mut patterns = BTreeSet::new();
    for source in sources().iter().filter(|s| is_token_port_impl(&s.path)) {
        // Direct SDK writes would bypass the key tracing above.
        let direct: BTreeSet<String> = of_service(&sdk_actions(source), "dynamodb:");
        assert!(
            direct.is_empty(),
            "{} calls DynamoDB itself ({direct:?}): write through the store's Table so \
             tests/infra_template.rs can tell which partitions the token role writes",
            source.path
        );
        if !source.mentions("forTable{") {
            continue;
        }
        let code = source.squashed();
        for (operation, action) in TABLE_OPERATIONS {
            // `None`: a transaction, authorized per write.
            let writes = action.is_none_or(is_write);
            let traced = SINGLE_KEY_WRITES.contains(operation) || operation.starts_with("transact");
            assert!(
                traced || !writes || !code.contains(&format!("self.{operation}(")),
                "{} calls the store's `{operation}`, whose keys tests/infra_template.rs does \
                 not trace: teach written_key_constructors where they are",
                source.path
            );
        }
        patterns.extend(
            written_key_constructors(source)
                .iter()
                .map(|c| partition_pattern(c)),
        );
    }
    patterns
}

/// Whether a partition key matching `a` may also match `b` (each `LIT*` or an exact key).
fn patterns_overlap(a: &str, b: &str) -> bool {
    match (a.strip_suffix('*'), b.strip_suffix('*')) {
        (Some(a), Some(b)) => a.starts_with(b) || b.starts_with(a),
        (Some(prefix), None) => b.starts_with(prefix),
        (None, Some(prefix)) => a.starts_with(prefix),
        (None, None) => a == b,
    }
}

#[test]
fn the_key_scan_traces_keys_through_calls_lets_and_transactions() {
    let source = Source {
        path: "src/aws/example.rs".into(),
        text: "impl X for Table {\n\
               \x20   fn a(&self) {\n\
               \x20       let key = Key::seen_jti(o, i, j);\n\
               \x20       self.put(&key, item, Condition::Absent).await\n\
               \x20   }\n\
               \x20   fn b(&self) {\n\
               \x20       let key = Key::application(o, c);\n\
               \x20       self.get(&key).await;\n\
               \x20       self.delete(&Key::refresh_family(f), Condition::None).await\n\
               \x20   }\n\
               \x20   fn c(&self) {\n\
               \x20       self.transact(vec![Write::Put {\n\
               \x20           item: Item::from_record(t, Some(1))?,\n\
               \x20           key: Key::refresh_token(h),\n\
               \x20           condition: Condition::Equals(\"a\", b.to_owned()),\n\
               \x20       }])\n\
               \x20   }\n\
               }\n"
        .into(),
    };
    let written: Vec<String> = written_key_constructors(&source).into_iter().collect();
    // `application` is only read.
    assert_eq!(written, ["refresh_family", "refresh_token", "seen_jti"]);
    assert_eq!(partition_pattern("seen_jti"), "JTI#*");
    assert_eq!(partition_pattern("application"), "ORG#*");
    assert_eq!(partition_pattern("organization"), "ORGS");
}

#[test]
#[should_panic(expected = "cannot trace to a Key constructor")]
fn the_key_scan_refuses_a_write_whose_key_it_cannot_trace() {
    let source = Source {
        path: "src/aws/example.rs".into(),
        text: "fn a(&self, key: &Key) {\n    self.put(key, item, Condition::None)\n}\n".into(),
    };
    written_key_constructors(&source);
}

// ---------------------------------------------------------------------------------------------
// The template
// ---------------------------------------------------------------------------------------------

fn template() -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/infra/template.yaml")).unwrap();
    long_form(serde_yaml::from_str(&text).unwrap())
}

/// CloudFormation's short tags (`!Ref X`, `!GetAtt A.B`, `!If […]`) in their long JSON forms.
fn long_form(value: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => match n.as_i64() {
            Some(i) => json!(i),
            None => json!(n.as_f64().unwrap()),
        },
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(long_form).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), long_form(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let inner = long_form(tagged.value);
            match tag.trim_start_matches('!') {
                "Ref" => json!({ "Ref": inner }),
                "Condition" => json!({ "Condition": inner }),
                "GetAtt" => match inner.as_str().and_then(|s| s.split_once('.')) {
                    Some((resource, attribute)) => json!({ "Fn::GetAtt": [resource, attribute] }),
                    None => json!({ "Fn::GetAtt": inner }),
                },
                function => json!({ format!("Fn::{function}"): inner }),
            }
        }
    }
}

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// Evaluates template values as CloudFormation would for given parameters (the others at
/// their defaults); resources become plausible placeholders.
struct Evaluator<'a> {
    template: &'a Value,
    parameters: BTreeMap<&'a str, &'a str>,
}

impl<'a> Evaluator<'a> {
    fn new(template: &'a Value, parameters: &[(&'a str, &'a str)]) -> Evaluator<'a> {
        Evaluator {
            template,
            parameters: parameters.iter().copied().collect(),
        }
    }

    fn string(&self, value: &Value) -> String {
        match self.eval(value) {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => panic!("not a string: {other}"),
        }
    }

    fn eval(&self, value: &Value) -> Value {
        let Some((function, argument)) = value
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next())
        else {
            return value.clone();
        };
        let args = || argument.as_array().expect("a list of arguments");
        match function.as_str() {
            "Ref" => self.reference(argument.as_str().unwrap()),
            "Fn::GetAtt" if argument[1] == "DomainName" => {
                let resource = argument[0].as_str().unwrap();
                assert!(self.template["Resources"].get(resource).is_some());
                json!(format!("{}.cloudfront.net", resource.to_lowercase()))
            }
            "Fn::GetAtt" => {
                let resource = argument[0].as_str().unwrap();
                assert!(self.template["Resources"].get(resource).is_some());
                json!(format!(
                    "arn:aws:placeholder:us-east-1:123456789012:{resource}/{}",
                    argument[1].as_str().unwrap()
                ))
            }
            "Fn::Sub" => {
                let mut text = argument.as_str().expect("Fn::Sub of a string").to_owned();
                while let Some(start) = text.find("${") {
                    let end = start + text[start..].find('}').unwrap();
                    let name = &text[start + 2..end];
                    let replacement = match name.split_once('.') {
                        Some((resource, attribute)) => self.string(&json!({
                            "Fn::GetAtt": [resource, attribute]
                        })),
                        None => self.string(&json!({ "Ref": name })),
                    };
                    text.replace_range(start..=end, &replacement);
                }
                json!(text)
            }
            "Fn::Join" => {
                let separator = args()[0].as_str().unwrap();
                let items = match self.eval(&args()[1]) {
                    Value::Array(items) => items,
                    other => panic!("Fn::Join of {other}"),
                };
                let items: Vec<String> = items.iter().map(|v| self.string(v)).collect();
                json!(items.join(separator))
            }
            "Fn::If" => {
                let branch = if self.condition(args()[0].as_str().unwrap()) {
                    &args()[1]
                } else {
                    &args()[2]
                };
                self.eval(branch)
            }
            "Condition" => json!(self.condition(argument.as_str().unwrap())),
            "Fn::Equals" => json!(self.eval(&args()[0]) == self.eval(&args()[1])),
            "Fn::Not" => json!(!self.truth(&args()[0])),
            "Fn::And" => json!(args().iter().all(|c| self.truth(c))),
            "Fn::Or" => json!(args().iter().any(|c| self.truth(c))),
            _ => value.clone(),
        }
    }

    fn truth(&self, value: &Value) -> bool {
        self.eval(value).as_bool().expect("a condition")
    }

    fn condition(&self, name: &str) -> bool {
        self.truth(&self.template["Conditions"][name])
    }

    fn reference(&self, name: &str) -> Value {
        if let Some(parameter) = self.template["Parameters"].get(name) {
            let value = match self.parameters.get(name) {
                Some(given) => (*given).to_owned(),
                None => match &parameter["Default"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => panic!("parameter {name} has no usable default: {other}"),
                },
            };
            return if parameter["Type"] == "CommaDelimitedList" {
                json!(value.split(',').collect::<Vec<_>>())
            } else {
                json!(value)
            };
        }
        match name {
            "AWS::Region" => json!("us-east-1"),
            "AWS::URLSuffix" => json!("amazonaws.com"),
            "AWS::AccountId" => json!("123456789012"),
            "AWS::Partition" => json!("aws"),
            "AWS::StackName" => json!("trustgate"),
            resource => {
                assert!(
                    self.template["Resources"].get(resource).is_some(),
                    "Ref to unknown {resource}"
                );
                json!(format!("trustgate-{}", resource.to_lowercase()))
            }
        }
    }
}

/// Logical ids per function: (function, role, log group).
const TOKEN: (&str, &str, &str) = ("TokenFunction", "TokenRole", "TokenLogGroup");
const ADMIN: (&str, &str, &str) = ("AdminFunction", "AdminRole", "AdminLogGroup");
const ROTATE: (&str, &str, &str) = ("RotateFunction", "RotateRole", "RotateLogGroup");

/// A function's environment: SAM's `Globals` merged with its own.
fn environment(t: &Value, function: &str) -> BTreeMap<String, Value> {
    let mut variables = BTreeMap::new();
    for source in [
        &t["Globals"]["Function"],
        &t["Resources"][function]["Properties"],
    ] {
        if let Some(map) = source["Environment"]["Variables"].as_object() {
            variables.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    variables
}

/// How a resource is named in a policy: `Table.Arn`, `Ref PreviousSigningKeyArns`, or text.
fn resource_name(resource: &Value) -> String {
    if let Some([resource, attribute]) = resource["Fn::GetAtt"].as_array().map(Vec::as_slice) {
        return format!(
            "{}.{}",
            resource.as_str().unwrap(),
            attribute.as_str().unwrap()
        );
    }
    if let Some(name) = resource["Ref"].as_str() {
        return format!("Ref {name}");
    }
    match resource.as_str() {
        Some(text) => text.to_owned(),
        None => panic!("unexpected policy resource {resource}"),
    }
}

/// The statements of a policy document, both branches of every `Fn::If`.
fn statements(document: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for statement in document["Statement"].as_array().expect("a statement list") {
        match statement["Fn::If"].as_array() {
            Some(branches) => {
                out.extend(branches[1..].iter().filter(|b| b["Ref"] != "AWS::NoValue"))
            }
            None => out.push(statement),
        }
    }
    out
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    }
}

/// The (action, resource) pairs a role's inline policies allow.
fn grants(t: &Value, role: &str) -> BTreeSet<(String, String)> {
    let properties = &t["Resources"][role]["Properties"];
    assert!(properties.get("ManagedPolicyArns").is_none());
    let mut grants = BTreeSet::new();
    for policy in properties["Policies"].as_array().unwrap() {
        for statement in statements(&policy["PolicyDocument"]) {
            assert_eq!(statement["Effect"], "Allow", "{role}: {statement}");
            for forbidden in ["NotAction", "NotResource"] {
                assert!(statement.get(forbidden).is_none(), "{role}: {statement}");
            }
            for action in as_list(&statement["Action"]) {
                for resource in as_list(&statement["Resource"]) {
                    grants.insert((action.as_str().unwrap().to_owned(), resource_name(resource)));
                }
            }
        }
    }
    grants
}

fn pairs(actions: &BTreeSet<String>, resource: &str) -> BTreeSet<(String, String)> {
    actions
        .iter()
        .map(|a| (a.clone(), resource.to_owned()))
        .collect()
}

fn logging_grants(log_group: &str) -> BTreeSet<(String, String)> {
    let actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
        .map(str::to_owned)
        .into();
    pairs(&actions, &format!("{log_group}.Arn"))
}

fn of_service(actions: &BTreeSet<String>, prefix: &str) -> BTreeSet<String> {
    actions
        .iter()
        .filter(|a| a.starts_with(prefix))
        .cloned()
        .collect()
}

#[test]
fn token_role_grants_exactly_what_the_token_code_calls() {
    let t = template();
    let (function, role, log_group) = TOKEN;
    let code = token_actions();

    let mut expected = pairs(&of_service(&code, "dynamodb:"), "Table.Arn");
    // Envelope mode decrypts its keys under the wrapping key; KMS mode signs with SigningKey.
    let mut kms = of_service(&code, "kms:");
    assert!(kms.remove("kms:Decrypt"));
    expected.insert(("kms:Decrypt".into(), "WrappingKey.Arn".into()));
    expected.extend(pairs(&kms, "SigningKey.Arn"));
    // Earlier keys are only published in the JWKS (src/aws/kms.rs loads their public
    // keys), never used to sign.
    assert!(code.contains("kms:GetPublicKey"));
    expected.insert((
        "kms:GetPublicKey".into(),
        "Ref PreviousSigningKeyArns".into(),
    ));
    expected.extend(logging_grants(log_group));
    assert_eq!(grants(&t, role), expected);

    let properties = &t["Resources"][function]["Properties"];
    assert_eq!(properties["Role"], json!({ "Fn::GetAtt": [role, "Arn"] }));
    assert_eq!(
        properties["LoggingConfig"]["LogGroup"],
        json!({ "Ref": log_group })
    );
}

#[test]
fn token_role_writes_only_the_partitions_the_token_code_writes() {
    let t = template();
    let written = token_written_partitions();
    let expected = json!({
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": written.iter().collect::<Vec<_>>() }
    });
    let mut granted_writes = BTreeSet::new();
    for policy in t["Resources"][TOKEN.1]["Properties"]["Policies"]
        .as_array()
        .unwrap()
    {
        for statement in statements(&policy["PolicyDocument"]) {
            let actions: Vec<&str> = as_list(&statement["Action"])
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            if !actions.iter().any(|a| a.starts_with("dynamodb:")) {
                continue; // KMS statements have conditions of their own
            }
            let writes: Vec<&str> = actions.iter().copied().filter(|a| is_write(a)).collect();
            match statement.get("Condition") {
                None => assert!(
                    writes.is_empty(),
                    "TokenRole grants {writes:?} on every partition: {statement}"
                ),
                Some(condition) => {
                    // The list in the template is sorted, so equal means the same set, once each.
                    assert_eq!(condition, &expected, "TokenRole's write condition");
                    assert_eq!(writes, actions, "only writes need the partition condition");
                    granted_writes.extend(writes.into_iter().map(str::to_owned));
                }
            }
        }
    }
    let code_writes: BTreeSet<String> = token_actions()
        .into_iter()
        .filter(|a| is_write(a))
        .collect();
    assert_eq!(granted_writes, code_writes);
}

#[test]
fn the_token_partitions_hold_no_record_the_token_code_does_not_write() {
    let written = token_written_partitions();
    let mut writers = BTreeSet::new();
    for source in sources().iter().filter(|s| is_token_port_impl(&s.path)) {
        writers.extend(written_key_constructors(source));
    }
    for constructor in key_constructors() {
        let pattern = partition_pattern(&constructor);
        if writers.contains(&constructor) {
            assert!(written.contains(&pattern), "{constructor}: {pattern}");
            continue;
        }
        for granted in &written {
            assert!(
                !patterns_overlap(granted, &pattern),
                "the token role may write {granted}, which also holds Key::{constructor} \
                 ({pattern}), a record the token function does not write"
            );
        }
    }
    // The prefixes end at their `#`: a refresh family is not a refresh token.
    assert!(!patterns_overlap("RT#*", "RTF#*"));
    assert!(patterns_overlap("RT*", "RTF#*"));
}

#[test]
fn rotate_role_grants_exactly_what_the_rotate_code_calls_on_the_key_partition_only() {
    let t = template();
    let (function, role, log_group) = ROTATE;
    let code = rotate_actions();
    let mut expected = pairs(&of_service(&code, "dynamodb:"), "Table.Arn");
    expected.extend(pairs(&of_service(&code, "kms:"), "WrappingKey.Arn"));
    assert!(!code.contains("kms:Decrypt"), "the rotation never decrypts");
    expected.extend(logging_grants(log_group));
    assert_eq!(grants(&t, role), expected);

    // Every table action, reads too, on the signing keys' partition only; KMS only for
    // ciphertexts of this stack's table.
    let partitions = json!({
        "ForAllValues:StringLike": {
            "dynamodb:LeadingKeys": rotation_written_partitions().iter().collect::<Vec<_>>()
        }
    });
    let table_context = json!({
        "StringEquals": { "kms:EncryptionContext:trustgate:table": { "Ref": "Table" } }
    });
    for policy in t["Resources"][role]["Properties"]["Policies"]
        .as_array()
        .unwrap()
    {
        for statement in statements(&policy["PolicyDocument"]) {
            let action = as_list(&statement["Action"])[0]
                .as_str()
                .unwrap()
                .to_owned();
            match action.split(':').next().unwrap() {
                "dynamodb" => assert_eq!(statement["Condition"], partitions, "{statement}"),
                "kms" => assert_eq!(statement["Condition"], table_context, "{statement}"),
                _ => {}
            }
        }
    }

    let properties = &t["Resources"][function]["Properties"];
    assert_eq!(properties["Role"], json!({ "Fn::GetAtt": [role, "Arn"] }));
    assert_eq!(
        properties["LoggingConfig"]["LogGroup"],
        json!({ "Ref": log_group })
    );
    assert_eq!(
        properties["Events"]["Rotation"]["Properties"]["Schedule"],
        json!({ "Ref": "RotationSchedule" })
    );
    // Only in envelope mode, and the token role may decrypt only then too.
    for resource in [function, role, log_group, "WrappingKey", "WrappingKeyAlias"] {
        assert_eq!(
            t["Resources"][resource]["Condition"], "IsEnvelope",
            "{resource}"
        );
    }
}

#[test]
fn admin_role_grants_exactly_what_the_admin_code_calls() {
    let t = template();
    let (function, role, log_group) = ADMIN;
    let code = admin_actions();
    assert!(of_service(&code, "kms:").is_empty());

    let mut expected = pairs(&code, "Table.Arn");
    // Explain verifies the organization's own tokens with the token function's KMS adapter,
    // which the admin wiring can only use to read the published keys: no kms:Sign.
    let text = |path: &str| {
        let source = sources().into_iter().find(|s| s.path == path);
        source.unwrap_or_else(|| panic!("{path} is gone")).text
    };
    assert!(text("src/bin/admin.rs").contains("KmsSigner::new("));
    assert!(text("src/http/admin/mod.rs").contains("signer: Arc::new(VerifyOnly(own_keys))"));
    for resource in ["SigningKey.Arn", "Ref PreviousSigningKeyArns"] {
        expected.insert(("kms:GetPublicKey".into(), resource.into()));
    }
    expected.extend(logging_grants(log_group));
    assert_eq!(grants(&t, role), expected);

    let properties = &t["Resources"][function]["Properties"];
    assert_eq!(properties["Role"], json!({ "Fn::GetAtt": [role, "Arn"] }));
    assert_eq!(
        properties["LoggingConfig"]["LogGroup"],
        json!({ "Ref": log_group })
    );
}

#[test]
fn no_policy_names_a_wildcard_resource() {
    let t = template();
    for (name, role) in resources_of_type(&t, "AWS::IAM::Role") {
        for policy in role["Properties"]["Policies"].as_array().unwrap() {
            for statement in statements(&policy["PolicyDocument"]) {
                for resource in as_list(&statement["Resource"]) {
                    assert!(
                        !resource.to_string().contains('*'),
                        "{name} grants on {resource}"
                    );
                }
            }
        }
    }
    for kind in ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"] {
        assert!(resources_of_type(&t, kind).is_empty(), "review {kind} here");
    }
    // Functions use the roles above, never SAM's generated ones.
    for (name, function) in resources_of_type(&t, "AWS::Serverless::Function") {
        assert!(function["Properties"].get("Policies").is_none(), "{name}");
        assert!(function["Properties"].get("Role").is_some(), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// README's configuration table: variables of both functions, and of one only.
// The signing keys are the admin function's too: explain verifies the organization's own tokens.
const BOTH: &[&str] = &[
    config::TABLE,
    config::PUBLIC_URL,
    config::SIGNING_MODE,
    config::WRAPPING_KEY,
    config::SIGNING_KEY,
    config::PREVIOUS_SIGNING_KEYS,
    config::SIGNING_ALG,
];
const TOKEN_ONLY: &[&str] = &[config::ALLOW_INSECURE_JWKS, config::CONFIG_CACHE_SECONDS];
const ADMIN_ONLY: &[&str] = &[config::ADMIN_AUTH];

fn trustgate_variables(t: &Value, function: &str) -> BTreeSet<String> {
    environment(t, function)
        .into_keys()
        .filter(|k| k.starts_with("TRUSTGATE_"))
        .collect()
}

#[test]
fn every_contract_variable_is_set_on_the_function_that_needs_it() {
    // Every variable src/config.rs knows is placed in the table above.
    let config_rs = std::fs::read_to_string(format!("{ROOT}/src/config.rs")).unwrap();
    let known: BTreeSet<&str> = config_rs
        .lines()
        .filter_map(|line| line.strip_prefix("pub const "))
        .filter_map(|rest| rest.split('"').nth(1))
        .filter(|name| name.starts_with("TRUSTGATE_"))
        .collect();
    let placed: BTreeSet<&str> = [BOTH, TOKEN_ONLY, ADMIN_ONLY]
        .concat()
        .into_iter()
        .collect();
    assert_eq!(
        known, placed,
        "a configuration variable was added or removed"
    );

    let t = template();
    let set = |names: &[&[&str]]| -> BTreeSet<String> {
        names.concat().iter().map(|n| (*n).to_owned()).collect()
    };
    assert_eq!(trustgate_variables(&t, TOKEN.0), set(&[BOTH, TOKEN_ONLY]));
    assert_eq!(trustgate_variables(&t, ADMIN.0), set(&[BOTH, ADMIN_ONLY]));
    // The rotation's own (src/config.rs, RotationConfig); the public URL comes from Globals.
    let rotate = [
        config::TABLE,
        config::PUBLIC_URL,
        config::WRAPPING_KEY,
        config::SIGNING_ALG,
    ];
    assert_eq!(trustgate_variables(&t, ROTATE.0), set(&[&rotate]));
}

#[test]
fn variables_come_from_the_stacks_resources_and_parameters() {
    let t = template();
    let token = environment(&t, TOKEN.0);
    let admin = environment(&t, ADMIN.0);
    for env in [&token, &admin] {
        assert_eq!(env[config::TABLE], json!({ "Ref": "Table" }));
    }
    assert_eq!(
        token[config::SIGNING_KEY],
        json!({ "Fn::GetAtt": ["SigningKey", "Arn"] })
    );
    assert_eq!(
        token[config::PREVIOUS_SIGNING_KEYS],
        json!({ "Fn::Join": [",", { "Ref": "PreviousSigningKeyArns" }] })
    );
    assert_eq!(token[config::SIGNING_ALG], json!({ "Ref": "SigningAlg" }));
    assert_eq!(
        token[config::CONFIG_CACHE_SECONDS],
        json!({ "Ref": "ConfigCacheSeconds" })
    );
    // Fixed for every deployment: the insecure settings exist for local development only.
    assert_eq!(token[config::ALLOW_INSECURE_JWKS], json!("false"));
    assert_eq!(admin[config::ADMIN_AUTH], json!("iam"));
}

fn deployed_config(t: &Value, function: Function, parameters: &[(&str, &str)]) -> Config {
    let (id, ..) = match function {
        Function::Token => TOKEN,
        Function::Admin => ADMIN,
    };
    let evaluator = Evaluator::new(t, parameters);
    let env: BTreeMap<String, String> = environment(t, id)
        .iter()
        .map(|(k, v)| (k.clone(), evaluator.string(v)))
        .collect();
    Config::from_lookup(function, |name| env.get(name).cloned())
        .unwrap_or_else(|e| panic!("{id} with {parameters:?}: {e}"))
}

#[test]
fn the_deployed_environment_parses_as_the_functions_parse_it() {
    let t = template();

    let token = deployed_config(&t, Function::Token, &[]);
    assert_eq!(
        token.public_url,
        "https://trustgate-httpapi.execute-api.us-east-1.amazonaws.com"
    );
    assert_eq!(token.table, "trustgate-table");
    assert!(token.signing_key.as_deref().unwrap().contains("SigningKey"));
    assert!(token.previous_signing_keys.is_empty());
    assert_eq!(token.signing_alg, Some(SigningAlg::RS256));
    assert!(!token.allow_insecure_jwks);
    assert_eq!(token.config_cache_ttl, Duration::from_secs(30));

    assert_eq!(token.signing_mode, SigningMode::Kms);

    let admin = deployed_config(&t, Function::Admin, &[]);
    assert_eq!(admin.admin_auth, AdminAuth::Iam);
    assert_eq!(admin.public_url, token.public_url);

    let envelope = [("SigningMode", "envelope"), ("SigningAlg", "ES256")];
    let wrapping_key = "arn:aws:placeholder:us-east-1:123456789012:WrappingKey/Arn";
    for function in [Function::Token, Function::Admin] {
        let config = deployed_config(&t, function, &envelope);
        assert_eq!(
            config.signing_mode,
            SigningMode::Envelope {
                wrapping_key: wrapping_key.into()
            }
        );
    }
    let evaluator = Evaluator::new(&t, &envelope);
    let env: BTreeMap<String, String> = environment(&t, ROTATE.0)
        .iter()
        .map(|(k, v)| (k.clone(), evaluator.string(v)))
        .collect();
    let rotation = RotationConfig::from_lookup(|name| env.get(name).cloned()).unwrap();
    assert_eq!(rotation.wrapping_key, wrapping_key);
    assert_eq!(rotation.table, "trustgate-table");
    assert_eq!(rotation.signing_alg, SigningAlg::ES256);

    let rotated = deployed_config(
        &t,
        Function::Token,
        &[
            ("SigningKeySpec", "ECC_NIST_P256"),
            ("SigningAlg", "ES256"),
            (
                "PreviousSigningKeyArns",
                "arn:aws:kms:us-east-1:123456789012:key/a,arn:aws:kms:us-east-1:123456789012:key/b",
            ),
            ("ConfigCacheSeconds", "0"),
        ],
    );
    assert_eq!(rotated.signing_alg, Some(SigningAlg::ES256));
    assert_eq!(rotated.previous_signing_keys.len(), 2);
    assert_eq!(rotated.config_cache_ttl, Duration::ZERO);
}

#[test]
fn the_public_url_is_the_given_one_else_the_custom_domain_else_the_api() {
    let t = template();
    let url = |parameters: &[(&str, &str)]| {
        let token = deployed_config(&t, Function::Token, parameters).public_url;
        let admin = deployed_config(&t, Function::Admin, parameters).public_url;
        assert_eq!(token, admin);
        let output = Evaluator::new(&t, parameters).string(&t["Outputs"]["PublicUrl"]["Value"]);
        assert_eq!(output, token);
        token
    };
    let domain = [
        ("DomainName", "sts.example.com"),
        (
            "CertificateArn",
            "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        ),
    ];
    assert_eq!(url(&domain), "https://sts.example.com");
    assert_eq!(
        url(&[("PublicUrl", "https://id.example.com/sts")]),
        "https://id.example.com/sts"
    );
    assert!(url(&[]).contains(".execute-api."));
}

#[test]
fn behind_the_edge_the_public_url_is_cloudfronts_and_execute_api_is_off() {
    let t = template();
    let edge = [
        ("EdgeProtection", "waf"),
        ("DomainName", "origin.sts.example.com"),
        (
            "CertificateArn",
            "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        ),
    ];
    let on = Evaluator::new(&t, &edge);
    assert!(on.condition("HasEdge"));
    let public_url = deployed_config(&t, Function::Token, &edge).public_url;
    assert_eq!(public_url, "https://edgedistribution.cloudfront.net");
    assert_eq!(
        deployed_config(&t, Function::Admin, &edge).public_url,
        public_url
    );
    assert_eq!(on.string(&t["Outputs"]["PublicUrl"]["Value"]), public_url);
    let disabled = &t["Resources"]["HttpApi"]["Properties"]["DisableExecuteApiEndpoint"];
    assert_eq!(on.eval(disabled), json!(true));
    // An explicit PublicUrl still wins.
    let mut given = edge.to_vec();
    given.push(("PublicUrl", "https://id.example.com"));
    let given_url = deployed_config(&t, Function::Token, &given).public_url;
    assert_eq!(given_url, "https://id.example.com");

    // Off by default: no edge resources, the execute-api endpoint answers.
    let off = Evaluator::new(&t, &[]);
    assert!(!off.condition("HasEdge"));
    assert_eq!(off.eval(disabled), json!(false));
    // Asked for without the origin domain it needs: no edge (and the rule refuses the deploy).
    assert!(!Evaluator::new(&t, &[("EdgeProtection", "waf")]).condition("HasEdge"));

    let resources = &t["Resources"];
    for name in ["EdgeWebAcl", "EdgeDistribution"] {
        assert_eq!(resources[name]["Condition"], "HasEdge", "{name}");
    }
    let acl = &resources["EdgeWebAcl"]["Properties"];
    assert_eq!(acl["Scope"], "CLOUDFRONT");
    let rules = acl["Rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    let rate = &rules[0]["Statement"]["RateBasedStatement"];
    assert_eq!(rate["AggregateKeyType"], "IP", "per source address");
    assert_eq!(rate["Limit"], json!({"Ref": "EdgeRateLimit"}));
    assert_eq!(rules[0]["Action"], json!({"Block": {}}));
    let distribution = &resources["EdgeDistribution"]["Properties"]["DistributionConfig"];
    assert_eq!(
        distribution["WebACLId"],
        json!({"Fn::GetAtt": ["EdgeWebAcl", "Arn"]})
    );
    assert_eq!(
        distribution["Origins"][0]["DomainName"],
        json!({"Ref": "DomainName"}),
        "the API's custom domain: its execute-api endpoint is off"
    );
    let behavior = &distribution["DefaultCacheBehavior"];
    assert_eq!(
        behavior["CachePolicyId"], "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
        "Managed-CachingDisabled: no token answer is cached"
    );
    assert!(
        behavior["AllowedMethods"]
            .as_array()
            .unwrap()
            .contains(&json!("POST"))
    );
}

// ---------------------------------------------------------------------------------------------
// Routes and the security scan
// ---------------------------------------------------------------------------------------------

/// The token function's paths (README, its route parser's table). Each is routed for ANY method:
/// the functions answer a wrong method themselves (405 with `Allow`).
const TOKEN_PATHS: &[&str] = trustgate::http::token::PATHS;

#[test]
fn routes_are_the_contracts_and_admin_routes_need_iam() {
    let t = template();
    let mut routes = BTreeMap::new();
    for (name, route) in resources_of_type(&t, "AWS::ApiGatewayV2::Route") {
        let p = &route["Properties"];
        assert_eq!(p["ApiId"], json!({ "Ref": "HttpApi" }), "{name}");
        let key = p["RouteKey"].as_str().unwrap();
        let path = key.strip_prefix("ANY ").expect("ANY method").to_owned();
        let target = p["Target"]["Fn::Sub"].as_str().unwrap().to_owned();
        let auth = p["AuthorizationType"].as_str().unwrap_or("NONE").to_owned();
        assert!(routes.insert(path, (target, auth)).is_none(), "{key} twice");
    }
    let mut expected = BTreeMap::new();
    for path in TOKEN_PATHS {
        expected.insert(
            path.to_string(),
            (
                "integrations/${TokenIntegration}".to_owned(),
                "NONE".to_owned(),
            ),
        );
    }
    // The admin paths are the admin function's route table: one list of routes.
    let admin_paths: BTreeSet<&str> = trustgate::http::admin::routes::ROUTES
        .iter()
        .map(|r| r.path)
        .collect();
    for path in admin_paths {
        expected.insert(
            path.to_string(),
            (
                "integrations/${AdminIntegration}".to_owned(),
                "AWS_IAM".to_owned(),
            ),
        );
    }
    assert_eq!(routes, expected);

    for (integration, function) in [
        ("TokenIntegration", "TokenFunction"),
        ("AdminIntegration", "AdminFunction"),
    ] {
        let p = &t["Resources"][integration]["Properties"];
        assert_eq!(p["IntegrationType"], "AWS_PROXY");
        assert_eq!(p["PayloadFormatVersion"], "2.0");
        assert_eq!(
            p["IntegrationUri"],
            json!({ "Fn::GetAtt": [function, "Arn"] })
        );
    }
}

#[test]
fn functions_build_their_own_binary_for_arm64() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], json!(["arm64"]));
    assert_eq!(globals["Handler"], "bootstrap");
    for (function, binary) in [(TOKEN.0, "token"), (ADMIN.0, "admin"), (ROTATE.0, "rotate")] {
        let metadata = &t["Resources"][function]["Metadata"];
        assert_eq!(metadata["BuildMethod"], "rust-cargolambda");
        assert_eq!(metadata["BuildProperties"]["Binary"], binary);
        assert!(
            Path::new(ROOT)
                .join(format!("src/bin/{binary}.rs"))
                .exists()
        );
    }
}

#[test]
fn every_security_scan_suppression_gives_its_reason() {
    let t = template();
    for (name, resource) in t["Resources"].as_object().unwrap() {
        let Some(skips) = resource["Metadata"]["checkov"]["skip"].as_array() else {
            continue;
        };
        for skip in skips {
            let id = skip["id"].as_str().unwrap_or("");
            let reason = skip["comment"].as_str().unwrap_or("");
            assert!(id.starts_with("CKV"), "{name}: {skip}");
            assert!(
                reason.split_whitespace().count() >= 8,
                "{name}: suppression of {id} needs a written reason"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Admin authorization per organization (README, "Admin access per organization")
// ---------------------------------------------------------------------------------------------

/// The example policy of one organization's administrator, quoted whole in README.
const ORG_ADMIN_POLICY: &str = "infra/examples/org-admin-policy.json";

/// IAM's match of a resource pattern: `*` is any run of characters (`/` included), `?` one.
fn iam_like(pattern: &str, value: &str) -> bool {
    let (pattern, value): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), value.chars().collect());
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == value[v]) {
            p += 1;
            v += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, v));
            p += 1;
        } else if let Some((star_p, star_v)) = star {
            // Let the last `*` take one more character.
            star = Some((star_p, star_v + 1));
            p = star_p + 1;
            v = star_v + 1;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";
const API: &str = "a1b2c3d4e5";

/// The ARN API Gateway authorizes a request to an HTTP API's `$default` stage against.
fn request_arn(api: &str, method: &str, path: &str) -> String {
    format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/$default/{method}{path}")
}

/// The example policy with its placeholders filled in: the resources it allows.
fn org_admin_resources() -> Vec<String> {
    let text = std::fs::read_to_string(format!("{ROOT}/{ORG_ADMIN_POLICY}")).unwrap();
    let policy: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    let mut resources = Vec::new();
    for statement in policy["Statement"].as_array().unwrap() {
        // Only what `allows` below evaluates: Allow, Action, Resource.
        let keys: BTreeSet<&str> = statement
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(
            keys.is_subset(&["Sid", "Effect", "Action", "Resource"].into()),
            "{statement}"
        );
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(statement["Action"], "execute-api:Invoke");
        for resource in as_list(&statement["Resource"]) {
            resources.push(
                resource
                    .as_str()
                    .unwrap()
                    .replace("REGION", REGION)
                    .replace("ACCOUNT_ID", ACCOUNT)
                    .replace("API_ID", API),
            );
        }
    }
    resources
}

fn allows(resources: &[String], arn: &str) -> bool {
    resources.iter().any(|pattern| iam_like(pattern, arn))
}

/// A route's path for `org`, other parameters filled with sample ids.
fn concrete_path(template: &str, org: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{org}" => org,
            "{id}" => "0b5e5c3e-4f1c-4b8e-9a55-2f1e6c1d7a10",
            "{client_id}" => "tg_3kq9x7",
            other if other.starts_with('{') => panic!("no sample value for {other}"),
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn iam_wildcards_match_across_slashes_so_an_org_prefix_needs_its_slash() {
    assert!(iam_like("a*c", "a/b/c"));
    assert!(iam_like("a?c", "abc"));
    assert!(!iam_like("a?c", "ac"));
    assert!(iam_like("a*", "a"));
    assert!(!iam_like("a*b", "a/b/c"));
    // The prefix trap the example policy avoids.
    assert!(iam_like("x/t/acme*", "x/t/acme2/api/applications"));
    assert!(!iam_like("x/t/acme/*", "x/t/acme2/api/applications"));
}

#[test]
fn the_org_admin_policy_allows_every_route_of_its_organization_and_no_other() {
    let resources = org_admin_resources();
    let mut organization_routes = 0;
    for route in trustgate::http::admin::routes::ROUTES {
        if route.path.starts_with("/t/{org}/api/") {
            organization_routes += 1;
            let arn = request_arn(API, route.method, &concrete_path(route.path, "acme"));
            assert!(allows(&resources, &arn), "acme's admin is refused {arn}");
            for other in ["acme2", "acme-evil", "acm", "evil"] {
                let arn = request_arn(API, route.method, &concrete_path(route.path, other));
                assert!(!allows(&resources, &arn), "acme's admin is allowed {arn}");
            }
            // Only this stack's API.
            let arn = request_arn(
                "f6g7h8i9j0",
                route.method,
                &concrete_path(route.path, "acme"),
            );
            assert!(!allows(&resources, &arn), "acme's admin is allowed {arn}");
        } else {
            // Creating, listing, reading and deleting organizations: the platform's.
            assert!(
                route.path.starts_with("/api/organizations"),
                "{} {}: decide whether an organization's administrator may call it, and \
                 update {ORG_ADMIN_POLICY} and README",
                route.method,
                route.path
            );
            for org in ["acme", "acme2"] {
                let arn = request_arn(API, route.method, &concrete_path(route.path, org));
                assert!(!allows(&resources, &arn), "acme's admin is allowed {arn}");
            }
        }
    }
    assert!(
        organization_routes >= 10,
        "the route table lost its organization routes"
    );

    // A parameter that smuggled in `/t/acme/api/` (say, decoded `%2F`s) must not carry another
    // organization's request: no wildcard stands before the organization's segment.
    let arn = request_arn(API, "DELETE", "/t/evil/api/applications/x/t/acme/api/y");
    assert!(!allows(&resources, &arn), "acme's admin is allowed {arn}");
    for resource in &resources {
        let (before, _) = resource.split_once("/t/acme/api/").expect("acme's path");
        assert!(!before.contains(['*', '?']), "{resource}");
    }
}

#[test]
fn readme_quotes_the_org_admin_policy_whole() {
    let policy = std::fs::read_to_string(format!("{ROOT}/{ORG_ADMIN_POLICY}")).unwrap();
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    assert!(
        readme.contains(&format!("```json\n{policy}```\n")),
        "README's example policy differs from {ORG_ADMIN_POLICY}"
    );
    assert!(readme.contains(ORG_ADMIN_POLICY));
}

// ---------------------------------------------------------------------------------------------
// Alarms and dashboard (README, "Alarms and dashboard"): they watch what the code emits
// ---------------------------------------------------------------------------------------------

/// The AWS namespaces the alarms and the dashboard may watch, with the dimension each names
/// this stack's resource by.
const AWS_NAMESPACES: &[(&str, &str)] = &[
    ("AWS/ApiGateway", "ApiId"),
    ("AWS/Lambda", "FunctionName"),
    ("AWS/DynamoDB", "TableName"),
];

/// The values of the token function's `route` and `error` dimensions (src/http/token.rs).
fn dimension_values(dimension: &str) -> Vec<&'static str> {
    use trustgate::oauth::ErrorCode;
    match dimension {
        "route" => vec![
            "token",
            "introspect",
            "revoke",
            "jwks",
            "discovery",
            "unknown",
        ],
        "outcome" => vec!["success", "client_error", "server_error"],
        "error" => ErrorCode::ALL
            .iter()
            .map(|code| code.as_str())
            .chain(["none"])
            .collect(),
        other => panic!("no values known for dimension {other}"),
    }
}

/// Checks one metric (namespace, name, dimensions as (name, value)) as CloudWatch would find
/// it: a Trustgate metric exists only under the exact dimension sets the code writes.
fn assert_emitted(what: &str, namespace: &str, name: &str, dimensions: &[(String, Value)]) {
    use trustgate::telemetry::emf;
    let names: Vec<&str> = dimensions.iter().map(|(n, _)| n.as_str()).collect();
    if namespace == emf::NAMESPACE {
        assert!(
            emf::METRICS.iter().any(|(metric, _)| *metric == name),
            "{what}: {name} is no metric of src/telemetry/emf.rs"
        );
        fn sorted<'a>(set: &[&'a str]) -> BTreeSet<&'a str> {
            set.iter().copied().collect()
        }
        let by_error = sorted(emf::ERROR_DIMENSIONS) == sorted(&names) && name == "requests";
        assert!(
            emf::DIMENSIONS
                .iter()
                .any(|set| sorted(set) == sorted(&names))
                || by_error,
            "{what}: {name} is not emitted with dimensions {names:?}"
        );
        for (dimension, value) in dimensions {
            match dimension.as_str() {
                "function" => assert!(
                    [json!({"Ref": "TokenFunction"}), json!("${TokenFunction}")].contains(value),
                    "{what}: only the token function writes metrics, not {value}"
                ),
                other => assert!(
                    value
                        .as_str()
                        .is_some_and(|v| dimension_values(other).contains(&v)),
                    "{what}: {other}={value} is never written"
                ),
            }
        }
    } else {
        let (_, dimension) = AWS_NAMESPACES
            .iter()
            .find(|(ns, _)| *ns == namespace)
            .unwrap_or_else(|| panic!("{what}: namespace {namespace} unknown to this test"));
        assert_eq!(names, [*dimension], "{what}: {namespace} {name}");
        let value = &dimensions[0].1;
        let stack_resource = value["Ref"].is_string()
            || value
                .as_str()
                .is_some_and(|v| v.starts_with("${") && v.ends_with('}'));
        assert!(stack_resource, "{what}: {value} is not this stack's");
    }
}

/// A metric: namespace, name, dimensions as (name, value).
type Metric = (String, String, Vec<(String, Value)>);

/// The metrics an alarm watches: its own, or those of its metric math.
fn alarm_metrics(alarm: &Value) -> Vec<Metric> {
    let p = &alarm["Properties"];
    let dimensions = |d: &Value| {
        as_list(d)
            .into_iter()
            .map(|d| (d["Name"].as_str().unwrap().to_owned(), d["Value"].clone()))
            .collect::<Vec<_>>()
    };
    if let Some(namespace) = p["Namespace"].as_str() {
        let name = p["MetricName"].as_str().unwrap().to_owned();
        return vec![(namespace.to_owned(), name, dimensions(&p["Dimensions"]))];
    }
    as_list(&p["Metrics"])
        .into_iter()
        .filter_map(|m| m.get("MetricStat"))
        .map(|stat| {
            let metric = &stat["Metric"];
            (
                metric["Namespace"].as_str().unwrap().to_owned(),
                metric["MetricName"].as_str().unwrap().to_owned(),
                dimensions(&metric["Dimensions"]),
            )
        })
        .collect()
}

#[test]
fn every_alarm_watches_a_metric_the_code_emits_or_one_of_aws_for_this_stack() {
    let t = template();
    let alarms = resources_of_type(&t, "AWS::CloudWatch::Alarm");
    let names: BTreeSet<&str> = alarms.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "ServerErrorRateAlarm",
        "TokenFunctionErrorsAlarm",
        "DependencyUnavailableAlarm",
        "TableThrottleAlarm",
        "JwksFetchFailuresAlarm",
    ] {
        assert!(names.contains(expected), "no {expected}");
    }
    for (name, alarm) in alarms {
        let metrics = alarm_metrics(alarm);
        assert!(!metrics.is_empty(), "{name} watches nothing");
        for (namespace, metric, dimensions) in metrics {
            assert_emitted(name, &namespace, &metric, &dimensions);
        }
        // Notifications go to the optional topic, nowhere else.
        let p = &alarm["Properties"];
        let to_topic = json!({"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]});
        assert_eq!(p["AlarmActions"], to_topic, "{name}");
        assert_eq!(p["OKActions"], to_topic, "{name}");
        assert_eq!(
            p["TreatMissingData"], "notBreaching",
            "{name}: quiet is not failing"
        );
    }
    let with_topic = Evaluator::new(
        &t,
        &[("AlarmTopicArn", "arn:aws:sns:eu-west-1:123456789012:ops")],
    );
    assert!(with_topic.condition("HasAlarmTopic"));
    assert!(!Evaluator::new(&t, &[]).condition("HasAlarmTopic"));
}

#[test]
fn the_dashboard_graphs_emitted_metrics_and_shows_every_alarm() {
    let t = template();
    let body = &t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"];
    let body = body.as_str().expect("one !Sub string");
    // `${X}` stays as text inside JSON strings: the body parses as is.
    let body: Value = serde_json::from_str(body).expect("the dashboard body is JSON");
    let mut alarms_shown = BTreeSet::new();
    let mut graphed = 0;
    for widget in body["widgets"].as_array().unwrap() {
        let p = &widget["properties"];
        for alarm in p["alarms"].as_array().into_iter().flatten() {
            let arn = alarm.as_str().unwrap();
            alarms_shown.insert(arn.trim_start_matches("${").trim_end_matches(".Arn}"));
        }
        for metric in p["metrics"].as_array().into_iter().flatten() {
            let parts: Vec<&Value> = metric
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v.is_string())
                .collect();
            let (namespace, name) = (parts[0].as_str().unwrap(), parts[1].as_str().unwrap());
            let dimensions: Vec<(String, Value)> = parts[2..]
                .chunks(2)
                .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].clone()))
                .collect();
            assert_emitted("Dashboard", namespace, name, &dimensions);
            graphed += 1;
        }
    }
    assert!(graphed >= 10, "{graphed} metrics graphed");
    let alarms: BTreeSet<&str> = resources_of_type(&t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(alarms_shown, alarms);
}
