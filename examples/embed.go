// Package examples embeds the industry templates (each <name>/template.json
// with its README) so the binary can offer them as a gallery and install
// them by name, without the source tree.
package examples

import "embed"

// FS holds <name>/template.json and <name>/README.md for every template.
//
//go:embed */template.json */README.md
var FS embed.FS
