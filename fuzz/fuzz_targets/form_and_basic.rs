//! The token request body and the `Authorization` header: the first byte says where the header
//! ends. Every outcome must be credentials or a 400/401 error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustgate::oauth::client_auth::extract;
use trustgate::oauth::form::Form;

fuzz_target!(|data: &[u8]| {
    let split = usize::from(*data.first().unwrap_or(&0)).min(data.len().saturating_sub(1));
    let rest = data.get(1..).unwrap_or_default();
    let (header, body) = rest.split_at(split.min(rest.len()));
    let Ok(form) = Form::parse(body) else { return };
    for name in ["grant_type", "client_id", "client_secret", "subject_token"] {
        let _ = form.require(name);
    }
    for header in [None, Some(header)] {
        if let Err(e) = extract(header, &form) {
            assert!(e.status == 400 || e.status == 401, "{e:?}");
        }
    }
});
