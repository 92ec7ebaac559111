//! `make bench`: the token function as it runs locally, measured end to end. Run by
//! `scripts/bench.sh`, which starts moto and `cargo lambda watch --release` and passes their
//! addresses in the environment; see BENCHMARKS.md for the method.
//!
//! 1. Load: N sequential and N concurrent warm exchanges over HTTP through `cargo lambda
//!    watch`, next to a trivial route (the router's own cost) and N bare KMS `Sign` calls
//!    against the same emulator, all in this run.
//! 2. AWS calls per request, read from the function's "handled" log lines.
//! 3. The release binary alone, under a fake Lambda Runtime API served here: time from process
//!    start to the first served request, warm exchanges without the router, and peak RSS after
//!    1,000 exchanges. Binary sizes.
//!
//! Every address is on 127.0.0.1, and every loop is bounded.

#[allow(dead_code)]
#[path = "../tests/common/jwks_server.rs"]
mod jwks_server;
#[allow(dead_code)]
#[path = "../tests/common/keys.rs"]
mod keys;
#[allow(dead_code)]
#[path = "../tests/common/lambda_runtime.rs"]
mod lambda_runtime;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use trustgate::aws::table::{Condition, Item, Key, Table};
use trustgate::domain::application::{
    AppType, Application, ApplicationSettings, GrantType, hash_secret,
};
use trustgate::domain::issuer::{Algorithm, IssuerSettings, TrustedIssuer};
use trustgate::domain::organization::Organization;
use trustgate::domain::{now_epoch, random_hex};
use trustgate::secret::Secret;

use jwks_server::{JwksServer, Reply};
use keys::{RSA_2048, jwks};
use lambda_runtime::{Function, exchange_event, not_found_event};

/// The budgets (BENCHMARKS.md).
const EXCHANGE_VS_SIGN: f64 = 1.5;
const COLD_START_MS: f64 = 20.0;
const BINARY_MB: f64 = 10.0;
const PEAK_RSS_MB: f64 = 40.0;
/// The output of the function processes started by the benchmark.
const FUNCTION_LOG: &str = "target/bench-function.log";
/// The output of the envelope-mode function processes.
const ENVELOPE_FUNCTION_LOG: &str = "target/bench-function-envelope.log";
/// Budget: envelope exchange p50 <= trivial route p50 + bare GetItem p50 + this.
const ENVELOPE_SLACK_MS: f64 = 1.0;
/// The log of the baseline process of section 3b.
const BASELINE_LOG: &str = "target/bench-baseline.log";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by scripts/bench.sh"))
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let n = env_usize("BENCH_N", 200);
    let concurrency = env_usize("BENCH_CONCURRENCY", 8);
    let rss_exchanges = env_usize("BENCH_RSS_EXCHANGES", 1000);
    let token_url = env("BENCH_TOKEN_URL");
    let public_url = env("TRUSTGATE_PUBLIC_URL");
    let watch_log = env("BENCH_WATCH_LOG");
    // The same functions in envelope mode, under a watch of their own (scripts/bench.sh); its
    // address is also its public URL, the audience of its subject tokens.
    let envelope_url = env("BENCH_ENVELOPE_TOKEN_URL");
    let envelope_watch_log = env("BENCH_ENVELOPE_WATCH_LOG");
    // Where cargo put the release binaries and where `cargo lambda build` puts its bootstraps:
    // scripts/bench.sh asks cargo, so a CARGO_TARGET_DIR or build.target-dir is followed.
    let release_dir = env("BENCH_RELEASE_DIR");
    let lambda_dir = env("BENCH_LAMBDA_DIR");
    let mut verdicts = Verdicts::default();

    let sdk = trustgate::aws::sdk_config();
    let table = Table::new(aws_sdk_dynamodb::Client::new(&sdk), env("TRUSTGATE_TABLE"));
    let kms = aws_sdk_kms::Client::new(&sdk);
    let jwks_server = JwksServer::start(Reply::json(jwks(&[RSA_2048.jwk("rsa-1")]))).await;
    let org = Seeded::new(&table, &jwks_server.url()).await;
    let form = exchange_form(&org.subject_token(&public_url));
    let basic = org.basic();

    println!("== machine\n{}", machine());
    println!(
        "\n== 1. load through cargo lambda watch: kms mode {token_url}, envelope mode {envelope_url}"
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let exchange = Exchanger {
        client: client.clone(),
        endpoint: format!("{token_url}/t/{}/oauth2/token", org.name),
        form: form.clone(),
        basic: basic.clone(),
    }
    .into_call();
    let envelope_exchange = Exchanger {
        client: client.clone(),
        endpoint: format!("{envelope_url}/t/{}/oauth2/token", org.name),
        form: exchange_form(&org.subject_token(&envelope_url)),
        basic: basic.clone(),
    }
    .into_call();

    // Warm-up: the first request may wait for the build and the cold start.
    for (mode, exchange) in [("kms", &exchange), ("envelope", &envelope_exchange)] {
        let started = Instant::now();
        exchange().await;
        println!(
            "first exchange, {mode} mode (build if needed, cold start, cold caches): {:.0} ms",
            ms(started.elapsed())
        );
        for _ in 0..20 {
            exchange().await;
        }
    }

    let trivial_url = format!("{token_url}/bench/no-such-route");
    let trivial = || {
        let request = client.get(&trivial_url);
        async move {
            let status = request.send().await.unwrap().status();
            assert_eq!(status, 404);
        }
    };
    let key_id = env("TRUSTGATE_SIGNING_KEY");
    // A message as long as the function's signing input (header and claims, base64url).
    let message = vec![b'e'; 420];
    let sign = || {
        let request = kms
            .sign()
            .key_id(&key_id)
            .message(Blob::new(message.clone()))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256);
        async move {
            request.send().await.expect("KMS Sign");
        }
    };
    // What the warm envelope exchange waits for: one read, as the generation read makes it.
    let organization = Key::organization(&org.name);
    let get_item = || async {
        let read = table.get::<serde_json::Value>(&organization).await;
        assert!(read.expect("DynamoDB GetItem").is_some());
    };
    // Interleaved, so that all see the same load on a shared machine.
    let [
        sequential,
        envelope_sequential,
        trivial,
        bare_sign,
        bare_get,
    ] = interleaved(
        n,
        [
            timed(&exchange),
            timed(&envelope_exchange),
            timed(&trivial),
            timed(&sign),
            timed(&get_item),
        ],
    )
    .await;
    let concurrent = timed_concurrent(n, concurrency, &exchange).await;
    let envelope_concurrent = timed_concurrent(n, concurrency, &envelope_exchange).await;
    let jwks_url = format!("{token_url}/t/{}/oauth2/jwks", org.name);
    let jwks = timed_sequential(20, || {
        let request = client.get(&jwks_url);
        async move { assert_eq!(request.send().await.unwrap().status(), 200) }
    })
    .await;

    println!("\n{:<48} {:>9} {:>9}", "latency (ms)", "p50", "p99");
    sequential.print(&format!("exchange, kms, sequential (n={n})"));
    envelope_sequential.print(&format!("exchange, envelope, sequential (n={n})"));
    concurrent.print(&format!(
        "exchange, kms, {concurrency} concurrent (n={n}, {:.0}/s)",
        concurrent.throughput
    ));
    envelope_concurrent.print(&format!(
        "exchange, envelope, {concurrency} concurrent (n={n}, {:.0}/s)",
        envelope_concurrent.throughput
    ));
    trivial.print(&format!("trivial route: 404 (n={n})"));
    jwks.print("warm JWKS (n=20)");
    bare_sign.print(&format!("bare KMS Sign, same emulator (n={n})"));
    bare_get.print(&format!("bare DynamoDB GetItem, same emulator (n={n})"));
    // Through the watch, for comparison only: watch's own cost per request grows with the
    // request (the exchange's form and token against the 404's nothing), which the trivial
    // route does not subtract; the budgets are checked on the runtime API direct (section 3).
    let watch = LatencyBudgets {
        kms: &sequential,
        envelope: &envelope_sequential,
        trivial: &trivial,
        sign: &bare_sign,
        get_item: &bare_get,
    };
    watch.print("through the watch, not a budget");

    println!(
        "\n== 2. AWS calls per request (the functions' \"handled\" lines in {watch_log}, {envelope_watch_log})"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(&watch_log).unwrap_or_default();
    let exchanges = calls_by_path(&log, &format!("/t/{}/oauth2/token", org.name));
    let jwks_calls = calls_by_path(&log, &format!("/t/{}/oauth2/jwks", org.name));
    let envelope_log = std::fs::read_to_string(&envelope_watch_log).unwrap_or_default();
    let envelope_exchanges = calls_by_path(&envelope_log, &format!("/t/{}/oauth2/token", org.name));
    print_calls("exchange, kms", &exchanges);
    print_calls("exchange, envelope", &envelope_exchanges);
    print_calls("JWKS", &jwks_calls);
    // The one read is the organization's configuration generation, made beside the Sign.
    let warm_exchange = exchanges.get(&(1, 0, 1)).copied().unwrap_or(0);
    let total = exchanges.values().sum::<usize>();
    verdicts.check(
        &format!(
            "kms warm exchanges: 1 DynamoDB read and 1 KMS call (all but the first {} of {total})",
            total - warm_exchange,
        ),
        warm_exchange >= 2 * n + 20 && total - warm_exchange <= 1,
    );
    // Envelope: the first exchange reads the key set and decrypts the key (KMS Decrypt); every
    // warm one signs in-process. The key set is read again every KEY_SET_REFRESH_SECONDS.
    let envelope_total = envelope_exchanges.values().sum::<usize>();
    let envelope_no_kms = envelope_exchanges
        .iter()
        .filter(|((_, _, kms), _)| *kms == 0)
        .map(|(_, count)| count)
        .sum::<usize>();
    verdicts.check(
        &format!(
            "envelope warm exchanges: 0 KMS calls ({envelope_no_kms} of {envelope_total}, the first excepted)"
        ),
        envelope_total >= 2 * n + 21 && envelope_total - envelope_no_kms <= 1,
    );
    let warm_jwks = jwks_calls
        .iter()
        .filter(|((_, _, kms), _)| *kms == 0)
        .map(|(_, count)| count)
        .sum::<usize>();
    verdicts.check(
        &format!("warm JWKS requests: 0 KMS calls ({warm_jwks} of 20)"),
        warm_jwks >= 19,
    );

    println!("\n== 3. the release binary under a fake Lambda Runtime API (no cargo lambda)");
    let binary = format!("{release_dir}/token");
    let mut starts = Vec::new();
    for _ in 0..10 {
        let function = Function::start(&binary, &[], FUNCTION_LOG).await;
        let (started, _) = function.invoke(&not_found_event()).await;
        starts.push(ms(started));
        function.stop().await;
    }
    let cold = Stats::of(starts);
    println!(
        "process start -> first request served (a 404: no network), 10 starts: median {:.1} ms, max {:.1} ms",
        cold.p50, cold.max
    );
    verdicts.check(
        &format!("cold start median {:.1} ms <= {COLD_START_MS} ms", cold.p50),
        cold.p50 <= COLD_START_MS,
    );

    let function = Function::start(&binary, &[], FUNCTION_LOG).await;
    let event = exchange_event(&org.name, &form, &basic);
    let (first, reply) = function.invoke(&event).await;
    assert_eq!(reply["statusCode"], 200, "{reply}");
    println!(
        "process start -> first exchange served (cold caches: 2 GetItem/Query, GetPublicKey, Sign): {:.1} ms",
        ms(first)
    );
    // The same binary in envelope mode beside it (the wrapping key is in this environment).
    let envelope = Function::start(&binary, &ENVELOPE_MODE.map(own), ENVELOPE_FUNCTION_LOG).await;
    let (first, reply) = envelope.invoke(&event).await;
    assert_eq!(reply["statusCode"], 200, "{reply}");
    println!(
        "process start -> first exchange served, envelope mode (cold caches, key set read, Decrypt): {:.1} ms",
        ms(first)
    );
    for _ in 0..20 {
        exchange_on(&envelope, &event).await;
    }
    // 1,000 exchanges for the memory figure; the last `n` of them interleaved with the envelope
    // exchange, a trivial route, a bare Sign and a bare GetItem for the latencies without cargo
    // lambda.
    let not_found = not_found_event();
    for _ in 0..rss_exchanges.saturating_sub(n) {
        exchange_on(&function, &event).await;
    }
    let direct_trivial = || async {
        let (_, reply) = function.invoke(&not_found).await;
        assert_eq!(reply["statusCode"], 404, "{reply}");
    };
    let [
        direct,
        envelope_direct,
        direct_trivial,
        direct_sign,
        direct_get,
    ] = interleaved(
        n.min(rss_exchanges),
        [
            timed(&|| exchange_on(&function, &event)),
            timed(&|| exchange_on(&envelope, &event)),
            timed(&direct_trivial),
            timed(&sign),
            timed(&get_item),
        ],
    )
    .await;
    let (hwm, rss) = function.memory();
    let (envelope_hwm, _) = envelope.memory();
    function.stop().await;
    envelope.stop().await;
    println!("\n{:<48} {:>9} {:>9}", "latency (ms)", "p50", "p99");
    direct.print(&format!("exchange, kms, runtime API direct (n={n})"));
    envelope_direct.print(&format!("exchange, envelope, runtime API direct (n={n})"));
    direct_trivial.print(&format!("trivial route: 404, direct (n={n})"));
    direct_sign.print(&format!("bare KMS Sign, interleaved (n={n})"));
    direct_get.print(&format!("bare DynamoDB GetItem, interleaved (n={n})"));
    let direct_budgets = LatencyBudgets {
        kms: &direct,
        envelope: &envelope_direct,
        trivial: &direct_trivial,
        sign: &direct_sign,
        get_item: &direct_get,
    };
    direct_budgets.check(&mut verdicts);
    println!("peak RSS after {rss_exchanges} exchanges: {hwm:.1} MB (current {rss:.1} MB)");
    println!(
        "peak RSS, envelope mode, after {} exchanges: {envelope_hwm:.1} MB",
        21 + n.min(rss_exchanges)
    );

    // Multi-concurrency: one process polling with AWS_LAMBDA_MAX_CONCURRENCY workers
    // (lambda_http::run_concurrent): the exchanges per second of one warm environment.
    let (shared, shared_hwm) =
        concurrent_in_one_process(&binary, &[], &event, n, concurrency).await;
    shared.print(&format!(
        "exchange, kms, {concurrency} concurrent in one process (n={n}, {:.0}/s)",
        shared.throughput
    ));
    println!("peak RSS of that process: {shared_hwm:.1} MB");
    let (envelope_shared, envelope_shared_hwm) =
        concurrent_in_one_process(&binary, &ENVELOPE_MODE, &event, n, concurrency).await;
    envelope_shared.print(&format!(
        "exchange, envelope, {concurrency} concurrent in one process (n={n}, {:.0}/s)",
        envelope_shared.throughput
    ));
    println!("peak RSS of that process: {envelope_shared_hwm:.1} MB");
    verdicts.check(
        &format!("peak RSS {hwm:.1} MB <= {PEAK_RSS_MB} MB"),
        hwm <= PEAK_RSS_MB,
    );

    println!("\n== 4. signing modes side by side (this run; sections 1 to 3)");
    let modes = [
        ModeFigures {
            through_watch: &sequential,
            direct: &direct,
            one_process: &shared,
            calls: warm_calls(&exchanges),
        },
        ModeFigures {
            through_watch: &envelope_sequential,
            direct: &envelope_direct,
            one_process: &envelope_shared,
            calls: warm_calls(&envelope_exchanges),
        },
    ];
    print_modes(&modes, concurrency);

    if let Some(baseline) = std::env::var("BENCH_BASELINE_TOKEN")
        .ok()
        .filter(|path| !path.is_empty())
    {
        // The control: the same two calls from here, a Sign alone and a Sign with the
        // generation's GetItem beside it, to tell the emulators' cost of serving both at once.
        let organization = Key::organization(&org.name);
        let sign_and_read = || async {
            let (_, read) = tokio::join!(sign(), table.get::<serde_json::Value>(&organization));
            assert!(read.unwrap().is_some());
        };
        let calls = (&sign, &sign_and_read);
        generation_read_cost(&binary, &baseline, &event, calls, n, &mut verdicts).await;
    }

    // The host build of this run, and the Lambda (arm64) build that scripts/bench.sh made with
    // `cargo lambda build --release --arm64` in the target directory's lambda/ (unless
    // BENCH_ARM64=0: then one left by an earlier run is measured only if it is not older).
    let modified = |path: &str| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    for name in ["token", "admin", "rotate"] {
        let host = format!("{release_dir}/{name}");
        let lambda = format!("{lambda_dir}/{name}/bootstrap");
        // Older than the host build (or absent): built from other code, not measured.
        let lambda_built = modified(&lambda);
        let stale = lambda_built < modified(&host);
        if stale && lambda_built.is_some() {
            println!("{lambda} is older than {host}: not measured (rebuild it to measure)");
        }
        let paths = if stale {
            vec![host]
        } else {
            vec![host, lambda]
        };
        for path in paths {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let mb = bytes.len() as f64 / 1e6;
            verdicts.check(
                &format!(
                    "{name} binary ({}, {path}) {mb:.2} MB <= {BINARY_MB} MB",
                    elf_machine(&bytes)
                ),
                mb <= BINARY_MB,
            );
        }
    }

    drop(jwks_server);
    verdicts.print();
}

/// The variables that switch the token function to envelope mode (with `TRUSTGATE_WRAPPING_KEY`,
/// which scripts/bench.sh exports for both modes: kms mode ignores it).
const ENVELOPE_MODE: [(&str, &str); 1] = [("TRUSTGATE_SIGNING_MODE", "envelope")];

fn own((name, value): (&'static str, &str)) -> (&'static str, String) {
    (name, value.to_owned())
}

/// The latency budgets of one set of interleaved figures: kms exchange p50 <= 1.5 x Sign p50 +
/// the routing (trivial route) p50; envelope exchange p50 <= routing p50 + GetItem p50 + 1 ms.
struct LatencyBudgets<'a> {
    kms: &'a Stats,
    envelope: &'a Stats,
    trivial: &'a Stats,
    sign: &'a Stats,
    get_item: &'a Stats,
}

impl LatencyBudgets<'_> {
    fn lines(&self) -> [(String, bool); 2] {
        let (kms, envelope, trivial) = (self.kms.p50, self.envelope.p50, self.trivial.p50);
        let (sign, get) = (self.sign.p50, self.get_item.p50);
        let kms_budget = EXCHANGE_VS_SIGN * sign + trivial;
        let envelope_budget = trivial + get + ENVELOPE_SLACK_MS;
        [
            (
                format!(
                    "kms exchange p50 {kms:.2} ms <= {EXCHANGE_VS_SIGN} x Sign p50 {sign:.2} ms + routing p50 {trivial:.2} ms = {kms_budget:.2} ms"
                ),
                kms <= kms_budget,
            ),
            (
                format!(
                    "envelope exchange p50 {envelope:.2} ms <= routing p50 {trivial:.2} ms + GetItem p50 {get:.2} ms + {ENVELOPE_SLACK_MS} ms = {envelope_budget:.2} ms"
                ),
                envelope <= envelope_budget,
            ),
        ]
    }

    fn print(&self, how: &str) {
        for (line, holds) in self.lines() {
            println!("{how}: {line} ({})", if holds { "holds" } else { "over" });
        }
    }

    fn check(&self, verdicts: &mut Verdicts) {
        for (line, holds) in self.lines() {
            verdicts.check(&format!("{line} (runtime API direct)"), holds);
        }
    }
}

/// `n` exchanges, `concurrency` at a time, by one process of `binary` polling with as many
/// workers (`AWS_LAMBDA_MAX_CONCURRENCY`), after one to warm it; its peak RSS.
async fn concurrent_in_one_process(
    binary: &str,
    env: &[(&'static str, &str)],
    event: &str,
    n: usize,
    concurrency: usize,
) -> (Stats, f64) {
    let mut env: Vec<_> = env.iter().copied().map(own).collect();
    env.push(("AWS_LAMBDA_MAX_CONCURRENCY", concurrency.to_string()));
    let log = if env.iter().any(|(name, _)| *name == ENVELOPE_MODE[0].0) {
        ENVELOPE_FUNCTION_LOG
    } else {
        FUNCTION_LOG
    };
    let many = Arc::new(Function::start(binary, &env, log).await);
    let invoke = {
        let (many, event) = (Arc::clone(&many), event.to_owned());
        move || {
            let (many, event) = (Arc::clone(&many), event.clone());
            async move { exchange_on(&many, &event).await }
        }
    };
    invoke().await;
    let stats = timed_concurrent(n, concurrency, &invoke).await;
    drop(invoke);
    let (hwm, _) = many.memory();
    if let Ok(many) = Arc::try_unwrap(many) {
        many.stop().await;
    }
    (stats, hwm)
}

/// One signing mode's figures for the side-by-side table.
struct ModeFigures<'a> {
    through_watch: &'a Stats,
    direct: &'a Stats,
    one_process: &'a Stats,
    /// AWS calls of its warm exchanges: (DynamoDB reads, writes, KMS calls) per exchange, the
    /// mean over every exchange but the first.
    calls: (f64, f64, f64),
}

/// The mean calls per warm exchange (the first, cold, exchange left out) from
/// [`calls_by_path`]'s counts.
fn warm_calls(counts: &BTreeMap<(u32, u32, u32), usize>) -> (f64, f64, f64) {
    let mut lines: Vec<(u32, u32, u32)> = Vec::new();
    for (&calls, &count) in counts {
        lines.extend(std::iter::repeat_n(calls, count));
    }
    // The first exchange is the one with the most calls (cold caches).
    lines.sort();
    lines.pop();
    let count = lines.len().max(1) as f64;
    let sum = |pick: fn(&(u32, u32, u32)) -> u32| {
        lines.iter().map(pick).map(f64::from).sum::<f64>() / count
    };
    (sum(|c| c.0), sum(|c| c.1), sum(|c| c.2))
}

fn print_modes(modes: &[ModeFigures; 2], concurrency: usize) {
    println!("{:<52} {:>12} {:>12}", "", "kms", "envelope");
    let row = |label: &str, pick: &dyn Fn(&ModeFigures) -> String| {
        println!(
            "{label:<52} {:>12} {:>12}",
            pick(&modes[0]),
            pick(&modes[1])
        );
    };
    row("p50 ms, through cargo lambda watch", &|m| {
        format!("{:.2}", m.through_watch.p50)
    });
    row("p99 ms, through cargo lambda watch", &|m| {
        format!("{:.2}", m.through_watch.p99)
    });
    row("p50 ms, runtime API direct", &|m| {
        format!("{:.2}", m.direct.p50)
    });
    row("p99 ms, runtime API direct", &|m| {
        format!("{:.2}", m.direct.p99)
    });
    row("exchanges/s, one environment, one at a time", &|m| {
        format!("{:.0}", 1000.0 / m.direct.p50)
    });
    row(
        &format!("exchanges/s, one environment, {concurrency} concurrent"),
        &|m| format!("{:.0}", m.one_process.throughput),
    );
    row("DynamoDB reads per warm exchange", &|m| {
        format!("{:.3}", m.calls.0)
    });
    row("DynamoDB writes per warm exchange", &|m| {
        format!("{:.3}", m.calls.1)
    });
    row("KMS calls per warm exchange", &|m| {
        format!("{:.3}", m.calls.2)
    });
}

/// Runs of the generation read comparison; the verdict is on the median of their ratios.
const GENERATION_RUNS: usize = 5;
/// Budget: warm exchange p50 with the generation read <= this x the p50 without it.
const GENERATION_READ_RATIO: f64 = 1.1;

/// `BENCH_GENERATION=1`: the release `token` against `baseline`, the same code built without
/// the configuration generation read (feature `bench-without-generation-read`), each a warm
/// process under the fake Runtime API, their exchanges interleaved with a bare `Sign`, in
/// `GENERATION_RUNS` runs of `n` rounds.
async fn generation_read_cost<'a, S, FS, R, FR>(
    binary: &str,
    baseline: &str,
    event: &str,
    (sign, sign_and_read): (&'a S, &'a R),
    n: usize,
    verdicts: &mut Verdicts,
) where
    S: Fn() -> FS,
    FS: Future<Output = ()> + 'a,
    R: Fn() -> FR,
    FR: Future<Output = ()> + 'a,
{
    println!("\n== 3b. the configuration generation read: {binary} against {baseline}");
    let with_read = Function::start(binary, &[], FUNCTION_LOG).await;
    let without_read = Function::start(baseline, &[], BASELINE_LOG).await;
    for _ in 0..21 {
        exchange_on(&with_read, event).await;
        exchange_on(&without_read, event).await;
    }
    let mut ratios = Vec::new();
    let mut controls = Vec::new();
    println!(
        "{:<4} {:>14} {:>14} {:>8} {:>12} {:>14} {:>8}",
        "run", "with read", "without", "ratio", "bare Sign", "Sign+GetItem", "ratio"
    );
    for run in 1..=GENERATION_RUNS {
        let [with, without] = interleaved(
            n,
            [
                timed(&|| exchange_on(&with_read, event)),
                timed(&|| exchange_on(&without_read, event)),
            ],
        )
        .await;
        let [bare, beside] = interleaved(n, [timed(sign), timed(sign_and_read)]).await;
        let (ratio, control) = (with.p50 / without.p50, beside.p50 / bare.p50);
        println!(
            "{run:<4} {:>11.2} ms {:>11.2} ms {ratio:>8.3} {:>9.2} ms {:>11.2} ms {control:>8.3}",
            with.p50, without.p50, bare.p50, beside.p50
        );
        ratios.push(ratio);
        controls.push(control);
    }
    with_read.stop().await;
    without_read.stop().await;
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let control = median(&mut controls);
    println!(
        "control: a Sign with a GetItem beside it, from this process: {control:.3} x a Sign alone (median); \
         what the emulators add by serving both at once on this machine, not the function"
    );
    let median = median(&mut ratios);
    verdicts.check(
        &format!(
            "exchange p50 with the generation read {median:.3} x without (median of {GENERATION_RUNS} runs, {:.3}..{:.3}; control {control:.3}) <= {GENERATION_READ_RATIO}",
            ratios[0],
            ratios[ratios.len() - 1]
        ),
        median <= GENERATION_READ_RATIO,
    );
}

/// One exchange by `function`, which must succeed.
async fn exchange_on(function: &Function, event: &str) {
    let (_, reply) = function.invoke(event).await;
    assert_eq!(reply["statusCode"], 200, "{reply}");
}

// ---------------------------------------------------------------------------------------------
// Records.

/// An organization with a JWKS-trusted issuer (served by this process) and a confidential
/// application, written with the library (the admin API is not needed for this).
struct Seeded {
    name: String,
    issuer: String,
    client_id: String,
    secret: String,
}

impl Seeded {
    async fn new(table: &Table, jwks_uri: &str) -> Seeded {
        let name = format!("bench-{}", &random_hex(4));
        let put = |key: Key, item: Item| async move {
            table.put(&key, item, Condition::Absent).await.unwrap();
        };
        let organization = Organization {
            name: name.clone(),
            created_at: String::new(),
        };
        put(
            Key::organization(&name),
            Item::from_record(&organization, None).unwrap(),
        )
        .await;
        let issuer = TrustedIssuer {
            id: random_hex(16),
            settings: IssuerSettings {
                name: "bench-idp".into(),
                issuer: format!("https://idp.example.com/{name}"),
                alias: None,
                jwks_uri: Some(jwks_uri.into()),
                certificate: None,
                allowed_algorithms: Algorithm::ALL.to_vec(),
                clock_skew_seconds: 60,
                max_token_age_seconds: None,
                require_jti: false,
                enabled: true,
                condition: None,
                subject: None,
                claim_mappings: Default::default(),
            },
            created_at: String::new(),
            updated_at: String::new(),
        };
        put(
            Key::trusted_issuer(&name, &issuer.id),
            Item::from_record(&issuer, None).unwrap(),
        )
        .await;
        let secret = random_hex(32);
        let application = Application {
            client_id: random_hex(16),
            settings: ApplicationSettings {
                name: "bench".into(),
                app_type: AppType::Web,
                grant_types: vec![GrantType::TokenExchange],
                access_token_ttl_seconds: 3600,
                refresh_token_ttl_seconds: 86_400,
                enabled: true,
                allowed_issuers: None,
                allowed_audiences: Vec::new(),
                allowed_scopes: Vec::new(),
                delegation: None,
            },
            secret_hash: Some(hash_secret(&Secret::new(secret.clone()))),
            created_at: String::new(),
            updated_at: String::new(),
        };
        put(
            Key::application(&name, &application.client_id),
            Item::from_record(&application, None).unwrap(),
        )
        .await;
        Seeded {
            issuer: issuer.settings.issuer,
            client_id: application.client_id,
            name,
            secret,
        }
    }

    /// One RS256 subject token, valid for the whole run (no `jti` rule: it may be reused).
    fn subject_token(&self, public_url: &str) -> String {
        let now = now_epoch();
        let claims = json!({
            "iss": self.issuer, "sub": "248289761001",
            "aud": format!("{public_url}/t/{}/oauth2/token", self.name),
            "exp": now + 3600, "iat": now, "email": "jane.doe@example.com", "name": "Jane Doe",
        });
        RSA_2048.sign_with(Algorithm::RS256, Some("rsa-1"), &claims)
    }

    fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.client_id, self.secret))
        )
    }
}

/// One exchange over HTTP, as a client sends it; must succeed.
#[derive(Clone)]
struct Exchanger {
    client: reqwest::Client,
    endpoint: String,
    form: String,
    basic: String,
}

impl Exchanger {
    /// A call for [`interleaved`] and [`timed_concurrent`] (cheap to clone, owns what it sends).
    fn into_call(self) -> impl Fn() -> BoxedExchange + Clone + Send + 'static {
        move || {
            let request = self
                .client
                .post(&self.endpoint)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", &self.basic)
                .body(self.form.clone());
            Box::pin(async move {
                let response = request.send().await.expect("the token function answers");
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                assert_eq!(status, 200, "exchange failed: {body}");
            })
        }
    }
}

type BoxedExchange = Pin<Box<dyn Future<Output = ()> + Send>>;

fn exchange_form(subject_token: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        )
        .append_pair("subject_token", subject_token)
        .append_pair("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")
        .finish()
}

// ---------------------------------------------------------------------------------------------
// Timing.

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
    throughput: f64,
}

impl Stats {
    fn of(mut samples: Vec<f64>) -> Stats {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((q * samples.len() as f64).ceil() as usize).max(1) - 1];
        Stats {
            p50: at(0.5),
            p99: at(0.99),
            max: *samples.last().unwrap(),
            throughput: 0.0,
        }
    }

    fn print(&self, label: &str) {
        println!("{label:<44} {:>9.2} {:>9.2}", self.p50, self.p99);
    }
}

async fn timed_sequential<F, Fut>(n: usize, call: F) -> Stats
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        call().await;
        samples.push(ms(started.elapsed()));
    }
    Stats::of(samples)
}

/// A call to time, boxed so that calls of different types can be interleaved.
type Timed<'a> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + 'a>> + 'a>;

fn timed<'a, F, Fut>(call: &'a F) -> Timed<'a>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'a,
{
    Box::new(move || Box::pin(call()))
}

/// `n` rounds of the calls in turn; the samples of each.
async fn interleaved<const N: usize>(n: usize, calls: [Timed<'_>; N]) -> [Stats; N] {
    let mut samples: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(n));
    for _ in 0..n {
        for (call, samples) in calls.iter().zip(&mut samples) {
            let started = Instant::now();
            call().await;
            samples.push(ms(started.elapsed()));
        }
    }
    samples.map(Stats::of)
}

async fn timed_concurrent<F, Fut>(n: usize, concurrency: usize, call: &F) -> Stats
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let call = call.clone();
        let share = n / concurrency + usize::from(worker < n % concurrency);
        workers.spawn(async move {
            let mut samples = Vec::with_capacity(share);
            for _ in 0..share {
                let started = Instant::now();
                call().await;
                samples.push(ms(started.elapsed()));
            }
            samples
        });
    }
    let samples: Vec<f64> = workers.join_all().await.into_iter().flatten().collect();
    let mut stats = Stats::of(samples);
    stats.throughput = n as f64 / started.elapsed().as_secs_f64();
    stats
}

// ---------------------------------------------------------------------------------------------
// AWS calls from the log.

/// `(dynamodb_reads, dynamodb_writes, kms_calls)` → number of "handled" lines for `path`.
fn calls_by_path(log: &str, path: &str) -> BTreeMap<(u32, u32, u32), usize> {
    let field = |line: &str, name: &str| -> Option<u32> {
        let start = line.find(&format!("{name}="))? + name.len() + 1;
        let digits: String = line[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    let mut counts = BTreeMap::new();
    for line in log.lines() {
        if line.contains("handled")
            && (line.contains(&format!("path=\"{path}\""))
                || line.contains(&format!("path={path} ")))
            && let (Some(r), Some(w), Some(k)) = (
                field(line, "dynamodb_reads"),
                field(line, "dynamodb_writes"),
                field(line, "kms_calls"),
            )
        {
            *counts.entry((r, w, k)).or_insert(0) += 1;
        }
    }
    counts
}

fn print_calls(what: &str, counts: &BTreeMap<(u32, u32, u32), usize>) {
    for ((reads, writes, kms), requests) in counts {
        println!(
            "{what}: {requests:>4} requests with dynamodb_reads={reads} dynamodb_writes={writes} kms_calls={kms}"
        );
    }
    if counts.is_empty() {
        println!("{what}: no \"handled\" line found");
    }
}

// ---------------------------------------------------------------------------------------------
// The release binary under a fake Lambda Runtime API: tests/common/lambda_runtime.rs.

// ---------------------------------------------------------------------------------------------
// Report.

#[derive(Default)]
struct Verdicts(Vec<(String, bool)>);

impl Verdicts {
    fn check(&mut self, what: &str, pass: bool) {
        println!("budget: {what} -> {}", if pass { "PASS" } else { "FAIL" });
        self.0.push((what.to_owned(), pass));
    }

    fn print(&self) {
        println!("\n== budgets");
        for (what, pass) in &self.0 {
            println!("{} {what}", if *pass { "PASS" } else { "FAIL" });
        }
        let failed = self.0.iter().filter(|(_, pass)| !pass).count();
        println!(
            "verdict: {} ({} budgets, {failed} failed)",
            if failed == 0 { "PASS" } else { "FAIL" },
            self.0.len()
        );
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} x {model}, {memory:.0} GiB, {} {}, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::OS,
        std::env::consts::ARCH,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// The architecture an ELF executable is built for (its `e_machine`).
fn elf_machine(bytes: &[u8]) -> &'static str {
    match bytes.get(18..20) {
        Some([0x3e, 0]) => "x86_64",
        Some([0xb7, 0]) => "arm64",
        _ => "unknown architecture",
    }
}
