"""The operator dashboard at `/dashboard`: server-rendered HTML and SVG, no script, no CDN."""
