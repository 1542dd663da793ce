// Package ui embeds the built web app (ui/dist) into the stride binary.
//
// The assets are produced by `npm run build` in this folder (React + Vite, see
// package.json). dist/.gitkeep is tracked so the package, and therefore the
// whole back end, builds before the UI has ever been built: FS is then an
// empty folder and Built reports false, so the server can answer / with a
// hint instead of a blank page.
//
// The server serves FS at / and falls back to index.html for unknown
// non-API paths, because the app routes on the client (/login,
// /records/{object}, /admin/objects, …).
package ui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// FS returns the built app with dist/ stripped, so "index.html" is at its root.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path; "dist" is a constant.
		panic(err)
	}
	return sub
}

// Built reports whether the app has been built into dist (index.html present).
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}
