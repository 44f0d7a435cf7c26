#!/bin/sh
# Trunk post_build hook (Trunk.toml): moves the module script Trunk writes inline into
# index.html (the page's wasm loader) into its own file, boot-<hash>.js, so the server's
# Content-Security-Policy can allow scripts from 'self' only — no inline script, no hash
# to keep in step with the bundle.
set -eu
dir="${TRUNK_STAGING_DIR:?run by trunk build (Trunk.toml [[hooks]])}"
html="$dir/index.html"
body="$dir/.boot.js"
marker="@@SAMSCOPE_BOOT_SCRIPT@@"
awk -v body="$body" -v marker="$marker" '
  !moved && !inside && index($0, "<script type=\"module\">") {
    start = index($0, "<script type=\"module\">")
    printf "%s%s", substr($0, 1, start - 1), marker
    rest = substr($0, start + length("<script type=\"module\">"))
    inside = 1
    $0 = rest
  }
  inside {
    end = index($0, "</script>")
    if (end) {
      printf "%s\n", substr($0, 1, end - 1) > body
      print "</script>" substr($0, end + length("</script>"))
      inside = 0
      moved = 1
    } else {
      print > body
    }
    next
  }
  { print }
' "$html" > "$html.tmp"
if [ ! -f "$body" ]; then
  rm -f "$html.tmp"
  echo "trunk-boot-script: no inline module script in $html (nothing to move)" >&2
  exit 0
fi
hash=$( (sha256sum "$body" 2>/dev/null || shasum -a 256 "$body") | cut -c1-16)
mv "$body" "$dir/boot-$hash.js"
sed "s|$marker|<script type=\"module\" src=\"/boot-$hash.js\">|" "$html.tmp" > "$html"
rm -f "$html.tmp"
if grep -q "<script>\|<script type=\"module\">" "$html"; then
  echo "trunk-boot-script: $html still has an inline script; the CSP would block it" >&2
  exit 1
fi
