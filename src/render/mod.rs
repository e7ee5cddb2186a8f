//! Renderers of plans and apply results: text, Markdown and JSON lines.
