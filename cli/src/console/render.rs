//! The console's pages: minijinja templates compiled into the binary (templates/), rendered
//! with HTML autoescaping for every template, so a name, detail or claim from the API can never
//! become markup. The stylesheet is the only other asset (no script at all).

use minijinja::{AutoEscape, Environment, Value};

pub const STYLESHEET: &str = include_str!("static/console.css");

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    (
        "organizations.html",
        include_str!("templates/organizations.html"),
    ),
    (
        "connections.html",
        include_str!("templates/connections.html"),
    ),
    (
        "connection_new.html",
        include_str!("templates/connection_new.html"),
    ),
    (
        "applications.html",
        include_str!("templates/applications.html"),
    ),
    (
        "application_new.html",
        include_str!("templates/application_new.html"),
    ),
    (
        "application_created.html",
        include_str!("templates/application_created.html"),
    ),
    ("try.html", include_str!("templates/try.html")),
    ("refused.html", include_str!("templates/refused.html")),
];

/// The templates, parsed once at start.
pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new() -> Pages {
        let mut env = Environment::new();
        // Every template is HTML: escape everything, whatever the name.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
        Pages { env }
    }

    /// Renders `name` with `context`; a template error is a bug, shown as such.
    pub fn render(&self, name: &str, context: Value) -> String {
        self.env
            .get_template(name)
            .and_then(|t| t.render(context))
            .unwrap_or_else(|e| format!("template {name} failed: {e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn every_template_parses_and_text_from_the_api_is_escaped() {
        let pages = Pages::new();
        let html = pages.render(
            "connections.html",
            context! {
                org => "acme",
                page => "connections",
                errors => Vec::<Value>::new(),
                issuers => vec![context! {
                    id => "i1", name => "<script>alert(1)</script>",
                    issuer => "https://x\" onmouseover=\"y", enabled => true,
                }],
            },
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert!(!html.contains("\" onmouseover=\""));
    }

    #[test]
    fn a_field_error_is_linked_from_the_summary_and_marks_the_field_invalid() {
        let pages = Pages::new();
        let html = pages.render(
            "connection_new.html",
            context! {
                org => "acme",
                errors => vec![context! { field => "issuer", message => "issuer: must be a URL" }],
                form => context! { name => "IdP", issuer => "nope" },
            },
        );
        assert!(
            html.contains("<title>Error: New trusted token issuer"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"#issuer\">issuer: must be a URL</a>"),
            "{html}"
        );
        assert!(html.contains("id=\"issuer-error\""));
        assert!(
            html.contains("aria-invalid=\"true\" aria-describedby=\"issuer-hint issuer-error\""),
            "{html}"
        );
        // The other fields are not marked.
        assert_eq!(html.matches("aria-invalid").count(), 1);
        assert!(html.contains("value=\"nope\""));
    }
}
