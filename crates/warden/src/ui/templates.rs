//! The page templates, compiled into the binary and rendered by minijinja
//! with HTML auto-escaping on (every template name ends in `.html`), and
//! the one stylesheet. It must not compute what a page shows: handlers
//! pass ready values.

use super::error::UiError;
use minijinja::Environment;
use serde::Serialize;
use std::sync::LazyLock;

const SOURCES: [(&str, &str); 9] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("list.html", include_str!("../../templates/list.html")),
    ("view.html", include_str!("../../templates/view.html")),
    ("form.html", include_str!("../../templates/form.html")),
    ("delete.html", include_str!("../../templates/delete.html")),
    ("error.html", include_str!("../../templates/error.html")),
];

/// `/ui/style.css`.
pub const STYLESHEET: &str = include_str!("../../templates/style.css");

static ENVIRONMENT: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut environment = Environment::new();
    for (name, source) in SOURCES {
        environment
            .add_template(name, source)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(environment)
});

/// Renders one template with `context`.
pub fn render(name: &str, context: impl Serialize) -> Result<String, UiError> {
    let environment = ENVIRONMENT
        .as_ref()
        .map_err(|e| UiError::Template(e.clone()))?;
    environment
        .get_template(name)
        .and_then(|template| template.render(context))
        .map_err(|e| UiError::Template(format!("{name}: {e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn every_template_compiles() {
        assert!(ENVIRONMENT.is_ok(), "{:?}", ENVIRONMENT.as_ref().err());
    }

    #[test]
    fn values_are_escaped() {
        let html = render(
            "error.html",
            context! { title => "<b>t</b>", detail => "\"x\" & <script>" },
        )
        .unwrap_or_else(|e| e.to_string());
        assert!(html.contains("&lt;b&gt;t&lt;&#x2f;b&gt;"), "{html}");
        assert!(
            html.contains("&quot;x&quot; &amp; &lt;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }
}
