package forms

import (
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"stride/schemas"
)

// configKind is the shape of a configuration kind's name.
var configKind = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// configBaseURL is where the embedded schema files live for references
// between them.
const configBaseURL = "https://stride.dev/schemas/"

var configSchemas sync.Map // kind → *configSchema

type configSchema struct {
	once sync.Once
	sch  *jsonschema.Schema
	err  error
}

// ValidateConfig validates a configuration document of the given kind
// ("object", …) against the embedded schemas/<kind>.schema.json and returns
// every problem with a pointer into doc; nil means valid. doc is decoded
// JSON. An unknown kind yields a single error with code unknown_kind.
func ValidateConfig(kind string, doc any) []FieldError {
	sch, err := configSchemaFor(kind)
	if err != nil {
		return []FieldError{{Code: "unknown_kind", Message: err.Error()}}
	}
	return validate(sch, doc)
}

func configSchemaFor(kind string) (*jsonschema.Schema, error) {
	if !configKind.MatchString(kind) {
		return nil, fmt.Errorf("unknown configuration kind %q", kind)
	}
	name := kind + ".schema.json"
	if _, err := fs.Stat(schemas.FS, name); err != nil {
		return nil, fmt.Errorf("unknown configuration kind %q", kind)
	}
	v, _ := configSchemas.LoadOrStore(kind, &configSchema{})
	cs := v.(*configSchema)
	cs.once.Do(func() { cs.sch, cs.err = compileConfig(name) })
	return cs.sch, cs.err
}

// compileConfig compiles one embedded schema with every embedded schema
// available for references.
func compileConfig(name string) (*jsonschema.Schema, error) {
	c := newCompiler()
	files, err := fs.Glob(schemas.FS, "*.json")
	if err != nil {
		return nil, fmt.Errorf("listing embedded schemas: %w", err)
	}
	for _, f := range files {
		raw, err := fs.ReadFile(schemas.FS, f)
		if err != nil {
			return nil, fmt.Errorf("reading embedded schema %s: %w", f, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("embedded schema %s is not valid JSON: %w", f, err)
		}
		if err := c.AddResource(configBaseURL+f, doc); err != nil {
			return nil, fmt.Errorf("adding embedded schema %s: %w", f, err)
		}
	}
	sch, err := c.Compile(configBaseURL + name)
	if err != nil {
		return nil, fmt.Errorf("compiling embedded schema %s: %w", name, err)
	}
	return sch, nil
}
