// Package schemas embeds the JSON Schemas (draft 2020-12) of every
// configuration kind — object.schema.json for object definitions, and more
// as kinds are added — so the server validates configuration documents with
// the same files it publishes (DESIGN.md §4).
package schemas

import "embed"

// FS holds the schema files, named <kind>.schema.json.
//
//go:embed *.json
var FS embed.FS
