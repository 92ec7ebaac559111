//! The admin API's routes as data: the router matches requests against [`ROUTES`], and a test
//! checks that `openapi/admin.yaml` documents exactly these (method, path) pairs.

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateOrganization,
    ListOrganizations,
    GetOrganization,
    DeleteOrganization,
    CreateTrustedIssuer,
    ListTrustedIssuers,
    GetTrustedIssuer,
    PatchTrustedIssuer,
    DeleteTrustedIssuer,
    CreateApplication,
    ListApplications,
    GetApplication,
    PatchApplication,
    DeleteApplication,
    NewApplicationSecret,
    ExplainTokenExchange,
    CreateRevocation,
}

/// One route: an HTTP method and a path template whose `{name}` segments are parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub operation: Operation,
    /// The OpenAPI `operationId`.
    pub operation_id: &'static str,
}

const fn route(
    method: &'static str,
    path: &'static str,
    operation: Operation,
    operation_id: &'static str,
) -> Route {
    Route {
        method,
        path,
        operation,
        operation_id,
    }
}

const ORGS: &str = "/api/organizations";
const ORG: &str = "/api/organizations/{org}";
const ISSUERS: &str = "/t/{org}/api/trusted-token-issuers";
const ISSUER: &str = "/t/{org}/api/trusted-token-issuers/{id}";
const APPS: &str = "/t/{org}/api/applications";
const APP: &str = "/t/{org}/api/applications/{client_id}";
const APP_SECRET: &str = "/t/{org}/api/applications/{client_id}/secret";
const EXPLAIN: &str = "/t/{org}/api/token-exchange/explain";
const REVOCATIONS: &str = "/t/{org}/api/revocations";

/// Every route the admin function serves (README, "Admin API"; openapi/admin.yaml).
pub const ROUTES: &[Route] = {
    use Operation::*;
    &[
        route("POST", ORGS, CreateOrganization, "createOrganization"),
        route("GET", ORGS, ListOrganizations, "listOrganizations"),
        route("GET", ORG, GetOrganization, "getOrganization"),
        route("DELETE", ORG, DeleteOrganization, "deleteOrganization"),
        route("POST", ISSUERS, CreateTrustedIssuer, "createTrustedIssuer"),
        route("GET", ISSUERS, ListTrustedIssuers, "listTrustedIssuers"),
        route("GET", ISSUER, GetTrustedIssuer, "getTrustedIssuer"),
        route("PATCH", ISSUER, PatchTrustedIssuer, "patchTrustedIssuer"),
        route("DELETE", ISSUER, DeleteTrustedIssuer, "deleteTrustedIssuer"),
        route("POST", APPS, CreateApplication, "createApplication"),
        route("GET", APPS, ListApplications, "listApplications"),
        route("GET", APP, GetApplication, "getApplication"),
        route("PATCH", APP, PatchApplication, "patchApplication"),
        route("DELETE", APP, DeleteApplication, "deleteApplication"),
        route(
            "POST",
            APP_SECRET,
            NewApplicationSecret,
            "newApplicationSecret",
        ),
        route(
            "POST",
            EXPLAIN,
            ExplainTokenExchange,
            "explainTokenExchange",
        ),
        route("POST", REVOCATIONS, CreateRevocation, "createRevocation"),
    ]
};

/// The path parameters of a matched route, in template order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'p>(Vec<(&'static str, &'p str)>);

impl<'p> Params<'p> {
    /// The value of `{name}`; routes only ask for names their template has.
    pub fn get(&self, name: &str) -> &'p str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_default()
    }
}

/// What the router found for a method and path.
#[derive(Debug, PartialEq, Eq)]
pub enum Match<'p> {
    Found(&'static Route, Params<'p>),
    /// The path is served, but not with this method: the methods it is served with.
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

/// Matches `path` against the templates of [`ROUTES`]. Segments match exactly or fill a
/// `{parameter}` (never empty); there is no prefix or trailing-slash matching.
pub fn find<'p>(method: &str, path: &'p str) -> Match<'p> {
    let mut allowed = Vec::new();
    for route in ROUTES {
        let Some(params) = match_template(route.path, path) else {
            continue;
        };
        if route.method == method {
            return Match::Found(route, params);
        }
        if !allowed.contains(&route.method) {
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() {
        Match::NotFound
    } else {
        Match::MethodNotAllowed(allowed)
    }
}

fn match_template<'p>(template: &'static str, path: &'p str) -> Option<Params<'p>> {
    let mut template_segments = template.split('/');
    let mut path_segments = path.split('/');
    let mut params = Vec::new();
    loop {
        match (template_segments.next(), path_segments.next()) {
            (None, None) => return Some(Params(params)),
            (Some(t), Some(p)) => {
                if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    if p.is_empty() {
                        return None;
                    }
                    params.push((name, p));
                } else if t != p {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_route_with_its_parameters() {
        let Match::Found(route, params) = find("PATCH", "/t/acme/api/trusted-token-issuers/abc")
        else {
            panic!("no match");
        };
        assert_eq!(route.operation, Operation::PatchTrustedIssuer);
        assert_eq!(params.get("org"), "acme");
        assert_eq!(params.get("id"), "abc");

        let Match::Found(route, params) = find("POST", "/t/acme/api/applications/c1/secret") else {
            panic!("no match");
        };
        assert_eq!(route.operation, Operation::NewApplicationSecret);
        assert_eq!(params.get("client_id"), "c1");
    }

    #[test]
    fn a_known_path_with_another_method_lists_the_allowed_ones() {
        assert_eq!(
            find("PUT", "/api/organizations"),
            Match::MethodNotAllowed(vec!["POST", "GET"])
        );
        assert_eq!(
            find("PATCH", "/api/organizations/acme"),
            Match::MethodNotAllowed(vec!["GET", "DELETE"])
        );
    }

    #[test]
    fn unknown_paths_and_empty_segments_do_not_match() {
        for path in [
            "/",
            "/api",
            "/api/organizations/",
            "/api/organizations/acme/extra",
            "/t//api/applications",
            "/t/acme/api/applications/c1/secret/x",
            "/t/acme/oauth2/token",
            "api/organizations",
        ] {
            assert_eq!(find("GET", path), Match::NotFound, "{path}");
        }
    }

    #[test]
    fn every_route_is_unique_and_every_operation_is_routed_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    (a.method, a.path) != (b.method, b.path),
                    "{} {}",
                    a.method,
                    a.path
                );
                assert_ne!(a.operation, b.operation);
                assert_ne!(a.operation_id, b.operation_id);
            }
        }
        assert_eq!(ROUTES.len(), 17);
    }
}
